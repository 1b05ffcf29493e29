// The speaker embedding's filterbank: against Kaldi's own compute-fbank-feats output, and properties one can work out by
// hand (frame counts, where a pure tone lands, the floor of silence, the mean normalization).
import { readFileSync } from "node:fs";
import path from "node:path";

import { describe, expect, it } from "vitest";

import { computeFbank, fbankFrameCount, subtractFrameMean } from "../../src/diarization/fbank.js";

const FIXTURES = path.join(import.meta.dirname, "fixtures");

/**
 * kaldifeat's test data (github.com/csukuangfj/kaldifeat, kaldifeat/python/tests/test_data, Apache-2.0): test.wav is
 * sox's 1.2-s sine swept from 300 to 3300 Hz (16 kHz, 16-bit); the .txt files are Kaldi's `compute-fbank-feats
 * --dither=0 --num-mel-bins=40 [--snip-edges=0]` of it, as Kaldi's text archive.
 */
function kaldiWave(): Float32Array {
  const wav = readFileSync(path.join(FIXTURES, "kaldi-test.wav"));
  const pcm = new Int16Array(wav.buffer.slice(wav.byteOffset + 44, wav.byteOffset + wav.length));
  return Float32Array.from(pcm); // Kaldi reads the int16 values as they are
}

function kaldiFeatures(file: string): number[][] {
  return readFileSync(path.join(FIXTURES, file), "utf8")
    .split("\n")
    .slice(1)
    .map((line) => line.replace("]", "").trim())
    .filter(Boolean)
    .map((line) => line.split(/\s+/).map(Number));
}

function mel(hz: number): number {
  return 1127 * Math.log(1 + hz / 700);
}

describe("computeFbank", () => {
  for (const [file, snipEdges] of [["kaldi-test-40.txt", true], ["kaldi-test-40-no-snip-edges.txt", false]] as const) {
    it(`matches Kaldi's compute-fbank-feats (snip_edges ${snipEdges})`, () => {
      const expected = kaldiFeatures(file);
      const { frames, features, bins } = computeFbank(kaldiWave(), { bins: 40, highFreq: 0, snipEdges });
      expect(bins).toBe(40);
      expect(frames).toBe(expected.length);
      for (let f = 0; f < frames; f++) {
        const row = expected[f]!;
        expect(row).toHaveLength(40);
        const peak = Math.max(...row);
        for (let b = 0; b < 40; b++) {
          const error = Math.abs(features[f * 40 + b]! - row[b]!);
          // Kaldi computes in float32: bins more than ~12 nats (5 decades of power) below the frame's peak carry its
          // rounding (the FFT's leakage floor), so they are held to a looser bound. Measured: 1.3e-4 and 0.031.
          expect(error, `frame ${f} bin ${b}`).toBeLessThan(peak - row[b]! < 12 ? 5e-4 : 0.05);
        }
      }
    });
  }

  it("counts frames as Kaldi does", () => {
    for (const n of [0, 1, 79, 80, 239, 240, 399, 400, 401, 559, 560, 16000, 16001, 160000]) {
      expect(fbankFrameCount(n, { snipEdges: true })).toBe(n < 400 ? 0 : 1 + Math.floor((n - 400) / 160));
      expect(fbankFrameCount(n)).toBe(Math.floor((n + 80) / 160));
      expect(computeFbank(new Float32Array(n)).frames).toBe(fbankFrameCount(n));
    }
  });

  it("puts a pure tone in the mel bin whose centre is its frequency", () => {
    // sherpa's bins: 80 triangles between 20 Hz and 7600 Hz, equally spaced in mel.
    const delta = (mel(7600) - mel(20)) / 81;
    for (const bin of [5, 30, 62]) {
      const hz = 700 * (Math.exp((mel(20) + (bin + 1) * delta) / 1127) - 1);
      const tone = Float32Array.from({ length: 16000 }, (_, i) => 10000 * Math.sin((2 * Math.PI * hz * i) / 16000));
      const { frames, features } = computeFbank(tone);
      expect(frames).toBe(100);
      for (const f of [10, 50, 90]) {
        const row = Array.from(features.subarray(f * 80, f * 80 + 80));
        expect(row.indexOf(Math.max(...row)), `${hz.toFixed(1)} Hz, frame ${f}`).toBe(bin);
      }
    }
  });

  it("floors silence at log(float epsilon)", () => {
    const { features } = computeFbank(new Float32Array(8000));
    expect(features.length).toBe(50 * 80);
    for (const value of features) expect(value).toBeCloseTo(Math.log(2 ** -23), 5);
  });

  it("scales samples to the int16 range (sampleScale)", () => {
    let seed = 1;
    const noise = Float32Array.from({ length: 4000 }, () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31 - 0.5) * 0.5);
    const scaled = computeFbank(noise, { sampleScale: 32768 }).features;
    const raw = computeFbank(noise, { sampleScale: 100 }).features;
    // power scales by (32768 / 100)²: its log by 2·ln 327.68 (white noise keeps every bin far above the floor)
    for (let i = 0; i < scaled.length; i++) expect(scaled[i]! - raw[i]!).toBeCloseTo(2 * Math.log(327.68), 3);
  });
});

describe("subtractFrameMean", () => {
  it("leaves every bin's mean over the frames at zero and keeps the differences between frames", () => {
    const tone = Float32Array.from({ length: 8000 }, (_, i) => 32768 * Math.sin(i * 0.3) * (i / 8000));
    const { frames, features, bins } = computeFbank(tone);
    const before = Float32Array.from(features);
    subtractFrameMean(features, frames, bins);
    for (let b = 0; b < bins; b++) {
      let sum = 0;
      for (let f = 0; f < frames; f++) sum += features[f * bins + b]!;
      expect(Math.abs(sum / frames)).toBeLessThan(1e-4);
      expect(features[10 * bins + b]! - features[40 * bins + b]!).toBeCloseTo(before[10 * bins + b]! - before[40 * bins + b]!, 4);
    }
  });
});
