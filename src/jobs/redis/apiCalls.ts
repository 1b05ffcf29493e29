// The API side's use of its fail-fast connection (connections.ts): whether Redis is up, a PING with a deadline, and
// call(), which runs a request's Redis commands and answers 503 (jobs_unavailable) when Redis is away or fails.
import type { Redis } from "ioredis";

import { ApiError } from "../../api/errors.js";
import { UnknownCursorError } from "../types.js";
import { AudioTooLargeError } from "./audioTransfer.js";
import { describeRedisError, jobsUnavailable, type JobsLog } from "./connections.js";

export class RedisApiCalls {
  private everReady = false;
  private pinging: Promise<boolean> | undefined;

  constructor(
    private readonly api: Redis,
    /** The API's Redis commands fail after this long (503). */
    private readonly commandTimeoutMs: number,
    private readonly log?: JobsLog | undefined,
  ) {
    this.api.once("ready", () => (this.everReady = true));
  }

  /** Whether the API's connection to Redis is up (the API answers 503 while it is not). */
  get available(): boolean {
    return this.api.status === "ready";
  }

  /**
   * Whether Redis answers a PING within the command timeout now (a hung Redis accepts connections and answers
   * nothing: `available` stays true). Calls at once share one PING.
   */
  ping(): Promise<boolean> {
    if (!this.available) return Promise.resolve(false);
    this.pinging ??= (async () => {
      try {
        const answered = this.api.ping().then((reply) => reply === "PONG");
        answered.catch(() => undefined);
        let timer: NodeJS.Timeout | undefined;
        const late = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), this.commandTimeoutMs)));
        try {
          return await Promise.race([answered, late]);
        } finally {
          clearTimeout(timer);
        }
      } catch {
        return false;
      } finally {
        this.pinging = undefined;
      }
    })();
    return this.pinging;
  }

  /** Runs an API-side Redis operation: 503 when Redis is away or the command fails; our own errors pass. */
  async call<T>(operation: () => Promise<T>): Promise<T> {
    await this.ensureAvailable();
    try {
      return await operation();
    } catch (error) {
      if (error instanceof ApiError || error instanceof UnknownCursorError || error instanceof AudioTooLargeError) throw error;
      this.log?.warn({ error: describeRedisError(error) }, "a batch-job request failed on Redis: answered 503");
      throw jobsUnavailable(error);
    }
  }

  /**
   * Resolves when the API's connection is up. The first connection of a process that just started is waited for
   * (up to the command timeout); after that, a lost connection is a 503 at once.
   */
  private async ensureAvailable(): Promise<void> {
    if (this.available) return;
    if (!this.everReady && (this.api.status === "wait" || this.api.status === "connecting" || this.api.status === "connect")) {
      const ready = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => done(false), this.commandTimeoutMs);
        const onReady = () => done(true);
        const done = (value: boolean) => {
          clearTimeout(timer);
          this.api.off("ready", onReady);
          resolve(value);
        };
        this.api.on("ready", onReady);
      });
      if (ready) return;
    }
    throw jobsUnavailable(new Error(this.api.status === "connecting" || this.api.status === "reconnecting" ? "reconnecting" : this.api.status));
  }
}
