// Places and room of the embedded backend (see "Places" in ../types.ts). A place is a row of job_places, counted
// with the unfinished jobs in the transaction that takes it, so the bounds hold across every process sharing the
// data dir; its holder renews it every PLACE_RENEW_MS, and a place whose holder is gone (pid) or silent for
// PLACE_TTL_MS is dropped by the next process that counts. The audio at rest is bounded twice: by
// maxStoredAudioBytes (each unfinished job's FLAC size, plus what each place reserved for the FLAC being written:
// 429 beyond), and by the disk's free space, which must stay above minFreeDiskBytes after what a place asks for
// (507 below). A full disk (ENOSPC, EDQUOT, SQLITE_FULL) while a job is stored is a 507 too.
import { randomBytes } from "node:crypto";

import type Database from "better-sqlite3";

import { ApiError } from "../../api/errors.js";
import { insufficientStorage, jobsQueueFull, ownerQueueFull, storedAudioBudgetFull } from "../../api/errors.js";
import { freeDiskBytes, isDiskFullError } from "../storage.js";
import type { JobPlace, JobQueueBounds } from "../types.js";
import { processAlive } from "../../processAlive.js";
import { UNFINISHED } from "./records.js";

/** A place not renewed for this long (its holder hung or lost the database) is dropped. */
const PLACE_TTL_MS = 60_000;
/** How often a process renews the places it holds. */
const PLACE_RENEW_MS = 15_000;

export interface RoomBounds extends JobQueueBounds {
  /** The FLAC audio of unfinished jobs and of uploads in flight together (429 beyond). */
  maxStoredAudioBytes: number;
  /** Free space the data dir's disk keeps after what an upload asks for (507 below). */
  minFreeDiskBytes: number;
}

/** The places this process holds, and the room checks every job passes before it is stored. */
export class SqlitePlaces {
  /** The places this process holds: their room for audio so far (bytes). */
  private readonly held = new Map<string, SqlitePlace>();
  private renewTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly db: Database.Database,
    private readonly bounds: RoomBounds,
    /** The directory on the disk whose free space is checked (where job audio goes). */
    private readonly audioDir: string,
  ) {}

  /** A place for one job of `owner` (see JobBackend.reserve); throws 429 / 507. */
  reserve(owner: string): SqlitePlace {
    this.assertOpen();
    // A disk already below its floor takes no upload at all.
    this.checkFreeDisk(0);
    const place = new SqlitePlace(this, randomBytes(12).toString("hex"), owner);
    try {
      this.db.transaction(() => this.takePlace(place, 0)).immediate();
    } catch (error) {
      throw storageError(error);
    }
    this.held.set(place.id, place);
    this.renewTimer ??= setInterval(() => this.renewPlaces(), PLACE_RENEW_MS).unref();
    return place;
  }

  /** Whether `place` is one this process holds (given by reserve, not yet used or given back). */
  holds(place: JobPlace): place is SqlitePlace {
    return place instanceof SqlitePlace && this.held.get(place.id) === place;
  }

  /**
   * In the transaction that stores a new job of `owner` with `audioBytes` of audio: its place's row goes (the job
   * takes it); without a place, or with one that lapsed meanwhile (this process stalled past PLACE_TTL_MS), the
   * bounds are checked here (429).
   */
  admitJob(owner: string, audioBytes: number, place: SqlitePlace | undefined): void {
    if (place) {
      const deleted = this.db.prepare("DELETE FROM job_places WHERE id = ?").run(place.id).changes;
      if (deleted === 0) this.checkRoom(owner, audioBytes, undefined);
    } else {
      this.checkRoom(owner, audioBytes, undefined);
    }
  }

  /** Room for `bytes` of audio in all for `place` (see JobPlace.reserveAudio); throws 429 / 507. */
  grow(place: SqlitePlace, bytes: number): void {
    this.assertOpen();
    const growth = bytes - place.audioBytes;
    if (growth <= 0) return;
    this.checkFreeDisk(growth);
    try {
      this.db
        .transaction(() => {
          const stored = this.storedAudioBytes();
          if (stored + growth > this.bounds.maxStoredAudioBytes) {
            throw storedAudioBudgetFull(stored, growth, this.bounds.maxStoredAudioBytes, "EARSHOT_JOBS_MAX_STORED_AUDIO_MB");
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

  /** Gives a place back (an error leaves the row to lapse: it is no longer renewed). */
  release(place: SqlitePlace): void {
    if (!this.forget(place) || this.closed) return;
    try {
      this.db.prepare("DELETE FROM job_places WHERE id = ?").run(place.id);
    } catch {
      // A full disk or a busy database: the place lapses within PLACE_TTL_MS.
    }
  }

  /** Stops holding `place` (a job took it); whether it was held here. */
  forget(place: SqlitePlace): boolean {
    const held = this.held.get(place.id) === place;
    if (held) this.held.delete(place.id);
    if (this.held.size === 0) {
      clearInterval(this.renewTimer);
      this.renewTimer = undefined;
    }
    return held;
  }

  /** Gives back every place still held (uploads cut short by the shutdown); nothing is taken afterwards. */
  close(): void {
    for (const place of [...this.held.values()]) this.release(place);
    clearInterval(this.renewTimer);
    this.closed = true;
  }

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
    const { maxQueued, maxQueuedPerOwner, maxStoredAudioBytes } = this.bounds;
    const except = exceptPlace ?? "";
    const count = (sql: string, ...args: unknown[]) => (this.db.prepare(sql).pluck().get(...args) as number | null) ?? 0;
    // The key's own share first: the refusal it can act on.
    const own =
      count(`SELECT COUNT(*) FROM jobs WHERE owner = ? AND ${UNFINISHED}`, owner) + count("SELECT COUNT(*) FROM job_places WHERE owner = ? AND id != ?", owner, except);
    if (maxQueuedPerOwner < maxQueued && own >= maxQueuedPerOwner) throw ownerQueueFull(own, maxQueuedPerOwner);
    const all = count(`SELECT COUNT(*) FROM jobs WHERE ${UNFINISHED}`) + count("SELECT COUNT(*) FROM job_places WHERE id != ?", except);
    if (all >= maxQueued) throw jobsQueueFull(all);
    if (audioBytes > 0) {
      const stored = this.storedAudioBytes(except);
      if (stored + audioBytes > maxStoredAudioBytes) {
        throw storedAudioBudgetFull(stored, audioBytes, maxStoredAudioBytes, "EARSHOT_JOBS_MAX_STORED_AUDIO_MB");
      }
    }
  }

  /** The audio of unfinished jobs and the room places reserved (but `exceptPlace`'s), bytes. */
  private storedAudioBytes(exceptPlace = ""): number {
    const jobs = this.db.prepare(`SELECT COALESCE(SUM(audio_bytes), 0) FROM jobs WHERE ${UNFINISHED}`).pluck().get() as number;
    const places = this.db.prepare("SELECT COALESCE(SUM(audio_bytes), 0) FROM job_places WHERE id != ?").pluck().get(exceptPlace) as number;
    return jobs + places;
  }

  /** A 507 when writing `bytes` more would leave the data dir's disk with less than minFreeDiskBytes free. */
  private checkFreeDisk(bytes: number): void {
    const free = freeDiskBytes(this.audioDir);
    if (free === undefined || free - bytes >= this.bounds.minFreeDiskBytes) return;
    const mb = (n: number) => (n / 1_048_576).toFixed(1);
    throw insufficientStorage(
      `the data dir's disk has ${mb(free)} MB free` +
        (bytes > 0 ? `, this job may need ${mb(bytes)} MB more` : "") +
        `, and ${mb(this.bounds.minFreeDiskBytes)} MB must stay free (EARSHOT_JOBS_MIN_FREE_DISK_MB)`,
    );
  }

  /** Places whose holder is gone (its process) or silent past PLACE_TTL_MS. */
  private dropLapsedPlaces(): void {
    this.db.prepare("DELETE FROM job_places WHERE expires_at < ?").run(Date.now());
    const holders = this.db.prepare("SELECT DISTINCT holder_pid FROM job_places").pluck().all() as number[];
    for (const pid of holders) if (!processAlive(pid)) this.db.prepare("DELETE FROM job_places WHERE holder_pid = ?").run(pid);
  }

  private renewPlaces(): void {
    if (this.closed || this.held.size === 0) return;
    try {
      const renew = this.db.prepare("UPDATE job_places SET expires_at = ? WHERE id = ?");
      const until = Date.now() + PLACE_TTL_MS;
      this.db.transaction(() => {
        for (const id of this.held.keys()) renew.run(until, id);
      })();
    } catch {
      // A busy or full database: the next renewal tries again (PLACE_TTL_MS is four renewals).
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new Error("SqliteJobBackend: closed");
  }
}

/** A place this process holds (see JobPlace). */
export class SqlitePlace implements JobPlace {
  /** Room reserved for the job's audio so far. */
  audioBytes = 0;
  constructor(
    private readonly places: SqlitePlaces,
    readonly id: string,
    readonly owner: string,
  ) {}

  reserveAudio(bytes: number): void {
    this.places.grow(this, bytes);
  }

  async release(): Promise<void> {
    this.places.release(this);
  }
}

/** A full disk as the 507 it is answered with; any other error as it is. */
export function storageError(error: unknown): unknown {
  if (error instanceof ApiError || !isDiskFullError(error)) return error;
  const { code } = error as { code?: string };
  return insufficientStorage(`the data dir's disk is full${code ? `: ${code}` : ""}`);
}
