// Settings table, group "Server": where the server listens, who may call it, how it logs and shuts down.
import { z } from "zod";

import { list } from "../schemas.js";
import type { Setting } from "../setting.js";

/** Origins browsers may call from when EARSHOT_CORS_ORIGINS is not set (same-origin always works). */
export const DEFAULT_CORS_ORIGINS = [
  "http://localhost:3000",
  "http://localhost:5173",
  "http://localhost:8080",
  "http://127.0.0.1:3000",
  "http://127.0.0.1:5173",
  "http://127.0.0.1:8080",
];

/** Shortest API key accepted: a key is a password a client sends on every request, and guessable ones are refused. */
export const MIN_API_KEY_LENGTH = 16;

export const serverSettings = {
  host: {
    env: "EARSHOT_HOST",
    flag: "--host <host>",
    commands: ["serve", "worker", "jobs"],
    flagOn: ["serve", "worker"],
    schema: z.string().min(1).default("127.0.0.1"),
    doc: "interface to listen on",
    note: "`earshot worker` serves its `/health` and `/metrics` there. `earshot jobs` talks to it when `EARSHOT_URL` is not set (loopback for `0.0.0.0` and `::`).",
  },
  port: {
    env: "EARSHOT_PORT",
    flag: "-p, --port <port>",
    commands: ["serve", "jobs"],
    flagOn: ["serve"],
    schema: z.coerce.number().int().min(0).max(65535).default(8000),
    doc: "port to listen on",
    note: "`0`: one the system picks. `earshot jobs` talks to it when `EARSHOT_URL` is not set; `earshot worker` has its own, `EARSHOT_WORKER_PORT`.",
  },
  apiKeys: {
    env: "EARSHOT_API_KEYS",
    flag: "--api-keys <list>",
    commands: ["serve", "worker"],
    schema: list
      .refine((keys) => keys.every((key) => key.length >= MIN_API_KEY_LENGTH), `every key must be at least ${MIN_API_KEY_LENGTH} characters (e.g. \`openssl rand -hex 24\`)`)
      .default([]),
    doc: `bearer keys, comma-separated, each at least ${MIN_API_KEY_LENGTH} characters: a client must send one of them`,
    note:
      "E.g. `openssl rand -hex 24`; masked in the log. Set but naming no key (`\" \"`, `\",\"`, an empty template variable): " +
      "startup stops rather than run an open server. On `earshot worker` they guard `/metrics`. With two or more keys each gets " +
      "its fair share of realtime sessions and batch jobs. See [security](security.md).",
    defaultText: "unset: an open API (a warning is logged)",
    secret: "value",
  },
  corsOrigins: {
    env: "EARSHOT_CORS_ORIGINS",
    flag: "--cors-origins <list>",
    commands: ["serve"],
    schema: list.default(DEFAULT_CORS_ORIGINS),
    doc: "browser origins allowed besides same-origin, comma-separated (* for any)",
    note: "Browsers' realtime WebSocket upgrades follow it too.",
    defaultText: "the localhost dev ports 3000, 5173 and 8080 (`http://localhost:…`, `http://127.0.0.1:…`)",
  },
  secretKey: {
    env: "EARSHOT_SECRET_KEY",
    flag: "--secret-key <key>",
    commands: ["serve", "worker"],
    schema: z
      .string()
      .refine((key) => Buffer.byteLength(key) >= 32, "must be at least 32 bytes (e.g. `openssl rand -base64 32`)")
      .optional(),
    doc: "signs realtime client secrets, so that every replica with the same key accepts them (at least 32 bytes)",
    note:
      "HMAC-SHA256; e.g. `openssl rand -base64 32`; masked in the log. With batch jobs on Redis it also seals the generated " +
      "webhook signing key kept there: every server and worker then needs the same one (or `EARSHOT_WEBHOOK_SECRET`).",
    defaultText: "a random key per process (its secrets open its own sockets only, and not after a restart)",
    secret: "value",
  },
  metrics: {
    env: "EARSHOT_METRICS",
    flag: "--metrics <mode>",
    commands: ["serve", "worker"],
    schema: z.enum(["open", "key", "off"]).optional(),
    doc: "GET /metrics (Prometheus): open to anyone, key (behind the API keys, as the API) or off (404)",
    note: "On the server and on `earshot worker`. With `key`, scrape with `Authorization: Bearer <key>` (Prometheus' `authorization` setting); open when no keys are set.",
    defaultText: "`key` when API keys are set, else `open`",
  },
  logLevel: {
    env: "EARSHOT_LOG_LEVEL",
    flag: "--log-level <level>",
    commands: ["serve", "worker"],
    schema: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
    doc: "log level (pino): fatal, error, warn, info, debug, trace or silent",
  },
  drainTimeoutSeconds: {
    env: "EARSHOT_DRAIN_TIMEOUT_SECONDS",
    flag: "--drain-timeout-seconds <s>",
    commands: ["serve"],
    schema: z.coerce.number().min(0).max(86_400).default(30),
    doc: "at SIGTERM/SIGINT, in-flight requests get this long to finish before they are aborted",
    note:
      "Realtime sessions' committed turns too; then the rest is aborted and the process exits. A supervisor's stop timeout " +
      "should be at least `EARSHOT_DRAIN_ACCEPT_SECONDS` + this + 10.",
  },
  drainAcceptSeconds: {
    env: "EARSHOT_DRAIN_ACCEPT_SECONDS",
    flag: "--drain-accept-seconds <s>",
    commands: ["serve"],
    schema: z.coerce.number().min(0).max(3_600).default(0),
    doc: "at SIGTERM/SIGINT, /ready answers 503 but new work is still taken this long before the drain",
    note:
      "So that a load balancer checking `/ready` takes the replica out before anything is refused: 3 behind the HAProxy " +
      "configuration in `deploy/haproxy.cfg`.",
  },
} as const satisfies Record<string, Setting>;
