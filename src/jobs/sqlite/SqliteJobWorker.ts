// The worker side of the embedded backend: claims queued jobs oldest first, `concurrency` at once, hands them to the
// processor and stores what it settles with. Each claim and settle reads and writes the job's row in one
// transaction (BEGIN IMMEDIATE), so a job is never claimed twice, and one cancelled while it runs is never stored
// as succeeded.
//
// Several processes on this machine may share a data dir: each running job's row names its worker (pid and the
// backend's random token) and carries a heartbeat the worker renews every TICK_MS. A job whose worker is gone (its
// pid no longer exists: killed, crashed) or silent for HEARTBEAT_STALE_MS is queued again, by any worker, at its
// start and every RECOVERY_EVERY_MS after. A worker also sees, on the same tick, a job of its own cancelled by
// another process, and stops it (a cancel in this process stops it at once: `abort`).
import fs from "node:fs";

import type Database from "better-sqlite3";

import { encodeResult } from "../resultCodec.js";
import {
  isFinished,
  JobCancelledError,
  JobInterruptedError,
  type ClaimedJob,
  type JobError,
  type JobOutcome,
  type JobProcessor,
  type JobRecord,
  type JobWorker,
} from "../types.js";
import { processAlive } from "../../processAlive.js";
import { readRecord, type JobRow } from "./records.js";

/**
 * The worker's tick: heartbeats of its running jobs, cancels made by other processes, queued jobs submitted by other
 * processes (a submit in this process wakes it at once).
 */
const TICK_MS = 1_000;
/** A running job whose worker has not renewed its heartbeat for this long is queued again. */
const HEARTBEAT_STALE_MS = 30_000;
/** How often a worker looks for jobs left running by workers that are gone. */
const RECOVERY_EVERY_MS = 5_000;

export interface SqliteJobWorkerContext {
  db: Database.Database;
  /** This process's workers in the rows of the jobs they run (the backend's, the same for every worker it starts). */
  token: string;
  /** A job's FLAC file in the store. */
  audioPath(id: string): string;
  /** Whether the backend has closed its database. */
  closed(): boolean;
  /** A job reached a final state here: its audio goes, the listeners are told. */
  finished(record: JobRecord): void;
}

interface Running {
  controller: AbortController;
  done: Promise<void>;
}

export class SqliteJobWorker implements JobWorker {
  private readonly running = new Map<string, Running>();
  private stopping = false;
  private readonly timer: NodeJS.Timeout;
  private wakeQueued = false;
  private lastRecovery = Date.now();

  constructor(
    private readonly context: SqliteJobWorkerContext,
    private readonly processor: JobProcessor,
    private readonly concurrency: number,
  ) {
    // What a previous process (or this one, before) left running goes back to the queue before the first claim.
    this.recover();
    this.timer = setInterval(() => this.tick(), TICK_MS);
    this.timer.unref();
  }

  /** Looks for queued jobs soon (coalesced). */
  wake(): void {
    if (this.wakeQueued || this.stopping) return;
    this.wakeQueued = true;
    setImmediate(() => {
      this.wakeQueued = false;
      this.pump();
    });
  }

  /** Stops the processor of job `id` when it runs here (a cancel made in this process). */
  abort(id: string, reason: Error): void {
    this.running.get(id)?.controller.abort(reason);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    clearInterval(this.timer);
    for (const [id, { controller }] of this.running) controller.abort(new JobInterruptedError(id));
    await Promise.all([...this.running.values()].map((r) => r.done.catch(() => undefined)));
  }

  private tick(): void {
    if (this.stopping) return;
    try {
      for (const id of this.heartbeat()) this.abort(id, new JobCancelledError(id));
      if (Date.now() - this.lastRecovery >= RECOVERY_EVERY_MS) {
        this.lastRecovery = Date.now();
        this.recover();
      }
      this.pump();
    } catch {
      // SQLITE_BUSY beyond the busy timeout (another process holding a long write): the next tick tries again.
    }
  }

  private pump(): void {
    try {
      while (!this.stopping && this.running.size < this.concurrency) {
        const claimed = this.claim();
        if (!claimed) return;
        this.start(claimed);
      }
    } catch {
      // SQLITE_BUSY beyond the busy timeout: the next tick claims.
    }
  }

  private start(record: JobRecord): void {
    const controller = new AbortController();
    const job: ClaimedJob = {
      record,
      audioPath: this.context.audioPath(record.id),
      signal: controller.signal,
      progress: (done) => this.progress(record.id, done),
    };
    const done = Promise.resolve()
      .then(() => this.processor(job))
      .catch((error: unknown): JobOutcome => {
        if (controller.signal.reason instanceof JobInterruptedError) return { status: "interrupted" };
        if (controller.signal.reason instanceof JobCancelledError) return { status: "cancelled" };
        return { status: "failed", error: internalError(error) };
      })
      .then((outcome) => this.settle(record.id, outcome))
      // Not stored (the database refused for longer than its busy timeout): the job's heartbeat stops, and it is
      // queued again once stale (at once by this process's next recovery: its row names this pid, no job here).
      .catch(() => undefined)
      .finally(() => {
        this.running.delete(record.id);
        this.wake();
      });
    this.running.set(record.id, { controller, done });
  }

  /**
   * Queues again the jobs left running by workers that are gone: their process no longer exists, or they have not
   * renewed their heartbeat for HEARTBEAT_STALE_MS (a process of this one's included, from before it).
   */
  private recover(): void {
    const { db, token, closed } = this.context;
    if (closed()) return;
    const now = Date.now();
    const running = db.prepare("SELECT id, worker_pid, worker_token, heartbeat_at FROM jobs WHERE status = 'running'").all() as Array<
      Pick<JobRow, "id" | "worker_pid" | "worker_token" | "heartbeat_at">
    >;
    const requeue = db.prepare(
      "UPDATE jobs SET status = 'queued', started_at = NULL, done_seconds = 0, worker_pid = NULL, worker_token = NULL, heartbeat_at = NULL WHERE id = ? AND status = 'running' AND worker_token IS ?",
    );
    for (const job of running) {
      if (job.worker_token === token && this.running.has(job.id)) continue;
      const gone = job.worker_pid === null || job.worker_pid === process.pid || !processAlive(job.worker_pid);
      if (gone || (job.heartbeat_at ?? 0) < now - HEARTBEAT_STALE_MS) requeue.run(job.id, job.worker_token);
    }
  }

  /** Renews the heartbeat of the jobs running here; returns those no longer this worker's to run (cancelled). */
  private heartbeat(): string[] {
    const { db, token, closed } = this.context;
    if (closed() || this.running.size === 0) return [];
    const beat = db.prepare("UPDATE jobs SET heartbeat_at = ? WHERE id = ? AND worker_token = ? AND status = 'running'");
    const now = Date.now();
    return [...this.running.keys()].filter((id) => beat.run(now, id, token).changes === 0);
  }

  /** The oldest queued job, now running (attempts + 1); undefined when none is queued. */
  private claim(): JobRecord | undefined {
    const { db, token, closed } = this.context;
    if (closed()) return undefined;
    return db
      .transaction(() => {
        const row = db.prepare("SELECT id FROM jobs WHERE status = 'queued' ORDER BY seq LIMIT 1").get() as { id: string } | undefined;
        if (!row) return undefined;
        const now = Date.now();
        db.prepare(
          "UPDATE jobs SET status = 'running', started_at = ?, done_seconds = 0, attempts = attempts + 1, worker_pid = ?, worker_token = ?, heartbeat_at = ? WHERE id = ?",
        ).run(now, process.pid, token, now, row.id);
        return readRecord(db, row.id);
      })
      .immediate();
  }

  /** Progress of a running job. */
  private progress(id: string, done: number): void {
    const { db, token, closed } = this.context;
    if (closed()) return;
    db.prepare("UPDATE jobs SET done_seconds = ? WHERE id = ? AND status = 'running' AND worker_token = ?").run(done, id, token);
  }

  /** Stores what the processor of a claimed job settled with (nothing when it was cancelled meanwhile). */
  private settle(id: string, outcome: JobOutcome): void {
    const { db, token, closed } = this.context;
    if (closed()) return;
    let finishedMeanwhile = false;
    const finished = db
      .transaction((): JobRecord | undefined => {
        const row = db.prepare("SELECT status, spec, worker_token FROM jobs WHERE id = ?").get(id) as Pick<JobRow, "status" | "spec" | "worker_token"> | undefined;
        // Cancelled meanwhile, or taken over by another worker (this one was silent too long): not ours to store.
        if (!row || row.status !== "running" || row.worker_token !== token) {
          finishedMeanwhile = row !== undefined && isFinished(row.status);
          return undefined;
        }
        const now = Date.now();
        switch (outcome.status) {
          case "succeeded": {
            const total = (JSON.parse(row.spec) as { audioSeconds: number }).audioSeconds;
            db.prepare("INSERT OR REPLACE INTO job_results (job_id, result) VALUES (?, ?)").run(id, encodeResult(outcome.result));
            db.prepare("UPDATE jobs SET status = 'succeeded', completed_at = ?, done_seconds = ? WHERE id = ?").run(now, total, id);
            return readRecord(db, id);
          }
          case "failed":
            db.prepare("UPDATE jobs SET status = 'failed', completed_at = ?, error = ? WHERE id = ?").run(now, JSON.stringify(outcome.error), id);
            return readRecord(db, id);
          case "cancelled":
            db.prepare("UPDATE jobs SET status = 'cancelled', completed_at = ? WHERE id = ?").run(now, id);
            return readRecord(db, id);
          case "interrupted":
            db.prepare("UPDATE jobs SET status = 'queued', started_at = NULL, done_seconds = 0, worker_pid = NULL, worker_token = NULL, heartbeat_at = NULL WHERE id = ?").run(id);
            return undefined;
        }
      })
      .immediate();
    if (finished) this.context.finished(finished);
    // A cancel left the audio to this processor (see SqliteJobBackend.cancel): no one reads it any more.
    else if (finishedMeanwhile) fs.rmSync(this.context.audioPath(id), { force: true });
  }
}

function internalError(error: unknown): JobError {
  void error;
  return { message: "The server had an error while processing the job.", type: "server_error", param: null, code: "internal_error" };
}
