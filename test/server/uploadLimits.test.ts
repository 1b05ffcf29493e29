// The upload limits under abuse, with real FFmpeg on loopback: uploads are admitted (or refused 429) before their
// body is read, decoded audio stays within the configured memory budget whatever the input declares, stalled and
// endless uploads get their 408 and leave nothing behind. How shutdown treats an upload in flight is in
// drain.test.ts; the decoder's own limits in ../audio/decodeLimits.test.ts.
import fs from "node:fs";

import { toFile } from "openai";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";

import { childProcesses, mp3Looking, rawUpload, rssBytes, sampleMax, silenceFile } from "../support/abuse.js";
import { expectNoTempFiles, longSpeechWav, readyStats, sleep, startTestServer, waitFor, WINDOW_TEXT, type TestServer } from "../support/server.js";

const THREE_HOURS = 3 * 3600;
const MB = 1_048_576;

/** An OpenAI-shaped error body. */
function errorOf(body: string): { message: string; type: string; param: string | null; code: string | null } {
  return (JSON.parse(body) as { error: { message: string; type: string; param: string | null; code: string | null } }).error;
}

async function expectNoFfmpeg(): Promise<void> {
  await waitFor("no FFmpeg child process", async () => childProcesses().length === 0, 5_000);
}

let declared3h: Buffer;
let undeclared3h: Buffer;

beforeAll(async () => {
  [declared3h, undeclared3h] = await Promise.all([silenceFile(THREE_HOURS, "flac"), silenceFile(THREE_HOURS, "flac-stream")]);
}, 60_000);

describe("memory bounded by configuration, not input", () => {
  let server: TestServer;
  const budgetMb = 256;

  // First in the file: the process has not yet held (and kept) memory for other tests' audio.
  beforeAll(async () => {
    server = await startTestServer({ maxDecodedSeconds: "1800", maxDecodedAudioMb: String(budgetMb), parallelJobs: "1", threadsPerJob: "2" });
  });
  afterAll(async () => {
    await server?.close();
  });

  it("a 3-h flac in 2 MB whose header says so is refused 413 in well under a second", async () => {
    const result = await rawUpload(`${server.url}/v1/audio/transcriptions`, { file: declared3h });
    expect(result.status).toBe(413);
    expect(errorOf(result.body)).toMatchObject({ type: "invalid_request_error", param: "file", code: "too_long" });
    expect(result.elapsedMs, `answered after ${result.elapsedMs.toFixed(0)} ms`).toBeLessThan(1_000);
    await expectNoFfmpeg();
  });

  it("16 concurrent 3-h uploads (8 declaring it, 8 not) are all refused, with the server's RSS within the bound", async () => {
    const baseline = rssBytes();
    const rss = sampleMax(() => rssBytes(), 10);
    const started = performance.now();
    const results = await Promise.all(
      Array.from({ length: 16 }, (_, i) => rawUpload(`${server.url}/v1/audio/transcriptions`, { file: i % 2 === 0 ? declared3h : undeclared3h, timeoutMs: 60_000 })),
    );
    const elapsed = performance.now() - started;
    const peak = rss.stop();

    const declaredStatuses = results.filter((_, i) => i % 2 === 0).map((r) => r.status);
    const undeclaredStatuses = results.filter((_, i) => i % 2 === 1).map((r) => r.status);
    expect(declaredStatuses).toEqual(Array(8).fill(413));
    // Not declared: stopped at the 1800-s cap (413), or when the budget had no room for more (503)
    for (const status of undeclaredStatuses) expect([413, 503]).toContain(status);
    for (const result of results.filter((r) => r.status === 503)) {
      expect(errorOf(result.body)).toMatchObject({ type: "server_error", code: "decoded_audio_budget_exhausted" });
      expect(result.headers["retry-after"]).toMatch(/^\d+$/);
    }

    // The bound of docs/performance.md (Worst-case memory): 2 x the budget (the decoded audio held, and that of
    // answered requests the garbage collector has not freed yet) + 1 MB of stream buffers per upload; no engine job
    // runs here.
    const bound = (budgetMb * 2 + 16) * MB;
    const grew = peak - baseline;
    console.log(
      `16 x 3-h uploads: ${elapsed.toFixed(0)} ms, statuses ${results.map((r) => r.status).join(",")}, ` +
        `RSS ${(baseline / MB).toFixed(0)} → ${(peak / MB).toFixed(0)} MB (+${(grew / MB).toFixed(1)} MB, bound +${(bound / MB).toFixed(0)} MB)`,
    );
    expect(grew, `RSS grew ${(grew / MB).toFixed(1)} MB`).toBeLessThan(bound);
    await expectNoFfmpeg();
    await expectNoTempFiles(server.tempDir);
    expect(await readyStats(server.url)).toMatchObject({ status: "ready", decoding: 0, uploads: 0, decodedAudioMb: 0 });
  });

  it("the budget still serves a legitimate upload afterwards", async () => {
    const result = await server.client().audio.transcriptions.create({ file: await toFile(await longSpeechWav(10), "ten.wav"), model: "whisper-1", language: "en" });
    expect(result.text).toBe(WINDOW_TEXT);
  });
});

describe("admission before the body is read", () => {
  let server: TestServer;
  let busy: Promise<unknown> | undefined;

  beforeAll(async () => {
    server = await startTestServer({ parallelJobs: "1", threadsPerJob: "2", maxQueuedJobs: "0", uploadIdleTimeoutSeconds: "2" });
  });
  afterEach(async () => {
    await busy;
    busy = undefined;
  });
  afterAll(async () => {
    await server?.close();
  });

  it("a busy engine answers 429 with Retry-After after a few KB of a 4 MB upload, starting no FFmpeg", async () => {
    busy = server.client().audio.transcriptions.create({ file: await toFile(await longSpeechWav(65), "long.wav"), model: "whisper-1", language: "en" });
    await waitFor("the long job to run", async () => (await readyStats(server.url)).running === 1);
    const ffmpegBefore = childProcesses().length;

    // 64 KiB every 20 ms: the whole 4 MB would take over a second to send
    const refused = await rawUpload(`${server.url}/v1/audio/transcriptions`, { file: mp3Looking(4 * MB), chunkBytes: 64 * 1024, pauseMs: 20 });
    expect(refused.status).toBe(429);
    expect(refused.headers["retry-after"]).toMatch(/^\d+$/);
    expect(refused.headers.connection).toBe("close");
    expect(errorOf(refused.body)).toMatchObject({ type: "rate_limit_error", code: "server_busy" });
    expect(refused.writtenAtResponse, `${refused.writtenAtResponse} bytes taken before the 429`).toBeLessThan(256 * 1024);
    expect(childProcesses().length).toBe(ffmpegBefore);
    await expectNoTempFiles(server.tempDir, 500);

    // The SDK too; and the job it could not join finishes
    const sdk = await server
      .client()
      .audio.transcriptions.create({ file: await toFile(await longSpeechWav(5), "five.wav"), model: "whisper-1" })
      .catch((e: { status?: number }) => e);
    expect((sdk as { status?: number }).status).toBe(429);
    expect(((await busy) as { text: string }).text.startsWith(WINDOW_TEXT)).toBe(true);
  });

  it("concurrent decodes are bounded and counted in /ready: a third stalled upload is refused before its body", async () => {
    const bounded = await startTestServer({ maxConcurrentDecodes: "2", uploadIdleTimeoutSeconds: "3" });
    try {
      expect(await readyStats(bounded.url)).toMatchObject({ status: "ready", decoding: 0, maxDecoding: 2, uploads: 0 });
      const stalled = [0, 1].map(() =>
        rawUpload(`${bounded.url}/v1/audio/transcriptions`, { file: undeclared3h, stallAfterBytes: 256 * 1024, timeoutMs: 20_000 }),
      );
      await waitFor("two decodes", async () => (await readyStats(bounded.url)).decoding === 2);
      const ready = await fetch(`${bounded.url}/ready`);
      expect(ready.status).toBe(503);
      expect(await ready.json()).toMatchObject({ status: "saturated", decoding: 2, maxDecoding: 2, uploads: 2, running: 0, queued: 0 });

      const third = await rawUpload(`${bounded.url}/api/transcribe`, { file: undeclared3h, chunkBytes: 64 * 1024, pauseMs: 20 });
      expect(third.status).toBe(429);
      expect(third.writtenAtResponse).toBeLessThan(256 * 1024);

      for (const result of await Promise.all(stalled)) expect(result.status).toBe(408);
      await waitFor("the decode slots back", async () => (await readyStats(bounded.url)).decoding === 0);
      expect(await readyStats(bounded.url)).toMatchObject({ status: "ready", uploads: 0, decodedAudioMb: 0 });
    } finally {
      await bounded.close();
    }
  });
});

describe("stalled uploads holding every place", () => {
  it("drops the one idle longest (408) to admit a new upload, which completes", async () => {
    const bounded = await startTestServer({ maxConcurrentDecodes: "2", uploadIdleTimeoutSeconds: "30" });
    try {
      // The one not dropped gives up on its own after 9 s (the client's timeout).
      const stalled = [0, 1].map(() =>
        rawUpload(`${bounded.url}/v1/audio/transcriptions`, { file: undeclared3h, stallAfterBytes: 256 * 1024, timeoutMs: 9_000 }),
      );
      await waitFor("two decodes", async () => (await readyStats(bounded.url)).decoding === 2);
      // Idle for well over EVICT_IDLE_MS (2 s: the stall begins once the first 256 KB are in, which can be a moment
      // after both decodes start), far less than the 30-s idle timeout.
      await sleep(3_500);
      const started = Date.now();
      const form = new FormData();
      form.append("model", "whisper-1");
      form.append("file", new Blob([await longSpeechWav(5)]), "speech.wav");
      const legit = await fetch(`${bounded.url}/v1/audio/transcriptions`, { method: "POST", body: form });
      expect(legit.status).toBe(200);
      expect(Date.now() - started).toBeLessThan(15_000);
      const outcomes = await Promise.all(stalled);
      const dropped = outcomes.filter((o) => o.status === 408);
      expect(dropped.length).toBeGreaterThanOrEqual(1);
      expect(dropped[0]!.body).toContain("upload_idle_timeout");
    } finally {
      await bounded.close();
    }
  });
});

describe("upload deadlines", () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer({ uploadIdleTimeoutSeconds: "1", uploadTimeoutSeconds: "3" });
  });
  afterAll(async () => {
    await server?.close();
  });

  it("an upload that stalls mid-body gets its 408 in OpenAI's shape; its FFmpeg is killed", async () => {
    const pending = rawUpload(`${server.url}/v1/audio/transcriptions`, { file: undeclared3h, stallAfterBytes: 128 * 1024, timeoutMs: 10_000 });
    await waitFor("FFmpeg to start on the stalled upload", async () => childProcesses().length > 0);
    const result = await pending;
    expect(result.status).toBe(408);
    expect(result.headers.connection).toBe("close");
    expect(errorOf(result.body)).toEqual({
      message: expect.stringMatching(/no data for 1 s/),
      type: "invalid_request_error",
      param: null,
      code: "upload_idle_timeout",
    });
    expect(result.elapsedMs).toBeGreaterThan(900);
    expect(result.elapsedMs).toBeLessThan(4_000);
    await expectNoFfmpeg();
    await expectNoTempFiles(server.tempDir);
    expect(await readyStats(server.url)).toMatchObject({ decoding: 0, uploads: 0 });
  });

  it("a stalled upload being written to a temp file (mp3) gets its 408 and the temp dir is removed", async () => {
    const pending = rawUpload(`${server.url}/api/transcribe`, { file: mp3Looking(4 * MB), stallAfterBytes: 256 * 1024, timeoutMs: 10_000 });
    await waitFor("the temp dir of the stalled upload", async () => fs.readdirSync(server.tempDir).length > 0);
    const result = await pending;
    expect(result.status).toBe(408);
    expect(errorOf(result.body).code).toBe("upload_idle_timeout");
    await expectNoTempFiles(server.tempDir);
    await expectNoFfmpeg();
  });

  it("an upload that trickles in forever gets a 408 at the total upload time limit", async () => {
    // 8 KiB every 100 ms never idles for 1 s, but 2 MB would take 25 s
    const result = await rawUpload(`${server.url}/v1/audio/translations`, { file: undeclared3h.subarray(0, 2 * MB), chunkBytes: 8 * 1024, pauseMs: 100, timeoutMs: 15_000 });
    expect(result.status).toBe(408);
    expect(errorOf(result.body)).toMatchObject({ code: "upload_timeout", type: "invalid_request_error" });
    expect(result.elapsedMs).toBeGreaterThan(2_900);
    expect(result.elapsedMs).toBeLessThan(6_000);
    await expectNoFfmpeg();
    await expectNoTempFiles(server.tempDir);
  });

  it("a legitimate upload is unaffected by the deadlines, and gives back its slot and memory once answered", async () => {
    const result = await server.client().audio.transcriptions.create({ file: await toFile(await longSpeechWav(10), "ten.wav"), model: "whisper-1", language: "en" });
    expect(result.text).toBe(WINDOW_TEXT);
    expect(await readyStats(server.url)).toMatchObject({ status: "ready", decoding: 0, uploads: 0, decodedAudioMb: 0 });
  });
});
