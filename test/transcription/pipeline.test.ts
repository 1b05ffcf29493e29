// The transcription pipeline end to end on the real engine, the real VAD and real FFmpeg: one encoder pass for
// the language, chunk times mapped back onto a known silence layout, parallel chunks (on slots of their own or
// two on one slot) equal sequential ones, and audio with no speech gives no text.
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import type { TranscriptionResult } from "../../src/engine/types.js";
import type { WhisperEngine } from "../../src/engine/WhisperEngine.js";
import { getTestModelPath } from "../../src/models/testModel/index.js";
import { ModelRegistry } from "../../src/transcription/ModelRegistry.js";
import { TranscriptionService } from "../../src/transcription/TranscriptionService.js";
import type { TranscriptionSettings } from "../../src/transcription/settings.js";
import { loadTestEngine, speechOfLength } from "../support/engineFixtures.js";
import { insideSpeech, speechLayout, STANDARD_LAYOUT, type SpeechLayout } from "../support/speechLayout.js";

let layout: SpeechLayout;
let registries: ModelRegistry[] = [];

async function service(engine: { parallelJobs: number; threadsPerJob: number }): Promise<TranscriptionService> {
  const models = new ModelRegistry({ model: await getTestModelPath("tiny"), extraModels: [], aliases: [] }, engine);
  registries.push(models);
  return new TranscriptionService({ models });
}

/** Settings for the test model (the name the registries serve it under). */
const settings = (extra: Partial<TranscriptionSettings> = {}): TranscriptionSettings => ({ model: registries[0]!.defaultModel.name, task: "transcribe", ...extra });

beforeAll(async () => {
  layout = await speechLayout(STANDARD_LAYOUT);
});
afterAll(async () => {
  for (const models of registries) await models.close();
  registries = [];
});

describe("one encoder pass for the language", () => {
  let engine: WhisperEngine;
  beforeAll(async () => {
    engine = await loadTestEngine({ parallelJobs: 1 });
  });
  afterAll(async () => {
    await engine?.close();
  });

  it("detects the language with the encoder pass that also decodes the first window: same language and text as two passes", async () => {
    const pcm = await speechOfLength(8);
    const onePass = await engine.transcribe(pcm, {});
    const twoPass = await engine.transcribe(pcm, { reuseEncoder: false });
    expect(onePass.language).toBe("en");
    expect(onePass.language).toBe(twoPass.language);
    expect(onePass.languageProbability).toBeCloseTo(twoPass.languageProbability!, 5);
    expect(onePass.text).toBe(twoPass.text);
    expect(onePass.segments.map((s) => [s.start, s.end])).toEqual(twoPass.segments.map((s) => [s.start, s.end]));
    expect(twoPass.timings.encoderPasses).toBe(2);
    expect(onePass.timings.encoderPasses).toBe(1);
    // Given the language there is nothing to detect: one pass as well.
    expect((await engine.transcribe(pcm, { language: "en" })).timings.encoderPasses).toBe(1);
  });

  it("reuses the encoding within a job only: the next job on the same state encodes its own audio", async () => {
    const pcm = await speechOfLength(8);
    await engine.transcribe(pcm, { language: "en" });
    expect((await engine.transcribe(pcm, { language: "en" })).timings.encoderPasses).toBe(1);
  });

  it("past the first window, each window is encoded once", async () => {
    const result = await engine.transcribe(await speechOfLength(65), {});
    expect(result.timings.windows).toBe(3);
    expect(result.timings.encoderPasses).toBe(3);
  });

  it("tells the language as soon as it is detected, before the first segment", async () => {
    const events: string[] = [];
    await engine.transcribe(await speechOfLength(8), {}, { onLanguage: (language) => events.push(`language ${language}`), onSegment: () => events.push("segment") });
    expect(events[0]).toBe("language en");
    expect(events).toContain("segment");
  });
});

describe("chunked transcription", () => {
  let sequential: TranscriptionResult;

  it("skips the silences, detects the language from the first speech, and maps every time back onto the recording", async () => {
    const transcription = await service({ parallelJobs: 1, threadsPerJob: 2 });
    const streamed: number[] = [];
    const { run } = await transcription.open(settings({ chunking: { type: "auto" }, wordTimestamps: true }), { onSegment: (s) => streamed.push(s.id) });
    sequential = await run.finish(layout.samples);
    expect(sequential.language).toBe("en");
    expect(sequential.duration).toBeCloseTo(layout.duration, 3);
    // Two chunks of one window each, instead of three windows over the whole recording.
    expect(sequential.timings.windows).toBe(2);
    expect(sequential.timings.encoderPasses).toBe(2);
    expect(sequential.segments.length).toBeGreaterThan(0);
    for (const segment of sequential.segments) {
      expect(insideSpeech(layout, segment.start, segment.end), `segment ${segment.id} ${segment.start}-${segment.end} in speech ${JSON.stringify(layout.speech)}`).toBe(true);
      expect(segment.words?.length).toBeGreaterThan(0);
      for (const word of segment.words!) expect(insideSpeech(layout, word.start, word.end), `word ${word.word} ${word.start}-${word.end}`).toBe(true);
    }
    expect(sequential.segments[0]!.start).toBeGreaterThanOrEqual(layout.speech[0]![0] - 0.5);
    // Times only go forward, ids count up, and the segments were streamed in that order.
    for (let i = 1; i < sequential.segments.length; i++) expect(sequential.segments[i]!.start).toBeGreaterThanOrEqual(sequential.segments[i - 1]!.end - 1e-9);
    expect(sequential.segments.map((s) => s.id)).toEqual(sequential.segments.map((_, i) => i));
    expect(streamed).toEqual(sequential.segments.map((s) => s.id));
  });

  it("runs the chunks side by side on free slots with the same result as one after another", async () => {
    const transcription = await service({ parallelJobs: 2, threadsPerJob: 1 });
    const streamed: number[] = [];
    const { run } = await transcription.open(settings({ chunking: { type: "auto" }, wordTimestamps: true }), { onSegment: (s) => streamed.push(s.id) });
    const engine = await transcription.engine(settings().model);
    let mostRunning = 0;
    const watch = setInterval(() => (mostRunning = Math.max(mostRunning, engine.stats().running)), 5);
    const parallel = await run.finish(layout.samples).finally(() => clearInterval(watch));
    expect(mostRunning).toBe(2);
    expect(parallel.text).toBe(sequential.text);
    expect(parallel.language).toBe(sequential.language);
    expect(parallel.segments.map((s) => [s.id, s.start, s.end, s.text])).toEqual(sequential.segments.map((s) => [s.id, s.start, s.end, s.text]));
    expect(streamed).toEqual(parallel.segments.map((s) => s.id));
  });

  it("shares a job slot of two threads between two chunks, one thread each, with the same result", async () => {
    const transcription = await service({ parallelJobs: 1, threadsPerJob: 2 });
    const engine = await transcription.engine(settings().model);
    expect(engine.sharesSlots).toBe(true);
    // Language given: nothing to detect first, so both chunks are ready at once.
    const { run } = await transcription.open(settings({ chunking: { type: "auto" }, wordTimestamps: true, language: "en" }));
    let mostJobs = 0;
    let mostSlots = 0;
    const watch = setInterval(() => {
      mostJobs = Math.max(mostJobs, engine.runningJobs);
      mostSlots = Math.max(mostSlots, engine.stats().running);
    }, 2);
    const shared = await run.finish(layout.samples).finally(() => clearInterval(watch));
    expect(mostJobs).toBe(2);
    expect(mostSlots).toBe(1);
    expect(shared.text).toBe(sequential.text);
    expect(shared.segments.map((s) => [s.id, s.start, s.end, s.text])).toEqual(sequential.segments.map((s) => [s.id, s.start, s.end, s.text]));
  });

  it("cancels every chunk when the caller aborts", async () => {
    const transcription = await service({ parallelJobs: 2, threadsPerJob: 1 });
    const engine = await transcription.engine(settings().model);
    const abort = new AbortController();
    const { run } = await transcription.open(settings({ chunking: { type: "auto" } }), { signal: abort.signal });
    const finished = run.finish(layout.samples);
    await new Promise<void>((resolve) => {
      const poll = setInterval(() => {
        if (engine.stats().running > 0) {
          clearInterval(poll);
          resolve();
        }
      }, 5);
    });
    abort.abort();
    await expect(finished).rejects.toThrow(/abort/i);
    expect(engine.stats()).toMatchObject({ running: 0, queued: 0 });
  });

  it("gives empty text, and decodes nothing, for a recording with no speech, chunked or not", async () => {
    const transcription = await service({ parallelJobs: 1, threadsPerJob: 2 });
    const silence = new Float32Array(16_000 * 40);
    for (const chunking of [{ type: "auto" as const }, null]) {
      const { run } = await transcription.open(settings({ chunking }));
      const result = await run.finish(silence);
      expect(result.text).toBe("");
      expect(result.segments).toEqual([]);
      expect(result.timings.encoderPasses).toBe(0);
      expect(result.duration).toBe(40);
    }
  });
});
