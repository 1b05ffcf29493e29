// DiarizationRun over the speaker models in their inference thread (onnxruntime-node, the generated models) on
// conversations the tests make themselves: three voices, streaming in small blocks, the event loop free, bounded
// holding, cancel, and a reference clip's embedding.
import { monitorEventLoopDelay } from "node:perf_hooks";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { DiarizationAbortedError, DiarizationRun, referenceEmbedding, SpeakerModels } from "../../src/diarization/index.js";
import { cosine } from "../../src/diarization/clustering.js";
import { SAMPLE_RATE } from "../../src/engine/sampleRate.js";
import { getSegmentationTestModelPath, getSpeakerEmbeddingTestModelPath } from "../../src/models/testModel/diarization/index.js";
import { alternatingTurns, makeConversation, type Conversation } from "../support/conversation.js";

let models: SpeakerModels;
let three: Conversation;

beforeAll(async () => {
  models = await SpeakerModels.load({ segmentation: await getSegmentationTestModelPath("tiny"), embedding: await getSpeakerEmbeddingTestModelPath("tiny") });
  three = await makeConversation(alternatingTurns(3, 6), 0.7);
}, 120_000);

afterAll(async () => {
  await models?.close();
});

/** The conversation `times` times over, end to end (the truth shifted with it). */
function repeated(conversation: Conversation, times: number): Conversation {
  const samples = new Float32Array(conversation.samples.length * times);
  const truth: Conversation["truth"] = [];
  const seconds = conversation.samples.length / SAMPLE_RATE;
  for (let i = 0; i < times; i++) {
    samples.set(conversation.samples, i * conversation.samples.length);
    for (const turn of conversation.truth) truth.push({ start: turn.start + i * seconds, end: turn.end + i * seconds, speaker: turn.speaker });
  }
  return { samples, truth };
}

describe("DiarizationRun", () => {
  it("three voices streamed in 0.1-s blocks: each turn found within 0.3 s, one speaker per voice, in order of appearance", async () => {
    const run = new DiarizationRun(models, { threshold: 0.5 });
    for (let at = 0; at < three.samples.length; at += SAMPLE_RATE / 10) run.push(three.samples.slice(at, at + SAMPLE_RATE / 10));
    const result = await run.finish();
    expect(result.speakers).toBe(3);
    expect(result.spans).toHaveLength(three.truth.length);
    result.spans.forEach((span, i) => {
      const truth = three.truth[i]!;
      expect(Math.abs(span.start - truth.start), `start of turn ${i}`).toBeLessThan(0.3);
      expect(Math.abs(span.end - truth.end), `end of turn ${i}`).toBeLessThan(0.3);
      expect(span.speaker).toBe(truth.speaker);
    });
    expect(result.duration).toBeCloseTo(three.samples.length / SAMPLE_RATE, 3);
  }, 60_000);

  it("one voice: one speaker", async () => {
    const alone = await makeConversation(alternatingTurns(1, 4));
    const run = new DiarizationRun(models, { threshold: 0.5 });
    run.push(alone.samples);
    const result = await run.finish();
    expect(result.speakers).toBe(1);
    expect(new Set(result.spans.map((span) => span.speaker))).toEqual(new Set([0]));
  }, 60_000);

  it("ten minutes: the event loop is never held long, and what the run holds stays bounded while it streams", async () => {
    const long = repeated(three, Math.ceil(600 / (three.samples.length / SAMPLE_RATE)));
    const delay = monitorEventLoopDelay({ resolution: 5 });
    delay.enable();
    const run = new DiarizationRun(models, { threshold: 0.5 });
    let mostHeld = 0;
    const block = SAMPLE_RATE;
    for (let at = 0; at < long.samples.length; at += block) {
      run.push(long.samples.slice(at, at + block));
      await run.whenBacklogWithin(20 * SAMPLE_RATE);
      mostHeld = Math.max(mostHeld, run.heldSamples);
    }
    const result = await run.finish();
    delay.disable();
    expect(result.speakers).toBe(3);
    expect(result.spans.length).toBeGreaterThanOrEqual(long.truth.length * 0.95);
    // Windows of 10 s, open pieces of at most 10 s, the backlog asked for: well under a minute of audio.
    expect(mostHeld / SAMPLE_RATE).toBeLessThan(60);
    expect(delay.max / 1e6, "longest event-loop stall, ms").toBeLessThan(150);
  }, 240_000);

  it("cancel stops a run (DiarizationAbortedError) and the models go on serving others", async () => {
    const long = repeated(three, 10);
    const run = new DiarizationRun(models, { threshold: 0.5 });
    run.push(long.samples);
    run.cancel();
    await expect(run.finish()).rejects.toBeInstanceOf(DiarizationAbortedError);
    const stop = new AbortController();
    const aborted = new DiarizationRun(models, { threshold: 0.5, signal: stop.signal });
    aborted.push(long.samples);
    setTimeout(() => stop.abort(), 50);
    await expect(aborted.finish()).rejects.toBeInstanceOf(DiarizationAbortedError);
    const after = new DiarizationRun(models, { threshold: 0.5 });
    after.push(three.samples);
    expect((await after.finish()).speakers).toBe(3);
  }, 120_000);

  it("a reference clip cut from the recording has the embedding of that voice; silence has none", async () => {
    const run = new DiarizationRun(models, { threshold: 0.5 });
    run.push(three.samples);
    const result = await run.finish();
    const turn = three.truth[2]!;
    const clip = three.samples.slice(Math.round(turn.start * SAMPLE_RATE), Math.round(turn.end * SAMPLE_RATE));
    const embedding = (await referenceEmbedding(models, clip))!;
    const similarities = result.centroids.map((centroid) => cosine(centroid!, embedding));
    expect(similarities.indexOf(Math.max(...similarities))).toBe(turn.speaker);
    expect(await referenceEmbedding(models, new Float32Array(3 * SAMPLE_RATE))).toBeUndefined();
  }, 60_000);
});
