// The JobBackend contract (../../src/jobs/types.ts) as one suite, run on every backend: redisBackend.test.ts (a real
// redis-server) and sqliteBackend.test.ts (a data dir). A "peer" is a second backend on the same store, as another
// process would open it. Where a backend differs by design, the harness says how (see JobBackendHarness); what only
// one backend has (Redis going away, its Lua scripts; SQLite's heartbeats) stays in that backend's own file.
import fs from "node:fs";
import path from "node:path";

import { describe, expect, it } from "vitest";

import { ApiError } from "../../src/api/errors.js";
import { JobCancelledError, JobInterruptedError, UnknownCursorError, type JobBackend, type JobOutcome, type JobPlace, type JobRecord } from "../../src/jobs/types.js";
import { waitFor } from "../support/server.js";
import { audioFile as audioFileIn, newJob, onAbort, resultFor } from "./backendFixtures.js";

/** The bounds a test asks of a new store; the harness's defaults for the rest (generous: 1000 jobs, 10 MB). */
export interface ContractBounds {
  maxQueued?: number;
  maxQueuedPerOwner?: number;
  maxStoredAudioBytes?: number;
  /** Only where `jobAudioLimit` is set. */
  maxJobAudioBytes?: number;
}

export interface JobBackendHarness<B extends JobBackend> {
  /** A backend on a store of its own (the test file closes every backend it made after each test). */
  make(bounds?: ContractBounds): B;
  /** A second backend on the same store as `of`: another process. */
  peer(of: B): B;
  /** Where the tests write the audio files they submit (not a directory the backend sweeps). */
  scratchDir(): string;
  /** The audio the store holds for job `id`; undefined once it is gone. */
  storedAudio(backend: B, id: string): Promise<Buffer | undefined>;
  /** The audio of unfinished jobs counted against the stored-audio budget, bytes. */
  storedAudioBytes(backend: B): Promise<number>;
  /** Whether the store still holds job `id`'s record (whoever owns it). */
  holdsRecord(backend: B, id: string): Promise<boolean>;
  /** Whether job `id` is still where workers claim jobs from. */
  claimable(backend: B, id: string): Promise<boolean>;
  /** A limit on one job's audio (413 naming `setting`), where the backend has one (Redis: a string per job). */
  jobAudioLimit?: { setting: string } | undefined;
  /** Audio large enough to cross the backend's seams (Redis: several transfer parts), bytes. */
  largeAudioBytes: number;
  /**
   * What the processor's `audioPath` is: a copy in a directory of its own, removed once the processor settled
   * (Redis), or the stored file itself, removed with the job's audio when the job finishes (SQLite).
   */
  claimedAudio: "copy" | "stored";
  /** A cancel made in another process stops the processor within this long (Redis: pub/sub; SQLite: its 1 s tick). */
  crossProcessCancelMs: number;
  /** A cancel made in the worker's own process stops the processor before cancel() returns (SQLite). */
  cancelsInProcessAtOnce: boolean;
}

export function describeJobBackendContract<B extends JobBackend>(name: string, harness: JobBackendHarness<B>): void {
  const { make, peer } = harness;
  const audioFile = (bytes?: number) => audioFileIn(harness.scratchDir(), bytes);
  const succeeded = (backend: B, id: string) =>
    waitFor("job succeeded", async () => {
      const job = await backend.get("key_a", id);
      return job?.status === "succeeded" ? job : undefined;
    });

  describe(`the JobBackend contract: ${name}, API side`, () => {
    it("submit stores a queued job with its audio (the file taken over), owner-scoped get, list, result", async () => {
      const api = make();
      const audio = audioFile();
      const job = await api.submit(newJob(), audio);
      expect(job).toMatchObject({ status: "queued", owner: "key_a", attempts: 0, startedAt: null, completedAt: null, error: null, metadata: { batch: "7" } });
      expect(job.id).toMatch(/^job_[0-9a-f]{24}$/);
      expect(job.progress).toEqual({ audioSecondsDone: 0, audioSecondsTotal: 12.5 });
      expect(job.settings).toEqual(newJob().settings);
      expect(job.render.timestampGranularities).toEqual([]);
      expect(fs.existsSync(audio.path)).toBe(false);
      expect(Buffer.compare((await harness.storedAudio(api, job.id))!, audio.content)).toBe(0);
      expect(await api.get("key_a", job.id)).toEqual(job);
      expect(await api.get("key_b", job.id)).toBeUndefined();
      expect(await api.get("key_a", "job_000000000000000000000000")).toBeUndefined();
      expect(await api.result("key_a", job.id)).toBeUndefined();
      expect(await api.counts()).toEqual({ queued: 1, running: 0 });
      expect(await api.list("key_b", { limit: 20 })).toEqual({ jobs: [], hasMore: false });
      expect(await api.cancel("key_b", job.id)).toBeUndefined();
    });

    it("list: newest first, after, limit, status, hasMore; an after of another owner is an unknown cursor", async () => {
      const api = make();
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
      const api = make();
      const settled: JobRecord[] = [];
      api.onSettled((job) => settled.push(job));
      const keep = await api.submit(newJob(), audioFile(1000));
      const job = await api.submit(newJob(), audioFile(1000));
      expect(await harness.storedAudioBytes(api)).toBe(2000);
      const cancelled = await api.cancel("key_a", job.id);
      expect(cancelled).toMatchObject({ id: job.id, status: "cancelled", completedAt: expect.any(Number) });
      expect(await api.cancel("key_a", job.id)).toEqual(cancelled);
      expect(settled.map((j) => [j.id, j.status])).toEqual([[job.id, "cancelled"]]);
      expect(await harness.storedAudio(api, job.id)).toBeUndefined();
      expect(await harness.storedAudioBytes(api)).toBe(1000);
      expect(await harness.claimable(api, job.id)).toBe(false);
      expect(await api.counts()).toEqual({ queued: 1, running: 0 });

      expect(await api.sweepExpired(cancelled!.completedAt!)).toBe(0);
      expect(await api.sweepExpired(Date.now() + 1)).toBe(1);
      expect(await api.get("key_a", job.id)).toBeUndefined();
      expect(await harness.holdsRecord(api, job.id)).toBe(false);
      expect((await api.list("key_a", { limit: 20 })).jobs.map((j) => j.id)).toEqual([keep.id]);
      expect(await api.get("key_a", keep.id)).toMatchObject({ status: "queued" });
    });

    const limits = harness.jobAudioLimit
      ? "one job's audio beyond the limit is 413, all jobs' audio beyond the budget is 429; the file goes either way"
      : "all jobs' audio beyond the budget is 429; the file goes either way";
    it(`limits: ${limits}`, async () => {
      const api = make({ maxJobAudioBytes: 3000, maxStoredAudioBytes: 5000 });
      if (harness.jobAudioLimit) {
        const big = audioFile(3001);
        const tooLarge = (await api.submit(newJob(), big).catch((error: unknown) => error)) as ApiError;
        expect(tooLarge).toBeInstanceOf(ApiError);
        expect(tooLarge).toMatchObject({ status: 413, param: "file", code: "file_too_large", type: "invalid_request_error" });
        expect(tooLarge.message).toContain(harness.jobAudioLimit.setting);
        expect(fs.existsSync(big.path)).toBe(false);
      }
      await api.submit(newJob(), audioFile(3000));
      const second = audioFile(2001);
      const full = (await api.submit(newJob(), second).catch((error: unknown) => error)) as ApiError;
      expect(full).toMatchObject({ status: 429, code: "jobs_queue_full", type: "rate_limit_error", headers: { "Retry-After": "60" } });
      expect(fs.existsSync(second.path)).toBe(false);
      expect(await api.counts()).toEqual({ queued: 1, running: 0 });
      expect(await harness.storedAudioBytes(api)).toBe(3000);
      await api.submit(newJob(), audioFile(2000));
    });

    it("places: counted with the unfinished jobs of every process, the key's own bound first; released, or taken over by submit, once", async () => {
      const api = make({ maxQueued: 4, maxQueuedPerOwner: 3, maxStoredAudioBytes: 5000, maxJobAudioBytes: 10_000 });
      const other = peer(api);
      await api.submit(newJob("key_a"), audioFile(100));
      // Reserved at once in another process: the key has room for two more (one job of its three).
      const tries = await Promise.allSettled(Array.from({ length: 5 }, () => other.reserve("key_a")));
      const places = tries.flatMap((t) => (t.status === "fulfilled" ? [t.value] : []));
      const refusals = tries.flatMap((t) => (t.status === "rejected" ? [t.reason as ApiError] : []));
      expect(places).toHaveLength(2);
      expect(places.every((place) => place.owner === "key_a")).toBe(true);
      expect(refusals).toHaveLength(3);
      for (const refused of refusals) {
        expect(refused).toBeInstanceOf(ApiError);
        expect(refused).toMatchObject({ status: 429, code: "rate_limit_exceeded", type: "rate_limit_error", headers: { "Retry-After": "60" } });
      }
      // One job and two places of key_a: one place left for all keys together.
      const placeOfB = await api.reserve("key_b");
      expect(await api.reserve("key_b").catch((error: unknown) => error)).toMatchObject({ status: 429, code: "jobs_queue_full", headers: { "Retry-After": "60" } });
      await placeOfB.release();
      await placeOfB.release();
      const again = await api.reserve("key_b");

      // Submitted in its place: the place is the job now (still four), and cannot be used twice.
      const [first, second] = places as [JobPlace, JobPlace];
      expect(await other.submit(newJob("key_a"), audioFile(100), first)).toMatchObject({ status: "queued", owner: "key_a" });
      await first.release();
      expect(await api.counts()).toEqual({ queued: 2, running: 0 });
      expect(await api.reserve("key_c").catch((error: unknown) => error)).toMatchObject({ status: 429, code: "jobs_queue_full" });
      const reused = audioFile(100);
      await expect(other.submit(newJob("key_a"), reused, first)).rejects.toThrow(/place/);
      expect(fs.existsSync(reused.path)).toBe(false);
      expect(await api.counts()).toEqual({ queued: 2, running: 0 });

      // A submit refused (here: the budget) gives its place back.
      const huge = audioFile(5001);
      expect(await other.submit(newJob("key_a"), huge, second).catch((error: unknown) => error)).toMatchObject({ status: 429, code: "jobs_queue_full" });
      expect(fs.existsSync(huge.path)).toBe(false);
      await again.release();
      const room = await Promise.all([api.reserve("key_c"), api.reserve("key_c")]);
      expect(await api.reserve("key_c").catch((error: unknown) => error)).toMatchObject({ status: 429, code: "jobs_queue_full" });
      await Promise.all(room.map((place) => place.release()));
    });
  });

  describe(`the JobBackend contract: ${name}, worker side`, () => {
    it("a worker in another process claims, reports progress, stores the result once; the audio (large) arrives whole; its copy is removed", async () => {
      const size = harness.largeAudioBytes;
      const api = make({ maxJobAudioBytes: Math.ceil(size * 1.5), maxStoredAudioBytes: Math.ceil(size * 1.5) });
      const worker = peer(api);
      const apiSettled: JobRecord[] = [];
      const workerSettled: JobRecord[] = [];
      api.onSettled((job) => apiSettled.push(job));
      worker.onSettled((job) => workerSettled.push(job));
      const audio = audioFile(size);
      const submitted = await api.submit(newJob(), audio);
      expect((await harness.storedAudio(api, submitted.id))?.length).toBe(size);
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
      const done = await succeeded(api, submitted.id);
      expect(running).toMatchObject({ status: "running", attempts: 1, startedAt: expect.any(Number), progress: { audioSecondsDone: 6, audioSecondsTotal: 12.5 } });
      expect(done).toMatchObject({ status: "succeeded", attempts: 1, error: null, progress: { audioSecondsDone: 12.5, audioSecondsTotal: 12.5 } });
      expect(done.completedAt).toBeGreaterThanOrEqual(done.startedAt!);
      expect((await api.result("key_a", submitted.id))?.text).toBe(`heard ${size} bytes of ${submitted.id}`);
      expect(await api.result("key_b", submitted.id)).toBeUndefined();
      await waitFor("settled event", async () => workerSettled.length === 1);
      expect(workerSettled[0]).toEqual(done);
      expect(apiSettled).toEqual([]);
      expect(paths).toHaveLength(1);
      await waitFor("audio copy removed", async () => !fs.existsSync(paths[0]!) && !(harness.claimedAudio === "copy" && fs.existsSync(path.dirname(paths[0]!))));
      expect(await harness.storedAudio(api, submitted.id)).toBeUndefined();
      expect(await harness.storedAudioBytes(api)).toBe(0);
    });

    it("claims oldest first; a failed outcome is stored with its error, a processor that throws fails with a 500 internal_error", async () => {
      const api = make();
      const worker = peer(api);
      const workerSettled: JobRecord[] = [];
      worker.onSettled((job) => workerSettled.push(job));
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) ids.push((await api.submit(newJob(), audioFile(100))).id);
      const refusal = { message: "The audio is silent.", type: "invalid_request_error" as const, param: null, code: "no_speech" };
      const order: string[] = [];
      worker.startWorker(async (job) => {
        order.push(job.record.id);
        if (job.record.id === ids[1]) return { status: "failed", error: refusal };
        if (job.record.id === ids[2]) throw new Error("the processor broke");
        return { status: "succeeded", result: resultFor(job) };
      }, { concurrency: 1 });
      await waitFor("three jobs settled", async () => workerSettled.length === 3);
      expect(order).toEqual(ids);
      expect(workerSettled.map((job) => [job.id, job.status])).toEqual([
        [ids[0], "succeeded"],
        [ids[1], "failed"],
        [ids[2], "failed"],
      ]);
      expect(await api.get("key_a", ids[1]!)).toMatchObject({ status: "failed", error: refusal, completedAt: expect.any(Number) });
      expect(await api.get("key_a", ids[2]!)).toMatchObject({
        status: "failed",
        error: { message: "The server had an error while processing the job.", type: "server_error", param: null, code: "internal_error" },
      });
      expect(await api.result("key_a", ids[1]!)).toBeUndefined();
      expect(await api.counts()).toEqual({ queued: 0, running: 0 });
      expect(await harness.storedAudioBytes(api)).toBe(0);
    });

    it("runs at most `concurrency` jobs at once, and more than one when it may", async () => {
      const api = make();
      const worker = peer(api);
      const ids: string[] = [];
      for (let i = 0; i < 4; i++) ids.push((await api.submit(newJob(), audioFile(100))).id);
      let now = 0;
      let most = 0;
      worker.startWorker(async (job) => {
        most = Math.max(most, ++now);
        await new Promise((resolve) => setTimeout(resolve, 200));
        now--;
        return { status: "succeeded", result: resultFor(job) };
      }, { concurrency: 2 });
      for (const id of ids) await succeeded(api, id);
      expect(most).toBe(2);
    });

    it("cancel from the API process aborts the processor in the worker process within a second, and its outcome is discarded", async () => {
      const api = make();
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
      await waitFor("processor aborted", async () => aborted !== undefined, Math.max(3_000, harness.crossProcessCancelMs + 2_000));
      expect(started).toBeGreaterThan(0);
      expect(aborted!.reason).toBeInstanceOf(JobCancelledError);
      expect(aborted!.after - cancelledAt).toBeLessThan(harness.crossProcessCancelMs);
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(await api.get("key_a", submitted.id)).toMatchObject({ status: "cancelled" });
      expect(await api.result("key_a", submitted.id)).toBeUndefined();
      expect(workerSettled).toEqual([]);
      // Read by the processor until it settled (its late success did), then gone.
      expect(await harness.storedAudio(api, submitted.id)).toBeUndefined();
    });

    // Only where the backend promises it (the embedded one: the worker runs in this process).
    if (harness.cancelsInProcessAtOnce) {
      it("cancel in the worker's own process aborts the processor before it returns; one settled event", async () => {
        const backend = make();
        const settled: JobRecord[] = [];
        backend.onSettled((job) => settled.push(job));
        const submitted = await backend.submit(newJob(), audioFile());
        let reason: unknown;
        let started = false;
        backend.startWorker(
          (job) =>
            new Promise<JobOutcome>((resolve) => {
              started = true;
              onAbort(job.signal, () => {
                reason = job.signal.reason;
                resolve({ status: "cancelled" });
              });
            }),
          { concurrency: 1 },
        );
        await waitFor("job running", async () => started);
        expect(await backend.cancel("key_a", submitted.id)).toMatchObject({ status: "cancelled" });
        expect(reason).toBeInstanceOf(JobCancelledError);
        await new Promise((resolve) => setTimeout(resolve, 200));
        expect(settled.map((job) => [job.id, job.status])).toEqual([[submitted.id, "cancelled"]]);
        expect(await backend.get("key_a", submitted.id)).toMatchObject({ status: "cancelled" });
        expect(await harness.storedAudio(backend, submitted.id)).toBeUndefined();
      });
    }

    it("stop() interrupts a running job, which goes back to the queue and is run again by the next worker", async () => {
      const api = make();
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
      const done = await succeeded(api, submitted.id);
      expect(done.attempts).toBe(2);
    });
  });
}
