// The embedded backend (SQLite in a data dir): the JobBackend contract (backendContract.ts, the same suite as the
// Redis backend's), a peer being a second backend on the same data dir, as a second `earshot serve` would open it.
// Then what only this backend has: a worker that is gone (its pid) or silent has its jobs queued again, and a
// worker whose job was taken over can store nothing. The whole server is test/jobs/embedded.test.ts; the
// stored-audio budget, the disk checks and the schema migration through it are test/jobs/storage.test.ts.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

import Database from "better-sqlite3";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";

import { SqliteJobBackend, type SqliteJobBackendOptions } from "../../src/jobs/sqlite/SqliteJobBackend.js";
import type { JobOutcome, JobRecord } from "../../src/jobs/types.js";
import { waitFor } from "../support/server.js";
import { describeJobBackendContract, type ContractBounds } from "./backendContract.js";
import { audioFile as audioFileIn, newJob, onAbort, resultFor } from "./backendFixtures.js";

let root: string;
let scratch: string;
const backends: SqliteJobBackend[] = [];
const options = new WeakMap<SqliteJobBackend, SqliteJobBackendOptions>();

function open(made: SqliteJobBackendOptions): SqliteJobBackend {
  const backend = new SqliteJobBackend(made);
  options.set(backend, made);
  backends.push(backend);
  return backend;
}

/** A backend on a data dir of its own. */
function backend(bounds: ContractBounds = {}): SqliteJobBackend {
  const dataDir = fs.mkdtempSync(path.join(root, "data-"));
  return open({
    dataDir,
    maxQueued: bounds.maxQueued ?? 1000,
    maxQueuedPerOwner: bounds.maxQueuedPerOwner ?? 1000,
    maxStoredAudioBytes: bounds.maxStoredAudioBytes ?? 10_000_000,
    minFreeDiskBytes: 0,
  });
}

/** A second backend on the same data dir: another process. */
const peer = (of: SqliteJobBackend) => open(options.get(of)!);

const dataDirOf = (backend: SqliteJobBackend) => options.get(backend)!.dataDir;
const audioPath = (backend: SqliteJobBackend, id: string) => path.join(dataDirOf(backend), "jobs", "audio", `${id}.flac`);
const audioFile = (bytes?: number) => audioFileIn(scratch, bytes);

/** Reads the backend's database as another connection would (WAL: what was committed). */
function query<T>(backend: SqliteJobBackend, sql: string, ...args: unknown[]): T {
  const db = new Database(path.join(dataDirOf(backend), "jobs.db"), { readonly: true, fileMustExist: true });
  try {
    return db.prepare(sql).pluck().get(...args) as T;
  } finally {
    db.close();
  }
}

/** Writes the backend's database as another process would. */
function update(backend: SqliteJobBackend, sql: string, ...args: unknown[]): void {
  const db = new Database(path.join(dataDirOf(backend), "jobs.db"), { fileMustExist: true });
  try {
    db.pragma("busy_timeout = 5000");
    db.prepare(sql).run(...args);
  } finally {
    db.close();
  }
}

beforeAll(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), "earshot-sqlite-backend-"));
  // Beside the data dirs (the same file system), not in their incoming/ (swept when a backend opens).
  scratch = fs.mkdtempSync(path.join(root, "scratch-"));
});
afterEach(async () => {
  await Promise.all(backends.splice(0).map((made) => made.close()));
});
afterAll(() => {
  fs.rmSync(root, { recursive: true, force: true });
});

describeJobBackendContract("SQLite", {
  make: (bounds) => backend(bounds),
  peer: (of) => peer(of),
  scratchDir: () => scratch,
  storedAudio: async (backend, id) => (fs.existsSync(audioPath(backend, id)) ? fs.readFileSync(audioPath(backend, id)) : undefined),
  storedAudioBytes: async (backend) => query<number>(backend, "SELECT COALESCE(SUM(audio_bytes), 0) FROM jobs WHERE status IN ('queued', 'running')"),
  holdsRecord: async (backend, id) => query<number>(backend, "SELECT COUNT(*) FROM jobs WHERE id = ?", id) === 1,
  // The queue is the rows of status queued.
  claimable: async (backend, id) => query<string | undefined>(backend, "SELECT status FROM jobs WHERE id = ?", id) === "queued",
  // No limit of its own on one job: the stored-audio budget and the disk bound it.
  jobAudioLimit: undefined,
  largeAudioBytes: 3 * 1_048_576 + 5000,
  // The processor reads the stored FLAC itself; it goes when the job finishes.
  claimedAudio: "stored",
  // A worker in another process sees a cancel at its next tick (every second).
  crossProcessCancelMs: 2_000,
  // In the worker's own process the cancel aborts the processor at once.
  cancelsInProcessAtOnce: true,
});

describe("SQLite workers that are gone", () => {
  it("a running job whose worker's process is gone is queued again when a worker starts, and runs again (attempts 2)", async () => {
    const api = backend();
    const submitted = await api.submit(newJob(), audioFile());
    // As a process that was killed -9 mid-job leaves it: running, named after a pid that no longer exists.
    update(api, "UPDATE jobs SET status = 'running', started_at = ?, attempts = 1, worker_pid = ?, worker_token = 'gone', heartbeat_at = ? WHERE id = ?", Date.now(), 2 ** 22 + 1, Date.now(), submitted.id);
    expect(await api.get("key_a", submitted.id)).toMatchObject({ status: "running", attempts: 1 });
    const worker = peer(api);
    worker.startWorker(async (job) => ({ status: "succeeded", result: resultFor(job) }), { concurrency: 1 });
    const done = await waitFor("job succeeded", async () => {
      const job = await api.get("key_a", submitted.id);
      return job?.status === "succeeded" ? job : undefined;
    });
    expect(done.attempts).toBe(2);
  });

  it("a worker whose job was taken over (its heartbeat stale) stops it and can store nothing; the new worker's outcome stands", async () => {
    const api = backend();
    const first = peer(api);
    const firstSettled: JobRecord[] = [];
    first.onSettled((job) => firstSettled.push(job));
    const submitted = await api.submit(newJob(), audioFile());
    let reason: unknown;
    let finish: (() => void) | undefined;
    first.startWorker(
      (job) =>
        new Promise<JobOutcome>((resolve) => {
          // A late success: must not be stored.
          finish = () => resolve({ status: "succeeded", result: resultFor(job) });
          onAbort(job.signal, () => (reason = job.signal.reason));
        }),
      { concurrency: 1 },
    );
    await waitFor("job running", async () => finish !== undefined);
    // Another worker took the job over (as recovery does for a worker silent past its heartbeat) and finished it.
    update(api, "UPDATE jobs SET status = 'failed', completed_at = ?, error = ?, worker_token = 'other' WHERE id = ?", Date.now(), JSON.stringify({ message: "theirs", type: "server_error", param: null, code: "internal_error" }), submitted.id);
    await waitFor("the first worker stopped it at its tick", async () => reason !== undefined, 3_000);
    finish!();
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await api.get("key_a", submitted.id)).toMatchObject({ status: "failed", error: { message: "theirs" } });
    expect(await api.result("key_a", submitted.id)).toBeUndefined();
    expect(firstSettled).toEqual([]);
  });
});
