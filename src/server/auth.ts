// Who may call what. Every route declares its access in its options (`config: { access: "public" }`); a route that
// declares nothing, and any URL no route serves, needs an API key. The decision is taken on the route the router
// matched (after it decoded the path), never on the raw URL: `/%76%31/models`, `/v1//models` or an absolute-form
// target reach the same route, and so the same check, as `/v1/models`. The realtime WebSocket (not a Fastify route)
// is admitted by its own upgrade handler with the same keys (realtimeSocket.ts); the WebRTC call routes take a key or
// an ephemeral client secret (`client-secret` access: the hook checks a key, the route the secret).
import type { FastifyInstance, FastifyRequest } from "fastify";

import { jobOwner, OPEN_OWNER } from "../jobs/owner.js";
import { ApiError } from "../api/errors.js";
import { CLIENT_SECRET_PREFIX } from "./realtime/clientSecrets.js";

/**
 * `public`: anyone who can reach the server; `key`: one of the API keys (when any is configured); `client-secret`: one
 * of the API keys, or a bearer token that is an ephemeral client secret (`ek_…`), which the route verifies itself
 * (realtime/upgradeAdmission.ts identifyCaller: signature, expiry): a secret opens only what it was minted for.
 */
export type RouteAccess = "public" | "key" | "client-secret";

declare module "fastify" {
  interface FastifyContextConfig {
    /** Who may call the route; unset: `key`. */
    access?: RouteAccess;
  }
  interface FastifyRequest {
    /**
     * Who is calling: `key_<hash>` for an API key (the hash, never the key), {@link OPEN_OWNER} on a server without
     * keys or on a public route. Per-caller limits and job ownership use it.
     */
    caller: string;
  }
}

/** The token of an `Authorization: Bearer <token>` header. */
export function bearerToken(header: string | undefined): string | undefined {
  return /^Bearer\s+(.+)$/i.exec(header ?? "")?.[1]?.trim() || undefined;
}

/**
 * The configured API keys, held as their caller ids (a SHA-256 of each): a presented token is hashed once and looked
 * up, so checking it costs the same with one key or 100,000, and no comparison runs over the keys themselves.
 */
export class ApiKeys {
  private readonly ids: ReadonlySet<string>;

  constructor(keys: readonly string[]) {
    this.ids = new Set(keys.map((key) => jobOwner(key)));
  }

  /** Whether any key is configured (none: the API is open). */
  get required(): boolean {
    return this.ids.size > 0;
  }

  /** How many distinct keys are configured. */
  get count(): number {
    return this.ids.size;
  }

  /** The caller id of `token` when it is one of the keys. */
  identify(token: string | undefined): string | undefined {
    if (token === undefined || token === "") return undefined;
    const id = jobOwner(token);
    return this.ids.has(id) ? id : undefined;
  }
}

/**
 * The caller of a request to a route of `access`: {@link OPEN_OWNER} when the route is public or no key is
 * configured, else the id of the key presented. Throws a 401 ApiError when a key is needed and missing or wrong.
 */
function authorize(request: FastifyRequest, access: RouteAccess, keys: ApiKeys): string {
  if (access === "public" || !keys.required) return OPEN_OWNER;
  const header = request.headers.authorization;
  if (!header) {
    throw ApiError.unauthorized("You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).");
  }
  const token = bearerToken(header);
  if (access === "client-secret" && token?.startsWith(CLIENT_SECRET_PREFIX)) return OPEN_OWNER;
  const caller = keys.identify(token);
  if (caller === undefined) {
    const key = token ?? "";
    const shown = key.length > 8 ? `${key.slice(0, 3)}****${key.slice(-4)}` : "****";
    throw ApiError.unauthorized(`Incorrect API key provided: ${shown}.`);
  }
  return caller;
}

/**
 * Every request is authorized before anything else runs for it, on the route the router matched: default deny. CORS
 * preflights (the wildcard OPTIONS route of @fastify/cors) are public: browsers send them without credentials, and
 * they answer headers only. Sets `request.caller`.
 */
export function installAuthorization(app: FastifyInstance, keys: ApiKeys): void {
  app.decorateRequest("caller", OPEN_OWNER);
  app.addHook("onRequest", async (request) => {
    const preflight = request.method === "OPTIONS" && request.routeOptions.url === "*";
    request.caller = authorize(request, preflight ? "public" : (request.routeOptions.config?.access ?? "key"), keys);
  });
}
