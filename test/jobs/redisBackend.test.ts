// The Redis backend against a real redis-server: the JobBackend contract (backendContract.ts, the same suite as the
// embedded backend's) with a processor that reads the job's audio and answers; each backend below has its own
// connections, as separate processes would. Then what only Redis has: its claim scripts' lock tokens, and Redis
// going away. The whole server with real transcriptions, several processes and kill -9 is
// test/jobs/redisProcesses.test.ts.
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";

import { ApiError } from "../../src/api/errors.js";
import { AUDIO_PART_BYTES } from "../../src/jobs/redis/audioTransfer.js";
import { RedisJobBackend, type RedisJobBackendOptions } from "../../src/jobs/redis/RedisJobBackend.js";
import { scripts } from "../../src/jobs/redis/scripts.js";
import { hashFromReply, recordFromHash } from "../../src/jobs/redis/records.js";
import type { JobOutcome } from "../../src/jobs/types.js";
import { startTestRedis, type TestRedis } from "../support/redis.js";
import { waitFor } from "../support/server.js";
import { describeJobBackendContract } from "./backendContract.js";
import { audioFile as audioFileIn, newJob, onAbort, resultFor } from "./backendFixtures.js";

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

const audioFile = (bytes?: number) => audioFileIn(dir, bytes);

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

describeJobBackendContract("Redis", {
  make: (bounds) => backend(bounds),
  // Each process checks the bounds it is configured with: the peer has the same.
  peer: (of) => peer(of, of.options),
  scratchDir: () => dir,
  storedAudio: async (api, id) => (await api.api.getBuffer(api.keys.audio(id))) ?? undefined,
  storedAudioBytes: async (api) => Number(await api.api.get(api.keys.audioBytes)),
  holdsRecord: async (api, id) => (await api.api.exists(api.keys.job(id))) === 1,
  // BullMQ's queue: a job it no longer has is "unknown".
  claimable: async (api, id) => (await api.queue.getJobState(id)) !== "unknown",
  jobAudioLimit: { setting: "EARSHOT_REDIS_MAX_JOB_AUDIO_MB" },
  // Several parts of the audio transfer (audioTransfer.ts).
  largeAudioBytes: 2 * AUDIO_PART_BYTES + 5000,
  claimedAudio: "copy",
  crossProcessCancelMs: 1_000,
  cancelsInProcessAtOnce: false,
});

describe("Redis claims", () => {
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
