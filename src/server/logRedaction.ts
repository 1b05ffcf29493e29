// Secrets never reach the log: API keys in a URL's query (`?api_key=`, `?key=`, ...), `Authorization` and
// `Cookie` headers, and the key a browser sends as the `openai-insecure-api-key.<key>` WebSocket subprotocol are
// replaced by "[REDACTED]" in every logged URL, header and string field, whoever logs them (Fastify's request
// log, the routes, the realtime upgrade).
import type { FastifyServerOptions } from "fastify";

export const REDACTED = "[REDACTED]";

/** Query parameters that carry credentials. */
const SECRET_PARAMS = new Set(["api_key", "api-key", "apikey", "key", "access_token", "token", "client_secret", "secret", "password", "authorization"]);
/** Headers whose whole value is a credential. */
const SECRET_HEADERS = new Set(["authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key", "api-key", "openai-api-key"]);

/** `name=value` of a secret query parameter anywhere in a string (a URL, a message quoting one). */
const SECRET_PARAM_IN_TEXT = /([?&;](?:api[_-]?key|apikey|key|access_token|token|client_secret|secret|password|authorization)=)[^&#\s"']*/gi;
/** `Bearer <token>` / `Basic <credentials>`. */
const AUTH_SCHEME_IN_TEXT = /\b(Bearer|Basic)\s+[^\s,"']+/gi;
/** The browser's way to send a key on a WebSocket. */
const SUBPROTOCOL_KEY_IN_TEXT = /(openai-insecure-api-key\.)[^\s,"']+/gi;

/** A string with every credential in it redacted. */
export function redactText(text: string): string {
  return text
    .replace(SECRET_PARAM_IN_TEXT, `$1${REDACTED}`)
    .replace(AUTH_SCHEME_IN_TEXT, `$1 ${REDACTED}`)
    .replace(SUBPROTOCOL_KEY_IN_TEXT, `$1${REDACTED}`);
}

/** A request URL (path and query) with the values of secret query parameters redacted. */
export function redactUrl(url: string): string {
  const query = url.indexOf("?");
  if (query < 0) return url;
  const [search, hash = ""] = url.slice(query + 1).split(/(?=#)/, 2) as [string, string?];
  const params = search.split("&").map((pair) => {
    const eq = pair.indexOf("=");
    const name = eq < 0 ? pair : pair.slice(0, eq);
    let decoded = name;
    try {
      decoded = decodeURIComponent(name.replace(/\+/g, " "));
    } catch {
      // keep it as it is
    }
    return eq >= 0 && SECRET_PARAMS.has(decoded.toLowerCase()) ? `${name}=${REDACTED}` : pair;
  });
  return redactText(`${url.slice(0, query)}?${params.join("&")}${hash}`);
}

/** Headers with credentials redacted (a copy). */
export function redactHeaders(headers: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    if (SECRET_HEADERS.has(lower)) out[name] = REDACTED;
    else if (typeof value === "string") out[name] = redactText(value);
    else if (Array.isArray(value)) out[name] = value.map((item) => (typeof item === "string" ? redactText(item) : item));
    else out[name] = value;
  }
  return out;
}

/** A log record's fields with credentials redacted: `url`s, `headers`, and any string (a few levels deep). */
export function redactLogObject(object: Record<string, unknown>, depth = 0): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(object)) out[key] = redactValue(key, value, depth);
  return out;
}

function redactValue(key: string, value: unknown, depth: number): unknown {
  if (typeof value === "string") return key === "url" ? redactUrl(value) : redactText(value);
  // Errors are serialized by pino's own serializer; plain objects are walked.
  if (value === null || typeof value !== "object" || value instanceof Error || depth >= 4) return value;
  if (Array.isArray(value)) return value.map((item) => redactValue(key, item, depth + 1));
  if (key === "headers") return redactHeaders(value as Record<string, unknown>);
  if (Object.getPrototypeOf(value) !== Object.prototype && Object.getPrototypeOf(value) !== null) return value;
  return redactLogObject(value as Record<string, unknown>, depth + 1);
}

interface LoggedRequest {
  method?: string;
  url?: string;
  host?: string;
  hostname?: string;
  ip?: string;
  socket?: { remotePort?: number };
  headers?: Record<string, unknown>;
}

/** Fastify's request serializer, with the URL redacted. */
function serializeRequest(request: LoggedRequest): Record<string, unknown> {
  return {
    method: request.method,
    url: redactUrl(request.url ?? ""),
    host: request.host ?? request.hostname,
    remoteAddress: request.ip,
    remotePort: request.socket?.remotePort,
  };
}

type LoggerOptions = FastifyServerOptions["logger"];

/**
 * The Fastify logger options with redaction added: the request serializer and a formatter over every record.
 * `false` stays off; `true` becomes pino's defaults with redaction.
 */
export function withLogRedaction(logger: LoggerOptions): LoggerOptions {
  if (!logger) return logger;
  const options = (logger === true ? {} : logger) as Exclude<LoggerOptions, boolean | undefined> & {
    serializers?: Record<string, (value: never) => unknown>;
    formatters?: { log?: (object: Record<string, unknown>) => Record<string, unknown> };
  };
  const userFormat = options.formatters?.log;
  return {
    ...options,
    serializers: { req: serializeRequest, ...options.serializers },
    formatters: {
      ...options.formatters,
      log: (object: Record<string, unknown>) => redactLogObject(userFormat ? userFormat(object) : object),
    },
  } as LoggerOptions;
}
