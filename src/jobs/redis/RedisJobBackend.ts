// Batch jobs on Redis, for many machines (EARSHOT_REDIS_URL): the records, results, per-owner indexes and each
// job's FLAC audio live in Redis (layout in keys.ts), the queue is BullMQ. Any number of `earshot serve` and
// `earshot worker` processes share them; the contract is the one in ../types.ts.
//
// Audio. A job's audio (the FLAC of its decoded 16 kHz mono audio, ~0.5 MB per minute of speech) is one Redis
// string: at most EARSHOT_REDIS_MAX_JOB_AUDIO_MB (default 256, Redis's strings stop at 512 MB) per job, refused
// with 413 at submit beyond it; all unfinished jobs together at most EARSHOT_REDIS_MAX_STORED_AUDIO_MB (429 beyond),
// since Redis holds it all in memory. It is deleted as soon as the job finishes (the result is all that is read
// afterwards); the record and result are deleted by the retention sweep.
//
// Places (see ../types.ts) are members of two sorted sets scored by their expiry, checked and taken in one Lua script
// with the counts of unfinished jobs (scripts.ts), renewed by their holder every PLACE_RENEW_MS.
//
// Redis away. The API's commands fail fast and are answered 503 (jobs_unavailable) until it is back; the
// connections reconnect by themselves and nothing crashes. Workers wait for it.
import { randomBytes } from "node:crypto";
import { rm } from "node:fs/promises";

import { Queue } from "bullmq";
import type { Redis } from "ioredis";

import type { ServerConfig } from "../../config.js";
import type { TranscriptionResult } from "../../engine/types.js";
import { ApiError, redisAudioBudgetFull, redisJobAudioTooLarge } from "../../api/errors.js";
import { decodeResult } from "../resultCodec.js";
import { jobsQueueFull, ownerQueueFull } from "../storage.js";
import {
  newJobId,
  UnknownCursorError,
  type JobAudioFile,
  type JobBackend,
  type JobListQuery,
  type JobOutcome,
  type JobPage,
  type JobPlace,
  type JobProcessor,
  type JobQueueBounds,
  type JobRecord,
  type JobWorker,
  type JobWorkerOptions,
  type NewJob,
} from "../types.js";
import { AudioTooLargeError, uploadAudio } from "./audioTransfer.js";
import { closeConnection, connectRedis, describeRedisError, jobsUnavailable, within, type JobsLog } from "./connections.js";
import { QUEUE_NAME, RedisKeys } from "./keys.js";
import { hashFromReply, recordFromHash, specJson } from "./records.js";
import { RedisJobWorker } from "./RedisJobWorker.js";
import { scripts } from "./scripts.js";
import { sealWebhookSecret, unsealWebhookSecret } from "./sealedSecret.js";

export interface RedisJobBackendOptions extends JobQueueBounds {
  /** redis:// or rediss:// URL. */
  url: string;
  /** Key prefix of everything this backend stores (default "earshot"). */
  prefix?: string;
  /** The API's Redis commands fail after this long (503). */
  commandTimeoutMs: number;
  /** Largest FLAC audio of one job (413 beyond). */
  maxJobAudioBytes: number;
  /** FLAC audio of all unfinished jobs together (429 beyond). */
  maxStoredAudioBytes: number;
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

/** How long the audio of a submission that never completed stays in Redis. */
const PENDING_AUDIO_SECONDS = 3600;
const SWEEP_BATCH = 200;
/** A place not renewed for this long (its process died mid-upload, or lost Redis) lapses. */
const PLACE_TTL_MS = 60_000;
/** How often a process renews the places it holds. */
const PLACE_RENEW_MS = 15_000;

/** The id of a place, on the object handed out (not part of JobPlace). */
const PLACE_ID = Symbol("placeId");
type RedisPlace = JobPlace & { [PLACE_ID]: string };

export class RedisJobBackend implements JobBackend {
  readonly kind = "redis" as const;
  readonly keys: RedisKeys;
  /** The API's fail-fast connection (also BullMQ's Queue's). */
  readonly api: Redis;
  readonly queue: Queue;
  private readonly listeners: Array<(job: JobRecord) => void> = [];
  private readonly processedListeners: Array<(outcome: JobOutcome["status"]) => void> = [];
  private worker: RedisJobWorker | undefined;
  private closing: Promise<void> | undefined;
  private everReady = false;
  /** Places held by this process's uploads in flight: id → owner. */
  private readonly placesHere = new Map<string, string>();
  private placeTimer: NodeJS.Timeout | undefined;
  private pinging: Promise<boolean> | undefined;

  constructor(readonly options: RedisJobBackendOptions) {
    this.keys = new RedisKeys(options.prefix);
    this.api = connectRedis(options.url, "api", { commandTimeoutMs: options.commandTimeoutMs, log: options.log });
    this.queue = new Queue(QUEUE_NAME, { connection: this.api, prefix: this.keys.bullPrefix });
    // The connection's own watcher logs its losses; the queue re-emits them.
    this.queue.on("error", () => {});
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
        const late = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), this.options.commandTimeoutMs)));
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

  // ---- API side ----

  async reserve(owner: string): Promise<JobPlace> {
    const id = randomBytes(12).toString("hex");
    const now = Date.now();
    const reply = (await this.call(() =>
      scripts.reserve.run(this.api, [this.keys.prefix, id, owner, now, now + PLACE_TTL_MS, PLACE_TTL_MS, this.options.maxQueued, this.options.maxQueuedPerOwner]),
    )) as [string, number?];
    this.throwRefusal(reply);
    this.placesHere.set(id, owner);
    this.placeTimer ??= setInterval(() => void this.renewPlaces(), PLACE_RENEW_MS).unref();
    return {
      owner,
      // Redis checks its audio budget at submit, on the FLAC's real size.
      reserveAudio: () => undefined,
      release: () => this.releasePlace(id, owner),
      [PLACE_ID]: id,
    } as RedisPlace;
  }

  /** Gives a place back; Redis away, it lapses within PLACE_TTL_MS. */
  private async releasePlace(id: string, owner: string): Promise<void> {
    if (!this.forgetPlace(id)) return;
    await scripts.release.run(this.api, [this.keys.prefix, owner, id]).catch(() => undefined);
  }

  async submit(job: NewJob, audio: JobAudioFile, place?: JobPlace): Promise<JobRecord> {
    const id = newJobId();
    const placeId = place === undefined ? "" : (place as RedisPlace)[PLACE_ID];
    if (placeId === undefined || (placeId !== "" && !this.placesHere.has(placeId))) {
      // The file is taken over in every outcome (../types.ts), this one included.
      await rm(audio.path, { force: true });
      throw new Error("RedisJobBackend: submit was given a place this backend did not give (or one already used)");
    }
    let reply: [string, unknown] | undefined;
    try {
      if (audio.bytes > this.options.maxJobAudioBytes) throw this.audioTooLarge(audio.bytes);
      reply = (await this.call(async () => {
        await uploadAudio(this.api, this.keys.audio(id), audio.path, this.options.maxJobAudioBytes, PENDING_AUDIO_SECONDS);
        const { prefix } = this.keys;
        const { maxStoredAudioBytes, maxQueued, maxQueuedPerOwner } = this.options;
        return scripts.submit.run(this.api, [prefix, id, job.owner, specJson(job), Date.now(), job.audioSeconds, maxStoredAudioBytes, placeId, maxQueued, maxQueuedPerOwner, Date.now()]);
      })) as [string, unknown];
    } catch (error) {
      // (The file grew past its announced size: refused on what was read.)
      throw error instanceof AudioTooLargeError ? this.audioTooLarge(error.bytes) : error;
    } finally {
      // The place is taken over: the job's now, or given back (a no-op where the script already consumed it).
      if (placeId !== "" && reply?.[0] === "ok") this.forgetPlace(placeId);
      else if (placeId !== "") await this.releasePlace(placeId, job.owner);
      await rm(audio.path, { force: true });
    }
    this.throwRefusal(reply as [string, number?]);
    if (reply[0] === "budget-full") {
      throw redisAudioBudgetFull(Number(reply[1]));
    }
    if (reply[0] !== "ok") throw jobsUnavailable(new Error("the job's audio was lost before it was queued"));
    const record = recordFromHash(hashFromReply(reply[1]))!;
    try {
      await this.queue.add("transcribe", { id }, { jobId: id, removeOnComplete: true, removeOnFail: true });
    } catch (error) {
      // Not queued: remove the record (if Redis allows; else a worker finds the record queued with no BullMQ
      // job and queues it, see RedisJobWorker.requeueOrphans).
      await scripts.discard.run(this.api, [this.keys.prefix, id]).catch(() => {});
      throw jobsUnavailable(error);
    }
    return record;
  }

  async get(owner: string, id: string): Promise<JobRecord | undefined> {
    const hash = await this.call(() => this.api.hgetall(this.keys.job(id)));
    return hash.owner === owner ? recordFromHash(hash) : undefined;
  }

  async list(owner: string, query: JobListQuery): Promise<JobPage> {
    return this.call(async () => {
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
    const reply = (await this.call(() => scripts.cancel.run(this.api, [this.keys.prefix, id, owner, Date.now()]))) as [string, string?, unknown?];
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
    return this.call(async () => {
      const [jobOwner, status] = await this.api.hmget(this.keys.job(id), "owner", "status");
      if (jobOwner !== owner || status !== "succeeded") return undefined;
      const stored = await this.api.getBuffer(this.keys.result(id));
      return stored === null ? undefined : decodeResult(stored);
    });
  }

  async counts(): Promise<{ queued: number; running: number }> {
    return this.call(async () => {
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
      const count = Number(await this.call(() => scripts.sweep.run(this.api, [this.keys.prefix, before, SWEEP_BATCH])));
      deleted += count;
      if (count < SWEEP_BATCH) return deleted;
    }
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      clearInterval(this.placeTimer);
      // Places still held (uploads cut short by the shutdown) go back now rather than lapse.
      if (this.available) await within(Promise.all([...this.placesHere].map(([id, owner]) => this.releasePlace(id, owner))), 1_000);
      await this.worker?.stop();
      // Bounded: with Redis away, closing would wait for it.
      if (!(await within(this.queue.close(), this.available ? 2_000 : 0))) await within(this.queue.disconnect(), 1_000);
      await closeConnection(this.api);
    })();
    return this.closing;
  }

  /**
   * The webhook key every process sharing this Redis signs with, when none is configured: the first process to
   * ask stores its own (`local`, e.g. generated in its data dir) in Redis; every later one gets that one. It is
   * stored sealed (AES-256-GCM, the key derived from EARSHOT_SECRET_KEY, see sealedSecret.ts): whoever reads Redis
   * cannot sign a webhook with it. A key an older Earshot stored in the clear is sealed in its place (receivers
   * verify with it already). Throws when Redis cannot be reached, without EARSHOT_SECRET_KEY, and when the stored
   * key was sealed with another EARSHOT_SECRET_KEY.
   */
  async sharedWebhookSecret(local: string): Promise<string> {
    const secretKey = this.options.secretKey;
    if (secretKey === undefined) throw new Error("no webhook key is shared through Redis without EARSHOT_SECRET_KEY: set it (the same on every process), or EARSHOT_WEBHOOK_SECRET");
    const key = this.keys.webhookSecret;
    const stored = await this.call(async () => {
      await this.api.set(key, sealWebhookSecret(local, secretKey, key), "NX");
      const value = await this.api.get(key);
      if (value === null || !value.startsWith("whsec_")) return value;
      // Stored in the clear by an older Earshot: sealed in its place, unless another process did so meanwhile.
      const sealed = sealWebhookSecret(value, secretKey, key);
      await this.api.eval("if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('SET', KEYS[1], ARGV[2]) end return 1", 1, key, value, sealed);
      this.options.log?.warn({ key }, "the shared webhook key was stored readable in Redis (an older Earshot): now sealed; consider a new key (EARSHOT_WEBHOOK_SECRET or delete it in Redis and every data dir)");
      return this.api.get(key);
    });
    if (stored === null) return local;
    return unsealWebhookSecret(stored, secretKey, key);
  }

  /** The 429 of a script's refusal ('full', 'owner-full'); nothing for any other verdict. */
  private throwRefusal(reply: [string, (number | string)?]): void {
    if (reply[0] === "full") throw jobsQueueFull(Number(reply[1]));
    if (reply[0] === "owner-full") throw ownerQueueFull(Number(reply[1]), this.options.maxQueuedPerOwner);
  }

  private async renewPlaces(): Promise<void> {
    if (this.placesHere.size === 0 || !this.available) return;
    const now = Date.now();
    const held = [...this.placesHere].flatMap(([id, owner]) => [owner, id]);
    // Redis away: the next renewal tries again (PLACE_TTL_MS is four renewals).
    await scripts.renew.run(this.api, [this.keys.prefix, now + PLACE_TTL_MS, PLACE_TTL_MS, ...held]).catch(() => undefined);
  }

  /** Whether the place was held here (it no longer is). */
  private forgetPlace(id: string): boolean {
    const held = this.placesHere.delete(id);
    if (this.placesHere.size === 0) {
      clearInterval(this.placeTimer);
      this.placeTimer = undefined;
    }
    return held;
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

  /**
   * Resolves when the API's connection is up. The first connection of a process that just started is waited for
   * (up to the command timeout); after that, a lost connection is a 503 at once.
   */
  private async ensureAvailable(): Promise<void> {
    if (this.available) return;
    if (!this.everReady && (this.api.status === "wait" || this.api.status === "connecting" || this.api.status === "connect")) {
      const ready = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => done(false), this.options.commandTimeoutMs);
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

  /** Runs an API-side Redis operation: 503 when Redis is away or the command fails; our own errors pass. */
  private async call<T>(operation: () => Promise<T>): Promise<T> {
    await this.ensureAvailable();
    try {
      return await operation();
    } catch (error) {
      if (error instanceof ApiError || error instanceof UnknownCursorError || error instanceof AudioTooLargeError) throw error;
      this.options.log?.warn({ error: describeRedisError(error) }, "a batch-job request failed on Redis: answered 503");
      throw jobsUnavailable(error);
    }
  }

  private audioTooLarge(bytes: number): ApiError {
    return redisJobAudioTooLarge(bytes, this.options.maxJobAudioBytes);
  }
}

