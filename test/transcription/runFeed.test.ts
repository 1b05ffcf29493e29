// The one feed from a decoder into a TranscriptionRun, with the real engine (generated model) and the real Silero VAD:
// samples held until the run opens and handed over in order; a source that can wait read only while the run's backlog
// is within its bound (what keeps a long batch job's memory bounded), the run still transcribing all of it.
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { SileroVadModel } from "../../src/audio/vad/index.js";
import { SAMPLE_RATE } from "../../src/engine/sampleRate.js";
import type { WhisperEngine } from "../../src/engine/WhisperEngine.js";
import { feedBound, RunFeed } from "../../src/transcription/runFeed.js";
import { TranscriptionRun } from "../../src/transcription/transcriptionRun.js";
import { loadTestEngine, speechOfLength } from "../support/engineFixtures.js";

let engine: WhisperEngine;
let vad: SileroVadModel;

beforeAll(async () => {
  [engine, vad] = await Promise.all([loadTestEngine(), SileroVadModel.load()]);
}, 120_000);

afterAll(async () => {
  await engine?.close();
});

function chunkedRun(keepAudio: boolean): TranscriptionRun {
  return new TranscriptionRun({ engine, loadVad: async () => vad, options: { language: "en" }, chunking: { type: "auto" }, keepAudio });
}

describe("RunFeed", () => {
  it("holds the samples that come before the run opens and hands them over in order", async () => {
    const speech = await speechOfLength(40);
    const blocks = [0, 1, 2, 3].map((i) => speech.subarray(i * 10 * SAMPLE_RATE, (i + 1) * 10 * SAMPLE_RATE));
    const feed = new RunFeed();
    for (const block of blocks.slice(0, 3)) feed.push(block);
    const run = chunkedRun(true);
    feed.open(run);
    // The three held blocks went in at once, in order; what comes after goes straight in.
    expect(run.heldSamples).toBe(30 * SAMPLE_RATE);
    feed.push(blocks[3]!);
    expect(run.heldSamples).toBe(40 * SAMPLE_RATE);
    const result = await run.finish(speech);
    expect(result.duration).toBe(40);
    expect(result.segments.length).toBeGreaterThan(0);
    // A feed whose run never opens takes samples and lets them go.
    const orphan = new RunFeed();
    orphan.push(blocks[0]!);
    orphan.open(undefined);
    orphan.push(blocks[1]!);
  }, 120_000);

  it("reads a source that can wait only while the run's backlog is within its bound, and the run gets all of it", async () => {
    const seconds = 240;
    const blockSeconds = 2;
    const speech = await speechOfLength(seconds);
    const run = chunkedRun(false);
    const bound = feedBound(run);
    let read = 0;
    let worstVadBacklog = 0;
    let worstChunks = 0;
    async function* source() {
      for (let offset = 0; offset < speech.length; offset += blockSeconds * SAMPLE_RATE) {
        // What the run has not started on yet when the next block is read.
        worstVadBacklog = Math.max(worstVadBacklog, run.backlog.vadSamples);
        worstChunks = Math.max(worstChunks, run.backlog.chunks);
        read++;
        yield speech.slice(offset, offset + blockSeconds * SAMPLE_RATE);
      }
    }
    await new RunFeed(run).pull(source());
    const result = await run.finish();
    expect(read).toBe(seconds / blockSeconds);
    expect(worstVadBacklog).toBeLessThanOrEqual(bound.vadSamples);
    expect(worstChunks).toBeLessThanOrEqual(bound.chunks);
    expect(result.duration).toBe(seconds);
    expect(result.segments.length).toBeGreaterThan(0);
    // keepAudio false: the run never held the whole recording.
    expect(run.heldSamples).toBeLessThan(speech.length);
  }, 300_000);
});
