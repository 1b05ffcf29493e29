// The Redis connections of the jobs backend (ioredis), and what the API answers while Redis is away.
//   - API: fails fast. No offline queue (a command while disconnected fails at once), one retry, a per-command
//     timeout: a submit while Redis is away is answered 503 at once instead of hanging.
//   - worker (BullMQ's Worker, and the pub/sub subscriber for cancels): waits. Commands wait for the reconnect
//     (maxRetriesPerRequest null, as BullMQ requires for workers).
// Both reconnect forever (backoff up to 2 s). Connection errors never crash the process: each connection logs
// when it goes down (once, not at every retry) and when it is back.
import { Redis, type RedisOptions } from "ioredis";

import { redactUrl } from "../../config.js";
import { ApiError, queueUnreachable } from "../../api/errors.js";

/** A pino logger fits. */
export interface JobsLog {
  info(object: object, message: string): void;
  warn(object: object, message: string): void;
  error(object: object, message: string): void;
}

export type ConnectionRole = "api" | "worker" | "subscriber";

/** Reconnect delay: 50 ms, 100 ms, ... up to 2 s, forever. */
const retryStrategy = (times: number) => Math.min(times * 50, 2_000);

export function connectRedis(url: string, role: ConnectionRole, options: { commandTimeoutMs: number; log?: JobsLog | undefined }): Redis {
  const common: RedisOptions = { retryStrategy, connectionName: `earshot-${role}-${process.pid}`, connectTimeout: 10_000 };
  const redis =
    role === "api"
      ? new Redis(url, { ...common, enableOfflineQueue: false, maxRetriesPerRequest: 1, commandTimeout: options.commandTimeoutMs })
      : new Redis(url, { ...common, maxRetriesPerRequest: null });
  watchConnection(redis, `${role} connection`, url, options.log);
  return redis;
}

/** Logs a connection's losses and recoveries once each (ioredis emits an error at every failed retry). */
export function watchConnection(emitter: { on(event: string, listener: (...args: unknown[]) => void): unknown }, what: string, url: string, log?: JobsLog): void {
  let down = false;
  let everReady = false;
  const lost = (error: unknown) => {
    if (down) return;
    down = true;
    log?.warn({ redis: redactUrl(url), error: describeRedisError(error) }, `Redis ${what} lost: retrying until it is back`);
  };
  emitter.on("error", lost);
  // ioredis: the connection closed unexpectedly and a reconnect is scheduled (not after quit()).
  emitter.on("reconnecting", () => lost("connection closed"));
  emitter.on("ready", () => {
    if (down || !everReady) log?.info({ redis: redactUrl(url) }, everReady ? `Redis ${what} is back` : `Redis ${what} ready`);
    down = false;
    everReady = true;
  });
}

/** A Redis error in a few words (code or message), never with the URL's password. */
export function describeRedisError(error: unknown): string {
  const { code, message } = (error ?? {}) as { code?: string; message?: string };
  return code ?? message?.replace(/\w+:\/\/[^@\s]*@/g, "****@") ?? String(error);
}

/** 503 in OpenAI's shape: the job queue cannot be reached (Redis down, unreachable, or too slow). */
export function jobsUnavailable(cause: unknown): ApiError {
  return queueUnreachable(describeRedisError(cause));
}

/** Whether `promise` settled within `ms`. */
export async function within(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([promise.then(() => true, () => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** QUIT when connected (bounded), else drop the connection at once (a QUIT would wait for Redis forever). */
export async function closeConnection(redis: Redis): Promise<void> {
  if (redis.status === "ready" && (await within(redis.quit(), 2_000))) return;
  redis.disconnect();
}
