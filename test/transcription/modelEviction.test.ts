// The eviction policy (src/transcription/modelEviction.ts) on plain figures: least recently used first, no more than
// needed, never a model in use (held, with engine jobs, resident or still loading), and a refusal when the models in
// use leave no room; the idle sweep's choice. The memory estimate's Whisper state against whisper.cpp's own sizes.
import { describe, expect, it } from "vitest";

import { idleModels, isEvictable, planEviction, type ModelUse } from "../../src/transcription/modelEviction.js";
import { parakeetStateBytes, statesHeld, whisperStateBytes } from "../../src/transcription/modelMemory.js";

const MB = 1_048_576;
const model = (name: string, mb: number, lastUsedMs: number, use: Partial<ModelUse> = {}): ModelUse => ({
  name,
  bytes: mb * MB,
  holders: 0,
  engineJobs: 0,
  resident: false,
  loading: false,
  lastUsedMs,
  ...use,
});

describe("planEviction", () => {
  it("evicts nothing when the load fits as things are", () => {
    expect(planEviction([model("a", 100, 1)], 100 * MB, 200 * MB)).toEqual({ fits: true, evict: [] });
  });

  it("evicts the least recently used first, and no more than needed", () => {
    const models = [model("new", 100, 30), model("old", 100, 10), model("mid", 100, 20)];
    expect(planEviction(models, 100 * MB, 300 * MB)).toEqual({ fits: true, evict: ["old"] });
    expect(planEviction(models, 150 * MB, 300 * MB)).toEqual({ fits: true, evict: ["old", "mid"] });
  });

  it("never evicts a model that is held, has engine jobs, is resident or is loading", () => {
    const busy = [
      model("held", 100, 1, { holders: 1 }),
      model("jobs", 100, 2, { engineJobs: 1 }),
      model("resident", 100, 3, { resident: true }),
      model("loading", 100, 4, { loading: true }),
    ];
    for (const one of busy) expect(isEvictable(one)).toBe(false);
    const idle = model("idle", 100, 99);
    expect(planEviction([...busy, idle], 100 * MB, 500 * MB)).toEqual({ fits: true, evict: ["idle"] });
    expect(planEviction([...busy, idle], 150 * MB, 500 * MB)).toEqual({ fits: false, heldBytes: 400 * MB });
  });

  it("refuses a load that can never fit beside the models in use", () => {
    expect(planEviction([model("held", 300, 1, { holders: 2 })], 300 * MB, 500 * MB)).toEqual({ fits: false, heldBytes: 300 * MB });
  });
});

describe("idleModels", () => {
  it("names the evictable models idle for the idle time; none when it is 0", () => {
    const models = [model("stale", 10, 0), model("fresh", 10, 900), model("held", 10, 0, { holders: 1 }), model("resident", 10, 0, { resident: true })];
    expect(idleModels(models, 1000, 500)).toEqual(["stale"]);
    expect(idleModels(models, 1000, 0)).toEqual([]);
  });
});

describe("the memory estimate", () => {
  it("sizes a large-v3 state's caches as whisper.cpp reports them (kv self and cross 251.66 MB each)", () => {
    const largeV3 = { nVocab: 51866, nAudioCtx: 1500, nAudioState: 1280, nAudioHead: 20, nAudioLayer: 32, nTextCtx: 448, nTextState: 1280, nTextHead: 20, nTextLayer: 32, nMels: 128, ftype: 1 };
    const kv = 2 * 251.66e6;
    const state = whisperStateBytes(largeV3);
    // The caches, the encoder's pad and the compute buffers (at least 32 MiB).
    expect(state).toBeGreaterThan(kv + 32 * MB);
    expect(state).toBeLessThan(kv + 128 * MB);
  });

  it("is not below the states measured with the generated shapes (docs/model-loading.md)", () => {
    const whisper = (nAudioState: number, nTextLayer: number, nMels: number) =>
      whisperStateBytes({ nVocab: 51865, nAudioCtx: 1500, nAudioState, nAudioHead: 6, nAudioLayer: nTextLayer, nTextCtx: 448, nTextState: nAudioState, nTextHead: 6, nTextLayer, nMels, ftype: 1 });
    expect(whisper(384, 4, 80) / MB).toBeGreaterThanOrEqual(60);
    expect(whisper(512, 6, 80) / MB).toBeGreaterThanOrEqual(82);
    expect(parakeetStateBytes(128) / MB).toBeGreaterThanOrEqual(98);
    expect(parakeetStateBytes(1024) / MB).toBeGreaterThanOrEqual(409);
  });

  it("counts two states per shared slot", () => {
    expect(statesHeld({ parallelJobs: 2, threadsPerJob: 2 })).toBe(4);
    expect(statesHeld({ parallelJobs: 2, threadsPerJob: 2, slotSharing: false })).toBe(2);
    expect(statesHeld({ parallelJobs: 3, threadsPerJob: 1 })).toBe(3);
  });
});
