// The one feed from a decoder into a TranscriptionRun: samples held until the run opens (dropped if it never does),
// and a source that can wait read only while the run's backlog is within its bound, read on as soon as the run's
// VAD takes the work (a promise the run resolves, no polling: no timer runs here), or at once when the run stops.
// A scripted VAD and engine stand in for the native ones, so this is a light test.
import { describe, expect, it } from "vitest";

import type { SileroVadModel } from "../../src/audio/vad/index.js";
import type { WhisperEngine } from "../../src/engine/WhisperEngine.js";
import { RunFeed, feedBound } from "../../src/transcription/runFeed.js";
import { TranscriptionRun } from "../../src/transcription/transcriptionRun.js";

const RATE = 16_000;

/** A VAD whose pushes finish only when the test says so (no frames: no chunks), keeping what each push was given. */
function scriptedVad() {
  const given: Float32Array[] = [];
  const waiting: Array<() => void> = [];
  const stream = {
    push(samples: Float32Array) {
      given.push(samples.slice());
      return new Promise<[]>((resolve) => waiting.push(() => resolve([])));
    },
    close() {},
  };
  const model = { createStream: () => stream } as unknown as SileroVadModel;
  return {
    loadVad: async () => model,
    given,
    /** Lets the oldest push still running finish. */
    finishOne: () => waiting.shift()?.(),
  };
}

const engine = { info: { parallelJobs: 3, model: { multilingual: false } }, sharesSlots: false } as unknown as WhisperEngine;

function chunkedRun(vad: ReturnType<typeof scriptedVad>, signal?: AbortSignal): TranscriptionRun {
  return new TranscriptionRun({ engine, loadVad: vad.loadVad, options: {}, chunking: { type: "auto" }, keepAudio: false, signal });
}

/** `count` blocks of `seconds` each, numbered in their samples, counting how many were read. */
function source(count: number, seconds: number) {
  const state = { read: 0 };
  async function* blocks() {
    for (let i = 0; i < count; i++) {
      state.read++;
      yield new Float32Array(seconds * RATE).fill(i);
    }
  }
  return { state, blocks: blocks() };
}

/** Lets every promise callback queued so far run (several rounds: the run's VAD queue chains a few). */
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve();
}

describe("RunFeed", () => {
  it("holds the samples that come before the run opens and hands them over in order; drops them if it never opens", () => {
    const pushed: number[] = [];
    const run = { push: (samples: Float32Array) => pushed.push(samples[0]!) } as unknown as TranscriptionRun;
    const feed = new RunFeed();
    feed.push(new Float32Array([1]));
    feed.push(new Float32Array([2]));
    expect(pushed).toEqual([]);
    feed.open(run);
    feed.push(new Float32Array([3]));
    expect(pushed).toEqual([1, 2, 3]);

    const never = new RunFeed();
    never.push(new Float32Array([1]));
    never.open(undefined);
    never.push(new Float32Array([2]));
    expect(pushed).toEqual([1, 2, 3]);
  });

  it("keeps the run's backlog within 10 s of audio and two waiting chunks per slot", () => {
    const run = chunkedRun(scriptedVad());
    expect(feedBound(run)).toEqual({ vadSamples: 10 * RATE, chunks: 6 });
    run.cancel();
  });

  it("reads a source that can wait only while the run keeps up, and on as soon as the VAD takes the work", async () => {
    const vad = scriptedVad();
    const run = chunkedRun(vad);
    const { state, blocks } = source(6, 4);
    let done = false;
    const pulling = new RunFeed(run).pull(blocks).then(() => (done = true));
    await settle();
    // 4 s, 8 s, 12 s waiting for the VAD: over the 10 s bound, so the fourth block is not read.
    expect(state.read).toBe(3);
    expect(run.backlog.vadSamples).toBe(12 * RATE);
    vad.finishOne();
    await settle();
    expect(state.read).toBe(4);
    for (let i = 0; i < 6; i++) {
      vad.finishOne();
      await settle();
    }
    expect(state.read).toBe(6);
    expect(done).toBe(true);
    await pulling;
    // The VAD got every sample, in order, read from the run's own copy.
    expect(vad.given.map((samples) => [samples.length, samples[0]])).toEqual([0, 1, 2, 3, 4, 5].map((i) => [4 * RATE, i]));
    run.cancel();
  });

  it("stops waiting at once when the run is cancelled or its signal aborts", async () => {
    for (const stop of ["cancel", "abort"] as const) {
      const vad = scriptedVad();
      const controller = new AbortController();
      const run = chunkedRun(vad, controller.signal);
      run.push(new Float32Array(12 * RATE));
      let through = false;
      const waiting = run.whenBacklogWithin(feedBound(run)).then(() => (through = true));
      await settle();
      expect(through).toBe(false);
      if (stop === "cancel") run.cancel();
      else controller.abort();
      await waiting;
      expect(through).toBe(true);
      run.cancel();
    }
  });
});
