// Earshot's Parakeet engine against whisper.cpp's own parakeet-cli, built from the same tree with the same flags, on
// the same generated model and the same 16-bit samples: the same tokens (ids, frames, durations, probabilities), the
// same times and the same text, through the addon and through ParakeetEngine's segments and words.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { loadEngine } from "../../src/engine/loadEngine.js";
import { loadAddon } from "../../src/engine/loadAddon.js";
import type { NativeParakeetResult } from "../../src/engine/nativeTypes.js";
import { getParakeetTestModelPath } from "../../src/models/testModel/parakeet/index.js";
import { speechOfLength } from "../support/engineFixtures.js";
import { runParakeetCli, type ParakeetCliOutput } from "../support/parakeetCli.js";
import { encodeWav } from "../support/speech.js";

let dir: string;
let model: string;
/** 20 s of speech with 3 s of silence in the middle, as the 16-bit samples both tools read. */
let samples: Float32Array;
let cli: ParakeetCliOutput;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "earshot-parakeet-fidelity-"));
  model = await getParakeetTestModelPath("tiny");
  const speech = await speechOfLength(17);
  const audio = new Float32Array(20 * 16_000);
  audio.set(speech.subarray(0, 8 * 16_000), 0);
  audio.set(speech.subarray(8 * 16_000), 11 * 16_000);
  // Exactly what parakeet-cli reads from the 16-bit WAV (miniaudio: sample / 32768).
  const pcm16 = new Int16Array(audio.length);
  for (let i = 0; i < audio.length; i++) pcm16[i] = Math.max(-32768, Math.min(32767, Math.round(audio[i]! * 32768)));
  samples = Float32Array.from(pcm16, (v) => v / 32768);
  const wav = path.join(dir, "speech.wav");
  fs.writeFileSync(wav, encodeWav(samples, 16_000));
  cli = await runParakeetCli(model, wav, ["-t", "2"]);
  expect(cli.segments).toHaveLength(1);
}, 300_000);

afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

describe("Parakeet engine vs parakeet-cli", () => {
  it("the addon's tokens are parakeet-cli's: ids, frames, durations, times, word starts, probabilities, text", async () => {
    const addon = loadAddon();
    const native = await addon.loadParakeetModel(model, { useGpu: false });
    const state = await native.createState();
    let result: NativeParakeetResult;
    try {
      result = await state.transcribe(samples, { threads: 2 });
    } finally {
      state.dispose();
      native.dispose();
    }
    const expected = cli.segments[0]!.tokens;
    expect(expected.length).toBeGreaterThan(20);
    expect(result.tokens.map((t) => t.id)).toEqual(expected.map((t) => t.id));
    expect(result.tokens.map((t) => [t.frameIndex, t.duration, t.t0, t.t1, t.wordStart])).toEqual(expected.map((t) => [t.frame, t.duration, t.t0, t.t1, t.wordStart]));
    expect(result.tokens.map((t) => t.piece.toString("utf8"))).toEqual(expected.map((t) => t.piece));
    result.tokens.forEach((token, i) => expect(token.p).toBeCloseTo(expected[i]!.p, 4));
    expect(result.text.trim()).toBe(cli.text);
  });

  it("ParakeetEngine's segments hold those tokens at those times, its words start at the word-start pieces, its text is the tool's", async () => {
    const engine = await loadEngine(model, { threadsPerJob: 2, parallelJobs: 1, useGpu: false });
    try {
      const result = await engine.transcribe(samples, { wordTimestamps: true });
      const expected = cli.segments[0]!.tokens;
      const tokens = result.segments.flatMap((s) => s.tokens);
      expect(tokens.map((t) => t.id)).toEqual(expected.map((t) => t.id));
      expect(tokens.map((t) => [Math.round(t.start * 100), Math.round(t.end * 100)])).toEqual(expected.map((t) => [t.t0, Math.min(t.t1, 2000)]));
      expect(result.text).toBe(cli.text);
      const words = result.segments.flatMap((s) => s.words ?? []);
      // A word begins at each word-start piece, and at the first piece whatever it is.
      const starts = expected.filter((t, i) => t.wordStart || i === 0).map((t) => t.t0 / 100);
      expect(words.map((w) => w.start)).toEqual(starts);
      // The 3-s silence splits the segments: none spans it.
      for (const segment of result.segments) expect(segment.start >= 10.9 || segment.end <= 8.1, JSON.stringify([segment.start, segment.end])).toBe(true);
    } finally {
      await engine.close();
    }
  });
});
