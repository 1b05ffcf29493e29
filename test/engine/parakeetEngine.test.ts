// ParakeetEngine on the real addon with the generated tiny Parakeet model: a long input decoded in blocks streams its
// segments as each block is done (the very segments of the result), an abort stops a running job, jobs share the
// weights on their own states side by side, and a full queue refuses with the engine's overload error.
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import type { TranscriptionEngine } from "../../src/engine/engine.js";
import { EngineOverloadedError, TranscriptionAbortedError } from "../../src/engine/errors.js";
import { loadEngine } from "../../src/engine/loadEngine.js";
import type { Segment } from "../../src/engine/types.js";
import { getParakeetTestModelPath } from "../../src/models/testModel/parakeet/index.js";
import { speechOfLength } from "../support/engineFixtures.js";

let engine: TranscriptionEngine;
let long: Float32Array;

beforeAll(async () => {
  engine = await loadEngine(await getParakeetTestModelPath("tiny"), { threadsPerJob: 1, parallelJobs: 2, maxQueuedJobs: 1 });
  long = await speechOfLength(150);
});
afterAll(async () => {
  await engine?.close();
});

describe("ParakeetEngine", () => {
  it("is a Parakeet engine: one job per slot (no slot sharing), its model's shape", () => {
    expect(engine.info).toMatchObject({ kind: "parakeet", parallelJobs: 2, slotSharing: false, model: { multilingual: false } });
    expect(engine.sharesSlots).toBe(false);
  });

  it("streams a long input's segments block by block, before the job ends: the result's segments, in order", async () => {
    const streamed: Array<{ segment: Segment; progress: number }> = [];
    let progress = 0;
    const result = await engine.transcribe(long, { wordTimestamps: true }, {
      onProgress: (percent) => (progress = percent),
      onSegment: (segment) => streamed.push({ segment, progress }),
    });
    expect(result.timings.windows).toBe(3);
    expect(result.duration).toBeCloseTo(150, 3);
    expect(streamed.map((s) => s.segment)).toEqual(result.segments);
    // The first segments came while blocks were still to decode.
    expect(streamed[0]!.progress).toBeLessThan(100);
    expect(result.segments.at(-1)!.end).toBeGreaterThan(140);
    // Times run on across the blocks: ordered, none past the end.
    for (let i = 1; i < result.segments.length; i++) expect(result.segments[i]!.start).toBeGreaterThanOrEqual(result.segments[i - 1]!.start);
  });

  it("an abort stops a running job with TranscriptionAbortedError; the engine goes on", async () => {
    const controller = new AbortController();
    const job = engine.transcribe(long, {}, { signal: controller.signal, onProgress: () => controller.abort() });
    await expect(job).rejects.toBeInstanceOf(TranscriptionAbortedError);
    const after = await engine.transcribe(long.subarray(0, 5 * 16_000));
    expect(after.text.length).toBeGreaterThan(0);
  });

  it("runs two jobs side by side on their own states with the same result as alone, and refuses beyond the queue", async () => {
    const clip = long.subarray(0, 20 * 16_000);
    const alone = await engine.transcribe(clip);
    const running = [engine.transcribe(clip), engine.transcribe(clip), engine.transcribe(clip)];
    await expect(engine.transcribe(clip)).rejects.toBeInstanceOf(EngineOverloadedError);
    const results = await Promise.all(running);
    for (const result of results) expect(result.text).toBe(alone.text);
    expect(engine.stats()).toMatchObject({ running: 0, queued: 0 });
  });
});
