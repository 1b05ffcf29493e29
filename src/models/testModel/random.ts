// Seeded weights: a xoshiro128** stream per tensor, and N(0, std²) samples drawn through
// quantile tables in the representation each tensor stores (f16 bits or f32 values).

import { float32ToHalfBits } from "./float16.js";
import { F16, type GgmlType } from "./ggmlFile.js";

// Seeded PRNG: xoshiro128** seeded through splitmix32, one independent stream per tensor.

function fnv1a32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

function splitmix32(state: { s: number }): number {
  state.s = (state.s + 0x9e3779b9) >>> 0;
  let z = state.s;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
  return (z ^ (z >>> 16)) >>> 0;
}

export class Xoshiro128 {
  private readonly s = new Uint32Array(4);

  constructor(seed: number, stream: string) {
    const mix = { s: (fnv1a32(stream) ^ Math.imul(seed >>> 0, 0x9e3779b1)) >>> 0 };
    const hi = Math.floor(seed / 0x1_0000_0000) >>> 0;
    for (let i = 0; i < 4; i++) this.s[i] = splitmix32(mix) ^ (i === 1 ? hi : 0);
    if ((this.s[0]! | this.s[1]! | this.s[2]! | this.s[3]!) === 0) this.s[0] = 1;
  }

  /** Fills `out` with uniform 32-bit values (the hot loop keeps the state in locals). */
  fill(out: Uint32Array): void {
    let s0 = this.s[0]!, s1 = this.s[1]!, s2 = this.s[2]!, s3 = this.s[3]!;
    for (let i = 0; i < out.length; i++) {
      const m = Math.imul(s1, 5);
      out[i] = Math.imul((m << 7) | (m >>> 25), 9);
      const t = s1 << 9;
      s2 ^= s0;
      s3 ^= s1;
      s1 ^= s2;
      s0 ^= s3;
      s2 ^= t;
      s3 = (s3 << 11) | (s3 >>> 21);
    }
    this.s[0] = s0; this.s[1] = s1; this.s[2] = s2; this.s[3] = s3;
  }
}

// ---------------------------------------------------------------------------------------------
// Normal samples through 16-bit quantile tables: one 32-bit draw gives two weights, each the
// N(0, std²) quantile of a uniform 16-bit index (precise to ~1e-4 of std, plenty for weights).

/** Acklam's rational approximation of the standard normal quantile (|error| < 1.2e-9). */
function normalQuantile(p: number): number {
  const a = [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1, 2.506628277459239] as const;
  const b = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1] as const;
  const c = [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783] as const;
  const d = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416] as const;
  const tail = (q: number): number =>
    (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  if (p < 0.02425) return tail(Math.sqrt(-2 * Math.log(p)));
  if (p > 1 - 0.02425) return -tail(Math.sqrt(-2 * Math.log(1 - p)));
  const q = p - 0.5;
  const r = q * q;
  return ((((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q) /
    (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
}

let unitNormalTable: Float64Array | undefined;
/** Quantile tables by element type and std ("1:0.02": f16 bits of N(0, 0.02²)). */
const normalTables = new Map<string, Uint16Array | Float32Array>();

function unitNormal(): Float64Array {
  if (!unitNormalTable) {
    unitNormalTable = new Float64Array(65536);
    for (let i = 0; i < 65536; i++) unitNormalTable[i] = normalQuantile((i + 0.5) / 65536);
  }
  return unitNormalTable;
}

/** The N(0, std²) quantile table as `type` stores it: f16 bits or f32 values. */
function normalTable(type: GgmlType, std: number): Uint16Array | Float32Array {
  const key = `${type}:${std}`;
  let table = normalTables.get(key);
  if (!table) {
    const unit = unitNormal();
    if (type === F16) {
      const half = new Uint16Array(65536);
      for (let i = 0; i < 65536; i++) half[i] = float32ToHalfBits(unit[i]! * std);
      table = half;
    } else {
      const float = new Float32Array(65536);
      for (let i = 0; i < 65536; i++) float[i] = unit[i]! * std;
      table = float;
    }
    normalTables.set(key, table);
  }
  return table;
}

/** Draws `out.length` samples of N(0, std²) in `type`'s representation (`out` must be of that type). */
export function fillNormal(rng: Xoshiro128, type: GgmlType, std: number, out: Uint16Array | Float32Array): void {
  const table = normalTable(type, std);
  const words = new Uint32Array(Math.ceil(out.length / 2));
  rng.fill(words);
  for (let i = 0, j = 0; i < out.length; i += 2, j++) {
    const w = words[j]!;
    out[i] = table[w & 0xffff]!;
    if (i + 1 < out.length) out[i + 1] = table[w >>> 16]!;
  }
}
