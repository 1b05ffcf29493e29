// The pure parts of diarization by voice: clustering cuts, pieces from windows, words given to speakers.
import { describe, expect, it } from "vitest";

import { clusterEmbeddings, normalized } from "../../src/diarization/clustering.js";
import { PieceTracker, type FrameGrid } from "../../src/diarization/speakerPieces.js";
import type { Segment } from "../../src/engine/types.js";
import { assignSpeakers } from "../../src/transcription/speakerAssignment.js";
import { channelsSeparateSpeakers } from "../../src/transcription/voiceDiarization.js";

const unit = (...values: number[]) => normalized(Float32Array.from(values));

describe("clusterEmbeddings", () => {
  const points = [unit(1, 0, 0), unit(0.95, 0.1, 0), unit(0, 1, 0), unit(0.1, 0.97, 0), unit(0, 0, 1)];
  const weights = [1, 1, 1, 1, 1];

  it("cuts at the threshold, numbering clusters in order of first appearance", async () => {
    expect(await clusterEmbeddings(points, weights, { threshold: 0.5 })).toEqual([0, 0, 1, 1, 2]);
    expect(await clusterEmbeddings(points, weights, { threshold: 1.5 })).toEqual([0, 0, 0, 0, 0]);
    expect(await clusterEmbeddings(points, weights, { threshold: 0.001 })).toEqual([0, 1, 2, 3, 4]);
  });

  it("gives the number of speakers asked for: exact, or the threshold's count clamped", async () => {
    expect(new Set(await clusterEmbeddings(points, weights, { threshold: 0.5, count: { exact: 2 } })).size).toBe(2);
    expect(new Set(await clusterEmbeddings(points, weights, { threshold: 0.5, count: { max: 2 } })).size).toBe(2);
    expect(new Set(await clusterEmbeddings(points, weights, { threshold: 0.5, count: { min: 4 } })).size).toBe(4);
    expect(await clusterEmbeddings([], [], { threshold: 0.5 })).toEqual([]);
  });

  it("stops when aborted", async () => {
    const many = Array.from({ length: 1500 }, (_, i) => unit(Math.cos(i), Math.sin(i), (i % 7) / 7));
    const stop = new AbortController();
    const work = clusterEmbeddings(many, many.map(() => 1), { threshold: 0.5, signal: stop.signal });
    stop.abort(new Error("stopped"));
    await expect(work).rejects.toThrow("stopped");
  });
});

describe("PieceTracker", () => {
  // 10 frames of 100 samples per window, windows of 1000 samples every 500.
  const grid: FrameGrid = { sampleRate: 1000, windowSamples: 1000, frameCount: 10, frameShift: 100, receptiveField: 100, localSpeakers: 2 };
  const window = (startSample: number, frames: Array<[number, number]>) => ({ startSample, active: Uint8Array.from(frames.flat()) });

  it("stitches local speakers across windows and cuts pieces where a track stops", () => {
    const tracker = new PieceTracker(grid, 500, 10_000);
    // Window 0: local 0 speaks frames 0-7; window 1 (from 500): the same person is its local 1 for frames 0-2, then local 0 speaks.
    const first = tracker.addWindow(window(0, [[1, 0], [1, 0], [1, 0], [1, 0], [1, 0], [1, 0], [1, 0], [1, 0], [0, 0], [0, 0]]));
    expect(first).toEqual([]);
    const closed = tracker.addWindow(window(500, [[0, 1], [0, 1], [0, 1], [0, 0], [1, 0], [1, 0], [1, 0], [1, 0], [1, 0], [1, 0]]), 1500);
    expect(closed.map(({ track, start, end }) => ({ track, start, end }))).toEqual([
      { track: 0, start: 0, end: 800 },
      { track: 2, start: 900, end: 1500 },
    ]);
    expect(closed[0]!.clean).toEqual([[0, 800]]);
  });

  it("keeps a pause shorter than the maximum inside the piece (its clean ranges skip it), and ends the piece at a longer one", () => {
    const tracker = new PieceTracker(grid, 500, 10_000, 200);
    const frames: Array<[number, number]> = [[1, 0], [1, 0], [0, 0], [1, 0], [1, 0], [0, 0], [0, 0], [0, 0], [1, 0], [1, 0]];
    const closed = tracker.addWindow(window(0, frames), 1000);
    expect(closed.map(({ start, end, clean }) => ({ start, end, clean }))).toEqual([
      { start: 0, end: 500, clean: [[0, 200], [300, 500]] },
      { start: 800, end: 1000, clean: [[800, 1000]] },
    ]);
  });

  it("ends the piece of a track the next window does not carry on", () => {
    const tracker = new PieceTracker(grid, 500, 10_000, 10_000);
    expect(tracker.addWindow(window(0, Array.from({ length: 10 }, (_, f) => (f < 6 ? [1, 0] : [0, 0]) as [number, number])))).toEqual([]);
    // The next window's speaker shares no frame with it: a new track, and the old one's piece closes.
    const closed = tracker.addWindow(window(500, Array.from({ length: 10 }, (_, f) => (f < 3 ? [0, 0] : [0, 1]) as [number, number])), 1500);
    expect(closed.map(({ track, start, end }) => ({ track, start, end }))).toEqual([
      { track: 0, start: 0, end: 600 },
      { track: 3, start: 800, end: 1500 },
    ]);
  });

  it("overlapped speech: both tracks' pieces span it, and neither's clean ranges hold it", () => {
    const tracker = new PieceTracker(grid, 500, 10_000);
    const frames: Array<[number, number]> = [[1, 0], [1, 0], [1, 0], [1, 1], [1, 1], [0, 1], [0, 1], [0, 1], [0, 0], [0, 0]];
    const closed = tracker.addWindow(window(0, frames), 1000);
    expect(closed.map(({ track, start, end, clean }) => ({ track, start, end, clean }))).toEqual([
      { track: 0, start: 0, end: 500, clean: [[0, 300]] },
      { track: 1, start: 300, end: 800, clean: [[500, 800]] },
    ]);
  });

  it("cuts a long turn into pieces of at most the maximum", () => {
    const tracker = new PieceTracker(grid, 500, 300);
    const closed = tracker.addWindow(window(0, Array.from({ length: 10 }, () => [1, 0] as [number, number])), 1000);
    expect(closed.map((piece) => [piece.start, piece.end])).toEqual([[0, 300], [300, 600], [600, 900], [900, 1000]]);
  });
});

describe("assignSpeakers", () => {
  const segment = (start: number, end: number, words: Array<[string, number, number]>): Segment => ({
    id: 0, seek: 0, start, end, text: words.map(([word]) => word).join(""), tokens: [], temperature: 0, avgLogprob: 0, compressionRatio: 1, noSpeechProb: 0,
    words: words.map(([word, s, e]) => ({ word, start: s, end: e, probability: 1 })),
  });

  it("cuts a segment at the speaker change and gives every word to one segment", () => {
    const spans = [{ start: 0, end: 2.05, speaker: 0 }, { start: 2.1, end: 4, speaker: 1 }];
    const out = assignSpeakers([segment(0, 4, [[" one", 0, 0.5], [" two", 0.6, 2], [" three", 2.2, 3], [" four", 3.1, 3.9]])], spans, ["A", "B"]);
    expect(out).toEqual([
      { channel: 0, speaker: "A", start: 0, end: 2, text: " one two" },
      { channel: 0, speaker: "B", start: 2.2, end: 4, text: " three four" },
    ]);
  });

  it("gives a word no span covers to the nearest speaker", () => {
    const out = assignSpeakers([segment(5, 6, [[" late", 5, 6]])], [{ start: 0, end: 4.5, speaker: 1 }], ["A", "B"]);
    expect(out.map((s) => s.speaker)).toEqual(["B"]);
  });
});

describe("channelsSeparateSpeakers", () => {
  const tone = (length: number, from: number, to: number, gain: number) => Float32Array.from({ length }, (_, i) => (i >= from && i < to ? gain * Math.sin(i / 5) : 0));

  it("is true for a call (each party on its own channel), false for the same voice in both", () => {
    const n = 32_000;
    expect(channelsSeparateSpeakers([tone(n, 0, 16_000, 0.5), tone(n, 16_000, 32_000, 0.5)])).toBe(true);
    expect(channelsSeparateSpeakers([tone(n, 0, n, 0.5), tone(n, 0, n, 0.4)])).toBe(false);
    expect(channelsSeparateSpeakers([tone(n, 0, n, 0.5)])).toBe(false);
  });
});
