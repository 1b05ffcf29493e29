// The alignment heads DTW reads: the preset of each released model found from the file's shape alone, every head of
// the upper layers for other shapes, and the operator's own choice, checked against the model.
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";

import { describe, expect, it } from "vitest";

import { ALIGNMENT_PRESETS, alignmentHeadsFor, presetForShape, readModelHparams } from "../../src/engine/alignmentHeads.js";
import type { WhisperHparams } from "../../src/engine/nativeTypes.js";
import { MODEL_CATALOG } from "../../src/models/catalog.js";
import { HPARAM_ORDER } from "../../src/models/testModel/ggmlFile.js";

/** The shapes of the released models (openai/whisper's ModelDimensions). */
function shape(textLayers: number, textState: number, textHeads: number, extra: Partial<WhisperHparams> = {}): WhisperHparams {
  return {
    nVocab: 51865, nAudioCtx: 1500, nAudioState: textState, nAudioHead: textHeads, nAudioLayer: textLayers,
    nTextCtx: 448, nTextState: textState, nTextHead: textHeads, nTextLayer: textLayers, nMels: 80, ftype: 1, ...extra,
  };
}

const TINY = shape(4, 384, 6);
const LARGE_V2 = shape(32, 1280, 20);

describe("presets from the model's shape", () => {
  it("knows every released model, English-only ones by their vocabulary", () => {
    expect(presetForShape(TINY)).toBe("tiny");
    expect(presetForShape({ ...TINY, nVocab: 51864 })).toBe("tiny.en");
    expect(presetForShape(shape(6, 512, 8))).toBe("base");
    expect(presetForShape(shape(12, 768, 12, { nVocab: 51864 }))).toBe("small.en");
    expect(presetForShape(shape(24, 1024, 16))).toBe("medium");
    expect(presetForShape(LARGE_V2)).toBe("large-v2");
    expect(presetForShape(LARGE_V2, "ggml-large-v1.bin")).toBe("large-v1");
    expect(presetForShape({ ...LARGE_V2, nMels: 128, nVocab: 51866 })).toBe("large-v3");
    expect(presetForShape({ ...LARGE_V2, nTextLayer: 4, nMels: 128, nVocab: 51866 })).toBe("large-v3-turbo");
  });

  it("has the catalog name each model's preset, quantized ones their original's", () => {
    for (const entry of MODEL_CATALOG) {
      if (entry.engine === "whisper") expect(ALIGNMENT_PRESETS).toContain(entry.alignmentHeads);
      else expect(entry.alignmentHeads).toBeUndefined(); // Parakeet's word times come from TDT frames, not DTW heads
    }
    expect(MODEL_CATALOG.find((e) => e.name === "large-v3-turbo-q5_0")?.alignmentHeads).toBe("large-v3-turbo");
    expect(MODEL_CATALOG.find((e) => e.name === "large-v1")?.alignmentHeads).toBe("large-v1");
    expect(MODEL_CATALOG.find((e) => e.name === "small.en-q8_0")?.alignmentHeads).toBe("small.en");
  });

  it("gives other shapes (a distilled model) every head of their upper text layers", () => {
    const distil = { ...LARGE_V2, nTextLayer: 2, nMels: 128, nVocab: 51866 };
    expect(presetForShape(distil)).toBeUndefined();
    expect(alignmentHeadsFor("auto", distil)).toEqual({ preset: "top", nTop: 1, count: 20 });
  });
});

describe("the operator's setting", () => {
  it("takes auto, a preset, top:N and layer:head pairs", () => {
    expect(alignmentHeadsFor("auto", TINY)).toEqual({ preset: "tiny", count: 6 });
    expect(alignmentHeadsFor("Large-V3-Turbo", TINY)).toEqual({ preset: "large-v3-turbo", count: 6 });
    expect(alignmentHeadsFor("top:2", TINY)).toEqual({ preset: "top", nTop: 2, count: 12 });
    expect(alignmentHeadsFor("2:2, 3:0", TINY)).toEqual({ preset: "custom", heads: [2, 2, 3, 0], count: 2 });
  });

  it("refuses heads the model does not have, and anything else, saying what it takes", () => {
    expect(() => alignmentHeadsFor("top:5", TINY)).toThrow(/4 text layers/);
    expect(() => alignmentHeadsFor("4:0", TINY)).toThrow(/outside the model's 4 text layers of 6 heads/);
    expect(() => alignmentHeadsFor("3:6", TINY)).toThrow(/outside/);
    expect(() => alignmentHeadsFor("large", TINY)).toThrow(/expected auto, a preset/);
  });
});

describe("reading the shape", () => {
  it("reads the hparams from a ggml file's first bytes and refuses other files", async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), "earshot-heads-"));
    try {
      const header = Buffer.alloc(4 + 4 * HPARAM_ORDER.length + 100);
      header.writeUInt32LE(0x67676d6c, 0);
      HPARAM_ORDER.forEach((key, i) => header.writeInt32LE(TINY[key], 4 + 4 * i));
      await fs.writeFile(path.join(dir, "model.bin"), header);
      expect(await readModelHparams(path.join(dir, "model.bin"))).toEqual(TINY);
      await fs.writeFile(path.join(dir, "other.bin"), Buffer.from("RIFF....WAVEfmt ".repeat(8)));
      await expect(readModelHparams(path.join(dir, "other.bin"))).rejects.toThrow(/not a ggml whisper model/);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});
