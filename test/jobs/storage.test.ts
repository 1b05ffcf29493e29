// Room for job audio at rest on one machine (embedded SQLite, through the real route): the stored-audio budget
// (EARSHOT_JOBS_MAX_STORED_AUDIO_MB) refuses an upload from the duration its container declares before its body has
// arrived, one that declares nothing as its FLAC grows past the room left, and uploads at once cannot overshoot it;
// a disk below EARSHOT_JOBS_MIN_FREE_DISK_MB takes nothing (507); a disk that fills up while the FLAC or the
// database is written is a 507 with Retry-After and nothing left behind (a real tmpfs filled to the last byte);
// an unusable data dir (under /proc, under a regular file) stops startup at once with an error naming the setting.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { ConfigError } from "../../src/config.js";
import { SqliteJobBackend } from "../../src/jobs/sqlite/SqliteJobBackend.js";
import { ApiError } from "../../src/api/errors.js";
import { speechOfLength } from "../support/engineFixtures.js";
import { encodeWav, encodeWithFfmpeg, writeWav } from "../support/speech.js";
import { startTestServer, waitFor, type TestServer } from "../support/server.js";
import { JobsClient, splitUpload, type ErrorBody } from "./jobsClient.js";

let scratch: string;
let clip: Buffer;
/** White noise (the densest FLAC), as FLAC (declares its duration) and as WAV (read from a pipe: declares none). */
let noiseFlac150: Buffer;
let noiseFlac90: Buffer;
let noiseFlac30: Buffer;
let noiseWav150: Buffer;
const cleanups: Array<() => Promise<void> | void> = [];

/** Uniform noise at half scale, the same every run. */
function noise(seconds: number): Float32Array {
  const samples = new Float32Array(Math.round(seconds * 16_000));
  let state = 12345;
  for (let i = 0; i < samples.length; i++) {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    samples[i] = (state / 2 ** 32 - 0.5) * 1.0;
  }
  return samples;
}

async function noiseFile(seconds: number, format: "flac" | "wav"): Promise<Buffer> {
  const wav = path.join(scratch, `noise-${seconds}.wav`);
  await writeWav(wav, noise(seconds), 16_000);
  return format === "wav" ? fs.readFileSync(wav) : encodeWithFfmpeg(wav, format);
}

beforeAll(async () => {
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), "earshot-storage-"));
  clip = encodeWav(await speechOfLength(3), 16_000);
  [noiseFlac150, noiseFlac90, noiseFlac30, noiseWav150] = await Promise.all([noiseFile(150, "flac"), noiseFile(90, "flac"), noiseFile(30, "flac"), noiseFile(150, "wav")]);
});

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  fs.rmSync(scratch, { recursive: true, force: true });
});

async function server(dataDir: string, flags: Record<string, string>): Promise<TestServer> {
  const started = await startTestServer({ dataDir, parallelJobs: "1", threadsPerJob: "1", jobsConcurrency: "1", jobsMaxUploads: "8", ...flags });
  cleanups.push(() => started.close());
  return started;
}

function newDataDir(): string {
  return fs.mkdtempSync(path.join(scratch, "data-"));
}

function parsed(body: string): ErrorBody["error"] {
  return (JSON.parse(body) as ErrorBody).error;
}

/** Places held by uploads in flight, and the room for audio they hold (bytes). */
function placesIn(dataDir: string, what: "COUNT(*)" | "COALESCE(SUM(audio_bytes), 0)" = "COUNT(*)"): number {
  const db = new Database(path.join(dataDir, "jobs.db"), { readonly: true, fileMustExist: true });
  try {
    return db.prepare(`SELECT ${what} FROM job_places`).pluck().get() as number;
  } finally {
    db.close();
  }
}

/** Waits until the upload in flight holds room for its audio (its header's duration was read). */
async function roomTaken(dataDir: string): Promise<void> {
  await waitFor("the upload's room for its audio", async () => placesIn(dataDir, "COALESCE(SUM(audio_bytes), 0)") > 0, 10_000, 10);
}

function expectNothingLeft(dataDir: string): void {
  expect(fs.readdirSync(path.join(dataDir, "jobs", "incoming"))).toEqual([]);
  expect(fs.readdirSync(path.join(dataDir, "jobs", "audio"))).toEqual([]);
}

/** Mounts a tmpfs of `mb` MB on `dir` (root, or password-less sudo): a disk that really fills up. */
function mountTmpfs(dir: string, mb: number): void {
  const root = process.getuid?.() === 0;
  const [command, ...args] = [...(root ? [] : ["sudo", "-n"]), "mount", "-t", "tmpfs", "-o", `size=${mb}m,mode=0700`, "tmpfs", dir];
  const result = spawnSync(command!, args, { encoding: "utf8" });
  if (result.status !== 0) {
    throw new Error(`this test mounts a small tmpfs to fill a disk for real; run it as root or with password-less sudo (${command} ${args.join(" ")}: ${result.stderr || result.error?.message})`);
  }
  cleanups.push(() => {
    spawnSync(root ? "umount" : "sudo", [...(root ? [] : ["-n", "umount"]), "-l", dir]);
  });
}

/** Fills the file system of `dir` to its last byte; returns the filler's path. */
function fillDisk(dir: string): string {
  const filler = path.join(dir, "filler");
  const fd = fs.openSync(filler, "w");
  const block = Buffer.alloc(64 * 1024, 1);
  try {
    for (let size = block.length; size >= 1; ) {
      try {
        fs.writeSync(fd, block, 0, size);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "ENOSPC") throw error;
        size = Math.floor(size / 2);
      }
    }
  } finally {
    fs.closeSync(fd);
  }
  return filler;
}

describe("job audio at rest, embedded", () => {
  it("the stored-audio budget: a declared duration refused before the body, an undeclared one as it grows, uploads at once without overshoot", async () => {
    const dataDir = newDataDir();
    // 4 MB: room for about 120 s of the densest audio.
    const s = await server(dataDir, { jobsMaxStoredAudioMb: "4", jobsMinFreeDiskMb: "0" });
    const jobs = new JobsClient(s.url);

    // 150 s of FLAC declares it needs up to 4.8 MB: refused from its header, the rest never sent.
    const declared = splitUpload(s.url, undefined, noiseFlac150, 32 * 1024, {}, "noise.flac");
    const refused = await declared.response;
    expect(refused.status).toBe(429);
    expect(Number(refused.headers["retry-after"])).toBeGreaterThan(0);
    expect(parsed(refused.body)).toMatchObject({ type: "rate_limit_error", code: "jobs_queue_full", param: null });
    expect(parsed(refused.body).message).toContain("EARSHOT_JOBS_MAX_STORED_AUDIO_MB");
    declared.abort();

    // A WAV from a pipe declares nothing: refused once its FLAC could pass the room left (about 2 minutes in).
    const grown = await jobs.submitRaw(noiseWav150, {}, "noise.wav");
    expect(grown.status).toBe(429);
    expect((await grown.json()) as ErrorBody).toMatchObject({ error: { code: "jobs_queue_full" } });

    // Two uploads at once of 90 s each (up to 2.9 MB each): the second finds the first's room taken.
    const first = splitUpload(s.url, undefined, noiseFlac90, 32 * 1024, {}, "first.flac");
    await waitFor("the first upload's room", async () => placesIn(dataDir) === 1, 10_000, 10);
    const second = splitUpload(s.url, undefined, noiseFlac90, 32 * 1024, {}, "second.flac");
    const secondAnswer = await second.response;
    expect(secondAnswer.status).toBe(429);
    second.abort();
    first.sendRest();
    expect((await first.response).status).toBe(202);

    // Nothing refused was kept, and nothing holds room for it.
    expect(fs.readdirSync(path.join(dataDir, "jobs", "incoming"))).toEqual([]);
    await waitFor("no place held", async () => placesIn(dataDir) === 0, 10_000, 10);
    expect((await jobs.submitRaw(clip)).status).toBe(202);
  }, 120_000);

  it("a disk below EARSHOT_JOBS_MIN_FREE_DISK_MB takes no upload: 507 at once, with Retry-After", async () => {
    const dataDir = newDataDir();
    const s = await server(dataDir, { jobsMinFreeDiskMb: "100000000" });
    const response = await new JobsClient(s.url).submitRaw(clip);
    expect(response.status).toBe(507);
    expect(Number(response.headers.get("retry-after"))).toBeGreaterThan(0);
    const error = ((await response.json()) as ErrorBody).error;
    expect(error).toMatchObject({ type: "server_error", code: "insufficient_storage", param: null });
    expect(error.message).toContain("EARSHOT_JOBS_MIN_FREE_DISK_MB");
    expectNothingLeft(dataDir);
  }, 60_000);

  it("a disk that fills up while the FLAC is written: 507 with Retry-After, no partial file; room again once there is space", async () => {
    const dataDir = newDataDir();
    mountTmpfs(dataDir, 16);
    const s = await server(dataDir, { jobsMinFreeDiskMb: "0" });
    const upload = splitUpload(s.url, undefined, noiseFlac90, 64 * 1024, {}, "noise.flac");
    await roomTaken(dataDir);
    const filler = fillDisk(dataDir);
    upload.sendRest();
    const answer = await upload.response;
    expect(answer.status, answer.body).toBe(507);
    expect(Number(answer.headers["retry-after"])).toBeGreaterThan(0);
    expect(parsed(answer.body)).toMatchObject({ type: "server_error", code: "insufficient_storage", param: null });
    expect(parsed(answer.body).message).toMatch(/ENOSPC/);
    expectNothingLeft(dataDir);
    fs.rmSync(filler);
    expect((await new JobsClient(s.url).submitRaw(clip)).status).toBe(202);
  }, 60_000);

  it("a disk that fills up under the jobs database: 507 with Retry-After, the job's FLAC removed", async () => {
    // The database on a disk of its own (2 MB), the audio on another with room.
    const dataDir = newDataDir();
    mountTmpfs(dataDir, 2);
    fs.mkdirSync(path.join(dataDir, "jobs"));
    mountTmpfs(path.join(dataDir, "jobs"), 16);
    const s = await server(dataDir, { jobsMinFreeDiskMb: "0" });
    const upload = splitUpload(s.url, undefined, noiseFlac30, 64 * 1024, {}, "noise.flac");
    await roomTaken(dataDir);
    const filler = fillDisk(dataDir);
    upload.sendRest();
    const answer = await upload.response;
    expect(answer.status, answer.body).toBe(507);
    expect(Number(answer.headers["retry-after"])).toBeGreaterThan(0);
    expect(parsed(answer.body)).toMatchObject({ code: "insufficient_storage" });
    expect(parsed(answer.body).message).toContain("SQLITE_FULL");
    expectNothingLeft(dataDir);
    fs.rmSync(filler);
    const job = await new JobsClient(s.url).submit(clip);
    expect(job.status).toBe("queued");
  }, 60_000);

  it("a database of an older Earshot (schema 1) is migrated: the audio of its unfinished jobs counts against the budget", async () => {
    const dataDir = newDataDir();
    const id = "job_0123456789abcdef01234567";
    fs.mkdirSync(path.join(dataDir, "jobs", "audio"), { recursive: true });
    fs.writeFileSync(path.join(dataDir, "jobs", "audio", `${id}.flac`), Buffer.alloc(3 * 1_048_576, 1));
    const old = new Database(path.join(dataDir, "jobs.db"));
    old.exec(`CREATE TABLE jobs (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, owner TEXT NOT NULL, status TEXT NOT NULL,
      spec TEXT NOT NULL, created_at INTEGER NOT NULL, started_at INTEGER, completed_at INTEGER, done_seconds REAL NOT NULL DEFAULT 0,
      error TEXT, attempts INTEGER NOT NULL DEFAULT 0, worker_pid INTEGER, worker_token TEXT, heartbeat_at INTEGER);
      CREATE TABLE job_results (job_id TEXT PRIMARY KEY REFERENCES jobs (id) ON DELETE CASCADE, result BLOB NOT NULL);`);
    const spec = { task: "transcribe", model: "whisper-1", filename: null, metadata: null, webhookUrl: null, settings: { model: "whisper-1" }, render: { responseFormat: "json", timestampGranularities: [], includeLogprobs: false, includeLanguages: false }, audioSeconds: 90 };
    old.prepare("INSERT INTO jobs (id, owner, status, spec, created_at) VALUES (?, 'open', 'queued', ?, ?)").run(id, JSON.stringify(spec), Date.now());
    old.pragma("user_version = 1");
    old.close();

    const backend = new SqliteJobBackend({ dataDir, maxQueued: 10, maxQueuedPerOwner: 10, maxStoredAudioBytes: 4 * 1_048_576, minFreeDiskBytes: 0 });
    try {
      expect((await backend.get("open", id))?.status).toBe("queued");
      const place = await backend.reserve("open");
      const refused = (() => {
        try {
          place.reserveAudio(2 * 1_048_576);
        } catch (error) {
          return error;
        }
      })() as ApiError;
      expect(refused).toBeInstanceOf(ApiError);
      expect(refused).toMatchObject({ status: 429, code: "jobs_queue_full" });
      place.reserveAudio(512 * 1024);
      await place.release();
    } finally {
      await backend.close();
    }
  });

  it("an unusable data dir stops startup at once with an error naming EARSHOT_DATA_DIR", async () => {
    const file = path.join(scratch, "a-regular-file");
    fs.writeFileSync(file, "not a directory");
    for (const dataDir of ["/proc/earshot-data", path.join(file, "data")]) {
      const started = Date.now();
      const error = (await startTestServer({ dataDir }).catch((e: unknown) => e)) as Error;
      expect(error).toBeInstanceOf(ConfigError);
      expect(error.message).toContain("EARSHOT_DATA_DIR");
      expect(error.message).toContain(dataDir);
      expect(Date.now() - started).toBeLessThan(10_000);
    }
  }, 60_000);
});
