// The header of a ggml Parakeet TDT file, as whisper.cpp's parakeet_model_load reads it (all integers little-endian
// int32 unless noted; no alignment padding anywhere):
//
//   u32   magic 0x67676d6c ("ggml")
//   15 x  hparams in PARAKEET_HPARAM_ORDER (n_vocab, n_audio_ctx, n_audio_state, n_audio_head, n_audio_layer,
//         n_mels, ftype, n_fft, subsampling_factor, n_subsampling_channels, n_conv_kernel, n_pred_dim,
//         n_pred_layers, n_tdt_durations, n_max_tokens)
//   mel filters: n_mel, n_fb (= n_fft/2 + 1), then n_mel*n_fb f32 (row = one mel band)
//   window: n_window, then n_window f32
//   TDT durations: n_tdt_durations u32 (no count before them)
//   vocab: count, then per piece: u32 byte length + UTF-8 bytes
//
// Then the tensors, until EOF, each: n_dims, name length, ttype, ne[0..n_dims-1], name, raw data (ggmlFile.ts).

import { promises as fs } from "node:fs";

import { type ParakeetHparams, PARAKEET_HPARAM_ORDER } from "./hparams.js";

export const GGML_MAGIC = 0x67676d6c;

export interface ParakeetHeader {
  hparams: ParakeetHparams;
  /** [nMel][nFb] row-major. */
  melFilters: Float32Array;
  nFb: number;
  window: Float32Array;
  durations: number[];
  vocab: string[];
}

export function encodeParakeetHeader(header: ParakeetHeader): Buffer {
  const { hparams, melFilters, window, durations } = header;
  const vocab = header.vocab.map((piece) => Buffer.from(piece, "utf8"));
  if (melFilters.length !== hparams.nMels * header.nFb) throw new Error("mel filters are not nMels x nFb");
  if (durations.length !== hparams.nTdtDurations) throw new Error("durations do not match nTdtDurations");
  const size =
    4 + 4 * PARAKEET_HPARAM_ORDER.length + 8 + 4 * melFilters.length + 4 + 4 * window.length + 4 * durations.length + 4 +
    vocab.reduce((sum, piece) => sum + 4 + piece.length, 0);
  const out = Buffer.alloc(size);
  let o = out.writeUInt32LE(GGML_MAGIC, 0);
  for (const key of PARAKEET_HPARAM_ORDER) o = out.writeInt32LE(hparams[key], o);
  o = out.writeInt32LE(hparams.nMels, o);
  o = out.writeInt32LE(header.nFb, o);
  for (const value of melFilters) o = out.writeFloatLE(value, o);
  o = out.writeInt32LE(window.length, o);
  for (const value of window) o = out.writeFloatLE(value, o);
  for (const duration of durations) o = out.writeUInt32LE(duration, o);
  o = out.writeInt32LE(vocab.length, o);
  for (const piece of vocab) {
    o = out.writeUInt32LE(piece.length, o);
    o += piece.copy(out, o);
  }
  return out;
}

/** Reads a ggml Parakeet header from `data`; `headerBytes` is where the first tensor starts. */
export function decodeParakeetHeader(data: Buffer): ParakeetHeader & { headerBytes: number } {
  let o = 0;
  const need = (bytes: number): void => {
    if (o + bytes > data.length) throw new RangeError("truncated ggml Parakeet header");
  };
  const i32 = (): number => {
    need(4);
    const value = data.readInt32LE(o);
    o += 4;
    return value;
  };
  const f32s = (count: number): Float32Array => {
    need(4 * count);
    const out = new Float32Array(count);
    for (let i = 0; i < count; i++) out[i] = data.readFloatLE(o + 4 * i);
    o += 4 * count;
    return out;
  };
  if (i32() >>> 0 !== GGML_MAGIC) throw new RangeError("not a ggml file (bad magic)");
  const values = PARAKEET_HPARAM_ORDER.map(() => i32());
  const hparams = Object.fromEntries(PARAKEET_HPARAM_ORDER.map((key, i) => [key, values[i]!])) as unknown as ParakeetHparams;
  const nMel = i32();
  const nFb = i32();
  const melFilters = f32s(nMel * nFb);
  const window = f32s(i32());
  const durations = Array.from({ length: hparams.nTdtDurations }, () => i32() >>> 0);
  const count = i32();
  const vocab: string[] = [];
  for (let i = 0; i < count; i++) {
    const length = i32() >>> 0;
    need(length);
    vocab.push(data.toString("utf8", o, o + length));
    o += length;
  }
  return { hparams, melFilters, nFb, window, durations, vocab, headerBytes: o };
}

/** Bytes read for a header: a real 0.6B file's is about 220 kB (its filters and 8192 pieces). */
const MAX_HEADER_BYTES = 8 << 20;

/** The header of a ggml Parakeet file, read from its first MAX_HEADER_BYTES bytes. */
export async function readParakeetHeader(file: string): Promise<ParakeetHeader & { headerBytes: number }> {
  const handle = await fs.open(file, "r");
  try {
    const head = Buffer.alloc(MAX_HEADER_BYTES);
    const { bytesRead } = await handle.read(head, 0, head.length, 0);
    return decodeParakeetHeader(head.subarray(0, bytesRead));
  } finally {
    await handle.close();
  }
}
