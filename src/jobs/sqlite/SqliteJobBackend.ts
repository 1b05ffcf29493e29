// The embedded jobs backend: one SQLite database (better-sqlite3, WAL; tables in schema.ts) and one directory of
// FLAC files under the data dir. The contract is the one in ../types.ts; this backend keeps it with plain
// transactions: a claim, a cancel and a settle each read and write a job's row atomically (BEGIN IMMEDIATE), so a
// job cancelled while it runs is never stored as succeeded, and a job is never claimed twice.
//
// Several processes on this machine may share a data dir (two `earshot serve` on different ports). Running jobs
// carry their worker's pid and a heartbeat, and are queued again when it is gone (SqliteJobWorker.ts); places carry
// their holder's pid and lapse the same way (places.ts, with the stored-audio budget and the disk checks). The data
// dir must be local to this machine (the pid checks). A full disk (ENOSPC, EDQUOT, SQLITE_FULL) while a job is
// stored is a 507, and nothing of the job is kept.
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";

import type Database from "better-sqlite3";

import type { TranscriptionResult } from "../../engine/types.js";
import { makeDirectory } from "../../makeDirectory.js";
import { prepareDataDir, unusableDataDir } from "../dataDir.js";
import { decodeResult } from "../resultCodec.js";
import {
  isFinished,
  JobCancelledError,
  newJobId,
  UnknownCursorError,
  type JobAudioFile,
  type JobBackend,
  type JobListQuery,
  type JobPage,
  type JobPlace,
  type JobProcessor,
  type JobRecord,
  type JobWorker,
  type JobWorkerOptions,
  type NewJob,
} from "../types.js";
import { SqlitePlaces, storageError, type RoomBounds } from "./places.js";
import { processAlive } from "../../processAlive.js";
import { readRecord, toRecord, type JobRow } from "./records.js";
import { openJobsDatabase } from "./schema.js";
import { SqliteJobWorker } from "./SqliteJobWorker.js";

export interface SqliteJobBackendOptions extends RoomBounds {
  /** The data dir: jobs.db and jobs/ (audio) go there. */
  dataDir: string;
}

export class SqliteJobBackend implements JobBackend {
  readonly kind = "sqlite" as const;
  /** Where the API writes a new job's FLAC file before submit() takes it over (same file system as the store). */
  readonly incomingDir: string;
  private readonly audioDir: string;
  private readonly db: Database.Database;
  private readonly places: SqlitePlaces;
  /** This process's workers in the rows of the jobs they run. */
  private readonly token = randomBytes(8).toString("hex");
  private readonly listeners: Array<(job: JobRecord) => void> = [];
  private worker: SqliteJobWorker | undefined;
  private closed = false;

  constructor(options: SqliteJobBackendOptions) {
    prepareDataDir(options.dataDir);
    this.audioDir = path.join(options.dataDir, "jobs", "audio");
    this.incomingDir = path.join(options.dataDir, "jobs", "incoming");
    try {
      makeDirectory(this.audioDir);
      makeDirectory(this.incomingDir);
    } catch (error) {
      throw unusableDataDir(options.dataDir, error);
    }
    // What processes that are gone left half-written (the files are named incoming-<pid>-...).
    for (const name of fs.readdirSync(this.incomingDir)) {
      const pid = Number(/^incoming-(\d+)-/.exec(name)?.[1]);
      if (!processAlive(pid)) fs.rmSync(path.join(this.incomingDir, name), { force: true });
    }
    this.db = openJobsDatabase(options.dataDir, (id) => this.audioPath(id));
    this.places = new SqlitePlaces(this.db, options, this.audioDir);
  }

  // ---- API side ----

  async reserve(owner: string): Promise<JobPlace> {
    this.assertOpen();
    return this.places.reserve(owner);
  }

  async submit(job: NewJob, audio: JobAudioFile, place?: JobPlace): Promise<JobRecord> {
    const held = place !== undefined && this.places.holds(place) ? place : undefined;
    try {
      this.assertOpen();
      if (place !== undefined && held === undefined) {
        throw new Error("SqliteJobBackend: submit was given a place this backend did not give (or one already used)");
      }
      // What the place reserved covers the file (an upper bound of it); asked again in case it does not.
      held?.reserveAudio(audio.bytes);
      const id = newJobId();
      const target = this.audioPath(id);
      try {
        moveFile(audio.path, target);
        this.db
          .transaction(() => {
            this.places.admitJob(job.owner, audio.bytes, held);
            const { owner, ...spec } = job;
            this.db
              .prepare("INSERT INTO jobs (id, owner, status, spec, created_at, audio_bytes) VALUES (?, ?, 'queued', ?, ?, ?)")
              .run(id, owner, JSON.stringify(spec), Date.now(), audio.bytes);
          })
          .immediate();
      } catch (error) {
        fs.rmSync(target, { force: true });
        throw storageError(error);
      }
      if (held) this.places.forget(held);
      this.worker?.wake();
      return readRecord(this.db, id)!;
    } finally {
      // Not stored: the place goes back (a no-op once the job took it).
      if (held) this.places.release(held);
      fs.rmSync(audio.path, { force: true });
    }
  }

  async get(owner: string, id: string): Promise<JobRecord | undefined> {
    const row = this.db.prepare("SELECT * FROM jobs WHERE id = ? AND owner = ?").get(id, owner) as JobRow | undefined;
    return row && toRecord(row);
  }

  async list(owner: string, query: JobListQuery): Promise<JobPage> {
    let before = Number.MAX_SAFE_INTEGER;
    if (query.after !== undefined) {
      const cursor = this.db.prepare("SELECT seq FROM jobs WHERE id = ? AND owner = ?").get(query.after, owner) as { seq: number } | undefined;
      if (!cursor) throw new UnknownCursorError(query.after);
      before = cursor.seq;
    }
    const rows = (
      query.status
        ? this.db.prepare("SELECT * FROM jobs WHERE owner = ? AND seq < ? AND status = ? ORDER BY seq DESC LIMIT ?").all(owner, before, query.status, query.limit + 1)
        : this.db.prepare("SELECT * FROM jobs WHERE owner = ? AND seq < ? ORDER BY seq DESC LIMIT ?").all(owner, before, query.limit + 1)
    ) as JobRow[];
    return { jobs: rows.slice(0, query.limit).map(toRecord), hasMore: rows.length > query.limit };
  }

  async cancel(owner: string, id: string): Promise<JobRecord | undefined> {
    const change = this.db
      .transaction(() => {
        const row = this.db.prepare("SELECT * FROM jobs WHERE id = ? AND owner = ?").get(id, owner) as JobRow | undefined;
        if (!row) return { record: undefined, changed: false, running: false };
        if (isFinished(row.status)) return { record: toRecord(row), changed: false, running: false };
        this.db.prepare("UPDATE jobs SET status = 'cancelled', completed_at = ? WHERE id = ?").run(Date.now(), id);
        return { record: readRecord(this.db, id), changed: true, running: row.status === "running" };
      })
      .immediate();
    if (change.changed && change.record) {
      // Running here: stopped at once (a worker in another process sees it at its next tick).
      this.worker?.abort(id, new JobCancelledError(id));
      // A running job's processor reads its audio until it settles (the contract): its worker removes it then
      // (SqliteJobWorker.settle), or the retention sweep, when that worker is gone.
      this.finished(change.record, { audioInUse: change.running });
    }
    return change.record;
  }

  async result(owner: string, id: string): Promise<TranscriptionResult | undefined> {
    const row = this.db
      .prepare("SELECT r.result FROM job_results r JOIN jobs j ON j.id = r.job_id WHERE j.id = ? AND j.owner = ? AND j.status = 'succeeded'")
      .get(id, owner) as { result: Buffer } | undefined;
    return row && decodeResult(row.result);
  }

  async counts(): Promise<{ queued: number; running: number }> {
    const rows = this.db.prepare("SELECT status, COUNT(*) AS n FROM jobs WHERE status IN ('queued', 'running') GROUP BY status").all() as Array<{ status: string; n: number }>;
    const count = (status: string) => rows.find((r) => r.status === status)?.n ?? 0;
    return { queued: count("queued"), running: count("running") };
  }

  // ---- worker side ----

  startWorker(processor: JobProcessor, options: JobWorkerOptions): JobWorker {
    this.assertOpen();
    if (this.worker) throw new Error("SqliteJobBackend: a worker is already running");
    if (!Number.isInteger(options.concurrency) || options.concurrency < 1) throw new RangeError("concurrency must be a positive integer");
    const worker = new SqliteJobWorker(
      {
        db: this.db,
        token: this.token,
        audioPath: (id) => this.audioPath(id),
        closed: () => this.closed,
        finished: (record) => this.finished(record),
      },
      processor,
      options.concurrency,
    );
    this.worker = worker;
    worker.wake();
    return {
      stop: async () => {
        await worker.stop();
        if (this.worker === worker) this.worker = undefined;
      },
    };
  }

  // ---- both ----

  onSettled(listener: (job: JobRecord) => void): void {
    this.listeners.push(listener);
  }

  async sweepExpired(before: number): Promise<number> {
    if (this.closed) return 0;
    const deleted = this.db.prepare("DELETE FROM jobs WHERE completed_at IS NOT NULL AND completed_at < ? AND status IN ('succeeded', 'failed', 'cancelled')").run(before).changes;
    // Audio whose job is gone or finished (deleted at the end of each job; this catches a crash in between).
    const live = new Set((this.db.prepare("SELECT id FROM jobs WHERE status IN ('queued', 'running')").all() as Array<{ id: string }>).map((r) => r.id));
    for (const name of fs.readdirSync(this.audioDir)) {
      if (!live.has(name.replace(/\.flac$/, ""))) fs.rmSync(path.join(this.audioDir, name), { force: true });
    }
    return deleted;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.worker?.stop();
    this.worker = undefined;
    this.places.close();
    this.closed = true;
    this.db.close();
  }

  // ---- internals ----

  private audioPath(id: string): string {
    return path.join(this.audioDir, `${id}.flac`);
  }

  /** A job reached a final state: its audio goes (unless a processor still reads it), the listeners are told. */
  private finished(record: JobRecord, { audioInUse = false } = {}): void {
    if (!audioInUse) fs.rmSync(this.audioPath(record.id), { force: true });
    for (const listener of this.listeners) {
      try {
        listener(record);
      } catch {
        // A listener's failure is not the job's.
      }
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new Error("SqliteJobBackend: closed");
  }
}

/** Moves a file into the store (a copy when it is on another file system). */
function moveFile(from: string, to: string): void {
  try {
    fs.renameSync(from, to);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EXDEV") throw error;
    fs.copyFileSync(from, to);
    fs.rmSync(from, { force: true });
  }
}
