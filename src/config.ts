// Earshot's configuration, the one place EARSHOT_* settings are read: flags > environment > .env
// file > defaults, validated at startup. A bad value stops startup with a message naming it.
// The CLI commands and the server read it here and pass the values down; the lower layers
// (src/audio, src/models, src/engine) never read the environment themselves.
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";

import { parse as parseDotenv } from "dotenv";
import { z } from "zod";

import { DEFAULT_MAX_DURATION_SECONDS, DECODED_BYTES_PER_SECOND } from "./audio/index.js";
import { DEFAULT_MODELS_BASE_URL, modelsBaseUrl } from "./models/catalog.js";
import { modelsDir } from "./models/modelStore.js";

/** OpenAI's transcription model ids (openai-node's AudioModel and the 2026 ids): each an alias of the default model. */
export const DEFAULT_ALIASES = [
  "whisper-1",
  "gpt-4o-transcribe",
  "gpt-4o-mini-transcribe",
  "gpt-4o-mini-transcribe-2025-12-15",
  "gpt-4o-transcribe-diarize",
  "gpt-transcribe",
] as const;

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

const list = z
  .string()
  .transform((value) => value.split(",").map((item) => item.trim()).filter(Boolean));

const positiveInt = z.coerce.number().int().positive();

const yesNo = z.enum(["1", "0", "true", "false", "yes", "no"]).transform((value) => ["1", "true", "yes"].includes(value));

/** An IP address or CIDR range written plainly (`10.0.0.0/8`, `fd00::/8`, `127.0.0.1`, `[::1]`). */
function isNetworkEntry(entry: string): boolean {
  const match = /^\[?([^\]/]+)\]?(?:\/(\d{1,3}))?$/.exec(entry);
  const family = match ? net.isIP(match[1]!) : 0;
  return family !== 0 && (match![2] === undefined || Number(match![2]) <= (family === 4 ? 32 : 128));
}

/** Raw settings as strings (from flags or the environment) → typed, validated configuration. */
const serverConfigSchema = z.object({
  host: z.string().min(1).default("127.0.0.1"),
  port: z.coerce.number().int().min(0).max(65535).default(8000),
  model: z.string().min(1).default("base"),
  /** More models to serve beside the default (names or paths). */
  extraModels: list.default([]),
  /** "alias=model" pairs; an alias without "=model" maps to the default model. */
  aliases: list.default([...DEFAULT_ALIASES]),
  /** Bearer keys; unset: an open API. Each at least MIN_API_KEY_LENGTH characters; set but empty refuses to start. */
  apiKeys: list
    .refine((keys) => keys.every((key) => key.length >= MIN_API_KEY_LENGTH), `every key must be at least ${MIN_API_KEY_LENGTH} characters (e.g. \`openssl rand -hex 24\`)`)
    .default([]),
  corsOrigins: list.default(DEFAULT_CORS_ORIGINS),
  maxUploadMb: z.coerce.number().positive().max(100_000).default(25),
  parallelJobs: positiveInt.optional(),
  threadsPerJob: positiveInt.optional(),
  maxQueuedJobs: z.coerce.number().int().min(0).default(16),
  /** Longest audio one upload may decode to, in seconds (refused from the header when it declares more). */
  maxDecodedSeconds: z.coerce.number().positive().max(24 * 3600).default(DEFAULT_MAX_DURATION_SECONDS),
  /** Decoded audio held in memory by all requests together, in MB (MiB); an upload that would pass it is refused. */
  maxDecodedAudioMb: z.coerce.number().positive().max(1_000_000).default(1024),
  /** Uploads received and decoded at once; default (unset) the engine's job slots + queue places. */
  maxConcurrentDecodes: positiveInt.optional(),
  /** An upload that sends no byte for this long is answered 408 and dropped. */
  uploadIdleTimeoutSeconds: z.coerce.number().positive().max(86_400).default(30),
  /** An upload still arriving this long after the request started is answered 408 and dropped. */
  uploadTimeoutSeconds: z.coerce.number().positive().max(86_400).default(600),
  /** At shutdown, in-flight requests get this long to finish before they are aborted. */
  drainTimeoutSeconds: z.coerce.number().min(0).max(86_400).default(30),
  /**
   * At shutdown, before the drain: /ready already answers 503 "draining" but new work is still taken for this long,
   * so that a load balancer checking /ready takes the server out before anything is refused.
   */
  drainAcceptSeconds: z.coerce.number().min(0).max(3_600).default(0),
  /** FFmpeg binary; default the static one from @ffmpeg-installer/ffmpeg. */
  ffmpegPath: z.string().min(1).optional(),
  /**
   * Where models are stored and looked up by name; default `$XDG_CACHE_HOME/earshot/models`, else
   * `~/.cache/earshot/models`. Made absolute by the loader (`~` expanded, relative to the working directory).
   */
  modelsDir: z.string().min(1).optional(),
  /** Server `earshot models pull` downloads from; default Hugging Face (DEFAULT_MODELS_BASE_URL). Trailing slashes removed. */
  modelsBaseUrl: z.string().min(1).default(DEFAULT_MODELS_BASE_URL).transform((url) => modelsBaseUrl(url)),
  logLevel: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  /** "0"/"false"/"no" keeps a CUDA build on the CPU. */
  gpuOffload: yesNo.default(true),
  /** A CPU job slot of two threads or more may run two chunks side by side (off: one state per slot, as whisper-cli). */
  slotSharing: yesNo.default(true),
  /** HTTPS/WSS: PEM certificate and key files. */
  tlsCert: z.string().min(1).optional(),
  tlsKey: z.string().min(1).optional(),
  /** HTTPS/WSS with a self-signed certificate generated for this machine (when no cert/key is given). */
  tlsSelfSigned: yesNo.default(false),
  /** chunking for requests that set no chunking_strategy: "none" (one block, as OpenAI) or "auto" (VAD chunks). */
  chunking: z.enum(["auto", "none"]).default("none"),
  /** Realtime sessions are closed after this long (OpenAI: 60 minutes). */
  realtimeMaxSessionMinutes: z.coerce.number().positive().max(24 * 60).default(60),
  /** Uncommitted audio a realtime session may hold; also the longest turn before the server commits it. */
  realtimeMaxBufferSeconds: z.coerce.number().positive().max(3600).default(300),
  /** Largest realtime client message (OpenAI allows 15 MiB appends). */
  realtimeMaxMessageMb: z.coerce.number().positive().max(256).default(15),
  /** Realtime sessions with no client message for this long are closed. */
  realtimeIdleTimeoutSeconds: z.coerce.number().positive().max(86_400).default(300),
  /** Realtime sessions open at once; more are refused (429) at the upgrade. */
  realtimeMaxSessions: z.coerce.number().int().positive().max(100_000).default(100),
  /** Realtime sessions one API key (its client secrets' included) may hold open, when two or more keys are configured. */
  realtimeMaxSessionsPerKey: z.coerce.number().int().positive().max(100_000).default(25),
  /** Realtime sockets one client secret may hold open at once (2: a reconnect may overlap the old socket's close). */
  realtimeMaxSocketsPerSecret: z.coerce.number().int().positive().max(1000).default(2),
  /** A realtime session's audio is processed at most this many times faster than real time (after a 10-s burst). */
  realtimeMaxSpeed: z.coerce.number().positive().max(10_000).default(20),
  /** GET /metrics: "open" to anyone, "key" behind the API keys as the API, "off" (404); unset: "key" when API keys are set, else "open". */
  metrics: z.enum(["open", "key", "off"]).optional(),
  /** Signs realtime client secrets, so that every replica sharing it accepts them; unset: a random key per process. */
  secretKey: z
    .string()
    .refine((key) => Buffer.byteLength(key) >= 32, "must be at least 32 bytes (e.g. `openssl rand -base64 32`)")
    .optional(),
  /**
   * Where batch jobs, their audio and the generated webhook key live; default `$XDG_DATA_HOME/earshot`, else
   * `~/.local/share/earshot`. Made absolute by the loader.
   */
  dataDir: z.string().min(1).optional(),
  /** Batch jobs on BullMQ in this Redis (redis://…, rediss://…) shared by every server and worker; unset: embedded SQLite. */
  redisUrl: z.string().regex(/^rediss?:\/\//, "must be a redis:// or rediss:// URL").optional(),
  /** Signs webhooks (Standard Webhooks, `whsec_` + base64 key); unset: a random key generated once in the data dir. */
  webhookSecret: z
    .string()
    .regex(/^(whsec_)?[A-Za-z0-9+/]+={0,2}$/, "must be whsec_ followed by a base64 key")
    .refine((key) => Buffer.from(key.replace(/^whsec_/, ""), "base64").length >= 24, "the key must be at least 24 bytes")
    .optional(),
  /**
   * Hosts (example.com, *.example.com) or origins (https://example.com:8443) webhooks may go to; empty: any with a
   * public address. An entry naming one host or origin also allows its internal addresses.
   */
  webhookAllowlist: list.default([]),
  /**
   * Non-public address ranges (CIDR or single addresses: 10.0.0.0/8, fd00::/8, 127.0.0.1) webhooks may go to from
   * any host; empty: public addresses only, unless an allowlist entry names the host exactly (see webhookTarget.ts).
   */
  webhookAllowedNetworks: list
    .refine((entries) => entries.every(isNetworkEntry), "must be comma-separated IP addresses or CIDR ranges (e.g. 10.0.0.0/8,fd00::/8)")
    .default([]),
  /** A webhook host name's DNS lookup (at submit and before each delivery) fails after this long. */
  webhookDnsTimeoutSeconds: z.coerce.number().positive().max(60).default(3),
  /** Deliveries of one webhook event, the first included, before it is given up. */
  webhookAttempts: z.coerce.number().int().min(1).max(50).default(8),
  /** Each webhook attempt is aborted after this long. */
  webhookTimeoutSeconds: z.coerce.number().positive().max(600).default(10),
  /** Wait before the first retry, doubled for each next one (capped at 10 minutes). */
  webhookRetryDelaySeconds: z.coerce.number().positive().max(3600).default(1),
  /** Webhook events waiting for delivery or retry at once; beyond it new events are dropped (and logged). */
  webhookMaxPending: z.coerce.number().int().positive().max(1_000_000).default(1000),
  /** Redis commands of the API (submit, get, list, cancel) fail after this long (then 503) instead of waiting. */
  redisTimeoutSeconds: z.coerce.number().positive().max(600).default(5),
  /**
   * Largest FLAC audio of one job kept in Redis, MB (MiB): Redis strings stop at 512 MB (proto-max-bulk-len), about
   * 7 hours of speech. Beyond it: 413 at submit.
   */
  redisMaxJobAudioMb: z.coerce.number().positive().max(512).default(512),
  /** FLAC audio of all unfinished jobs kept in Redis together, MB (MiB); beyond it: 429 at submit. */
  redisMaxStoredAudioMb: z.coerce.number().positive().max(1_000_000).default(4096),
  /** BullMQ lock of a running job: a worker that stops renewing it (crashed, cut off) loses the job after this long. */
  jobsLockSeconds: z.coerce.number().positive().max(3600).default(30),
  /** How often the workers look for jobs whose lock has expired, to queue them again. */
  jobsStalledCheckSeconds: z.coerce.number().positive().max(3600).default(30),
  /** Times a job is taken up again after its worker died running it; then it fails (a job that kills workers). */
  jobsMaxRecoveries: z.coerce.number().int().min(0).max(1000).default(3),
  /** `earshot worker`: port of its /health and /metrics (on EARSHOT_HOST). */
  workerPort: z.coerce.number().int().min(0).max(65535).default(8001),
  /** Largest upload of POST /v1/audio/jobs, MB (MiB); enforced as the bytes arrive (413). */
  jobsMaxUploadMb: z.coerce.number().positive().max(1_000_000).default(2048),
  /** Longest audio of one job, hours (413 beyond, from the header when the container declares it). */
  jobsMaxAudioHours: z.coerce.number().positive().max(48).default(6),
  /** A job upload still arriving this long after it started is answered 408 and dropped. */
  jobsUploadTimeoutSeconds: z.coerce.number().positive().max(86_400).default(3600),
  /** Job uploads received (and decoded to FLAC) at once; more are refused with 429. */
  jobsMaxUploads: z.coerce.number().int().positive().max(1000).default(4),
  /** Unfinished jobs (queued and running, all keys together); more are refused with 429. */
  jobsMaxQueued: z.coerce.number().int().positive().max(10_000_000).default(1000),
  /** Unfinished jobs of one API key (uploads in flight included); more are refused with 429, other keys unaffected. */
  jobsMaxQueuedPerKey: z.coerce.number().int().positive().max(10_000_000).default(100),
  /**
   * Embedded backend: FLAC audio of all unfinished jobs (and of uploads in flight, as much as they may still take)
   * kept in the data dir together, MB (MiB); beyond it: 429 at submit.
   */
  jobsMaxStoredAudioMb: z.coerce.number().positive().max(100_000_000).default(10_240),
  /** Embedded backend: free space the data dir's disk keeps, MB (MiB); an upload that would take it below: 507. */
  jobsMinFreeDiskMb: z.coerce.number().min(0).max(100_000_000).default(1024),
  /**
   * Jobs one server (or worker) runs at once; each one's chunks run side by side on the engine's free slots. 0 (with
   * EARSHOT_REDIS_URL only): the server runs no jobs (API only), `earshot worker` processes do.
   */
  jobsConcurrency: z.coerce.number().int().min(0).max(64).default(1),
  /** Finished jobs (and their results) are deleted this long after they finished. */
  jobsRetentionHours: z.coerce.number().positive().max(87_600).default(168),
});

export type ServerConfig = Omit<z.output<typeof serverConfigSchema>, "modelsDir" | "dataDir" | "metrics"> & {
  /** Who may read GET /metrics (always set: the default follows the API keys). */
  metrics: "open" | "key" | "off";
  /** Absolute path of the models directory (always set: the default when not configured). */
  modelsDir: string;
  /** Absolute path of the data directory (always set: the default when not configured). */
  dataDir: string;
};
export type ServerConfigInput = Partial<Record<keyof ServerConfig, string | undefined>>;

/** Environment variable of each setting. */
export const CONFIG_ENV: Record<keyof ServerConfig, string> = {
  host: "EARSHOT_HOST",
  port: "EARSHOT_PORT",
  model: "EARSHOT_MODEL",
  extraModels: "EARSHOT_EXTRA_MODELS",
  aliases: "EARSHOT_MODEL_ALIASES",
  apiKeys: "EARSHOT_API_KEYS",
  corsOrigins: "EARSHOT_CORS_ORIGINS",
  maxUploadMb: "EARSHOT_MAX_UPLOAD_MB",
  parallelJobs: "EARSHOT_PARALLEL_JOBS",
  threadsPerJob: "EARSHOT_THREADS",
  maxQueuedJobs: "EARSHOT_MAX_QUEUED_JOBS",
  maxDecodedSeconds: "EARSHOT_MAX_DECODED_SECONDS",
  maxDecodedAudioMb: "EARSHOT_MAX_DECODED_AUDIO_MB",
  maxConcurrentDecodes: "EARSHOT_MAX_CONCURRENT_DECODES",
  uploadIdleTimeoutSeconds: "EARSHOT_UPLOAD_IDLE_TIMEOUT_SECONDS",
  uploadTimeoutSeconds: "EARSHOT_UPLOAD_TIMEOUT_SECONDS",
  drainTimeoutSeconds: "EARSHOT_DRAIN_TIMEOUT_SECONDS",
  drainAcceptSeconds: "EARSHOT_DRAIN_ACCEPT_SECONDS",
  ffmpegPath: "EARSHOT_FFMPEG_PATH",
  modelsDir: "EARSHOT_MODELS_DIR",
  modelsBaseUrl: "EARSHOT_MODELS_BASE_URL",
  logLevel: "EARSHOT_LOG_LEVEL",
  gpuOffload: "EARSHOT_GPU_OFFLOAD",
  slotSharing: "EARSHOT_SLOT_SHARING",
  tlsCert: "EARSHOT_TLS_CERT",
  tlsKey: "EARSHOT_TLS_KEY",
  tlsSelfSigned: "EARSHOT_TLS_SELF_SIGNED",
  chunking: "EARSHOT_CHUNKING",
  realtimeMaxSessionMinutes: "EARSHOT_REALTIME_MAX_SESSION_MINUTES",
  realtimeMaxBufferSeconds: "EARSHOT_REALTIME_MAX_BUFFER_SECONDS",
  realtimeMaxMessageMb: "EARSHOT_REALTIME_MAX_MESSAGE_MB",
  realtimeIdleTimeoutSeconds: "EARSHOT_REALTIME_IDLE_TIMEOUT_SECONDS",
  realtimeMaxSessions: "EARSHOT_REALTIME_MAX_SESSIONS",
  realtimeMaxSessionsPerKey: "EARSHOT_REALTIME_MAX_SESSIONS_PER_KEY",
  realtimeMaxSocketsPerSecret: "EARSHOT_REALTIME_MAX_SOCKETS_PER_SECRET",
  realtimeMaxSpeed: "EARSHOT_REALTIME_MAX_SPEED",
  metrics: "EARSHOT_METRICS",
  secretKey: "EARSHOT_SECRET_KEY",
  dataDir: "EARSHOT_DATA_DIR",
  redisUrl: "EARSHOT_REDIS_URL",
  webhookSecret: "EARSHOT_WEBHOOK_SECRET",
  webhookAllowlist: "EARSHOT_WEBHOOK_ALLOWLIST",
  webhookAllowedNetworks: "EARSHOT_WEBHOOK_ALLOWED_NETWORKS",
  webhookDnsTimeoutSeconds: "EARSHOT_WEBHOOK_DNS_TIMEOUT_SECONDS",
  webhookAttempts: "EARSHOT_WEBHOOK_ATTEMPTS",
  webhookTimeoutSeconds: "EARSHOT_WEBHOOK_TIMEOUT_SECONDS",
  webhookRetryDelaySeconds: "EARSHOT_WEBHOOK_RETRY_DELAY_SECONDS",
  webhookMaxPending: "EARSHOT_WEBHOOK_MAX_PENDING",
  redisTimeoutSeconds: "EARSHOT_REDIS_TIMEOUT_SECONDS",
  redisMaxJobAudioMb: "EARSHOT_REDIS_MAX_JOB_AUDIO_MB",
  redisMaxStoredAudioMb: "EARSHOT_REDIS_MAX_STORED_AUDIO_MB",
  jobsLockSeconds: "EARSHOT_JOBS_LOCK_SECONDS",
  jobsStalledCheckSeconds: "EARSHOT_JOBS_STALLED_CHECK_SECONDS",
  jobsMaxRecoveries: "EARSHOT_JOBS_MAX_RECOVERIES",
  workerPort: "EARSHOT_WORKER_PORT",
  jobsMaxUploadMb: "EARSHOT_JOBS_MAX_UPLOAD_MB",
  jobsMaxAudioHours: "EARSHOT_JOBS_MAX_AUDIO_HOURS",
  jobsUploadTimeoutSeconds: "EARSHOT_JOBS_UPLOAD_TIMEOUT_SECONDS",
  jobsMaxUploads: "EARSHOT_JOBS_MAX_UPLOADS",
  jobsMaxQueued: "EARSHOT_JOBS_MAX_QUEUED",
  jobsMaxQueuedPerKey: "EARSHOT_JOBS_MAX_QUEUED_PER_KEY",
  jobsMaxStoredAudioMb: "EARSHOT_JOBS_MAX_STORED_AUDIO_MB",
  jobsMinFreeDiskMb: "EARSHOT_JOBS_MIN_FREE_DISK_MB",
  jobsConcurrency: "EARSHOT_JOBS_CONCURRENCY",
  jobsRetentionHours: "EARSHOT_JOBS_RETENTION_HOURS",
};

/** Hardware threads of this machine. */
export const hardwareThreads = os.availableParallelism();

export class ConfigError extends Error {
  override name = "ConfigError";
}

/** Reads `.env` in `cwd` if present (values already in the environment win). */
export function readDotenv(cwd: string = process.cwd()): Record<string, string> {
  const file = path.join(cwd, ".env");
  return fs.existsSync(file) ? parseDotenv(fs.readFileSync(file)) : {};
}

/**
 * Merges flags, environment and .env, and validates. Throws ConfigError naming the setting, its
 * flag and its variable.
 */
export function loadServerConfig(
  flags: ServerConfigInput = {},
  env: NodeJS.ProcessEnv = process.env,
  dotenv: Record<string, string> = readDotenv(),
): ServerConfig {
  const config = loadConfig(Object.keys(CONFIG_ENV) as Array<keyof ServerConfig>, flags, env, dotenv);
  // Fail closed: a key setting that is there but names no key (`EARSHOT_API_KEYS=" "`, `=,`, or a template's empty
  // `${KEYS}`) was meant to protect the server; starting it open would be the wrong guess.
  const givenKeys = flags.apiKeys ?? env[CONFIG_ENV.apiKeys] ?? dotenv[CONFIG_ENV.apiKeys];
  if (givenKeys !== undefined && config.apiKeys.length === 0) {
    throw new ConfigError(
      `invalid apiKeys (flag --api-keys, env ${CONFIG_ENV.apiKeys}): it is set but names no key; give at least one key, or unset it to run an open server`,
    );
  }
  for (const alias of config.aliases) {
    if (!/^[\w.:-]+(=.+)?$/.test(alias)) throw new ConfigError(`invalid model alias "${alias}" in ${CONFIG_ENV.aliases}: use alias or alias=model`);
  }
  if (config.jobsConcurrency === 0 && config.redisUrl === undefined) {
    throw new ConfigError(`invalid jobsConcurrency (flag --jobs-concurrency, env ${CONFIG_ENV.jobsConcurrency}): 0 (no jobs run here) needs ${CONFIG_ENV.redisUrl}, where workers run them`);
  }
  // The longest upload whose header does not declare its length needs twice its samples once: the blocks it was
  // decoded into, and the array they are joined into.
  const longestUploadMb = (2 * config.maxDecodedSeconds * DECODED_BYTES_PER_SECOND) / 1_048_576;
  if (config.maxDecodedAudioMb < longestUploadMb) {
    throw new ConfigError(
      `invalid maxDecodedAudioMb (flag --max-decoded-audio-mb, env ${CONFIG_ENV.maxDecodedAudioMb}): ${config.maxDecodedAudioMb} MB cannot hold ` +
        `one upload of maxDecodedSeconds (${config.maxDecodedSeconds} s needs ${longestUploadMb.toFixed(1)} MB while it is decoded): raise it, or lower ${CONFIG_ENV.maxDecodedSeconds}`,
    );
  }
  return config;
}

/**
 * Some of the settings, for commands that need only those (e.g. `earshot models` reads the models
 * directory and base URL, and is not stopped by a bad server setting). Same precedence and
 * validation as {@link loadServerConfig}: flags > environment > .env > defaults.
 */
export function loadConfig<K extends keyof ServerConfig>(
  keys: readonly K[],
  flags: ServerConfigInput = {},
  env: NodeJS.ProcessEnv = process.env,
  dotenv: Record<string, string> = readDotenv(),
): Pick<ServerConfig, K> {
  const raw: Record<string, string> = {};
  for (const key of keys) {
    const variable = CONFIG_ENV[key];
    const value = flags[key] ?? env[variable] ?? dotenv[variable];
    if (value !== undefined && value !== "") raw[key] = value;
  }
  const mask = Object.fromEntries(keys.map((key) => [key, true])) as Partial<Record<keyof ServerConfig, true>>;
  const parsed = serverConfigSchema.pick(mask).safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const key = String(issue.path[0]) as keyof ServerConfig;
    const shown = key === "secretKey" || key === "webhookSecret" || key === "apiKeys" ? "****" : key === "redisUrl" ? redactUrl(raw[key]) : raw[key];
    throw new ConfigError(`invalid ${key} (flag --${kebab(key)}, env ${CONFIG_ENV[key]}): "${shown}": ${issue.message}`);
  }
  const config = parsed.data as Record<string, unknown>;
  // The default directory follows XDG_CACHE_HOME (an operating-system convention, so from the environment only).
  if ((keys as readonly string[]).includes("modelsDir")) config.modelsDir = modelsDir(raw.modelsDir, env);
  if ((keys as readonly string[]).includes("dataDir")) config.dataDir = dataDir(raw.dataDir, env);
  // /metrics follows the API unless told otherwise: behind the keys whenever there are keys.
  if ((keys as readonly string[]).includes("metrics") && config.metrics === undefined) {
    const apiKeys = (config.apiKeys as string[] | undefined) ?? list.parse(flags.apiKeys ?? env[CONFIG_ENV.apiKeys] ?? dotenv[CONFIG_ENV.apiKeys] ?? "");
    config.metrics = apiKeys.length > 0 ? "key" : "open";
  }
  return config as Pick<ServerConfig, K>;
}

/** The data directory: the configured one made absolute, else `$XDG_DATA_HOME/earshot`, else `~/.local/share/earshot`. */
export function dataDir(configured?: string, env: { XDG_DATA_HOME?: string | undefined } = process.env): string {
  const chosen = configured?.trim();
  if (chosen) return path.resolve(chosen.replace(/^~(?=$|\/)/, os.homedir()));
  const xdg = env.XDG_DATA_HOME?.trim();
  return path.join(xdg && path.isAbsolute(xdg) ? xdg : path.join(os.homedir(), ".local", "share"), "earshot");
}

// ---- Client settings: the commands that talk to a running server (`earshot jobs`) ----------------------------

/** The server a client command talks to, and its key. */
export interface ClientConfig {
  /** Base URL of the server: EARSHOT_URL, else http(s)://EARSHOT_HOST:EARSHOT_PORT (loopback for 0.0.0.0/::). */
  url: string;
  /** Bearer key: EARSHOT_API_KEY, else OPENAI_API_KEY; none when neither is set. */
  apiKey: string | undefined;
}

/** Environment variables of the client settings (OPENAI_API_KEY is also read for the key, after EARSHOT_API_KEY). */
export const CLIENT_CONFIG_ENV = { url: "EARSHOT_URL", apiKey: "EARSHOT_API_KEY" } as const;

const clientConfigSchema = z.object({
  url: z.string().regex(/^https?:\/\/[^\s]+$/, "must be an http:// or https:// URL such as http://127.0.0.1:8000").optional(),
  apiKey: z.string().min(1).optional(),
});

/**
 * The client settings: flags > environment > .env, as {@link loadServerConfig}. Without a URL, the server this
 * machine's own settings (EARSHOT_HOST, EARSHOT_PORT, TLS) would start.
 */
export function loadClientConfig(
  flags: { url?: string | undefined; apiKey?: string | undefined } = {},
  env: NodeJS.ProcessEnv = process.env,
  dotenv: Record<string, string> = readDotenv(),
): ClientConfig {
  const pick = (...values: Array<string | undefined>) => values.find((value) => value !== undefined && value !== "");
  const raw = {
    url: pick(flags.url, env[CLIENT_CONFIG_ENV.url], dotenv[CLIENT_CONFIG_ENV.url]),
    apiKey: pick(flags.apiKey, env[CLIENT_CONFIG_ENV.apiKey], env.OPENAI_API_KEY, dotenv[CLIENT_CONFIG_ENV.apiKey], dotenv.OPENAI_API_KEY),
  };
  const parsed = clientConfigSchema.safeParse(raw);
  if (!parsed.success) {
    const key = String(parsed.error.issues[0]!.path[0]) as keyof ClientConfig;
    const shown = key === "apiKey" ? "****" : raw[key];
    throw new ConfigError(`invalid ${key} (flag --${kebab(key)}, env ${CLIENT_CONFIG_ENV[key]}): "${shown}": ${parsed.error.issues[0]!.message}`);
  }
  if (parsed.data.url) return { url: parsed.data.url, apiKey: parsed.data.apiKey };
  const server = loadConfig(["host", "port", "tlsCert", "tlsSelfSigned"], {}, env, dotenv);
  const host = server.host === "0.0.0.0" || server.host === "::" ? "127.0.0.1" : server.host.includes(":") ? `[${server.host}]` : server.host;
  const scheme = server.tlsCert || server.tlsSelfSigned ? "https" : "http";
  return { url: `${scheme}://${host}:${server.port}`, apiKey: parsed.data.apiKey };
}

/** A URL with its password (and a user name that may be one) replaced by `****`, for logs and messages. */
export function redactUrl(url: string | undefined): string | undefined {
  return url?.replace(/^(\w+:\/\/)[^@/]*@/, "$1****@");
}

function kebab(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/** The effective configuration for the startup log, secrets masked. */
export function describeConfig(config: ServerConfig): Record<string, unknown> {
  return {
    ...config,
    apiKeys: config.apiKeys.map((key) => (key.length <= 8 ? "****" : `${key.slice(0, 3)}…${key.slice(-2)}`)),
    ...(config.secretKey !== undefined ? { secretKey: "****" } : {}),
    ...(config.webhookSecret !== undefined ? { webhookSecret: "****" } : {}),
    ...(config.redisUrl !== undefined ? { redisUrl: redactUrl(config.redisUrl) } : {}),
  };
}
