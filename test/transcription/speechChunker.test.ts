// The chunk planner on known frame probabilities: where chunks start and end, how speech is packed, where a long
// stretch is cut, and that streaming the frames gives the same chunks as having them all.
import { describe, expect, it } from "vitest";

import { MAX_CHUNK_SECONDS, SpeechChunker, type SpeechChunk } from "../../src/transcription/speechChunker.js";
import { ChunkTimeline, chunkSamples } from "../../src/transcription/chunkTimeline.js";

const FRAME = 512;
const RATE = 16_000;
const frameOf = (seconds: number) => Math.round((seconds * RATE) / FRAME);

/** Frame probabilities for `seconds` of audio, 0.95 inside the given speech stretches and 0.02 elsewhere. */
function layout(seconds: number, speech: Array<[number, number]>, dips: Array<[number, number]> = []): number[] {
  const frames = Array.from({ length: frameOf(seconds) }, () => 0.02);
  for (const [from, to] of speech) for (let f = frameOf(from); f < frameOf(to); f++) frames[f] = 0.95;
  for (const [from, to] of dips) for (let f = frameOf(from); f < frameOf(to); f++) frames[f] = 0.1;
  return frames;
}

function chunksOf(frames: number[], chunker = new SpeechChunker()): SpeechChunk[] {
  const out: SpeechChunk[] = [];
  for (const p of frames) out.push(...chunker.push(p));
  out.push(...chunker.end(frames.length * FRAME));
  return out;
}

const seconds = (samples: number) => samples / RATE;

describe("SpeechChunker", () => {
  it("gives no chunk for silence", () => {
    expect(chunksOf(layout(60, []))).toEqual([]);
  });

  it("skips a silent lead-in and the silences between stretches, padding each stretch by prefix_padding_ms", () => {
    const chunks = chunksOf(layout(100, [[60, 64], [70, 75]]));
    expect(chunks).toHaveLength(1);
    const pieces = chunks[0]!.pieces.map((p) => [seconds(p.start), seconds(p.end)]);
    expect(pieces).toHaveLength(2);
    // Speech at 60-64: the piece runs from 300 ms before the onset to 300 ms after the last speech frame.
    expect(pieces[0]![0]).toBeCloseTo(59.7, 1);
    expect(pieces[0]![1]).toBeCloseTo(64.3, 1);
    expect(pieces[1]![0]).toBeCloseTo(69.7, 1);
    expect(pieces[1]![1]).toBeCloseTo(75.3, 1);
    expect(chunks[0]!.length).toBe(chunks[0]!.pieces.reduce((sum, p) => sum + p.end - p.start, 0));
  });

  it("never cuts inside speech, covers every speech frame, and packs chunks up to 30 s", () => {
    // 20 stretches of 4-9 s with 1-3 s pauses.
    const speech: Array<[number, number]> = [];
    let t = 5;
    for (let i = 0; i < 20; i++) {
      const length = 4 + ((i * 7) % 6);
      speech.push([t, t + length]);
      t += length + 1 + (i % 3);
    }
    const frames = layout(t + 5, speech);
    const chunks = chunksOf(frames);
    expect(chunks.length).toBeGreaterThan(3);
    const inSpeech = (sample: number) => speech.some(([from, to]) => sample > from * RATE + FRAME && sample < to * RATE - FRAME);
    for (const chunk of chunks) {
      expect(seconds(chunk.length)).toBeLessThanOrEqual(MAX_CHUNK_SECONDS);
      for (const piece of chunk.pieces) {
        expect(inSpeech(piece.start), `chunk ${chunk.index} piece starts at ${seconds(piece.start)} s inside speech`).toBe(false);
        expect(inSpeech(piece.end), `chunk ${chunk.index} piece ends at ${seconds(piece.end)} s inside speech`).toBe(false);
      }
    }
    for (const [from, to] of speech) {
      for (let s = from * RATE; s < to * RATE; s += RATE / 4) {
        expect(chunks.some((c) => c.pieces.some((p) => p.start <= s && s < p.end)), `speech at ${s / RATE} s is in a chunk`).toBe(true);
      }
    }
    // Packed: every chunk but the last would not have had room for the next chunk's first piece.
    for (let i = 0; i + 1 < chunks.length; i++) {
      const next = chunks[i + 1]!.pieces[0]!;
      expect(chunks[i]!.length + (next.end - next.start)).toBeGreaterThan(MAX_CHUNK_SECONDS * RATE);
    }
    expect(chunks.map((c) => c.index)).toEqual(chunks.map((_, i) => i));
  });

  it("tops a chunk up with the head of the next stretch, cut at a short pause between words", () => {
    // Stretches of 12 s with 150-ms dips every 2 s (between words), 2-s silences between them: 12 + 12 would leave
    // 6 s of room before the third; the chunk is filled to within one word gap of 30 s instead.
    const speech: Array<[number, number]> = [];
    const dips: Array<[number, number]> = [];
    for (let t = 5; t < 150; t += 14) {
      speech.push([t, t + 12]);
      for (let d = t + 2; d < t + 12; d += 2) dips.push([d, d + 0.15]);
    }
    const chunks = chunksOf(layout(160, speech, dips));
    for (const chunk of chunks.slice(0, -1)) {
      expect(seconds(chunk.length)).toBeLessThanOrEqual(MAX_CHUNK_SECONDS);
      expect(seconds(chunk.length)).toBeGreaterThan(MAX_CHUNK_SECONDS - 2.5);
      // Each cut falls inside one of the dips.
      const end = seconds(chunk.pieces.at(-1)!.end);
      expect(dips.some(([from, to]) => end >= from && end <= to + 0.05) || speech.some(([, to]) => Math.abs(end - to - 0.3) < 0.05), `cut at ${end}`).toBe(true);
    }
    // Without a pause to cut at, the chunk closes as it is.
    const solid = chunksOf(layout(160, speech));
    expect(solid.length).toBeGreaterThan(chunks.length);
  });

  it("cuts a stretch longer than a chunk at its longest pause in the last 10 s that fit", () => {
    // 50 s of speech from 5 s with dips below 500 ms: 12-12.4 s (the longest, but it would leave a 7-s chunk),
    // 26-26.3 s (the longest within the last 10 s that fit) and 29-29.1 s.
    const frames = layout(60, [[5, 55]], [[12, 12.4], [26, 26.3], [29, 29.1]]);
    const chunks = chunksOf(frames);
    expect(chunks.length).toBeGreaterThanOrEqual(2);
    // Cut in the 26-s pause (not the longer one at 12 s), then topped up to the next pause that fits, at 29 s:
    // every chunk ends in a pause.
    const ends = chunks.slice(0, -1).map((c) => seconds(c.pieces.at(-1)!.end));
    expect(ends[0]).toBeGreaterThan(29);
    for (const t of ends) expect([[26, 26.3], [29, 29.1]].some(([from, to]) => t >= from! && t <= to!), `chunk ends at ${t}`).toBe(true);
    for (const chunk of chunks) expect(seconds(chunk.length)).toBeLessThanOrEqual(MAX_CHUNK_SECONDS);
  });

  it("hands out chunks while the frames are still coming, the same as from all of them at once", () => {
    const frames = layout(200, [[10, 30], [35, 50], [60, 80], [90, 120], [130, 150], [160, 190]]);
    const chunker = new SpeechChunker();
    const streamed: SpeechChunk[] = [];
    let firstAtFrame = -1;
    frames.forEach((p, i) => {
      const out = chunker.push(p);
      if (out.length > 0 && firstAtFrame < 0) firstAtFrame = i;
      streamed.push(...out);
    });
    streamed.push(...chunker.end(frames.length * FRAME));
    expect(firstAtFrame).toBeGreaterThan(0);
    expect(firstAtFrame).toBeLessThan(frameOf(100));
    expect(streamed).toEqual(chunksOf(frames));
  });

  it("applies server_vad settings: a longer silence_duration_ms keeps stretches together", () => {
    const frames = layout(30, [[2, 6], [6.8, 10]]);
    expect(chunksOf(frames, new SpeechChunker({ silenceDurationMs: 500 }))[0]!.pieces).toHaveLength(2);
    expect(chunksOf(frames, new SpeechChunker({ silenceDurationMs: 1000 }))[0]!.pieces).toHaveLength(1);
    expect(chunksOf(layout(30, [[2, 6]]), new SpeechChunker({ threshold: 0.99 }))).toEqual([]);
  });
});

describe("ChunkTimeline", () => {
  const pieces = [
    { start: 10 * RATE, end: 14 * RATE },
    { start: 20 * RATE, end: 25 * RATE },
  ];
  const timeline = new ChunkTimeline(pieces);

  it("maps chunk times back to the original audio, piece by piece", () => {
    expect(timeline.start(0)).toBe(10);
    expect(timeline.start(3.5)).toBe(13.5);
    expect(timeline.end(3.5)).toBe(13.5);
    expect(timeline.start(6)).toBe(22);
    expect(timeline.end(9)).toBe(25);
    // At the join, a start belongs to the next piece and an end to the previous one.
    expect(timeline.start(4)).toBe(20);
    expect(timeline.end(4)).toBe(14);
    // Past the end: the end of the last piece.
    expect(timeline.end(30)).toBe(25);
  });

  it("cuts the pieces out of the audio back to back", () => {
    const audio = Float32Array.from({ length: 30 * RATE }, (_, i) => i);
    const samples = chunkSamples(audio, { index: 0, pieces, length: 9 * RATE });
    expect(samples.length).toBe(9 * RATE);
    expect(samples[0]).toBe(10 * RATE);
    expect(samples[4 * RATE]).toBe(20 * RATE);
    expect(samples.at(-1)).toBe(25 * RATE - 1);
  });
});
