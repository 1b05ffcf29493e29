// Silero VAD's weights in whisper.cpp's ggml VAD format, converted from Silero's own 16 kHz ONNX model: the layout
// whisper.cpp's models/convert-silero-vad-to-ggml.py writes (header, hyperparameters, then each tensor with its
// shape reversed, the convolution and STFT weights as float16).

import type { OnnxTensor } from "./onnxInitializers.js";

const GGML_FILE_MAGIC = 0x67676d6c; // "ggml"
const GGML_TYPE_F32 = 0;
const GGML_TYPE_F16 = 1;
/** The model type whisper.cpp's loader reads first. */
const MODEL_TYPE = "silero-16k";
/** Samples per window and samples of context before it (Silero v5/v6 at 16 kHz). */
const WINDOW_SAMPLES = 512;
const CONTEXT_SAMPLES = 64;

interface TensorSpec {
  /** Name in the ONNX file (Silero's PyTorch module path). */
  onnx: string;
  /** Stored as float16 (as whisper.cpp's converter does). */
  f16: boolean;
  /** Drop dimensions of size 1 (the final 1x1 convolution is a vector in whisper.cpp, its bias a scalar). */
  squeeze?: boolean;
}

const ENCODER_LAYERS = 4;

const TENSORS: TensorSpec[] = [
  ...Array.from({ length: ENCODER_LAYERS }, (_, i): TensorSpec[] => [
    { onnx: `model.encoder.${i}.reparam_conv.weight`, f16: true },
    { onnx: `model.encoder.${i}.reparam_conv.bias`, f16: false },
  ]).flat(),
  { onnx: "model.decoder.rnn.weight_ih", f16: false },
  { onnx: "model.decoder.rnn.weight_hh", f16: false },
  { onnx: "model.decoder.rnn.bias_ih", f16: false },
  { onnx: "model.decoder.rnn.bias_hh", f16: false },
  { onnx: "model.decoder.decoder.2.weight", f16: true, squeeze: true },
  { onnx: "model.decoder.decoder.2.bias", f16: false, squeeze: true },
  { onnx: "model.stft.forward_basis_buffer", f16: true },
];

/** Silero's version, written into the header (whisper.cpp only logs it). */
export interface SileroVersion {
  major: number;
  minor: number;
  patch: number;
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** IEEE half precision of `value`, rounded to nearest even (as numpy's astype(float16)). */
export function toFloat16Bits(value: number): number {
  f32[0] = value;
  const x = u32[0] as number;
  const sign = (x >>> 16) & 0x8000;
  const exponent = (x >>> 23) & 0xff;
  let mantissa = x & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa !== 0 ? 0x200 : 0); // inf, nan
  const e = exponent - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00; // overflow
  if (e <= 0) {
    // subnormal half (or zero)
    if (e < -10) return sign;
    mantissa |= 0x800000;
    const shift = 14 - e;
    const half = mantissa >>> shift;
    const rest = mantissa & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    return sign | (rest > halfway || (rest === halfway && (half & 1) === 1) ? half + 1 : half);
  }
  let half = (e << 10) | (mantissa >>> 13);
  const rest = mantissa & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (half & 1) === 1)) half++; // may carry into the exponent: still correct
  return sign | half;
}

class ByteWriter {
  private chunks: Uint8Array[] = [];
  length = 0;

  int32(...values: number[]): void {
    const bytes = new Uint8Array(values.length * 4);
    const view = new DataView(bytes.buffer);
    values.forEach((v, i) => view.setInt32(i * 4, v, true));
    this.push(bytes);
  }

  push(bytes: Uint8Array): void {
    this.chunks.push(bytes);
    this.length += bytes.length;
  }

  toBytes(): Uint8Array {
    const out = new Uint8Array(this.length);
    let offset = 0;
    for (const chunk of this.chunks) {
      out.set(chunk, offset);
      offset += chunk.length;
    }
    return out;
  }
}

function tensorBytes(data: Float32Array, f16: boolean): Uint8Array {
  if (!f16) return new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
  const out = new Uint16Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = toFloat16Bits(data[i] as number);
  return new Uint8Array(out.buffer);
}

function required(tensors: Map<string, OnnxTensor>, name: string): OnnxTensor {
  const tensor = tensors.get(name);
  if (!tensor) throw new Error(`no tensor ${name}`);
  return tensor;
}

/**
 * The ggml VAD model whisper.cpp loads (`whisper_vad_init_with_params`), from the initializers of Silero's 16 kHz
 * ONNX model (`silero_vad_16k_op15.onnx`). Throws when a tensor is missing.
 */
export function sileroGgmlModel(tensors: Map<string, OnnxTensor>, version: SileroVersion): Uint8Array {
  const out = new ByteWriter();
  const header = new Uint8Array(4);
  new DataView(header.buffer).setUint32(0, GGML_FILE_MAGIC, true);
  out.push(header);
  const type = new TextEncoder().encode(MODEL_TYPE);
  out.int32(type.length);
  out.push(type);
  out.int32(version.major, version.minor, version.patch);
  out.int32(WINDOW_SAMPLES, CONTEXT_SAMPLES);

  // Hyperparameters: each encoder layer's (in channels, out channels, kernel), then the LSTM and final conv sizes.
  out.int32(ENCODER_LAYERS);
  for (let i = 0; i < ENCODER_LAYERS; i++) {
    const [outChannels, inChannels, kernel] = required(tensors, `model.encoder.${i}.reparam_conv.weight`).dims as [number, number, number];
    out.int32(inChannels, outChannels, kernel);
  }
  const [gates, lstmInput] = required(tensors, "model.decoder.rnn.weight_ih").dims as [number, number];
  const [, finalIn] = required(tensors, "model.decoder.decoder.2.weight").dims as [number, number];
  out.int32(lstmInput, gates / 4, finalIn, 1);

  for (const spec of TENSORS) {
    const tensor = required(tensors, spec.onnx);
    const dims = (spec.squeeze ? tensor.dims.filter((d) => d !== 1) : tensor.dims).slice().reverse();
    const name = new TextEncoder().encode(`_${spec.onnx}`);
    out.int32(dims.length, name.length, spec.f16 ? GGML_TYPE_F16 : GGML_TYPE_F32, ...dims);
    out.push(name);
    out.push(tensorBytes(tensor.data, spec.f16));
  }
  return out.toBytes();
}
