// Batch priority in the engine's slot pool: a live job goes ahead of every batch job waiting for a slot, batch work
// takes no place in the bounded queue and is never refused as overloaded. Real engine, generated model; the jobs use
// the encoder fitted to their audio so that each takes a fraction of a second.
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { EngineOverloadedError, TranscriptionAbortedError } from "../../src/engine/errors.js";
import type { WhisperEngine } from "../../src/engine/WhisperEngine.js";
import { loadTestEngine, speechOfLength } from "../support/engineFixtures.js";

let engine: WhisperEngine;
let pcm: Float32Array;
beforeAll(async () => {
  engine = await loadTestEngine({ parallelJobs: 1, threadsPerJob: 2, maxQueuedJobs: 1 });
  pcm = await speechOfLength(2);
});
afterAll(async () => {
  await engine?.close();
});

const quick = { language: "en", encoderContext: "fit" as const };

describe("engine priority", () => {
  it("starts a live job before every batch job that was waiting, in the order each queue was joined", async () => {
    const order: string[] = [];
    const job = (name: string, priority: "live" | "batch") =>
      engine.transcribe(pcm, quick, { priority }).then((result) => {
        order.push(name);
        return result;
      });
    const first = job("batch 1", "batch");
    const waiting = [job("batch 2", "batch"), job("batch 3", "batch"), job("batch 4", "batch")];
    await new Promise((resolve) => setImmediate(resolve));
    // Batch work waiting is not counted against the live queue's bound (1 here).
    expect(engine.stats()).toMatchObject({ running: 1, queued: 0, batchQueued: 3 });
    expect(engine.saturated).toBe(false);
    const live = job("live", "live");
    await new Promise((resolve) => setImmediate(resolve));
    expect(engine.stats()).toMatchObject({ running: 1, queued: 1, batchQueued: 3 });
    await Promise.all([first, ...waiting, live]);
    expect(order).toEqual(["batch 1", "live", "batch 2", "batch 3", "batch 4"]);
    expect(engine.stats()).toMatchObject({ running: 0, queued: 0, batchQueued: 0 });
  });

  it("never refuses batch work as overloaded, while live work beyond the queue's bound is refused", async () => {
    const running = engine.transcribe(pcm, quick);
    const queuedLive = engine.transcribe(pcm, quick);
    await new Promise((resolve) => setImmediate(resolve));
    expect(engine.saturated).toBe(true);
    await expect(engine.transcribe(pcm, quick)).rejects.toBeInstanceOf(EngineOverloadedError);
    const batches = Array.from({ length: 3 }, () => engine.transcribe(pcm, quick, { priority: "batch" }));
    await new Promise((resolve) => setImmediate(resolve));
    expect(engine.stats()).toMatchObject({ running: 1, queued: 1, batchQueued: 3 });
    const results = await Promise.all([running, queuedLive, ...batches]);
    for (const result of results) expect(result.text.length).toBeGreaterThan(0);
  });

  it("drops an aborted batch job from its queue", async () => {
    const running = engine.transcribe(pcm, quick);
    const controller = new AbortController();
    const batch = engine.transcribe(pcm, quick, { priority: "batch", signal: controller.signal });
    await new Promise((resolve) => setImmediate(resolve));
    expect(engine.stats().batchQueued).toBe(1);
    controller.abort();
    await expect(batch).rejects.toBeInstanceOf(TranscriptionAbortedError);
    expect(engine.stats().batchQueued).toBe(0);
    await running;
  });
});
