// The worker side of the Redis backend: a BullMQ Worker that claims jobs, fetches each one's audio into a local
// temp file, runs the processor and stores its outcome (scripts.ts guards every step with the claim's lock token).
//   - A worker that dies mid-job stops renewing its BullMQ lock; after lockMs another worker's stalled-job check
//     puts the job back in the queue and a worker takes it up again from the start ("recovered").
//   - Cancel: the API marks the job cancelled and publishes its id; the worker running it aborts the processor's
//     signal (JobCancelledError). A cancel message lost on the way is caught by a check of the running jobs'
//     records every second (and at every progress report).
//   - stop(): no new claims; the running processors are interrupted (JobInterruptedError), their jobs go back to
//     the queue, and it resolves once they have settled.
//   - A record left queued with no BullMQ job (its submission failed halfway) is found and queued again.
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";

import { type Job, type Queue, WaitingError, Worker } from "bullmq";
import type { Redis } from "ioredis";

import { tempDirPrefix } from "../../audio/tempDirs.js";
import { encodeResult } from "../resultCodec.js";
import { JobCancelledError, JobInterruptedError, type JobError, type JobOutcome, type JobProcessor, type JobRecord, type JobWorker, type JobWorkerOptions } from "../types.js";
import { downloadAudio } from "./audioTransfer.js";
import { closeConnection, connectRedis, describeRedisError, watchConnection, within, type JobsLog } from "./connections.js";
import { QUEUE_NAME, type RedisKeys } from "./keys.js";
import { hashFromReply, recordFromHash } from "./records.js";
import { scripts } from "./scripts.js";

export interface RedisJobWorkerContext {
  url: string;
  keys: RedisKeys;
  lockMs: number;
  stalledCheckMs: number;
  maxRecoveries: number;
  tempDir?: string | undefined;
  name?: string | undefined;
  log?: JobsLog | undefined;
  queue: Queue;
  emitSettled(job: JobRecord): void;
  /** The processor's outcome of each job this worker ran. */
  emitProcessed(outcome: JobOutcome["status"]): void;
}

/** How often the records of the running jobs are checked for a cancel whose message was lost. */
const CANCEL_CHECK_MS = 1_000;
/** How often queued records are checked for a missing BullMQ job, and how old such a record must be. */
const ORPHAN_CHECK_MS = 30_000;
const ORPHAN_AGE_MS = 60_000;
const ORPHAN_BATCH = 100;
/** At stop, how long the interrupted jobs get to go back to the queue (Redis may be away). */
const STOP_GRACE_MS = 5_000;

const internalError = (message: string): JobError => ({ message, type: "server_error", param: null, code: "internal_error" });

interface Running {
  token: string;
  controller: AbortController;
}

export class RedisJobWorker implements JobWorker {
  private readonly connection: Redis;
  private readonly subscriber: Redis;
  private readonly worker: Worker;
  private readonly running = new Map<string, Running>();
  /** The processor calls in progress (to wait for at stop). */
  private readonly processing = new Set<Promise<void>>();
  private readonly name: string;
  private stopping: Promise<void> | undefined;
  private readonly timers: NodeJS.Timeout[] = [];
  private checking = false;
  private orphanCursor = 0;

  constructor(
    private readonly context: RedisJobWorkerContext,
    private readonly processor: JobProcessor,
    options: JobWorkerOptions,
  ) {
    const { url, keys, log } = context;
    this.name = context.name ?? `${os.hostname()}:${process.pid}`;
    this.connection = connectRedis(url, "worker", { commandTimeoutMs: 0, log });
    this.subscriber = connectRedis(url, "subscriber", { commandTimeoutMs: 0, log });
    this.subscriber.subscribe(keys.cancelChannel).catch(() => {});
    this.subscriber.on("message", (_channel: string, id: string) => this.abort(id, new JobCancelledError(id)));
    this.worker = new Worker(QUEUE_NAME, (job: Job, token?: string) => this.process(job, token!), {
      connection: this.connection,
      prefix: keys.bullPrefix,
      concurrency: options.concurrency,
      lockDuration: context.lockMs,
      stalledInterval: context.stalledCheckMs,
      // Recoveries are counted (and bounded) by the claim script, which fails the job in its record.
      maxStalledCount: Number.MAX_SAFE_INTEGER,
      name: this.name,
    });
    watchConnection(this.worker, "worker (BullMQ)", url, log);
    this.worker.on("failed", (job, error) => {
      if (error instanceof WaitingError || error?.name === "WaitingError") return;
      log?.warn({ job: job?.id, error: error?.message }, "BullMQ job failed");
    });
    this.timers.push(setInterval(() => void this.checkRunning(), CANCEL_CHECK_MS), setInterval(() => void this.requeueOrphans(), ORPHAN_CHECK_MS));
    for (const timer of this.timers) timer.unref();
    log?.info({ worker: this.name, concurrency: options.concurrency, lockMs: context.lockMs, stalledCheckMs: context.stalledCheckMs }, "jobs worker started (Redis)");
  }

  /** Jobs this worker runs now. */
  get runningCount(): number {
    return this.running.size;
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      for (const timer of this.timers) clearInterval(timer);
      const closing = this.worker.close().catch((error: unknown) => this.context.log?.warn({ error: describeRedisError(error) }, "the BullMQ worker did not close cleanly"));
      for (const id of this.running.keys()) this.abort(id, new JobInterruptedError(id));
      // The interrupted processors settle within an encoder pass, then put their jobs back in the queue. With Redis
      // away that cannot happen: stop without it (the jobs come back once their lock expires, as a dead worker's).
      const redisAway = this.connection.status !== "ready";
      const settled = await within(Promise.all([closing, ...this.processing]), redisAway && this.running.size === 0 ? 0 : STOP_GRACE_MS);
      if (!settled && this.running.size > 0) this.context.log?.warn({ running: this.running.size }, "Redis is unreachable: stopping without putting the running jobs back (they are taken up again once their lock expires)");
      await Promise.all([closeConnection(this.subscriber), closeConnection(this.connection), within(this.worker.disconnect(), 1_000)]);
      await within(Promise.all([closing, ...this.processing]), 1_000);
    })();
    return this.stopping;
  }

  private process(job: Job, token: string): Promise<void> {
    const processing = this.run(job, token);
    this.processing.add(processing);
    const forget = () => this.processing.delete(processing);
    processing.then(forget, forget);
    return processing;
  }

  private async run(job: Job, token: string): Promise<void> {
    const id = job.id!;
    const { keys, log } = this.context;
    if (this.stopping) return this.giveBack(job, token);
    const exhausted = internalError(`The job stopped its worker ${this.context.maxRecoveries + 1} times (the process died while running it); it is not run again.`);
    const claim = (await scripts.claim.run(this.connection, [keys.prefix, id, token, Date.now(), this.context.maxRecoveries, JSON.stringify(exhausted)])) as [string, unknown?];
    const verdict = claim[0];
    if (verdict === "missing" || verdict === "finished") return;
    const record = recordFromHash(hashFromReply(claim[1]))!;
    if (verdict === "exhausted") {
      log?.warn({ job: id, worker: this.name }, "job failed: its worker died while running it too many times");
      this.context.emitSettled(record);
      return;
    }
    if (verdict === "recovered") log?.info({ job: id, worker: this.name, attempt: record.attempts }, "job taken up again: the worker running it stopped");
    const controller = new AbortController();
    // This very process may be the one that lost the job's lock (stalled past it) and got it back: the old run
    // can store nothing any more, so it stops.
    this.abort(id, new JobInterruptedError(id));
    this.running.set(id, { token, controller });
    // Claimed while stop() was interrupting the others: this one goes back too.
    if (this.stopping) controller.abort(new JobInterruptedError(id));
    let dir: string | undefined;
    try {
      dir = await mkdtemp(path.join(this.context.tempDir ?? os.tmpdir(), tempDirPrefix()));
      const audioPath = path.join(dir, "audio.flac");
      let outcome: JobOutcome;
      if (!(await downloadAudio(this.connection, keys.audio(id), audioPath))) {
        // Cancelled meanwhile (the audio goes with the cancel), or lost with Redis's data.
        outcome = { status: "failed", error: internalError("The job's audio is missing from the job queue.") };
      } else {
        log?.info({ job: id, worker: this.name, audioSeconds: record.audioSeconds }, "job started");
        try {
          outcome = await this.processor({
            record,
            audioPath,
            signal: controller.signal,
            progress: (done, total) => this.progress(id, token, done, total),
          });
        } catch (error) {
          log?.error({ job: id, error: (error as Error).message }, "job processor threw");
          outcome = { status: "failed", error: internalError("The server had an error while processing the job.") };
        }
      }
      await this.store(job, token, outcome);
    } finally {
      if (this.running.get(id)?.token === token) this.running.delete(id);
      if (dir) await rm(dir, { recursive: true, force: true });
    }
  }

  private async store(job: Job, token: string, outcome: JobOutcome): Promise<void> {
    const id = job.id!;
    const { keys, log } = this.context;
    this.context.emitProcessed(outcome.status);
    if (outcome.status === "cancelled") {
      log?.info({ job: id, worker: this.name }, "job stopped: cancelled");
      return;
    }
    if (outcome.status === "interrupted") {
      const requeued = await scripts.requeue.run(this.connection, [keys.prefix, id, token]);
      log?.info({ job: id, worker: this.name }, requeued === "ok" ? "job interrupted: queued again" : "job interrupted: it is no longer this worker's");
      return requeued === "ok" ? this.giveBack(job, token) : waiting();
    }
    const error = outcome.status === "failed" ? JSON.stringify(outcome.error) : "";
    const result = outcome.status === "succeeded" ? encodeResult(outcome.result) : "";
    const reply = (await scripts.settle.run(this.connection, [keys.prefix, id, token, outcome.status, Date.now(), error, result])) as [string, unknown?];
    if (reply[0] !== "ok") {
      log?.info({ job: id, worker: this.name, outcome: outcome.status }, "job outcome discarded: the job was cancelled or taken up by another worker meanwhile");
      return;
    }
    const record = recordFromHash(hashFromReply(reply[1]))!;
    log?.info({ job: id, worker: this.name, status: record.status, attempts: record.attempts }, "job finished");
    this.context.emitSettled(record);
  }

  /** Puts the BullMQ job back in the queue (to run again from the start) and tells BullMQ it was moved. */
  private async giveBack(job: Job, token: string): Promise<never> {
    await job.moveToWait(token).catch((error: unknown) => this.context.log?.warn({ job: job.id, error: describeRedisError(error) }, "could not put the job back in the queue (it is recovered once its lock expires)"));
    return waiting();
  }

  private progress(id: string, token: string, done: number, total: number): void {
    scripts.progress
      .run(this.connection, [this.context.keys.prefix, id, token, done, total])
      .then((answer) => this.follow(id, token, String(answer)))
      .catch(() => {});
  }

  /** Aborts a running job whose record says it is no longer this worker's to run. */
  private follow(id: string, token: string, status: string): void {
    if (status === "ok" || this.running.get(id)?.token !== token) return;
    this.abort(id, status === "cancelled" ? new JobCancelledError(id) : new JobInterruptedError(id));
  }

  private abort(id: string, reason: Error): void {
    const running = this.running.get(id);
    if (running && !running.controller.signal.aborted) running.controller.abort(reason);
  }

  /** The backstop for lost cancel messages: each running job's record, once a second. */
  private async checkRunning(): Promise<void> {
    if (this.checking || this.running.size === 0 || this.connection.status !== "ready") return;
    this.checking = true;
    try {
      const pipeline = this.connection.pipeline();
      const entries = [...this.running.entries()];
      for (const [id] of entries) pipeline.hmget(this.context.keys.job(id), "status", "token");
      const replies = (await pipeline.exec()) ?? [];
      entries.forEach(([id, { token }], i) => {
        const [error, fields] = replies[i] ?? [];
        if (error || !Array.isArray(fields)) return;
        const [status, current] = fields as [string | null, string | null];
        if (status === null) this.abort(id, new JobInterruptedError(id));
        else if (status === "running" && current === token) return;
        else this.follow(id, token, status === "running" ? "taken" : status);
      });
    } catch {
      // Redis away: checked again in a second.
    } finally {
      this.checking = false;
    }
  }

  /** Queues again the queued records that have no BullMQ job (a submit that failed between its two steps). */
  private async requeueOrphans(): Promise<void> {
    if (this.stopping || this.connection.status !== "ready") return;
    try {
      const { keys, queue, log } = this.context;
      const found = await this.connection.zrangebyscore(keys.queued, `(${this.orphanCursor}`, "+inf", "WITHSCORES", "LIMIT", 0, ORPHAN_BATCH);
      const count = found.length / 2;
      this.orphanCursor = count < ORPHAN_BATCH ? 0 : Number(found[found.length - 1]);
      for (let i = 0; i < found.length; i += 2) {
        const id = found[i]!;
        if ((await queue.getJobState(id)) !== "unknown") continue;
        const createdAt = Number(await this.connection.hget(keys.job(id), "createdAt"));
        if (!(Date.now() - createdAt > ORPHAN_AGE_MS)) continue;
        await queue.add("transcribe", { id }, { jobId: id, removeOnComplete: true, removeOnFail: true });
        log?.warn({ job: id }, "queued a job whose submission had not reached the queue");
      }
    } catch {
      // Redis away: tried again later.
    }
  }
}

function waiting(): never {
  throw new WaitingError();
}
