// The numbers of each shape: the real checkpoints' hyper-parameters, and the special token ids
// whisper.cpp derives from their vocabulary size.

import type { WhisperHparams } from "../../engine/nativeTypes.js";

export type TestModelShape = "tiny" | "tiny.en" | "base" | "base.en" | "large-v3-turbo";

export type { WhisperHparams };

/** Hyper-parameters of the real OpenAI checkpoints of each shape. */
export function testModelHparams(shape: TestModelShape): WhisperHparams {
  if (shape === "large-v3-turbo") {
    // large-v3's encoder and 128 mels, 100 languages (one more vocabulary entry), 4 decoder layers
    return { nVocab: 51866, nAudioCtx: 1500, nAudioState: 1280, nAudioHead: 20, nAudioLayer: 32, nTextCtx: 448, nTextState: 1280, nTextHead: 20, nTextLayer: 4, nMels: 128, ftype: 1 };
  }
  const english = shape.endsWith(".en");
  const base = shape.startsWith("base");
  const state = base ? 512 : 384;
  const heads = base ? 8 : 6;
  const layers = base ? 6 : 4;
  return {
    nVocab: english ? 51864 : 51865,
    nAudioCtx: 1500,
    nAudioState: state,
    nAudioHead: heads,
    nAudioLayer: layers,
    nTextCtx: 448,
    nTextState: state,
    nTextHead: heads,
    nTextLayer: layers,
    nMels: 80,
    ftype: 1,
  };
}

export interface WhisperSpecialTokens {
  eot: number;
  sot: number;
  /** <|en|> on multilingual vocabularies, undefined on .en ones. */
  langEn: number | undefined;
  translate: number;
  transcribe: number;
  solm: number;
  prev: number;
  nosp: number;
  not: number;
  /** <|0.00|>; timestamp k*0.02 s is beg + k. */
  beg: number;
}

/** Special token ids exactly as whisper.cpp derives them from n_vocab (whisper_vocab). */
export function whisperSpecialTokens(nVocab: number): WhisperSpecialTokens {
  const multilingual = nVocab >= 51865;
  const numLanguages = nVocab - 51765 - (multilingual ? 1 : 0);
  const shift = multilingual ? 1 : 0;
  const dt = multilingual ? numLanguages - 98 : 0;
  // eot/sot move up by one on multilingual vocabularies; the others by (languages - 98)
  return {
    eot: 50256 + shift,
    sot: 50257 + shift,
    langEn: multilingual ? 50257 + shift + 1 : undefined,
    translate: 50357 + dt,
    transcribe: 50358 + dt,
    solm: 50359 + dt,
    prev: 50360 + dt,
    nosp: 50361 + dt,
    not: 50362 + dt,
    beg: 50363 + dt,
  };
}
