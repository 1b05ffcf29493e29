// Batch jobs on Redis, for many machines (EARSHOT_REDIS_URL): the records, results, per-owner indexes and each
// job's FLAC audio live in Redis (layout in keys.ts), the queue is BullMQ. Any number of `earshot serve` and
// `earshot worker` processes share them; the contract is the one in ../types.ts. This is the API side; the parts:
//   - submitJob.ts: a new job and its audio into Redis and the queue. A job's audio (the FLAC of its decoded 16 kHz
//     mono audio, ~0.5 MB per minute of speech) is one Redis string, bounded per job (EARSHOT_REDIS_MAX_JOB_AUDIO_MB)
//     and for all unfinished jobs together (EARSHOT_REDIS_MAX_STORED_AUDIO_MB). It is deleted as soon as the job
//     finishes (the result is all that is read afterwards); the record and result are deleted by the retention sweep.
//   - places.ts: the places of uploads in flight (see ../types.ts) and the queue bounds' refusals.
//   - RedisJobWorker.ts: the worker side.
//   - apiCalls.ts: Redis away. The API's commands fail fast and are answered 503 (jobs_unavailable) until it is
//     back; the connections reconnect by themselves and nothing crashes (connections.ts). Workers wait for it.
//   - sharedWebhookSecret.ts: the webhook key every process shares.
import { Queue } from "bullmq";
import type { Redis } from "ioredis";

import type { ServerConfig } from "../../config.js";
import type { TranscriptionResult } from "../../engine/types.js";
import { decodeResult } from "../resultCodec.js";
import {
  UnknownCursorError,
  type JobAudioFile,
  type JobBackend,
  type JobListQuery,
  type JobOutcome,
  type JobPage,
  type JobPlace,
  type JobProcessor,
  type JobRecord,
  type JobWorker,
  type JobWorkerOptions,
  type NewJob,
} from "../types.js";
import { RedisApiCalls } from "./apiCalls.js";
import { closeConnection, connectRedis, describeRedisError, within, type JobsLog } from "./connections.js";
import { QUEUE_NAME, RedisKeys } from "./keys.js";
import { RedisPlaces } from "./places.js";
import { hashFromReply, recordFromHash } from "./records.js";
import { RedisJobWorker } from "./RedisJobWorker.js";
import { scripts } from "./scripts.js";
import { sharedWebhookSecret } from "./sharedWebhookSecret.js";
import { submitJob, type AudioBounds } from "./submitJob.js";

export interface RedisJobBackendOptions extends AudioBounds {
  /** redis:// or rediss:// URL. */
  url: string;
  /** Key prefix of everything this backend stores (default "earshot"). */
  prefix?: string;
  /** The API's Redis commands fail after this long (503). */
  commandTimeoutMs: number;
  /** BullMQ lock duration: a dead worker's job is taken up again after about this long plus stalledCheckMs. */
  lockMs: number;
  /** How often workers look for stalled jobs. */
  stalledCheckMs: number;
  /** Times a job is taken up again after its worker died; then it fails. */
  maxRecoveries: number;
  /** Parent directory of the worker's copies of job audio (default the OS temp dir). */
  tempDir?: string | undefined;
  /** This process in logs (default hostname:pid). */
  workerName?: string | undefined;
  log?: JobsLog | undefined;
  /**
   * EARSHOT_SECRET_KEY: the webhook key shared through Redis is stored sealed with a key derived from it (see
   * sharedWebhookSecret); without it no key is shared.
   */
  secretKey?: string | undefined;
}

/** The settings of EARSHOT_* the Redis backend reads. */
export type RedisJobsConfig = Pick<
  ServerConfig,
  | "redisUrl"
  | "redisTimeoutSeconds"
  | "redisMaxJobAudioMb"
  | "redisMaxStoredAudioMb"
  | "jobsLockSeconds"
  | "jobsStalledCheckSeconds"
  | "jobsMaxRecoveries"
  | "jobsMaxQueued"
  | "jobsMaxQueuedPerKey"
  | "secretKey"
>;

/** The backend EARSHOT_REDIS_URL and the other settings describe (connecting in the background). */
export function openRedisJobBackend(config: RedisJobsConfig, options: { log?: JobsLog | undefined; tempDir?: string | undefined } = {}): RedisJobBackend {
  if (config.redisUrl === undefined) throw new Error("openRedisJobBackend needs EARSHOT_REDIS_URL");
  return new RedisJobBackend({
    url: config.redisUrl,
    commandTimeoutMs: config.redisTimeoutSeconds * 1000,
    maxJobAudioBytes: Math.floor(config.redisMaxJobAudioMb * 1_048_576),
    maxStoredAudioBytes: Math.floor(config.redisMaxStoredAudioMb * 1_048_576),
    lockMs: Math.round(config.jobsLockSeconds * 1000),
    stalledCheckMs: Math.round(config.jobsStalledCheckSeconds * 1000),
    maxRecoveries: config.jobsMaxRecoveries,
    maxQueued: config.jobsMaxQueued,
    maxQueuedPerOwner: config.jobsMaxQueuedPerKey,
    secretKey: config.secretKey,
    tempDir: options.tempDir,
    log: options.log,
  });
}

const SWEEP_BATCH = 200;

export class RedisJobBackend implements JobBackend {
  readonly kind = "redis" as const;
  readonly keys: RedisKeys;
  /** The API's fail-fast connection (also BullMQ's Queue's). */
  readonly api: Redis;
  readonly queue: Queue;
  /** Every API-side Redis operation goes through calls.call: 503 when Redis is away or the command fails. */
  private readonly calls: RedisApiCalls;
  private readonly places: RedisPlaces;
  private readonly listeners: Array<(job: JobRecord) => void> = [];
  private readonly processedListeners: Array<(outcome: JobOutcome["status"]) => void> = [];
  private worker: RedisJobWorker | undefined;
  private closing: Promise<void> | undefined;

  constructor(readonly options: RedisJobBackendOptions) {
    this.keys = new RedisKeys(options.prefix);
    this.api = connectRedis(options.url, "api", { commandTimeoutMs: options.commandTimeoutMs, log: options.log });
    this.queue = new Queue(QUEUE_NAME, { connection: this.api, prefix: this.keys.bullPrefix });
    // The connection's own watcher logs its losses; the queue re-emits them.
    this.queue.on("error", () => {});
    this.calls = new RedisApiCalls(this.api, options.commandTimeoutMs, options.log);
    this.places = new RedisPlaces(this.api, this.keys, options, (operation) => this.calls.call(operation));
  }

  /** Whether the API's connection to Redis is up (the API answers 503 while it is not). */
  get available(): boolean {
    return this.calls.available;
  }

  /**
   * Whether Redis answers a PING within the command timeout now (a hung Redis accepts connections and answers
   * nothing: `available` stays true). Calls at once share one PING.
   */
  ping(): Promise<boolean> {
    return this.calls.ping();
  }

  // ---- API side ----

  reserve(owner: string): Promise<JobPlace> {
    return this.places.reserve(owner);
  }

  submit(job: NewJob, audio: JobAudioFile, place?: JobPlace): Promise<JobRecord> {
    const { api, keys, queue, places, options } = this;
    return submitJob({ api, keys, queue, places, bounds: options, call: (operation) => this.calls.call(operation) }, job, audio, place);
  }

  async get(owner: string, id: string): Promise<JobRecord | undefined> {
    const hash = await this.calls.call(() => this.api.hgetall(this.keys.job(id)));
    return hash.owner === owner ? recordFromHash(hash) : undefined;
  }

  async list(owner: string, query: JobListQuery): Promise<JobPage> {
    return this.calls.call(async () => {
      const index = query.status ? this.keys.ownerStatus(owner, query.status) : this.keys.ownerAll(owner);
      let below = "+inf";
      if (query.after !== undefined) {
        const [jobOwner, seq] = await this.api.hmget(this.keys.job(query.after), "owner", "seq");
        if (jobOwner !== owner || seq === null) throw new UnknownCursorError(query.after);
        below = `(${seq}`;
      }
      const ids = await this.api.zrevrangebyscore(index, below, "-inf", "LIMIT", 0, query.limit + 1);
      const page = ids.slice(0, query.limit);
      const pipeline = this.api.pipeline();
      for (const id of page) pipeline.hgetall(this.keys.job(id));
      const replies = (await pipeline.exec()) ?? [];
      const jobs: JobRecord[] = [];
      for (const [error, hash] of replies) {
        if (error) throw error;
        const record = recordFromHash(hash as Record<string, string>);
        if (record && record.owner === owner) jobs.push(record);
      }
      return { jobs, hasMore: ids.length > query.limit };
    });
  }

  async cancel(owner: string, id: string): Promise<JobRecord | undefined> {
    const reply = (await this.calls.call(() => scripts.cancel.run(this.api, [this.keys.prefix, id, owner, Date.now()]))) as [string, string?, unknown?];
    if (reply[0] === "missing") return undefined;
    const record = recordFromHash(hashFromReply(reply[2]))!;
    if (reply[0] === "cancelled") {
      if (reply[1] === "queued") {
        // Out of BullMQ's queue (a worker that took it meanwhile finds it cancelled and lets it go).
        await this.queue.remove(id).catch(() => {});
      } else {
        // The worker running it, in whichever process, stops it.
        await this.api.publish(this.keys.cancelChannel, id).catch((error: unknown) => {
          this.options.log?.warn({ job: id, error: describeRedisError(error) }, "could not announce a cancel (the worker notices it at its next check)");
        });
      }
      this.emitSettled(record);
    }
    return record;
  }

  async result(owner: string, id: string): Promise<TranscriptionResult | undefined> {
    return this.calls.call(async () => {
      const [jobOwner, status] = await this.api.hmget(this.keys.job(id), "owner", "status");
      if (jobOwner !== owner || status !== "succeeded") return undefined;
      const stored = await this.api.getBuffer(this.keys.result(id));
      return stored === null ? undefined : decodeResult(stored);
    });
  }

  async counts(): Promise<{ queued: number; running: number }> {
    return this.calls.call(async () => {
      const [queued, running] = await Promise.all([this.api.zcard(this.keys.queued), this.api.zcard(this.keys.running)]);
      return { queued, running };
    });
  }

  // ---- worker side ----

  startWorker(processor: JobProcessor, options: JobWorkerOptions): JobWorker {
    if (this.worker) throw new Error("this backend's worker is already started");
    this.worker = new RedisJobWorker(
      {
        url: this.options.url,
        keys: this.keys,
        lockMs: this.options.lockMs,
        stalledCheckMs: this.options.stalledCheckMs,
        maxRecoveries: this.options.maxRecoveries,
        tempDir: this.options.tempDir,
        name: this.options.workerName,
        log: this.options.log,
        queue: this.queue,
        emitSettled: (job) => this.emitSettled(job),
        emitProcessed: (outcome) => {
          for (const listener of this.processedListeners) listener(outcome);
        },
      },
      processor,
      options,
    );
    return this.worker;
  }

  /** Jobs this process's worker is running now. */
  get runningHere(): number {
    return this.worker?.runningCount ?? 0;
  }

  /** Called with the outcome of each job this process's worker ran (succeeded, failed, cancelled, interrupted). */
  onProcessed(listener: (outcome: JobOutcome["status"]) => void): void {
    this.processedListeners.push(listener);
  }

  // ---- both ----

  onSettled(listener: (job: JobRecord) => void): void {
    this.listeners.push(listener);
  }

  async sweepExpired(before: number): Promise<number> {
    let deleted = 0;
    for (;;) {
      const count = Number(await this.calls.call(() => scripts.sweep.run(this.api, [this.keys.prefix, before, SWEEP_BATCH])));
      deleted += count;
      if (count < SWEEP_BATCH) return deleted;
    }
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      // Places still held (uploads cut short by the shutdown) go back now rather than lapse.
      await this.places.close(this.available);
      await this.worker?.stop();
      // Bounded: with Redis away, closing would wait for it.
      if (!(await within(this.queue.close(), this.available ? 2_000 : 0))) await within(this.queue.disconnect(), 1_000);
      await closeConnection(this.api);
    })();
    return this.closing;
  }

  /**
   * The webhook key every process sharing this Redis signs with, when none is configured (sharedWebhookSecret.ts):
   * the first process to ask stores its own (`local`), sealed with EARSHOT_SECRET_KEY; every later one gets that one.
   */
  sharedWebhookSecret(local: string): Promise<string> {
    const { api, keys, options } = this;
    return sharedWebhookSecret({ api, key: keys.webhookSecret, secretKey: options.secretKey, log: options.log, call: (operation) => this.calls.call(operation) }, local);
  }

  private emitSettled(job: JobRecord): void {
    for (const listener of this.listeners) {
      try {
        listener(job);
      } catch (error) {
        this.options.log?.error({ job: job.id, error: (error as Error).message }, "a job settled listener threw");
      }
    }
  }
}
