// Each tensor's values, as its TensorSpec's init says: seeded normal, constant, or sinusoids.

import { float32ToHalfBits } from "./float16.js";
import { F16, type GgmlType } from "./ggmlFile.js";
import { fillNormal, Xoshiro128 } from "./random.js";
import { type TensorSpec, tensorElements } from "./tensors.js";

const CHUNK_ELEMENTS = 1 << 20;

/** whisper's sinusoidal encoder positional embedding: per position, [sin(t*f_i)..., cos(t*f_i)...]. */
function sinusoids(length: number, channels: number): Float32Array {
  const half = channels / 2;
  const increment = Math.log(10000) / (half - 1);
  const out = new Float32Array(length * channels);
  for (let t = 0; t < length; t++) {
    for (let i = 0; i < half; i++) {
      const angle = t * Math.exp(-increment * i);
      out[t * channels + i] = Math.sin(angle);
      out[t * channels + half + i] = Math.cos(angle);
    }
  }
  return out;
}

/** Generates a tensor's default values in whole-row chunks (rows of ne[0] elements). */
export function* tensorChunks(spec: TensorSpec, seed: number): Generator<Uint16Array | Float32Array> {
  const total = tensorElements(spec);
  const rowLen = spec.ne[0]!;
  if (spec.init.kind === "sinusoids") {
    yield sinusoids(total / rowLen, rowLen);
    return;
  }
  if (spec.init.kind === "const") {
    const value = spec.init.value;
    if (spec.type === F16) yield new Uint16Array(total).fill(float32ToHalfBits(value));
    else yield new Float32Array(total).fill(value);
    return;
  }
  const rng = new Xoshiro128(seed, spec.name);
  const rowsPerChunk = Math.max(1, Math.floor(CHUNK_ELEMENTS / rowLen));
  for (let start = 0; start < total; start += rowsPerChunk * rowLen) {
    const n = Math.min(rowsPerChunk * rowLen, total - start);
    const chunk = spec.type === F16 ? new Uint16Array(n) : new Float32Array(n);
    fillNormal(rng, spec.type, spec.init.std, chunk);
    yield chunk;
  }
}

export function collect(chunks: Iterable<Uint16Array | Float32Array>, total: number, type: GgmlType): Uint16Array | Float32Array {
  const out = type === F16 ? new Uint16Array(total) : new Float32Array(total);
  let o = 0;
  for (const chunk of chunks) {
    out.set(chunk, o);
    o += chunk.length;
  }
  return out;
}
