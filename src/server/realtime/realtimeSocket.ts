// GET /v1/realtime upgraded to a WebSocket (`?intent=transcription`, or `?model=…` as the SDK sends it). The
// request is authenticated before the upgrade completes: `Authorization: Bearer <API key or client secret>`, or
// the browser subprotocols ["realtime", "openai-insecure-api-key.<key or secret>"]. Anything else is answered
// with an OpenAI-shaped HTTP error and the socket closed; an accepted one becomes a RealtimeSession. At most
// `maxSessions` are open at once: the next upgrade is refused with 429 until one closes.
import type { IncomingMessage } from "node:http";
import { STATUS_CODES } from "node:http";
import type { Duplex } from "node:stream";

import type { FastifyInstance } from "fastify";
import { type WebSocket, WebSocketServer } from "ws";

import { realtimeId } from "../../formats/realtimeEvents.js";
import { OPEN_OWNER } from "../../jobs/owner.js";
import { ApiError, originNotAllowed, shuttingDown, toApiError, tooManyRealtimeSessions } from "../../api/errors.js";
import { isAllowedOrigin } from "../origins.js";
import type { ServerContext } from "../serverContext.js";
import { bearerToken } from "../auth.js";
import { CLIENT_SECRET_PREFIX } from "./clientSecrets.js";
import type { RealtimeDialect, RealtimeLimits } from "./realtimeLimits.js";
import { RealtimeSession } from "./RealtimeSession.js";
import { defaultSessionConfig, type TranscriptionSessionConfig } from "../../api/realtimeSession.js";
import type { SessionIdentity } from "../../api/realtimeSessionJson.js";
import { SliceScheduler } from "./sliceScheduler.js";

const KEY_PROTOCOL = "openai-insecure-api-key.";
const BETA_PROTOCOL = "openai-beta.realtime-v1";
/** Messages above the configured limit get an error event; above this many times it the socket is closed (1009). */
const HARD_CAP_FACTOR = 4;

function offeredProtocols(request: IncomingMessage): string[] {
  const header = request.headers["sec-websocket-protocol"];
  return (Array.isArray(header) ? header.join(",") : (header ?? "")).split(",").map((p) => p.trim()).filter(Boolean);
}

function presentedToken(request: IncomingMessage): string | undefined {
  return bearerToken(request.headers.authorization) ?? offeredProtocols(request).find((p) => p.startsWith(KEY_PROTOCOL))?.slice(KEY_PROTOCOL.length);
}

function reject(socket: Duplex, error: ApiError): void {
  const body = JSON.stringify(error.body());
  const headers = [
    `HTTP/1.1 ${error.status} ${STATUS_CODES[error.status] ?? "Error"}`,
    "Content-Type: application/json",
    `Content-Length: ${Buffer.byteLength(body)}`,
    "Connection: close",
    ...Object.entries(error.headers).map(([name, value]) => `${name}: ${value}`),
  ];
  socket.end(`${headers.join("\r\n")}\r\n\r\n${body}`);
}

/** What a server's realtime sessions are doing right now. */
export interface RealtimeStats {
  /** Sessions open. */
  sessions: number;
  /** Sessions with client events waiting or being handled. */
  busySessions: number;
  /** Sessions whose socket is not being read (back-pressure). */
  pausedSessions: number;
  /** Slices of decoding work waiting for their turn. */
  pendingSlices: number;
}

const statsOf = new WeakMap<FastifyInstance, () => RealtimeStats>();
const drainOf = new WeakMap<FastifyInstance, () => Promise<void>>();

/**
 * Shutdown, first step: every open session stops taking audio, finishes its committed turns and closes (1001);
 * resolves once all have closed. New sessions are refused (503) once the upload admission drains.
 */
export function drainRealtime(app: FastifyInstance): Promise<void> {
  return drainOf.get(app)?.() ?? Promise.resolve();
}

/** The realtime sessions of an app that {@link attachRealtimeSocket} set up (all zero for another app). */
export function realtimeStats(app: FastifyInstance): RealtimeStats {
  return statsOf.get(app)?.() ?? { sessions: 0, busySessions: 0, pausedSessions: 0, pendingSlices: 0 };
}


interface Admission {
  config: TranscriptionSessionConfig;
  identity: SessionIdentity;
  dialect: RealtimeDialect;
  /** The caller id of the API key the session counts against (the minting key for a client secret). */
  caller: string;
  /** The client secret's session id when the socket was opened with one. */
  secretId?: string;
}

/** Decides whether the upgrade may proceed, and with which session settings; throws ApiError otherwise. */
function admit(request: IncomingMessage, context: ServerContext): Admission {
  const url = new URL(request.url ?? "/", "http://localhost");
  if (url.pathname.replace(/\/+$/, "") !== "/v1/realtime") throw ApiError.routeNotFound("GET", url.pathname);
  const origin = request.headers.origin;
  if (origin !== undefined && !isAllowedOrigin(origin, request.headers.host, context.corsOrigins)) {
    throw originNotAllowed(origin);
  }
  const intent = url.searchParams.get("intent");
  if (intent !== null && intent !== "transcription") {
    throw ApiError.invalidParam("intent", `Earshot serves realtime transcription sessions only: use intent=transcription (got '${intent}').`);
  }

  const token = presentedToken(request);
  let caller = context.apiKeys.identify(token);
  let config: TranscriptionSessionConfig | undefined;
  let identity: SessionIdentity | undefined;
  let secretId: string | undefined;
  if (caller === undefined && token?.startsWith(CLIENT_SECRET_PREFIX)) {
    const redeemed = context.clientSecrets.redeem(token);
    if (!redeemed.ok) {
      throw ApiError.unauthorized(redeemed.reason === "expired" ? "The client secret has expired; mint a new one." : "Invalid client secret provided.");
    }
    config = redeemed.secret.config;
    identity = { id: redeemed.secret.sessionId, expiresAt: redeemed.secret.expiresAt };
    caller = redeemed.secret.owner;
    secretId = redeemed.secret.sessionId;
  } else if (caller === undefined && context.apiKeys.required) {
    throw ApiError.unauthorized(
      token === undefined
        ? "You didn't provide an API key. Use an Authorization: Bearer header or the WebSocket subprotocol 'openai-insecure-api-key.<key>' (or an ephemeral client secret)."
        : "Incorrect API key provided.",
    );
  }

  config ??= defaultSessionConfig(context.models.defaultModel.name);
  // The SDK always sends ?model=; it picks the transcription model when it names one this server offers.
  const model = url.searchParams.get("model");
  if (model && context.models.find(model)) config = { ...config, model };
  const maxSessionSeconds = context.realtimeLimits.maxSessionSeconds;
  identity ??= { id: realtimeId("sess"), expiresAt: Math.floor(Date.now() / 1000 + maxSessionSeconds) };
  const beta = /realtime=v1/.test(String(request.headers["openai-beta"] ?? "")) || offeredProtocols(request).includes(BETA_PROTOCOL);
  return { config, identity, dialect: beta ? "beta" : "ga", caller: caller ?? OPEN_OWNER, ...(secretId !== undefined ? { secretId } : {}) };
}

/** How many sockets each key and each client secret holds open: the fair shares of the realtime sessions. */
class SessionShares {
  private readonly perKey = new Map<string, number>();
  private readonly perSecret = new Map<string, number>();

  constructor(
    private readonly limits: Pick<RealtimeLimits, "maxSessionsPerKey" | "maxSocketsPerSecret">,
    /** Whether per-key shares apply: with fewer than two keys there is one caller, and the server's limit is its share. */
    private readonly perKeyApplies: boolean,
  ) {}

  /** Throws a 429 when the admission's key or secret already holds its share. */
  check(admission: Admission): void {
    if (admission.secretId !== undefined && (this.perSecret.get(admission.secretId) ?? 0) >= this.limits.maxSocketsPerSecret) {
      throw ApiError.rateLimited(`This client secret already has ${this.limits.maxSocketsPerSecret} realtime session(s) open (EARSHOT_REALTIME_MAX_SOCKETS_PER_SECRET); mint one secret per session.`);
    }
    if (this.perKeyApplies && (this.perKey.get(admission.caller) ?? 0) >= this.limits.maxSessionsPerKey) {
      throw ApiError.rateLimited(`This API key already has ${this.limits.maxSessionsPerKey} realtime sessions open (EARSHOT_REALTIME_MAX_SESSIONS_PER_KEY); try again when one has closed.`);
    }
  }

  /** Counts an admitted session; the returned function gives its share back (once). */
  take(admission: Admission): () => void {
    bump(this.perKey, admission.caller, 1);
    if (admission.secretId !== undefined) bump(this.perSecret, admission.secretId, 1);
    let given = false;
    return () => {
      if (given) return;
      given = true;
      bump(this.perKey, admission.caller, -1);
      if (admission.secretId !== undefined) bump(this.perSecret, admission.secretId, -1);
    };
  }
}

function bump(counts: Map<string, number>, id: string, by: number): void {
  const next = (counts.get(id) ?? 0) + by;
  if (next > 0) counts.set(id, next);
  else counts.delete(id);
}

/**
 * Serves realtime sessions on the app's HTTP(S) server; {@link drainRealtime} lets them finish their committed
 * turns, and those still open when the app closes are closed (1001).
 */
export function attachRealtimeSocket(app: FastifyInstance, context: ServerContext): void {
  const limits = context.realtimeLimits;
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: Math.ceil(limits.maxMessageBytes * HARD_CAP_FACTOR),
    perMessageDeflate: false,
    // Browsers require the server to pick one of the offered protocols; never echo the key.
    handleProtocols: (protocols) => (protocols.has("realtime") ? "realtime" : false),
  });
  const scheduler = new SliceScheduler();
  const sessions = new Set<RealtimeSession>();
  const shares = new SessionShares(limits, context.apiKeys.count >= 2);
  statsOf.set(app, () => {
    let busySessions = 0;
    let pausedSessions = 0;
    for (const session of sessions) {
      if (session.busy) busySessions++;
      if (session.readingPaused) pausedSessions++;
    }
    return { sessions: sessions.size, busySessions, pausedSessions, pendingSlices: scheduler.pending };
  });

  // Nothing a client sends may take the process down: whatever throws while admitting or opening a session is
  // answered (an HTTP error before the upgrade, a 1011 close after it) and logged, never left uncaught.
  app.server.on("upgrade", (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on("error", () => undefined);
    let admission: Admission;
    try {
      if (context.admission.draining) throw shuttingDown();
      admission = admit(request, context);
      // Counted when the upgrade completes, which is synchronous (ws without verifyClient): no race between upgrades.
      if (sessions.size >= limits.maxSessions) throw tooManyRealtimeSessions(limits.maxSessions);
      shares.check(admission);
    } catch (error) {
      const apiError = toApiError(error);
      if (apiError.status >= 500) app.log.error({ err: error, url: request.url }, "realtime connection failed");
      else app.log.info({ status: apiError.status, code: apiError.code, url: request.url }, "realtime connection refused");
      reject(socket, apiError);
      return;
    }
    try {
      wss.handleUpgrade(request, socket, head, (ws) => openSession(ws, socket, admission));
    } catch (error) {
      app.log.error({ err: error, url: request.url }, "realtime upgrade failed");
      socket.destroy();
    }
  });

  function openSession(ws: WebSocket, socket: Duplex, admission: Admission): void {
    const log = app.log.child({ session: admission.identity.id });
    const giveBack = shares.take(admission);
    let session: RealtimeSession;
    try {
      const { config, identity, dialect } = admission;
      session = new RealtimeSession({ socket: ws, transport: socket, transcription: context.transcription, loadVad: context.loadVad, limits, log, scheduler, metrics: context.metrics, config, identity, dialect });
    } catch (error) {
      giveBack();
      log.error({ err: error }, "realtime session could not be opened");
      ws.close(1011, "internal error");
      return;
    }
    log.info({ dialect: admission.dialect, model: admission.config.model }, "realtime session opened");
    sessions.add(session);
    ws.on("close", (code) => {
      sessions.delete(session);
      giveBack();
      log.info({ code }, "realtime session closed");
    });
  }

  drainOf.set(app, async () => {
    await Promise.all([...sessions].map((session) => session.drain().catch(() => undefined)));
  });

  // After the drain (drainRealtime) or its deadline: sessions still open are closed (1001), which aborts their
  // work; those that do not answer the close are cut off.
  app.addHook("preClose", async () => {
    const clients = [...wss.clients];
    for (const client of clients) client.close(1001, "server shutting down");
    await new Promise((resolve) => setTimeout(resolve, clients.length > 0 ? 500 : 0));
    for (const client of wss.clients) client.terminate();
    await new Promise<void>((resolve) => wss.close(() => resolve()));
  });
}
