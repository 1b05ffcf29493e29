// The legacy ggml whisper file, as whisper.cpp's whisper_model_load reads it: the header
// (magic, hparams, mel filters, vocab) written and read back, and each tensor's entry header.
//
// ## File format (all integers little-endian int32 unless noted; see whisper_model_load)
//
//   u32   magic 0x67676d6c ("ggml")
//   11 x  hparams: n_vocab, n_audio_ctx, n_audio_state, n_audio_head, n_audio_layer,
//         n_text_ctx, n_text_state, n_text_head, n_text_layer, n_mels, ftype (1 = mostly f16)
//   mel filters: n_mel, n_fft (= 201 frequency bins), then n_mel*n_fft f32 (row = one mel band)
//   vocab: count, then per token: u32 byte length + raw bytes (no terminator).
//         Real files store 50257 tokens; the loader derives the special tokens (eot, sot,
//         languages, task tokens, timestamps) from hparams.n_vocab and names the missing ones.
//   tensors, until EOF, each: n_dims, name length, ttype (0 = f32, 1 = f16),
//         ne[0..n_dims-1] (ne[0] = innermost/contiguous dimension), name bytes, raw data.
//         No alignment padding anywhere.

import { promises as fs } from "node:fs";

import type { WhisperHparams } from "../../engine/nativeTypes.js";

export type GgmlType = 0 | 1; // GGML_TYPE_F32, GGML_TYPE_F16

export const F32: GgmlType = 0;
export const F16: GgmlType = 1;

/** The hparams in the order the file stores them. */
export const HPARAM_ORDER: readonly (keyof WhisperHparams)[] = [
  "nVocab", "nAudioCtx", "nAudioState", "nAudioHead", "nAudioLayer",
  "nTextCtx", "nTextState", "nTextHead", "nTextLayer", "nMels", "ftype",
];

/** Magic, hparams, mel filters (n_mel = hparams.nMels rows of `nFftBins`) and vocab. */
export function encodeHeader(hparams: WhisperHparams, mel: Float32Array, nFftBins: number, vocab: readonly Buffer[]): Buffer {
  const vocabBytes = vocab.reduce((sum, t) => sum + 4 + t.length, 0);
  const out = Buffer.alloc(4 + 4 * HPARAM_ORDER.length + 8 + mel.length * 4 + 4 + vocabBytes);
  let o = out.writeUInt32LE(0x67676d6c, 0);
  for (const key of HPARAM_ORDER) o = out.writeInt32LE(hparams[key], o);
  o = out.writeInt32LE(hparams.nMels, o);
  o = out.writeInt32LE(nFftBins, o);
  for (let i = 0; i < mel.length; i++) o = out.writeFloatLE(mel[i]!, o);
  o = out.writeInt32LE(vocab.length, o);
  for (const token of vocab) {
    o = out.writeUInt32LE(token.length, o);
    o += token.copy(out, o);
  }
  return out;
}

interface ParsedHeader {
  /** Magic through the end of the vocabulary, verbatim. */
  bytes: Buffer;
  hparams: WhisperHparams;
  vocab: Buffer[];
}

/** Reads magic, hparams, mel filters and vocab of a ggml whisper file (weights, if any, are ignored). */
export async function readWhisperHeader(file: string): Promise<ParsedHeader> {
  const data = await fs.readFile(file);
  let o = 0;
  const i32 = (): number => {
    if (o + 4 > data.length) throw new Error(`${file}: truncated ggml header`);
    const v = data.readInt32LE(o);
    o += 4;
    return v;
  };
  if (data.length < 4 || data.readUInt32LE(0) !== 0x67676d6c) throw new Error(`${file}: not a ggml whisper file (bad magic)`);
  o = 4;
  const values = HPARAM_ORDER.map(() => i32());
  const hparams = Object.fromEntries(HPARAM_ORDER.map((k, i) => [k, values[i]!])) as unknown as WhisperHparams;
  const nMel = i32();
  const nFft = i32();
  o += nMel * nFft * 4;
  const count = i32();
  const vocab: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const len = i32();
    if (o + len > data.length) throw new Error(`${file}: truncated vocabulary`);
    vocab.push(Buffer.from(data.subarray(o, o + len)));
    o += len;
  }
  return { bytes: Buffer.from(data.subarray(0, o)), hparams, vocab };
}

/** What a tensor's entry header says about it. */
export interface GgmlTensor {
  name: string;
  /** ggml order: ne[0] is the contiguous dimension. */
  ne: number[];
  type: GgmlType;
}

/** The entry header that precedes a tensor's data: n_dims, name length, ttype, ne[], name. */
export function tensorHeader(spec: GgmlTensor): Buffer {
  const name = Buffer.from(spec.name, "utf8");
  const out = Buffer.alloc(12 + 4 * spec.ne.length + name.length);
  let o = out.writeInt32LE(spec.ne.length, 0);
  o = out.writeInt32LE(name.length, o);
  o = out.writeInt32LE(spec.type, o);
  for (const n of spec.ne) o = out.writeInt32LE(n, o);
  name.copy(out, o);
  return out;
}
