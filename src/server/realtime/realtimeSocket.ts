// GET /v1/realtime upgraded to a WebSocket (`?intent=transcription`, or `?model=…` as the SDK sends it), the WebRTC
// calls (POST /v1/realtime/calls, webrtc/callRoutes.ts) and the client-secret routes that mint what browsers open them
// with: the realtime door of the server, a Fastify plugin. The upgrade is admitted before it completes
// (upgradeAdmission.ts); anything refused is answered with an OpenAI-shaped HTTP error and the socket closed; an
// accepted one becomes a RealtimeSession. At most `maxSessions` are open at once, sockets and calls together
// (RealtimeSessions.ts): the next is refused with 429 until one closes. The app gets `app.realtime` (stats, drain).
import type { IncomingMessage } from "node:http";
import { STATUS_CODES } from "node:http";
import type { Duplex } from "node:stream";

import type { FastifyBaseLogger, FastifyInstance } from "fastify";
import fp from "fastify-plugin";
import { type WebSocket, WebSocketServer } from "ws";

import { type ApiError, shuttingDown, toApiError } from "../../api/errors.js";
import type { ServerContext } from "../serverContext.js";
import { registerClientSecretRoutes } from "./clientSecretRoutes.js";
import { RealtimeSession } from "./RealtimeSession.js";
import { RealtimeSessions, type RealtimeStats } from "./RealtimeSessions.js";
import type { SessionChannel } from "./sessionChannel.js";
import { type Admission, admit } from "./upgradeAdmission.js";
import { registerCallRoutes } from "./webrtc/callRoutes.js";
import { WebSocketChannel } from "./webSocketChannel.js";

/** Messages above the configured limit get an error event; above this many times it the socket is closed (1009). */
const HARD_CAP_FACTOR = 4;

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

/** What the app can ask of its realtime sessions (`app.realtime`). */
export interface RealtimeControl {
  stats(): RealtimeStats;
  /**
   * Shutdown, first step: every open session (sockets and calls) stops taking audio, finishes its committed turns and
   * closes (1001); resolves once all have closed. New sessions are refused (503) once the upload admission drains.
   */
  drain(): Promise<void>;
  /**
   * Opens a session over another transport's channel (the Wyoming listener): counted against the cap and the shares
   * like a socket or a call (throws a 429 ApiError when there is no place), its place given back when the channel
   * closes.
   */
  openSession(channel: SessionChannel, admission: Admission, log: FastifyBaseLogger): RealtimeSession;
}

declare module "fastify" {
  interface FastifyInstance {
    /** The realtime sessions (registered by {@link realtimeDoor}). */
    realtime: RealtimeControl;
  }
}

/** What the realtime door needs of the server. */
export type RealtimeDeps = Pick<
  ServerContext,
  "transcription" | "loadVad" | "realtimeLimits" | "apiKeys" | "clientSecrets" | "corsOrigins" | "admission" | "models" | "metrics" | "webrtc"
>;

/**
 * Serves realtime sessions on the app's HTTP(S) server; {@link drainRealtime} lets them finish their committed
 * turns, and those still open when the app closes are closed (1001).
 */
function attachRealtimeSocket(app: FastifyInstance, context: RealtimeDeps, sessions: RealtimeSessions): void {
  const limits = context.realtimeLimits;
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: Math.ceil(limits.maxMessageBytes * HARD_CAP_FACTOR),
    perMessageDeflate: false,
    // Browsers require the server to pick one of the offered protocols; never echo the key.
    handleProtocols: (protocols) => (protocols.has("realtime") ? "realtime" : false),
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
      sessions.check(admission);
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
    const place = sessions.take(admission);
    let session: RealtimeSession;
    try {
      const { config, identity, dialect } = admission;
      const channel = new WebSocketChannel(ws, socket, log);
      session = new RealtimeSession({ channel, transcription: context.transcription, loadVad: context.loadVad, limits, log, scheduler: sessions.scheduler, metrics: context.metrics, config, identity, dialect });
    } catch (error) {
      place.release();
      log.error({ err: error }, "realtime session could not be opened");
      ws.close(1011, "internal error");
      return;
    }
    log.info({ dialect: admission.dialect, model: admission.config.model }, "realtime session opened");
    place.fill(session);
    ws.on("close", (code) => {
      place.release();
      log.info({ code }, "realtime session closed");
    });
  }

  // After the drain (app.realtime.drain) or its deadline: sessions still open are closed (1001), which aborts their
  // work; those that do not answer the close are cut off.
  app.addHook("preClose", async () => {
    const clients = [...wss.clients];
    for (const client of clients) client.close(1001, "server shutting down");
    await new Promise((resolve) => setTimeout(resolve, clients.length > 0 ? 500 : 0));
    for (const client of wss.clients) client.terminate();
    await new Promise<void>((resolve) => wss.close(() => resolve()));
  });
}

/** The realtime door: the upgrade handler, the WebRTC calls and the client-secret routes; decorates the app with `realtime`. */
export const realtimeDoor = fp<RealtimeDeps>(
  async (app, deps) => {
    const sessions = new RealtimeSessions(deps.realtimeLimits, deps.apiKeys.count >= 2);
    registerClientSecretRoutes(app, deps);
    attachRealtimeSocket(app, deps, sessions);
    await app.register(registerCallRoutes, { ...deps, sessions });
    const openSession = (channel: SessionChannel, admission: Admission, log: FastifyBaseLogger): RealtimeSession => {
      sessions.check(admission);
      const place = sessions.take(admission);
      let session: RealtimeSession;
      try {
        const { config, identity, dialect } = admission;
        const { transcription, loadVad, realtimeLimits: limits, metrics } = deps;
        session = new RealtimeSession({ channel, transcription, loadVad, limits, log, scheduler: sessions.scheduler, metrics, config, identity, dialect });
      } catch (error) {
        place.release();
        throw error;
      }
      place.fill(session);
      void channel.whenClosed().then(() => place.release());
      return session;
    };
    app.decorate("realtime", { stats: () => sessions.stats(), drain: () => sessions.drain(), openSession } satisfies RealtimeControl);
  },
  { name: "earshot-realtime" },
);
