// Where ParakeetEngine cuts a long input (src/engine/parakeetBlocks.ts) and how it cuts a run of tokens into segments
// (src/engine/parakeetSegments.ts): pure functions, checked on made-up input.
import { describe, expect, it } from "vitest";

import type { NativeParakeetToken } from "../../src/engine/nativeTypes.js";
import { blockBounds, MAX_BLOCK_SECONDS } from "../../src/engine/parakeetBlocks.js";
import { MAX_SEGMENT_SECONDS, parakeetSegments, SEGMENT_PAUSE_SECONDS } from "../../src/engine/parakeetSegments.js";

const RATE = 16_000;

/** `seconds` of a loud tone with a quiet 100 ms at each of `quietAt` (seconds). */
function toneWithPauses(seconds: number, quietAt: number[]): Float32Array {
  const pcm = new Float32Array(seconds * RATE);
  for (let i = 0; i < pcm.length; i++) pcm[i] = 0.5 * Math.sin((2 * Math.PI * 220 * i) / RATE);
  for (const at of quietAt) pcm.fill(0, Math.round(at * RATE), Math.round((at + 0.1) * RATE));
  return pcm;
}

describe("blockBounds", () => {
  it("leaves an input of at most a block whole", () => {
    expect(blockBounds(new Float32Array(MAX_BLOCK_SECONDS * RATE))).toEqual([0, MAX_BLOCK_SECONDS * RATE]);
  });

  it("cuts a long input at the quiet spot in the last 10 s before each block's end, never later", () => {
    const pcm = toneWithPauses(150, [55, 112]);
    const bounds = blockBounds(pcm);
    expect(bounds[0]).toBe(0);
    expect(bounds.at(-1)).toBe(pcm.length);
    expect(bounds).toHaveLength(4);
    expect(Math.abs(bounds[1]! / RATE - 55.05)).toBeLessThan(0.05);
    expect(Math.abs(bounds[2]! / RATE - 112.05)).toBeLessThan(0.05);
    for (let i = 1; i < bounds.length; i++) expect(bounds[i]! - bounds[i - 1]!).toBeLessThanOrEqual(MAX_BLOCK_SECONDS * RATE);
  });

  it("with no quiet spot, still cuts within the block length", () => {
    const bounds = blockBounds(toneWithPauses(200, []));
    for (let i = 1; i < bounds.length; i++) expect(bounds[i]! - bounds[i - 1]!).toBeLessThanOrEqual(MAX_BLOCK_SECONDS * RATE);
    expect(bounds.at(-1)).toBe(200 * RATE);
  });
});

function token(piece: string, t0: number, t1: number, id = 1): NativeParakeetToken {
  return { id, piece: Buffer.from(piece), p: 0.9, plog: -0.1, t0, t1, frameIndex: t0 / 8, duration: (t1 - t0) / 8, wordStart: piece.startsWith("\u2581") };
}

describe("parakeetSegments", () => {
  it("words from word-start pieces, text with the marker as a space, segments cut after a sentence's end", () => {
    const segments = parakeetSegments(
      [token("\u2581he", 0, 16), token("llo", 16, 32), token("\u2581world", 40, 80), token(".", 80, 80), token("\u2581next", 96, 120)],
      { duration: 2, wordTimestamps: true },
    );
    expect(segments.map((s) => s.text)).toEqual([" hello world.", " next"]);
    expect(segments[0]!.words).toEqual([
      { word: " hello", start: 0, end: 0.32, probability: expect.closeTo(0.9, 5) },
      { word: " world.", start: 0.4, end: 0.8, probability: expect.closeTo(0.9, 5) },
    ]);
    expect(segments.map((s) => [s.id, s.start, s.end])).toEqual([
      [0, 0, 0.8],
      [1, 0.96, 1.2],
    ]);
    expect(segments[0]!.avgLogprob).toBeCloseTo(Math.log(0.9), 5);
  });

  it("cuts at a pause and before a segment passes the length limit; clamps times to the duration", () => {
    const pause = Math.round((SEGMENT_PAUSE_SECONDS + 0.1) * 100);
    const paused = parakeetSegments([token("\u2581a", 0, 8), token("\u2581b", 8 + pause, 16 + pause)], { duration: 10, wordTimestamps: false });
    expect(paused).toHaveLength(2);
    expect(paused[0]!.words).toBeUndefined();
    const many: NativeParakeetToken[] = [];
    for (let t = 0; t < (MAX_SEGMENT_SECONDS + 10) * 100; t += 40) many.push(token("\u2581w", t, t + 40));
    const long = parakeetSegments(many, { duration: 35, wordTimestamps: false });
    expect(long.length).toBeGreaterThan(1);
    for (const segment of long) expect(segment.end - segment.start).toBeLessThanOrEqual(MAX_SEGMENT_SECONDS);
    expect(long.at(-1)!.end).toBe(35);
  });

  it("control pieces (<unk>) carry no text", () => {
    const [segment] = parakeetSegments([token("<unk>", 0, 8), token("\u2581ok", 8, 16)], { duration: 1, wordTimestamps: true });
    expect(segment!.text).toBe(" ok");
    expect(segment!.words!.map((w) => w.word)).toEqual([" ok"]);
  });
});
