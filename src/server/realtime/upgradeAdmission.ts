// Who may open a realtime socket, and with which session: the upgrade request is checked before the upgrade completes
// (path, Origin, intent, an API key or a client secret), and each admitted socket counts against its key's and its
// secret's fair share of the server's sessions.
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
/** Messages above the configured limit get an error event; above this many times it the socket is closed (1009). */
const HARD_CAP_FACTOR = 4;

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
