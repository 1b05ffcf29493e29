import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { EngineOverloadedError, TranscriptionAbortedError, UnsupportedLanguageError } from "../../src/engine/errors.js";
import { loadAddon } from "../../src/engine/loadAddon.js";
import type { WhisperEngine } from "../../src/engine/WhisperEngine.js";
import type { Segment, TranscriptionResult } from "../../src/engine/types.js";
import { loadTestEngine, speechOfLength, speechPcm } from "../support/engineFixtures.js";

/** What must be identical between two runs of the same job. */
function fingerprint(result: TranscriptionResult) {
  return result.segments.map((s) => ({ start: s.start, end: s.end, text: s.text, tokens: s.tokens.map((t) => t.id) }));
}

function expectWellFormed(segments: Segment[], duration: number) {
  expect(segments.length).toBeGreaterThan(0);
  let previousEnd = 0;
  segments.forEach((segment, index) => {
    expect(segment.id).toBe(index);
    expect(segment.start).toBeGreaterThanOrEqual(previousEnd - 1e-6);
    expect(segment.end).toBeGreaterThan(segment.start);
    expect(segment.end).toBeLessThanOrEqual(duration + 1e-6);
    expect(segment.text.trim().length).toBeGreaterThan(0);
    expect(segment.tokens.length).toBeGreaterThan(0);
    expect(Number.isFinite(segment.avgLogprob)).toBe(true);
    expect(segment.noSpeechProb).toBeGreaterThanOrEqual(0);
    expect(segment.noSpeechProb).toBeLessThanOrEqual(1);
    for (const token of segment.tokens) {
      expect(token.probability).toBeGreaterThanOrEqual(0);
      expect(token.probability).toBeLessThanOrEqual(1);
      expect(token.logprob).toBeLessThanOrEqual(0);
    }
    previousEnd = segment.end;
  });
}

describe("native build", () => {
  it("reports whisper.cpp's version and the SIMD it was compiled with", () => {
    const build = loadAddon().buildInfo();
    expect(build.whisperVersion).toMatch(/^\d+\.\d+\.\d+/);
    expect(build.systemInfo).toContain("CPU :");
    // Built with GGML_NATIVE on an x86-64 machine: at least AVX2 must be on, or the build is slow.
    if (process.arch === "x64") expect(build.systemInfo).toMatch(/AVX2 = 1/);
    expect(build.devices.some((d) => d.type === "cpu")).toBe(true);
  });
});

describe("WhisperEngine on the generated tiny model", () => {
  let engine: WhisperEngine;

  beforeAll(async () => {
    engine = await loadTestEngine({ parallelJobs: 2, threadsPerJob: 1, maxQueuedJobs: 4 });
  });
  afterAll(async () => {
    await engine.close();
  });

  it("transcribes speech into timed segments with tokens and stats", async () => {
    const pcm = await speechPcm();
    const result = await engine.transcribe(pcm, { language: "en" });
    expect(result.task).toBe("transcribe");
    expect(result.language).toBe("en");
    expect(result.languageProbability).toBeNull();
    expect(result.duration).toBeCloseTo(pcm.length / 16_000, 5);
    expectWellFormed(result.segments, result.duration);
    expect(result.text).toBe(result.segments.map((s) => s.text).join("").trim());
    expect(result.timings.windows).toBeGreaterThanOrEqual(1);
    for (const segment of result.segments) {
      expect(segment.temperature).toBe(0);
      expect(segment.compressionRatio).toBeGreaterThan(0);
    }
  });

  it("detects the language with a probability when none is given", async () => {
    const result = await engine.transcribe(await speechPcm());
    expect(result.language).toMatch(/^[a-z]{2,3}$/);
    expect(result.languageProbability).toBeGreaterThan(0);
    expect(result.languageProbability).toBeLessThanOrEqual(1);
    expect(result.timings.detectMs).toBeGreaterThan(0);
  });

  it("gives word timestamps inside their segment when asked", async () => {
    const result = await engine.transcribe(await speechPcm(), { language: "en", wordTimestamps: true });
    for (const segment of result.segments) {
      expect(segment.words?.length).toBeGreaterThan(0);
      for (const word of segment.words ?? []) {
        expect(word.start).toBeGreaterThanOrEqual(segment.start - 0.01);
        expect(word.end).toBeLessThanOrEqual(segment.end + 0.01);
        expect(word.end).toBeGreaterThanOrEqual(word.start);
      }
    }
  });

  it("streams each segment as it is decoded, before the job ends", async () => {
    const pcm = await speechOfLength(95);
    const streamed: Array<{ segment: Segment; at: number }> = [];
    const progress: number[] = [];
    const started = Date.now();
    const result = await engine.transcribe(pcm, { language: "en" }, {
      onSegment: (segment) => streamed.push({ segment, at: Date.now() }),
      onProgress: (percent) => progress.push(percent),
    });
    const finished = Date.now();
    expect(result.timings.windows).toBeGreaterThanOrEqual(4);
    expect(streamed.map((s) => s.segment.text)).toEqual(result.segments.map((s) => s.text));
    expect(streamed.map((s) => s.segment.id)).toEqual(result.segments.map((s) => s.id));
    // The first segment arrives well before decoding ends on a multi-window input.
    expect(streamed[0]!.at - started).toBeLessThan((finished - started) * 0.6);
    expect(progress.length).toBeGreaterThan(1);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
  });

  it("gives concurrent jobs the same output as the same jobs run one by one", async () => {
    const inputs = [await speechPcm(), await speechOfLength(40), (await speechPcm()).subarray(16_000 * 3)];
    const sequential = [];
    for (const pcm of inputs) sequential.push(fingerprint(await engine.transcribe(pcm, { language: "en" })));
    const concurrent = await Promise.all(inputs.map((pcm) => engine.transcribe(pcm, { language: "en" })));
    expect(concurrent.map(fingerprint)).toEqual(sequential);
  });

  it("aborts a running job within about one decoding step", async () => {
    // whisper.cpp checks the abort flag between graph computations: before and after each
    // window's encoder pass and at every decoder step, so the worst case is one encoder pass.
    const reference = await engine.transcribe(await speechOfLength(60), { language: "en" });
    const perWindowMs = reference.timings.decodeMs / reference.timings.windows;
    const pcm = await speechOfLength(240);
    const controller = new AbortController();
    let abortedAt = 0;
    const job = engine.transcribe(pcm, { language: "en" }, {
      signal: controller.signal,
      onSegment: () => {
        if (abortedAt === 0) {
          abortedAt = Date.now();
          controller.abort();
        }
      },
    });
    await expect(job).rejects.toBeInstanceOf(TranscriptionAbortedError);
    expect(abortedAt).toBeGreaterThan(0);
    const latency = Date.now() - abortedAt;
    // A 240-s job takes 8 windows; an abort that waited for the end would take ~7 of them.
    expect(latency).toBeLessThan(perWindowMs * 1.5 + 100);
    // The state is free again and serves the next job.
    const after = await engine.transcribe(await speechPcm(), { language: "en" });
    expect(after.segments.length).toBeGreaterThan(0);
  });

  it("keeps the event loop responsive while transcribing", async () => {
    const pcm = await speechOfLength(60);
    // A 5-ms timer's lateness on every tick. Work done on the loop would stall it for a whole job (seconds); what is
    // allowed is the OS scheduler's: the engine's threads keep both cores busy, so the loop's thread sometimes waits
    // a time slice or two for a core.
    const lags: number[] = [];
    let last = performance.now();
    const timer = setInterval(() => {
      const now = performance.now();
      lags.push(now - last - 5);
      last = now;
    }, 5);
    await Promise.all([engine.transcribe(pcm, { language: "en" }), engine.transcribe(pcm, { language: "en" })]);
    clearInterval(timer);
    lags.sort((a, b) => a - b);
    expect(lags.length).toBeGreaterThan(100);
    expect(lags[Math.floor(lags.length * 0.95)]).toBeLessThan(15);
    expect(lags[lags.length - 1]).toBeLessThan(100);
  });

  it("rejects an unknown language before queueing", async () => {
    await expect(engine.transcribe(await speechPcm(), { language: "xx" })).rejects.toBeInstanceOf(UnsupportedLanguageError);
  });
});

describe("WhisperEngine queue", () => {
  it("refuses jobs beyond parallel + queued with a retry estimate, and aborts queued jobs", async () => {
    const engine = await loadTestEngine({ parallelJobs: 1, threadsPerJob: 2, maxQueuedJobs: 1 });
    try {
      const pcm = await speechPcm();
      const running = engine.transcribe(pcm, { language: "en" });
      const queuedController = new AbortController();
      const queued = engine.transcribe(pcm, { language: "en" }, { signal: queuedController.signal });
      await new Promise((resolve) => setImmediate(resolve));
      expect(engine.stats()).toMatchObject({ running: 1, queued: 1 });
      expect(engine.saturated).toBe(true);
      const refused = engine.transcribe(pcm, { language: "en" });
      await expect(refused).rejects.toBeInstanceOf(EngineOverloadedError);
      await refused.catch((error: EngineOverloadedError) => expect(error.retryAfterSeconds).toBeGreaterThanOrEqual(1));
      queuedController.abort();
      await expect(queued).rejects.toBeInstanceOf(TranscriptionAbortedError);
      expect((await running).segments.length).toBeGreaterThan(0);
      expect(engine.stats()).toMatchObject({ running: 0, queued: 0 });
    } finally {
      await engine.close();
    }
  });
});
