// The Redis backend against a real redis-server: its contract (../../src/jobs/types.ts) with a processor that
// reads the job's audio and answers; each backend below has its own connections, as separate processes would.
// The whole server with real transcriptions, several processes and kill -9 is test/jobs/redisProcesses.test.ts.
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";

import type { TranscriptionResult } from "../../src/engine/types.js";
import { AUDIO_PART_BYTES } from "../../src/jobs/redis/audioTransfer.js";
import { RedisJobBackend, type RedisJobBackendOptions } from "../../src/jobs/redis/RedisJobBackend.js";
import { scripts } from "../../src/jobs/redis/scripts.js";
import { hashFromReply, recordFromHash } from "../../src/jobs/redis/records.js";
import { JobCancelledError, JobInterruptedError, UnknownCursorError, type ClaimedJob, type JobOutcome, type JobRecord, type NewJob } from "../../src/jobs/types.js";
import { ApiError } from "../../src/api/errors.js";
import { startTestRedis, type TestRedis } from "../support/redis.js";
import { waitFor } from "../support/server.js";

let redis: TestRedis;
let dir: string;
const backends: RedisJobBackend[] = [];

function backend(options: Partial<RedisJobBackendOptions> = {}): RedisJobBackend {
  const made = new RedisJobBackend({
    url: redis.url,
    prefix: `t${randomBytes(3).toString("hex")}`,
    commandTimeoutMs: 2_000,
    maxJobAudioBytes: 1_000_000,
    maxStoredAudioBytes: 10_000_000,
    lockMs: 1_000,
    stalledCheckMs: 500,
    maxRecoveries: 2,
    maxQueued: 1000,
    maxQueuedPerOwner: 1000,
    tempDir: dir,
    ...options,
  });
  backends.push(made);
  return made;
}

/** A second backend on the same Redis and prefix: another process. */
const peer = (of: RedisJobBackend, options: Partial<RedisJobBackendOptions> = {}) => backend({ url: of.options.url, prefix: of.keys.prefix, ...options });

function newJob(owner = "key_a", overrides: Partial<NewJob> = {}): NewJob {
  return {
    owner,
    task: "transcribe",
    model: "whisper-1",
    filename: "clip.wav",
    metadata: { batch: "7" },
    webhookUrl: null,
    settings: { model: "whisper-1", task: "transcribe", chunking: { type: "server_vad", silenceDurationMs: 500 } },
    render: { responseFormat: "json", timestampGranularities: [], includeLogprobs: false, includeLanguages: false },
    audioSeconds: 12.5,
    ...overrides,
  };
}

/** A FLAC-named file of `bytes` random bytes (the backend stores the bytes as they are). */
function audioFile(bytes = 4096): { path: string; bytes: number; content: Buffer } {
  const content = randomBytes(bytes);
  const file = path.join(dir, `incoming-${randomBytes(4).toString("hex")}.flac`);
  fs.writeFileSync(file, content);
  return { path: file, bytes, content };
}

/** Calls `listener` once `signal` aborts (at once when it already has: a job can be stopped before it starts). */
function onAbort(signal: AbortSignal, listener: () => void): void {
  if (signal.aborted) listener();
  else signal.addEventListener("abort", listener, { once: true });
}

function resultFor(job: ClaimedJob): TranscriptionResult {
  const audio = fs.readFileSync(job.audioPath);
  return {
    task: "transcribe",
    language: "en",
    languageProbability: null,
    duration: job.record.audioSeconds,
    text: `heard ${audio.length} bytes of ${job.record.id}`,
    segments: [],
    timings: {} as TranscriptionResult["timings"],
  };
}

beforeAll(async () => {
  redis = await startTestRedis();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "earshot-redis-backend-"));
});
afterEach(async () => {
  await Promise.all(backends.splice(0).map((made) => made.close()));
  if (!redis.running) await redis.restart();
});
afterAll(async () => {
  await redis?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe("API side", () => {
  it("submit stores a queued job with its audio (the file taken over), owner-scoped get, list, result", async () => {
    const api = backend();
    const audio = audioFile();
    const job = await api.submit(newJob(), audio);
    expect(job).toMatchObject({ status: "queued", owner: "key_a", attempts: 0, startedAt: null, completedAt: null, error: null, metadata: { batch: "7" } });
    expect(job.id).toMatch(/^job_[0-9a-f]{24}$/);
    expect(job.progress).toEqual({ audioSecondsDone: 0, audioSecondsTotal: 12.5 });
    expect(job.settings).toEqual(newJob().settings);
    expect(job.render.timestampGranularities).toEqual([]);
    expect(fs.existsSync(audio.path)).toBe(false);
    expect(Buffer.compare((await api.api.getBuffer(api.keys.audio(job.id)))!, audio.content)).toBe(0);
    expect(await api.get("key_a", job.id)).toEqual(job);
    expect(await api.get("key_b", job.id)).toBeUndefined();
    expect(await api.get("key_a", "job_000000000000000000000000")).toBeUndefined();
    expect(await api.result("key_a", job.id)).toBeUndefined();
    expect(await api.counts()).toEqual({ queued: 1, running: 0 });
    expect(await api.list("key_b", { limit: 20 })).toEqual({ jobs: [], hasMore: false });
    expect(await api.cancel("key_b", job.id)).toBeUndefined();
  });

  it("list: newest first, after, limit, status, hasMore; an after of another owner is an unknown cursor", async () => {
    const api = backend();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await api.submit(newJob(), audioFile(100))).id);
    const other = await api.submit(newJob("key_b"), audioFile(100));
    await api.cancel("key_a", ids[1]!);
    await api.cancel("key_a", ids[3]!);
    const newestFirst = [...ids].reverse();
    expect((await api.list("key_a", { limit: 20 })).jobs.map((j) => j.id)).toEqual(newestFirst);
    const first = await api.list("key_a", { limit: 2 });
    expect(first.jobs.map((j) => j.id)).toEqual(newestFirst.slice(0, 2));
    expect(first.hasMore).toBe(true);
    const second = await api.list("key_a", { limit: 2, after: first.jobs[1]!.id });
    expect(second.jobs.map((j) => j.id)).toEqual(newestFirst.slice(2, 4));
    const last = await api.list("key_a", { limit: 2, after: second.jobs[1]!.id });
    expect(last).toMatchObject({ jobs: [{ id: ids[0] }], hasMore: false });
    expect((await api.list("key_a", { limit: 20, status: "cancelled" })).jobs.map((j) => j.id)).toEqual([ids[3], ids[1]]);
    expect((await api.list("key_a", { limit: 1, status: "queued", after: ids[3] })).jobs.map((j) => j.id)).toEqual([ids[2]]);
    await expect(api.list("key_a", { limit: 5, after: other.id })).rejects.toThrow(UnknownCursorError);
    await expect(api.list("key_a", { limit: 5, after: "job_000000000000000000000000" })).rejects.toThrow(UnknownCursorError);
  });

  it("cancel: a queued job at once, idempotent, one settled event, audio freed; sweepExpired deletes finished jobs only", async () => {
    const api = backend();
    const settled: JobRecord[] = [];
    api.onSettled((job) => settled.push(job));
    const keep = await api.submit(newJob(), audioFile(1000));
    const job = await api.submit(newJob(), audioFile(1000));
    expect(Number(await api.api.get(api.keys.audioBytes))).toBe(2000);
    const cancelled = await api.cancel("key_a", job.id);
    expect(cancelled).toMatchObject({ id: job.id, status: "cancelled", completedAt: expect.any(Number) });
    expect(await api.cancel("key_a", job.id)).toEqual(cancelled);
    expect(settled.map((j) => [j.id, j.status])).toEqual([[job.id, "cancelled"]]);
    expect(await api.api.exists(api.keys.audio(job.id))).toBe(0);
    expect(Number(await api.api.get(api.keys.audioBytes))).toBe(1000);
    expect(await api.queue.getJobState(job.id)).toBe("unknown");
    expect(await api.counts()).toEqual({ queued: 1, running: 0 });

    expect(await api.sweepExpired(cancelled!.completedAt!)).toBe(0);
    expect(await api.sweepExpired(Date.now() + 1)).toBe(1);
    expect(await api.get("key_a", job.id)).toBeUndefined();
    expect(await api.api.exists(api.keys.job(job.id))).toBe(0);
    expect((await api.list("key_a", { limit: 20 })).jobs.map((j) => j.id)).toEqual([keep.id]);
    expect(await api.get("key_a", keep.id)).toMatchObject({ status: "queued" });
  });

  it("limits: one job's audio beyond the limit is 413, all jobs' audio beyond the budget is 429; the file goes either way", async () => {
    const api = backend({ maxJobAudioBytes: 3000, maxStoredAudioBytes: 5000 });
    const big = audioFile(3001);
    const tooLarge = (await api.submit(newJob(), big).catch((error: unknown) => error)) as ApiError;
    expect(tooLarge).toBeInstanceOf(ApiError);
    expect(tooLarge).toMatchObject({ status: 413, param: "file", code: "file_too_large", type: "invalid_request_error" });
    expect(tooLarge.message).toMatch(/EARSHOT_REDIS_MAX_JOB_AUDIO_MB/);
    expect(fs.existsSync(big.path)).toBe(false);
    await api.submit(newJob(), audioFile(3000));
    const second = audioFile(2001);
    const full = (await api.submit(newJob(), second).catch((error: unknown) => error)) as ApiError;
    expect(full).toMatchObject({ status: 429, code: "jobs_queue_full", type: "rate_limit_error", headers: { "Retry-After": "60" } });
    expect(fs.existsSync(second.path)).toBe(false);
    expect(await api.counts()).toEqual({ queued: 1, running: 0 });
    expect(Number(await api.api.get(api.keys.audioBytes))).toBe(3000);
    await api.submit(newJob(), audioFile(2000));
  });
});

describe("worker side", () => {
  it("a worker in another process claims, reports progress, stores the result once; the audio (in several parts) arrives whole; its copy is removed", async () => {
    const api = backend({ maxJobAudioBytes: 3 * AUDIO_PART_BYTES, maxStoredAudioBytes: 3 * AUDIO_PART_BYTES });
    const worker = peer(api);
    const apiSettled: JobRecord[] = [];
    const workerSettled: JobRecord[] = [];
    api.onSettled((job) => apiSettled.push(job));
    worker.onSettled((job) => workerSettled.push(job));
    const size = 2 * AUDIO_PART_BYTES + 5000;
    const audio = audioFile(size);
    const submitted = await api.submit(newJob(), audio);
    expect(await api.api.strlen(api.keys.audio(submitted.id))).toBe(size);
    const paths: string[] = [];
    let running: JobRecord | undefined;
    worker.startWorker(async (job) => {
      paths.push(job.audioPath);
      expect(Buffer.compare(fs.readFileSync(job.audioPath), audio.content)).toBe(0);
      job.progress(6, 12.5);
      await waitFor("progress stored", async () => (await api.get("key_a", job.record.id))?.progress.audioSecondsDone === 6);
      running = await api.get("key_a", job.record.id);
      return { status: "succeeded", result: resultFor(job) };
    }, { concurrency: 1 });
    const done = await waitFor("job succeeded", async () => {
      const job = await api.get("key_a", submitted.id);
      return job?.status === "succeeded" ? job : undefined;
    });
    expect(running).toMatchObject({ status: "running", attempts: 1, startedAt: expect.any(Number), progress: { audioSecondsDone: 6, audioSecondsTotal: 12.5 } });
    expect(done).toMatchObject({ status: "succeeded", attempts: 1, error: null, progress: { audioSecondsDone: 12.5, audioSecondsTotal: 12.5 } });
    expect(done.completedAt).toBeGreaterThanOrEqual(done.startedAt!);
    expect((await api.result("key_a", submitted.id))?.text).toBe(`heard ${size} bytes of ${submitted.id}`);
    expect(await api.result("key_b", submitted.id)).toBeUndefined();
    await waitFor("settled event", async () => workerSettled.length === 1);
    expect(workerSettled[0]).toEqual(done);
    expect(apiSettled).toEqual([]);
    expect(paths).toHaveLength(1);
    await waitFor("audio copy removed", async () => !fs.existsSync(path.dirname(paths[0]!)));
    expect(await api.api.exists(api.keys.audio(submitted.id))).toBe(0);
    expect(Number(await api.api.get(api.keys.audioBytes))).toBe(0);
  });

  it("cancel from the API process aborts the processor in the worker process within a second, and its outcome is discarded", async () => {
    const api = backend();
    const worker = peer(api);
    const workerSettled: JobRecord[] = [];
    worker.onSettled((job) => workerSettled.push(job));
    const submitted = await api.submit(newJob(), audioFile());
    let aborted: { reason: unknown; after: number } | undefined;
    let started = 0;
    worker.startWorker(
      (job) =>
        new Promise<JobOutcome>((resolve) => {
          started = Date.now();
          onAbort(job.signal, () => {
            aborted = { reason: job.signal.reason, after: Date.now() };
            // A late success: must not be stored.
            resolve({ status: "succeeded", result: resultFor(job) });
          });
        }),
      { concurrency: 1 },
    );
    await waitFor("job running", async () => started > 0);
    expect(await api.get("key_a", submitted.id)).toMatchObject({ status: "running" });
    const cancelledAt = Date.now();
    expect(await api.cancel("key_a", submitted.id)).toMatchObject({ status: "cancelled" });
    await waitFor("processor aborted", async () => aborted !== undefined, 3_000);
    expect(started).toBeGreaterThan(0);
    expect(aborted!.reason).toBeInstanceOf(JobCancelledError);
    expect(aborted!.after - cancelledAt).toBeLessThan(1_000);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await api.get("key_a", submitted.id)).toMatchObject({ status: "cancelled" });
    expect(await api.result("key_a", submitted.id)).toBeUndefined();
    expect(workerSettled).toEqual([]);
  });

  it("stop() interrupts a running job, which goes back to the queue and is run again by the next worker", async () => {
    const api = backend();
    const first = peer(api);
    const submitted = await api.submit(newJob(), audioFile());
    let reason: unknown;
    let started = false;
    first.startWorker(
      (job) =>
        new Promise<JobOutcome>((resolve) => {
          started = true;
          onAbort(job.signal, () => {
            reason = job.signal.reason;
            resolve({ status: "interrupted" });
          });
        }),
      { concurrency: 1 },
    );
    await waitFor("job running", async () => started);
    await first.close();
    expect(reason).toBeInstanceOf(JobInterruptedError);
    expect(await api.get("key_a", submitted.id)).toMatchObject({ status: "queued", startedAt: null, attempts: 1, progress: { audioSecondsDone: 0 } });
    const second = peer(api);
    second.startWorker(async (job) => ({ status: "succeeded", result: resultFor(job) }), { concurrency: 1 });
    const done = await waitFor("job succeeded", async () => {
      const job = await api.get("key_a", submitted.id);
      return job?.status === "succeeded" ? job : undefined;
    });
    expect(done.attempts).toBe(2);
  });

  it("a claim whose lock was taken over cannot store anything; recovered too often, the job fails", async () => {
    const api = backend({ maxRecoveries: 1 });
    const submitted = await api.submit(newJob(), audioFile());
    const p = api.keys.prefix;
    const claim = async (token: string) => (await scripts.claim.run(api.api, [p, submitted.id, token, Date.now(), 1, JSON.stringify({ message: "too many", type: "server_error", param: null, code: "internal_error" })])) as [string, unknown?];
    expect((await claim("tokenA"))[0]).toBe("claimed");
    // Worker A's lock expired; BullMQ hands the job to worker B.
    expect((await claim("tokenB"))[0]).toBe("recovered");
    expect(await scripts.progress.run(api.api, [p, submitted.id, "tokenA", 3, 12.5])).toBe("running");
    expect(await scripts.settle.run(api.api, [p, submitted.id, "tokenA", "succeeded", Date.now(), "", "x"])).toEqual(["stale"]);
    expect(await scripts.requeue.run(api.api, [p, submitted.id, "tokenA"])).toBe("stale");
    expect(await api.get("key_a", submitted.id)).toMatchObject({ status: "running", attempts: 2 });
    // B dies too: the second recovery is beyond maxRecoveries (1).
    const exhausted = await claim("tokenC");
    expect(exhausted[0]).toBe("exhausted");
    expect(recordFromHash(hashFromReply(exhausted[1]))).toMatchObject({ status: "failed", error: { message: "too many", code: "internal_error" } });
    expect(await scripts.settle.run(api.api, [p, submitted.id, "tokenB", "succeeded", Date.now(), "", "x"])).toEqual(["stale"]);
    expect((await claim("tokenD"))[0]).toBe("finished");
    expect(await api.counts()).toEqual({ queued: 0, running: 0 });
    expect(Number(await api.api.get(api.keys.audioBytes))).toBe(0);
  });
});

describe("Redis going away", () => {
  it("the API answers 503 in OpenAI's shape at once, and works again when Redis is back", async () => {
    const api = backend();
    await api.submit(newJob(), audioFile());
    await redis.stop();
    await waitFor("connection lost", async () => !api.available);
    const audio = audioFile();
    const started = Date.now();
    const refused = (await api.submit(newJob(), audio).catch((error: unknown) => error)) as ApiError;
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(refused).toBeInstanceOf(ApiError);
    expect(refused.status).toBe(503);
    expect(refused.body()).toEqual({
      error: { message: expect.stringMatching(/^Batch jobs are unavailable: the job queue \(Redis\) cannot be reached .*Retry later\.$/), type: "server_error", param: null, code: "jobs_unavailable" },
    });
    expect(fs.existsSync(audio.path)).toBe(false);
    await expect(api.get("key_a", "job_000000000000000000000000")).rejects.toMatchObject({ status: 503 });
    await expect(api.list("key_a", { limit: 5 })).rejects.toMatchObject({ status: 503 });
    await redis.restart();
    await waitFor("connection back", async () => api.available, 10_000);
    const job = await api.submit(newJob(), audioFile());
    expect(await api.get("key_a", job.id)).toMatchObject({ status: "queued" });
  });

  it("a worker stopping while Redis is away stops in bounded time; its job is taken up once Redis is back with its data", async () => {
    const persistent = await startTestRedis({ persist: true });
    try {
      const api = backend({ url: persistent.url });
      const first = peer(api);
      const submitted = await api.submit(newJob(), audioFile());
      first.startWorker(
        (job) => new Promise<JobOutcome>((resolve) => onAbort(job.signal, () => resolve({ status: "interrupted" }))),
        { concurrency: 1 },
      );
      await waitFor("job running", async () => (await api.get("key_a", submitted.id))?.status === "running");
      await persistent.stop();
      const stopping = Date.now();
      await first.close();
      expect(Date.now() - stopping).toBeLessThan(10_000);
      await persistent.restart();
      const second = peer(api);
      second.startWorker(async (job) => ({ status: "succeeded", result: resultFor(job) }), { concurrency: 1 });
      const done = await waitFor(
        "job taken up again and succeeded",
        async () => {
          const job = await api.get("key_a", submitted.id).catch(() => undefined);
          return job?.status === "succeeded" ? job : undefined;
        },
        20_000,
        50,
      );
      expect(done.attempts).toBe(2);
      expect((await api.result("key_a", submitted.id))?.text).toBe(`heard 4096 bytes of ${submitted.id}`);
      await Promise.all(backends.splice(0).map((made) => made.close()));
    } finally {
      await persistent.close();
    }
  });
});
