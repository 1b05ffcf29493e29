// Who may open a realtime session, and with which settings: the upgrade request is checked before the upgrade completes
// (path, Origin, intent, an API key or a client secret), and each admitted session counts against its key's and its
// secret's fair share of the server's sessions. A WebRTC call (POST /v1/realtime/calls) is admitted by the same
// pieces (checkOrigin, identifyCaller, sessionAdmission) and counts against the same shares.
import type { IncomingMessage } from "node:http";

import { ApiError, originNotAllowed } from "../../api/errors.js";
import { defaultSessionConfig, type TranscriptionSessionConfig } from "../../api/realtimeSession.js";
import type { SessionIdentity } from "../../api/realtimeSessionJson.js";
import { realtimeId } from "../../formats/realtimeEvents.js";
import { OPEN_OWNER } from "../../jobs/owner.js";
import { type ApiKeys, bearerToken } from "../auth.js";
import { isAllowedOrigin } from "../origins.js";
import type { ModelRegistry } from "../../transcription/ModelRegistry.js";
import { CLIENT_SECRET_PREFIX, type ClientSecretStore } from "./clientSecrets.js";
import type { RealtimeDialect, RealtimeLimits } from "./realtimeLimits.js";

/** What deciding an upgrade needs. */
export interface UpgradeAdmissionDeps {
  apiKeys: ApiKeys;
  clientSecrets: ClientSecretStore;
  corsOrigins: readonly string[];
  models: Pick<ModelRegistry, "defaultModel" | "find">;
  realtimeLimits: Pick<RealtimeLimits, "maxSessionSeconds">;
}

const KEY_PROTOCOL = "openai-insecure-api-key.";
const BETA_PROTOCOL = "openai-beta.realtime-v1";

function offeredProtocols(request: IncomingMessage): string[] {
  const header = request.headers["sec-websocket-protocol"];
  return (Array.isArray(header) ? header.join(",") : (header ?? "")).split(",").map((p) => p.trim()).filter(Boolean);
}

function presentedToken(request: IncomingMessage): string | undefined {
  return bearerToken(request.headers.authorization) ?? offeredProtocols(request).find((p) => p.startsWith(KEY_PROTOCOL))?.slice(KEY_PROTOCOL.length);
}

export interface Admission {
  config: TranscriptionSessionConfig;
  identity: SessionIdentity;
  dialect: RealtimeDialect;
  /** The caller id of the API key the session counts against (the minting key for a client secret). */
  caller: string;
  /** The client secret's session id when the socket was opened with one. */
  secretId?: string;
}

/** Decides whether the upgrade may proceed, and with which session settings; throws ApiError otherwise. */
export function admit(request: IncomingMessage, context: UpgradeAdmissionDeps): Admission {
  const url = new URL(request.url ?? "/", "http://localhost");
  if (url.pathname.replace(/\/+$/, "") !== "/v1/realtime") throw ApiError.routeNotFound("GET", url.pathname);
  checkOrigin(request, context);
  const intent = url.searchParams.get("intent");
  if (intent !== null && intent !== "transcription") {
    throw ApiError.invalidParam("intent", `Earshot serves realtime transcription sessions only: use intent=transcription (got '${intent}').`);
  }
  const caller = identifyCaller(
    presentedToken(request),
    context,
    "You didn't provide an API key. Use an Authorization: Bearer header or the WebSocket subprotocol 'openai-insecure-api-key.<key>' (or an ephemeral client secret).",
  );
  return sessionAdmission(request, url, caller, context);
}

/** A browser's Origin must be one the server allows (EARSHOT_CORS_ORIGINS, or the server's own); throws 403. */
export function checkOrigin(request: IncomingMessage, context: Pick<UpgradeAdmissionDeps, "corsOrigins">): void {
  const origin = request.headers.origin;
  if (origin !== undefined && !isAllowedOrigin(origin, request.headers.host, context.corsOrigins)) {
    throw originNotAllowed(origin);
  }
}

/** Who opens a session: an API key's caller, or a client secret's (with the settings and identity it carries). */
export interface SessionCaller {
  /** The caller id of the API key the session counts against (the minting key for a client secret). */
  caller: string;
  /** What the client secret carries, when the session is opened with one. */
  secret?: { config: TranscriptionSessionConfig; identity: SessionIdentity };
}

/**
 * `token` (the presented bearer) as a caller: one of the API keys, a client secret (signature and expiry checked), or
 * nobody on a server without keys. Throws 401 otherwise (`missing`: what a request without any token is told).
 */
export function identifyCaller(token: string | undefined, context: Pick<UpgradeAdmissionDeps, "apiKeys" | "clientSecrets">, missing: string): SessionCaller {
  const caller = context.apiKeys.identify(token);
  if (caller !== undefined) return { caller };
  if (token?.startsWith(CLIENT_SECRET_PREFIX)) {
    const redeemed = context.clientSecrets.redeem(token);
    if (!redeemed.ok) {
      throw ApiError.unauthorized(redeemed.reason === "expired" ? "The client secret has expired; mint a new one." : "Invalid client secret provided.");
    }
    const { secret } = redeemed;
    return { caller: secret.owner, secret: { config: secret.config, identity: { id: secret.sessionId, expiresAt: secret.expiresAt } } };
  }
  if (context.apiKeys.required) throw ApiError.unauthorized(token === undefined ? missing : "Incorrect API key provided.");
  return { caller: OPEN_OWNER };
}

/** The admitted session: the secret's settings (or the defaults), `?model=` when served, its identity and dialect. */
export function sessionAdmission(request: IncomingMessage, url: URL, { caller, secret }: SessionCaller, context: UpgradeAdmissionDeps): Admission {
  let config = secret?.config ?? defaultSessionConfig(context.models.defaultModel.name);
  // The SDK always sends ?model=; it picks the transcription model when it names one this server offers.
  const model = url.searchParams.get("model");
  if (model && context.models.find(model)) config = { ...config, model };
  const maxSessionSeconds = context.realtimeLimits.maxSessionSeconds;
  const identity = secret?.identity ?? { id: realtimeId("sess"), expiresAt: Math.floor(Date.now() / 1000 + maxSessionSeconds) };
  const beta = /realtime=v1/.test(String(request.headers["openai-beta"] ?? "")) || offeredProtocols(request).includes(BETA_PROTOCOL);
  return { config, identity, dialect: beta ? "beta" : "ga", caller, ...(secret ? { secretId: secret.identity.id } : {}) };
}

/** How many sockets each key and each client secret holds open: the fair shares of the realtime sessions. */
export class SessionShares {
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
