// The "fit" encoder context (live partial passes): faster on short audio, and a job after it that detects the
// language sees the full context again (whisper.cpp keeps a job's audio_ctx in the state).
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { fittedAudioContext, type WhisperEngine } from "../../src/engine/WhisperEngine.js";
import { loadTestEngine, speechOfLength } from "../support/engineFixtures.js";

let engine: WhisperEngine;
let pcm: Float32Array;

beforeAll(async () => {
  // One state: every job below runs on the same whisper_state, one after another.
  engine = await loadTestEngine({ parallelJobs: 1 });
  pcm = await speechOfLength(3);
});
afterAll(async () => {
  await engine?.close();
});

describe("encoder context", () => {
  it("fits the audio's length in steps of 32 positions, full window when not smaller", () => {
    expect(fittedAudioContext(3)).toBe(192);
    expect(fittedAudioContext(0.1)).toBe(64);
    expect(fittedAudioContext(29.5)).toBe(0);
    expect(fittedAudioContext(45)).toBe(0);
  });

  it("runs a short clip several times faster with the fitted context", async () => {
    await engine.transcribe(pcm, { language: "en" });
    const time = async (options: Parameters<WhisperEngine["transcribe"]>[1]) => {
      const started = performance.now();
      const result = await engine.transcribe(pcm, options);
      return { ms: performance.now() - started, result };
    };
    const full = await time({ language: "en" });
    const fit = await time({ language: "en", encoderContext: "fit" });
    expect(fit.result.text.length).toBeGreaterThan(0);
    expect(fit.ms).toBeLessThan(full.ms / 2);
  });

  it("detects the language with the full context after a fitted job on the same state", async () => {
    await engine.transcribe(pcm, { language: "en" }); // leaves the full context in the state
    const before = await engine.transcribe(pcm, {});
    await engine.transcribe(pcm, { language: "en", encoderContext: "fit" });
    const after = await engine.transcribe(pcm, {});
    expect(after.language).toBe(before.language);
    expect(after.languageProbability).toBe(before.languageProbability);
    expect(after.text).toBe(before.text);
    // The generated model's language choice does not depend on the encoder output, but the detection's cost does:
    // with the fitted context left in the state it would take a fraction of the time.
    expect(after.timings.detectMs).toBeGreaterThan(before.timings.detectMs * 0.6);
  });
});
