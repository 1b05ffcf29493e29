// The embedded jobs backend: one SQLite database (better-sqlite3, WAL) and one directory of FLAC files under the data
// dir. The contract is the one in ../types.ts; this file keeps it with plain transactions: a claim, a cancel and a
// settle each read and write a job's row atomically (BEGIN IMMEDIATE), so a job cancelled while it runs is never
// stored as succeeded, and a job is never claimed twice.
//
// Several processes on this machine may share a data dir (two `earshot serve` on different ports): each running
// job's row names its worker (pid and a random token) and carries a heartbeat the worker renews every second. A
// job whose worker is gone (its pid no longer exists: killed, crashed) or silent for HEARTBEAT_STALE_MS is queued
// again, by any worker, at its start and every few seconds after. A worker also sees, on the same tick, a job of
// its own cancelled by another process, and stops it. The data dir must be local to this machine (the pid check).
//
// Places and room (see "Places" in ../types.ts). A place is a row of job_places, counted with the unfinished jobs in
// the transaction that takes it, so the bounds hold across every process sharing the data dir; its holder renews it
// every PLACE_RENEW_MS, and a place whose holder is gone (pid) or silent for PLACE_TTL_MS is dropped by the next
// process that counts. The audio at rest is bounded twice: by maxStoredAudioBytes (each unfinished job's FLAC size,
// plus what each place reserved for the FLAC being written: 429 beyond), and by the disk's free space, which must
// stay above minFreeDiskBytes after what a place asks for (507 below). A full disk (ENOSPC, EDQUOT, SQLITE_FULL)
// while a job is stored is a 507 too, and nothing of the job is kept.
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";

import Database from "better-sqlite3";

import type { TranscriptionResult } from "../../engine/types.js";
import { ApiError } from "../../api/errors.js";
import { makeDirectory } from "../../makeDirectory.js";
import { prepareDataDir, unusableDataDir } from "../dataDir.js";
import { decodeResult, encodeResult } from "../resultCodec.js";
import { freeDiskBytes, insufficientStorage, isDiskFullError, jobsQueueFull, ownerQueueFull, storedAudioBudgetFull } from "../storage.js";
import {
  isFinished,
  JobCancelledError,
  JobInterruptedError,
  newJobId,
  UnknownCursorError,
  type ClaimedJob,
  type JobAudioFile,
  type JobBackend,
  type JobError,
  type JobListQuery,
  type JobOutcome,
  type JobPage,
  type JobPlace,
  type JobProcessor,
  type JobQueueBounds,
  type JobRecord,
  type JobStatus,
  type JobWorker,
  type JobWorkerOptions,
  type NewJob,
} from "../types.js";

/** Bumped when the schema changes; an older database is migrated on open. */
const SCHEMA_VERSION = 2;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS jobs (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  owner TEXT NOT NULL,
  status TEXT NOT NULL,
  spec TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  started_at INTEGER,
  completed_at INTEGER,
  done_seconds REAL NOT NULL DEFAULT 0,
  error TEXT,
  attempts INTEGER NOT NULL DEFAULT 0,
  worker_pid INTEGER,
  worker_token TEXT,
  heartbeat_at INTEGER,
  audio_bytes INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS jobs_owner ON jobs (owner, seq);
CREATE INDEX IF NOT EXISTS jobs_status ON jobs (status, seq);
CREATE INDEX IF NOT EXISTS jobs_owner_status ON jobs (owner, status);
CREATE INDEX IF NOT EXISTS jobs_completed ON jobs (completed_at) WHERE completed_at IS NOT NULL;
CREATE TABLE IF NOT EXISTS job_results (
  job_id TEXT PRIMARY KEY REFERENCES jobs (id) ON DELETE CASCADE,
  result BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS job_places (
  id TEXT PRIMARY KEY,
  owner TEXT NOT NULL,
  audio_bytes INTEGER NOT NULL DEFAULT 0,
  holder_pid INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS job_places_owner ON job_places (owner);
`;

/** Schema 1 → 2: each job's audio size (the stored-audio budget), and the places of uploads in flight. */
const MIGRATE_FROM_1 = "ALTER TABLE jobs ADD COLUMN audio_bytes INTEGER NOT NULL DEFAULT 0";

interface JobRow {
  seq: number;
  id: string;
  owner: string;
  status: JobStatus;
  spec: string;
  created_at: number;
  started_at: number | null;
  completed_at: number | null;
  done_seconds: number;
  error: string | null;
  attempts: number;
  worker_pid: number | null;
  worker_token: string | null;
  heartbeat_at: number | null;
}

/**
 * The worker's tick: heartbeats of its running jobs, cancels made by other processes, queued jobs submitted by other
 * processes (a submit in this process wakes it at once).
 */
const TICK_MS = 1_000;
/** A running job whose worker has not renewed its heartbeat for this long is queued again. */
const HEARTBEAT_STALE_MS = 30_000;
/** How often a worker looks for jobs left running by workers that are gone. */
const RECOVERY_EVERY_MS = 5_000;
/** A place not renewed for this long (its holder hung or lost the database) is dropped. */
const PLACE_TTL_MS = 60_000;
/** How often a process renews the places it holds. */
const PLACE_RENEW_MS = 15_000;

export interface SqliteJobBackendOptions extends JobQueueBounds {
  /** The data dir: jobs.db and jobs/ (audio) go there. */
  dataDir: string;
  /** The FLAC audio of unfinished jobs and of uploads in flight together (429 beyond). */
  maxStoredAudioBytes: number;
  /** Free space the data dir's disk keeps after what an upload asks for (507 below). */
  minFreeDiskBytes: number;
}

const UNFINISHED = "status IN ('queued', 'running')";

export class SqliteJobBackend implements JobBackend {
  readonly kind = "sqlite" as const;
  /** Where the API writes a new job's FLAC file before submit() takes it over (same file system as the store). */
  readonly incomingDir: string;
  private readonly audioDir: string;
  private readonly db: Database.Database;
  /** This process's workers in the rows of the jobs they run. */
  private readonly token = randomBytes(8).toString("hex");
  private readonly listeners: Array<(job: JobRecord) => void> = [];
  /** Abort controllers of the jobs running in this process. */
  private readonly runningHere = new Map<string, AbortController>();
  private worker: SqliteWorker | undefined;
  private closed = false;
  /** The places this process holds: their room for audio so far (bytes). */
  private readonly placesHere = new Map<string, SqlitePlace>();
  private placeTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: SqliteJobBackendOptions) {
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
    this.db = new Database(path.join(options.dataDir, "jobs.db"));
    try {
      this.db.pragma("journal_mode = WAL");
      this.db.pragma("synchronous = NORMAL");
      this.db.pragma("foreign_keys = ON");
      this.db.pragma("busy_timeout = 5000");
      const version = this.db.pragma("user_version", { simple: true }) as number;
      if (version > SCHEMA_VERSION) throw new Error(`the jobs database ${options.dataDir}/jobs.db is from a newer Earshot (schema ${version})`);
      this.db
        .transaction(() => {
          if (version === 1) this.db.exec(MIGRATE_FROM_1);
          this.db.exec(SCHEMA);
          if (version === 1) this.measureStoredAudio();
          if (version < SCHEMA_VERSION) this.db.pragma(`user_version = ${SCHEMA_VERSION}`);
        })
        .immediate();
    } catch (error) {
      this.db.close();
      throw error;
    }
  }

  // ---- API side ----

  async reserve(owner: string): Promise<JobPlace> {
    this.assertOpen();
    // A disk already below its floor takes no upload at all.
    this.checkFreeDisk(0);
    const place = new SqlitePlace(this, randomBytes(12).toString("hex"), owner);
    try {
      this.db.transaction(() => this.takePlace(place, 0)).immediate();
    } catch (error) {
      throw storageError(error);
    }
    this.placesHere.set(place.id, place);
    this.placeTimer ??= setInterval(() => this.renewPlaces(), PLACE_RENEW_MS).unref();
    return place;
  }

  async submit(job: NewJob, audio: JobAudioFile, place?: JobPlace): Promise<JobRecord> {
    try {
      this.assertOpen();
      if (place !== undefined && !(place instanceof SqlitePlace && this.placesHere.get(place.id) === place)) {
        throw new Error("SqliteJobBackend: submit was given a place this backend did not give (or one already used)");
      }
      // What the place reserved covers the file (an upper bound of it); asked again in case it does not.
      place?.reserveAudio(audio.bytes);
      const id = newJobId();
      const target = this.audioPath(id);
      try {
        moveFile(audio.path, target);
        this.db
          .transaction(() => {
            if (place) {
              // Lapsed meanwhile (this process was stalled past PLACE_TTL_MS): taken again, bounds checked.
              const deleted = this.db.prepare("DELETE FROM job_places WHERE id = ?").run(place.id).changes;
              if (deleted === 0) this.checkRoom(job.owner, audio.bytes, undefined);
            } else {
              this.checkRoom(job.owner, audio.bytes, undefined);
            }
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
      if (place instanceof SqlitePlace) this.forgetPlace(place);
      this.worker?.wake();
      return this.row(id)!;
    } finally {
      // Not stored: the place goes back (a no-op once the job took it).
      if (place instanceof SqlitePlace) this.releasePlace(place);
      fs.rmSync(audio.path, { force: true });
    }
  }

  /** @internal Room for `bytes` of audio in all for `place` (see JobPlace.reserveAudio); throws 429 / 507. */
  growPlace(place: SqlitePlace, bytes: number): void {
    this.assertOpen();
    const growth = bytes - place.audioBytes;
    if (growth <= 0) return;
    this.checkFreeDisk(growth);
    try {
      this.db
        .transaction(() => {
          const stored = this.storedAudioBytes();
          if (stored + growth > this.options.maxStoredAudioBytes) {
            throw storedAudioBudgetFull(stored, growth, this.options.maxStoredAudioBytes, "EARSHOT_JOBS_MAX_STORED_AUDIO_MB");
          }
          const updated = this.db.prepare("UPDATE job_places SET audio_bytes = ?, expires_at = ? WHERE id = ?").run(bytes, Date.now() + PLACE_TTL_MS, place.id);
          if (updated.changes === 0) {
            // Lapsed meanwhile: taken again (its bounds checked) with the room it asks for.
            this.takePlace(place, bytes);
          }
        })
        .immediate();
    } catch (error) {
      throw storageError(error);
    }
    place.audioBytes = bytes;
  }

  /** @internal Gives a place back (an error leaves the row to lapse: it is no longer renewed). */
  releasePlace(place: SqlitePlace): void {
    if (!this.forgetPlace(place) || this.closed) return;
    try {
      this.db.prepare("DELETE FROM job_places WHERE id = ?").run(place.id);
    } catch {
      // A full disk or a busy database: the place lapses within PLACE_TTL_MS.
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
        if (!row) return { record: undefined, changed: false };
        if (isFinished(row.status)) return { record: toRecord(row), changed: false };
        this.db.prepare("UPDATE jobs SET status = 'cancelled', completed_at = ? WHERE id = ?").run(Date.now(), id);
        return { record: this.row(id), changed: true };
      })
      .immediate();
    if (change.changed && change.record) {
      this.runningHere.get(id)?.abort(new JobCancelledError(id));
      this.finished(change.record);
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
    this.recover();
    const worker = new SqliteWorker(this, processor, options.concurrency);
    this.worker = worker;
    worker.wake();
    return {
      stop: async () => {
        await worker.stop();
        if (this.worker === worker) this.worker = undefined;
      },
    };
  }

  /**
   * @internal Queues again the jobs left running by workers that are gone: their process no longer exists, or they
   * have not renewed their heartbeat for HEARTBEAT_STALE_MS (a process of this one's included, from before it).
   */
  recover(): void {
    if (this.closed) return;
    const now = Date.now();
    const running = this.db.prepare("SELECT id, worker_pid, worker_token, heartbeat_at FROM jobs WHERE status = 'running'").all() as Array<
      Pick<JobRow, "id" | "worker_pid" | "worker_token" | "heartbeat_at">
    >;
    const requeue = this.db.prepare(
      "UPDATE jobs SET status = 'queued', started_at = NULL, done_seconds = 0, worker_pid = NULL, worker_token = NULL, heartbeat_at = NULL WHERE id = ? AND status = 'running' AND worker_token IS ?",
    );
    for (const job of running) {
      if (job.worker_token === this.token && this.runningHere.has(job.id)) continue;
      const gone = job.worker_pid === null || job.worker_pid === process.pid || !processAlive(job.worker_pid);
      if (gone || (job.heartbeat_at ?? 0) < now - HEARTBEAT_STALE_MS) requeue.run(job.id, job.worker_token);
    }
  }

  /** @internal Renews the heartbeat of this process's running jobs; returns those no longer its to run (cancelled). */
  heartbeat(): string[] {
    if (this.closed || this.runningHere.size === 0) return [];
    const beat = this.db.prepare("UPDATE jobs SET heartbeat_at = ? WHERE id = ? AND worker_token = ? AND status = 'running'");
    const now = Date.now();
    return [...this.runningHere.keys()].filter((id) => beat.run(now, id, this.token).changes === 0);
  }

  /** @internal The oldest queued job, now running (attempts + 1); undefined when none is queued. */
  claim(): ClaimedJobState | undefined {
    if (this.closed) return undefined;
    const claimed = this.db
      .transaction(() => {
        const row = this.db.prepare("SELECT id FROM jobs WHERE status = 'queued' ORDER BY seq LIMIT 1").get() as { id: string } | undefined;
        if (!row) return undefined;
        const now = Date.now();
        this.db
          .prepare(
            "UPDATE jobs SET status = 'running', started_at = ?, done_seconds = 0, attempts = attempts + 1, worker_pid = ?, worker_token = ?, heartbeat_at = ? WHERE id = ?",
          )
          .run(now, process.pid, this.token, now, row.id);
        return this.row(row.id);
      })
      .immediate();
    if (!claimed) return undefined;
    const controller = new AbortController();
    this.runningHere.set(claimed.id, controller);
    return { record: claimed, controller, audioPath: this.audioPath(claimed.id) };
  }

  /** @internal Progress of a running job. */
  progress(id: string, done: number): void {
    if (this.closed) return;
    this.db.prepare("UPDATE jobs SET done_seconds = ? WHERE id = ? AND status = 'running' AND worker_token = ?").run(done, id, this.token);
  }

  /** @internal The job is no longer run here (its row is left for recovery). */
  forget(id: string): void {
    this.runningHere.delete(id);
  }

  /** @internal Stores what the processor of a claimed job settled with (nothing when it was cancelled meanwhile). */
  settle(id: string, outcome: JobOutcome): void {
    this.runningHere.delete(id);
    if (this.closed) return;
    const finished = this.db
      .transaction((): JobRecord | undefined => {
        const row = this.db.prepare("SELECT status, spec, worker_token FROM jobs WHERE id = ?").get(id) as Pick<JobRow, "status" | "spec" | "worker_token"> | undefined;
        // Cancelled meanwhile, or taken over by another worker (this one was silent too long): not ours to store.
        if (!row || row.status !== "running" || row.worker_token !== this.token) return undefined;
        const now = Date.now();
        switch (outcome.status) {
          case "succeeded": {
            const total = (JSON.parse(row.spec) as { audioSeconds: number }).audioSeconds;
            this.db.prepare("INSERT OR REPLACE INTO job_results (job_id, result) VALUES (?, ?)").run(id, encodeResult(outcome.result));
            this.db.prepare("UPDATE jobs SET status = 'succeeded', completed_at = ?, done_seconds = ? WHERE id = ?").run(now, total, id);
            return this.row(id);
          }
          case "failed":
            this.db.prepare("UPDATE jobs SET status = 'failed', completed_at = ?, error = ? WHERE id = ?").run(now, JSON.stringify(outcome.error), id);
            return this.row(id);
          case "cancelled":
            this.db.prepare("UPDATE jobs SET status = 'cancelled', completed_at = ? WHERE id = ?").run(now, id);
            return this.row(id);
          case "interrupted":
            this.db
              .prepare("UPDATE jobs SET status = 'queued', started_at = NULL, done_seconds = 0, worker_pid = NULL, worker_token = NULL, heartbeat_at = NULL WHERE id = ?")
              .run(id);
            return undefined;
        }
      })
      .immediate();
    if (finished) this.finished(finished);
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
    for (const place of [...this.placesHere.values()]) this.releasePlace(place);
    clearInterval(this.placeTimer);
    this.closed = true;
    this.db.close();
  }

  // ---- internals ----

  /**
   * In a transaction: drops the places that lapsed, checks the bounds for one more job of `place.owner` (429), and
   * records the place with `audioBytes` of room (checked against the budget when not 0).
   */
  private takePlace(place: SqlitePlace, audioBytes: number): void {
    this.dropLapsedPlaces();
    this.checkRoom(place.owner, audioBytes, place.id);
    this.db
      .prepare("INSERT OR REPLACE INTO job_places (id, owner, audio_bytes, holder_pid, expires_at) VALUES (?, ?, ?, ?, ?)")
      .run(place.id, place.owner, audioBytes, process.pid, Date.now() + PLACE_TTL_MS);
  }

  /** In a transaction: a 429 unless one more job of `owner` (with `audioBytes` of audio) fits every bound. */
  private checkRoom(owner: string, audioBytes: number, exceptPlace: string | undefined): void {
    const except = exceptPlace ?? "";
    const count = (sql: string, ...args: unknown[]) => (this.db.prepare(sql).pluck().get(...args) as number | null) ?? 0;
    // The key's own share first: the refusal it can act on.
    const own =
      count(`SELECT COUNT(*) FROM jobs WHERE owner = ? AND ${UNFINISHED}`, owner) + count("SELECT COUNT(*) FROM job_places WHERE owner = ? AND id != ?", owner, except);
    if (this.options.maxQueuedPerOwner < this.options.maxQueued && own >= this.options.maxQueuedPerOwner) throw ownerQueueFull(own, this.options.maxQueuedPerOwner);
    const all = count(`SELECT COUNT(*) FROM jobs WHERE ${UNFINISHED}`) + count("SELECT COUNT(*) FROM job_places WHERE id != ?", except);
    if (all >= this.options.maxQueued) throw jobsQueueFull(all);
    if (audioBytes > 0) {
      const stored = this.storedAudioBytes(except);
      if (stored + audioBytes > this.options.maxStoredAudioBytes) {
        throw storedAudioBudgetFull(stored, audioBytes, this.options.maxStoredAudioBytes, "EARSHOT_JOBS_MAX_STORED_AUDIO_MB");
      }
    }
  }

  private storedAudioBytes(exceptPlace = ""): number {
    const jobs = this.db.prepare(`SELECT COALESCE(SUM(audio_bytes), 0) FROM jobs WHERE ${UNFINISHED}`).pluck().get() as number;
    const places = this.db.prepare("SELECT COALESCE(SUM(audio_bytes), 0) FROM job_places WHERE id != ?").pluck().get(exceptPlace) as number;
    return jobs + places;
  }

  /** A 507 when writing `bytes` more would leave the data dir's disk with less than minFreeDiskBytes free. */
  private checkFreeDisk(bytes: number): void {
    const free = freeDiskBytes(this.audioDir);
    if (free === undefined || free - bytes >= this.options.minFreeDiskBytes) return;
    const mb = (n: number) => (n / 1_048_576).toFixed(1);
    throw insufficientStorage(
      `the data dir's disk has ${mb(free)} MB free` +
        (bytes > 0 ? `, this job may need ${mb(bytes)} MB more` : "") +
        `, and ${mb(this.options.minFreeDiskBytes)} MB must stay free (EARSHOT_JOBS_MIN_FREE_DISK_MB)`,
    );
  }

  /** Places whose holder is gone (its process) or silent past PLACE_TTL_MS. */
  private dropLapsedPlaces(): void {
    this.db.prepare("DELETE FROM job_places WHERE expires_at < ?").run(Date.now());
    const holders = this.db.prepare("SELECT DISTINCT holder_pid FROM job_places").pluck().all() as number[];
    for (const pid of holders) if (!processAlive(pid)) this.db.prepare("DELETE FROM job_places WHERE holder_pid = ?").run(pid);
  }

  private renewPlaces(): void {
    if (this.closed || this.placesHere.size === 0) return;
    try {
      const renew = this.db.prepare("UPDATE job_places SET expires_at = ? WHERE id = ?");
      const until = Date.now() + PLACE_TTL_MS;
      this.db.transaction(() => {
        for (const id of this.placesHere.keys()) renew.run(until, id);
      })();
    } catch {
      // A busy or full database: the next renewal tries again (PLACE_TTL_MS is four renewals).
    }
  }

  /** Whether `place` was held here (it no longer is). */
  private forgetPlace(place: SqlitePlace): boolean {
    const held = this.placesHere.get(place.id) === place;
    if (held) this.placesHere.delete(place.id);
    if (this.placesHere.size === 0) {
      clearInterval(this.placeTimer);
      this.placeTimer = undefined;
    }
    return held;
  }

  /** Schema 2's audio sizes for the jobs of an older database that are still to run (their files' sizes). */
  private measureStoredAudio(): void {
    const ids = this.db.prepare(`SELECT id FROM jobs WHERE ${UNFINISHED}`).pluck().all() as string[];
    const set = this.db.prepare("UPDATE jobs SET audio_bytes = ? WHERE id = ?");
    for (const id of ids) {
      let bytes = 0;
      try {
        bytes = fs.statSync(this.audioPath(id)).size;
      } catch {
        // No audio (it went with a crash): the job fails when it runs.
      }
      set.run(bytes, id);
    }
  }

  private row(id: string): JobRecord | undefined {
    const row = this.db.prepare("SELECT * FROM jobs WHERE id = ?").get(id) as JobRow | undefined;
    return row && toRecord(row);
  }

  private audioPath(id: string): string {
    return path.join(this.audioDir, `${id}.flac`);
  }

  /** A job reached a final state: its audio goes, the listeners are told. */
  private finished(record: JobRecord): void {
    fs.rmSync(this.audioPath(record.id), { force: true });
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

/** A place this process holds (see JobPlace). */
class SqlitePlace implements JobPlace {
  /** Room reserved for the job's audio so far. */
  audioBytes = 0;
  constructor(
    private readonly backend: SqliteJobBackend,
    readonly id: string,
    readonly owner: string,
  ) {}

  reserveAudio(bytes: number): void {
    this.backend.growPlace(this, bytes);
  }

  async release(): Promise<void> {
    this.backend.releasePlace(this);
  }
}

/** A full disk as the 507 it is answered with; any other error as it is. */
function storageError(error: unknown): unknown {
  if (error instanceof ApiError || !isDiskFullError(error)) return error;
  const { code } = error as { code?: string };
  return insufficientStorage(`the data dir's disk is full${code ? `: ${code}` : ""}`);
}

interface ClaimedJobState {
  record: JobRecord;
  controller: AbortController;
  audioPath: string;
}

/** Claims jobs oldest first, `concurrency` at once, and hands them to the processor. */
class SqliteWorker {
  private readonly running = new Map<string, { controller: AbortController; done: Promise<void> }>();
  private stopping = false;
  private readonly timer: NodeJS.Timeout;
  private wakeQueued = false;
  private lastRecovery = Date.now();

  constructor(
    private readonly backend: SqliteJobBackend,
    private readonly processor: JobProcessor,
    private readonly concurrency: number,
  ) {
    this.timer = setInterval(() => this.tick(), TICK_MS);
    this.timer.unref();
  }

  private tick(): void {
    if (this.stopping) return;
    try {
      for (const id of this.backend.heartbeat()) this.running.get(id)?.controller.abort(new JobCancelledError(id));
      if (Date.now() - this.lastRecovery >= RECOVERY_EVERY_MS) {
        this.lastRecovery = Date.now();
        this.backend.recover();
      }
      this.pump();
    } catch {
      // SQLITE_BUSY beyond the busy timeout (another process holding a long write): the next tick tries again.
    }
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

  private pump(): void {
    try {
      while (!this.stopping && this.running.size < this.concurrency) {
        const claimed = this.backend.claim();
        if (!claimed) return;
        this.start(claimed);
      }
    } catch {
      // SQLITE_BUSY beyond the busy timeout: the next tick claims.
    }
  }

  private start({ record, controller, audioPath }: ClaimedJobState): void {
    const job: ClaimedJob = {
      record,
      audioPath,
      signal: controller.signal,
      progress: (done) => this.backend.progress(record.id, done),
    };
    const done = Promise.resolve()
      .then(() => this.processor(job))
      .catch((error: unknown): JobOutcome => {
        if (controller.signal.reason instanceof JobInterruptedError) return { status: "interrupted" };
        if (controller.signal.reason instanceof JobCancelledError) return { status: "cancelled" };
        return { status: "failed", error: internalError(error) };
      })
      .then((outcome) => this.backend.settle(record.id, outcome))
      // Not stored (the database refused for longer than its busy timeout): the job's heartbeat stops, and it is
      // queued again once stale.
      .catch(() => this.backend.forget(record.id))
      .finally(() => {
        this.running.delete(record.id);
        this.wake();
      });
    this.running.set(record.id, { controller, done });
  }

  async stop(): Promise<void> {
    this.stopping = true;
    clearInterval(this.timer);
    for (const [id, { controller }] of this.running) controller.abort(new JobInterruptedError(id));
    await Promise.all([...this.running.values()].map((r) => r.done.catch(() => undefined)));
  }
}

function internalError(error: unknown): JobError {
  void error;
  return { message: "The server had an error while processing the job.", type: "server_error", param: null, code: "internal_error" };
}

/** Whether a process with this pid exists on this machine. */
function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

function toRecord(row: JobRow): JobRecord {
  const spec = JSON.parse(row.spec) as Omit<NewJob, "owner">;
  return {
    ...spec,
    owner: row.owner,
    id: row.id,
    status: row.status,
    createdAt: row.created_at,
    startedAt: row.started_at,
    completedAt: row.completed_at,
    progress: { audioSecondsDone: row.done_seconds, audioSecondsTotal: spec.audioSeconds },
    error: row.error ? (JSON.parse(row.error) as JobError) : null,
    attempts: row.attempts,
  };
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
