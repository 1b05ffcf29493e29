// Which cross-attention heads DTW word alignment reads. Each released Whisper model has a set of heads whose
// attention follows the audio closely (openai/whisper's `_ALIGNMENT_HEADS`; whisper.cpp ships them as presets). The
// preset is chosen from the model file's own shape, so a renamed or quantized file still gets its model's heads;
// a model of another shape (a fine-tune with other layer counts, a distilled model) gets every head of its upper
// text layers, as whisper.cpp's N_TOP_MOST does. An operator can name a preset or list heads instead.
import { open } from "node:fs/promises";

import type { NativeAlignmentHeads, NativeAlignmentPreset, WhisperHparams } from "./nativeTypes.js";

/** The presets, in whisper.cpp's names. */
export const ALIGNMENT_PRESETS: readonly NativeAlignmentPreset[] = [
  "tiny.en", "tiny", "base.en", "base", "small.en", "small", "medium.en", "medium",
  "large-v1", "large-v2", "large-v3", "large-v3-turbo",
];

/** How many heads each preset holds (whisper.cpp's g_aheads). */
const PRESET_HEADS: Readonly<Record<NativeAlignmentPreset, number>> = {
  "tiny.en": 8, tiny: 6, "base.en": 5, base: 8, "small.en": 19, small: 10, "medium.en": 18, medium: 6,
  "large-v1": 9, "large-v2": 23, "large-v3": 10, "large-v3-turbo": 6,
};

/** English-only models have one token fewer (no language tokens beyond English): 51864 against 51865+. */
const ENGLISH_ONLY_VOCAB = 51864;

/** Text layers and width of each released size. */
const SIZES: ReadonlyArray<{ name: "tiny" | "base" | "small" | "medium"; textLayers: number; textState: number }> = [
  { name: "tiny", textLayers: 4, textState: 384 },
  { name: "base", textLayers: 6, textState: 512 },
  { name: "small", textLayers: 12, textState: 768 },
  { name: "medium", textLayers: 24, textState: 1024 },
];

/**
 * The preset of a released model of this shape, or undefined for any other shape. large-v1 and large-v2 share
 * theirs: `fileName` containing "v1" tells them apart (large-v2 otherwise).
 */
export function presetForShape(hparams: WhisperHparams, fileName = ""): NativeAlignmentPreset | undefined {
  const english = hparams.nVocab === ENGLISH_ONLY_VOCAB;
  const size = SIZES.find((s) => s.textLayers === hparams.nTextLayer && s.textState === hparams.nTextState && hparams.nAudioLayer === s.textLayers);
  if (size) return english ? `${size.name}.en` : size.name;
  if (hparams.nTextState !== 1280 || english || hparams.nAudioLayer !== 32) return undefined;
  if (hparams.nTextLayer === 4 && hparams.nMels === 128) return "large-v3-turbo";
  if (hparams.nTextLayer !== 32) return undefined;
  if (hparams.nMels === 128) return "large-v3";
  return /v1(?![0-9])/i.test(fileName) ? "large-v1" : "large-v2";
}

/** Every head of the upper half of the text layers: for models no preset fits. */
export function topLayerHeads(hparams: WhisperHparams): NativeAlignmentHeads {
  const nTop = Math.max(1, Math.ceil(hparams.nTextLayer / 2));
  return { preset: "top", nTop, count: nTop * hparams.nTextHead };
}

/**
 * The heads for a model from the operator's setting: "auto" (the preset of the model's shape, else
 * {@link topLayerHeads}), a preset name, "top:N" (every head of the N last text layers) or "layer:head" pairs joined
 * by commas. Throws a RangeError naming what does not fit the model.
 */
export function alignmentHeadsFor(setting: string, hparams: WhisperHparams, fileName = ""): NativeAlignmentHeads {
  const spec = setting.trim().toLowerCase();
  if (spec === "" || spec === "auto") {
    const preset = presetForShape(hparams, fileName);
    return preset ? { preset, count: PRESET_HEADS[preset] } : topLayerHeads(hparams);
  }
  const preset = ALIGNMENT_PRESETS.find((name) => name === spec);
  if (preset) return { preset, count: PRESET_HEADS[preset] };
  const top = /^top:(\d+)$/.exec(spec);
  if (top) {
    const nTop = Number(top[1]);
    if (nTop < 1 || nTop > hparams.nTextLayer) throw new RangeError(`alignment heads "${setting}": the model has ${hparams.nTextLayer} text layers`);
    return { preset: "top", nTop, count: nTop * hparams.nTextHead };
  }
  const heads: number[] = [];
  for (const pair of spec.split(",")) {
    const match = /^\s*(\d+):(\d+)\s*$/.exec(pair);
    if (!match) throw new RangeError(`alignment heads "${setting}": expected auto, a preset (${ALIGNMENT_PRESETS.join(", ")}), top:N or layer:head pairs`);
    const layer = Number(match[1]);
    const head = Number(match[2]);
    if (layer >= hparams.nTextLayer || head >= hparams.nTextHead) {
      throw new RangeError(`alignment heads "${setting}": ${layer}:${head} is outside the model's ${hparams.nTextLayer} text layers of ${hparams.nTextHead} heads`);
    }
    heads.push(layer, head);
  }
  return { preset: "custom", heads, count: heads.length / 2 };
}

/** The magic that opens a legacy ggml whisper file ("ggml"). */
const GGML_MAGIC = 0x67676d6c;

/** The hparams of a ggml whisper file, read from its first 48 bytes (the weights are not read). */
export async function readModelHparams(path: string): Promise<WhisperHparams> {
  const file = await open(path, "r");
  try {
    const head = Buffer.alloc(48);
    const { bytesRead } = await file.read(head, 0, head.length, 0);
    if (bytesRead < head.length || head.readUInt32LE(0) !== GGML_MAGIC) throw new RangeError(`${path} is not a ggml whisper model`);
    const at = (index: number) => head.readInt32LE(4 + 4 * index);
    return {
      nVocab: at(0), nAudioCtx: at(1), nAudioState: at(2), nAudioHead: at(3), nAudioLayer: at(4),
      nTextCtx: at(5), nTextState: at(6), nTextHead: at(7), nTextLayer: at(8), nMels: at(9), ftype: at(10),
    };
  } finally {
    await file.close();
  }
}
