// ITU-T G.711 μ-law (PCMU) and A-law (PCMA): 8-bit companded codes to and from 16-bit linear PCM.
//
// Decoding is by 256-entry tables built once, with the standard's reconstruction values scaled to 16 bits (the
// classic Sun/CCITT g711.c formulas, which ffmpeg's pcm_mulaw/pcm_alaw decoders use too): μ-law spans ±32124,
// A-law ±32256. Encoding picks the code with the nearest reconstruction value (from the top 14 bits), exactly as
// ffmpeg's encoders do; it is for tests and generating input, the server only decodes.

/** μ-law bias (0x84 = 132, in 16-bit units). */
const ULAW_BIAS = 0x84;

function ulawToLinear(code: number): number {
  const u = ~code & 0xff;
  const magnitude = ((((u & 0x0f) << 3) + ULAW_BIAS) << ((u & 0x70) >> 4)) - ULAW_BIAS;
  return u & 0x80 ? -magnitude : magnitude;
}

function alawToLinear(code: number): number {
  const a = code ^ 0x55;
  const mantissa = a & 0x0f;
  const segment = (a & 0x70) >> 4;
  const magnitude = segment === 0 ? (mantissa * 2 + 1) << 3 : (mantissa * 2 + 1 + 32) << (segment + 2);
  // In A-law the sign bit set means positive.
  return a & 0x80 ? magnitude : -magnitude;
}

function buildTable(decode: (code: number) => number): Int16Array {
  const table = new Int16Array(256);
  for (let code = 0; code < 256; code++) table[code] = decode(code);
  return table;
}

/** 16-bit linear value of every μ-law code (index = code byte). */
export const ULAW_TO_LINEAR: Readonly<Int16Array> = buildTable(ulawToLinear);
/** 16-bit linear value of every A-law code (index = code byte). */
export const ALAW_TO_LINEAR: Readonly<Int16Array> = buildTable(alawToLinear);

const ULAW_TO_FLOAT = Float32Array.from(ULAW_TO_LINEAR, (v) => v / 32768);
const ALAW_TO_FLOAT = Float32Array.from(ALAW_TO_LINEAR, (v) => v / 32768);

function decodeWith(table: Readonly<Int16Array> | Float32Array, codes: Uint8Array, out: Int16Array | Float32Array): void {
  for (let i = 0; i < codes.length; i++) out[i] = table[codes[i] ?? 0] ?? 0;
}

/** μ-law codes to 16-bit linear PCM. */
export function decodeUlaw(codes: Uint8Array): Int16Array {
  const out = new Int16Array(codes.length);
  decodeWith(ULAW_TO_LINEAR, codes, out);
  return out;
}

/** A-law codes to 16-bit linear PCM. */
export function decodeAlaw(codes: Uint8Array): Int16Array {
  const out = new Int16Array(codes.length);
  decodeWith(ALAW_TO_LINEAR, codes, out);
  return out;
}

/** μ-law codes straight to floats in [-1, 1] (`linear / 32768`, identical to decodeUlaw + pcm16ToFloat32). */
export function decodeUlawToFloat32(codes: Uint8Array): Float32Array {
  const out = new Float32Array(codes.length);
  decodeWith(ULAW_TO_FLOAT, codes, out);
  return out;
}

/** A-law codes straight to floats in [-1, 1] (`linear / 32768`, identical to decodeAlaw + pcm16ToFloat32). */
export function decodeAlawToFloat32(codes: Uint8Array): Float32Array {
  const out = new Float32Array(codes.length);
  decodeWith(ALAW_TO_FLOAT, codes, out);
  return out;
}

/**
 * Encoder table over the top 14 bits of a 16-bit sample (index `(sample + 32768) >> 2`): each entry is the code
 * whose reconstruction value is nearest, the decision thresholds being the midpoints between adjacent
 * reconstruction values. `positiveMask` is the code of the smallest positive magnitude (μ-law 0xff, A-law 0xd5);
 * codes of increasing magnitude are `k ^ positiveMask`, and their negatives have the sign bit flipped.
 * This quantizes exactly as ffmpeg's pcm_mulaw / pcm_alaw encoders do.
 */
function buildEncoderTable(decoded: Readonly<Int16Array>, positiveMask: number): Uint8Array {
  const ZERO = 8192;
  const table = new Uint8Array(2 * ZERO);
  const negativeMask = positiveMask ^ 0x80;
  table[ZERO] = positiveMask;
  let offset = 1;
  for (let k = 0; k < 127; k++) {
    const here = decoded[k ^ positiveMask] ?? 0;
    const next = decoded[(k + 1) ^ positiveMask] ?? 0;
    const threshold = (here + next + 4) >> 3; // midpoint, in the table's 4-LSB units, rounded
    for (; offset < threshold; offset++) {
      table[ZERO - offset] = k ^ negativeMask;
      table[ZERO + offset] = k ^ positiveMask;
    }
  }
  for (; offset < ZERO; offset++) {
    table[ZERO - offset] = 127 ^ negativeMask;
    table[ZERO + offset] = 127 ^ positiveMask;
  }
  table[0] = table[1] ?? 0;
  return table;
}

const LINEAR_TO_ULAW = buildEncoderTable(ULAW_TO_LINEAR, 0xff);
const LINEAR_TO_ALAW = buildEncoderTable(ALAW_TO_LINEAR, 0xd5);

function tableIndex(sample: number): number {
  const clamped = sample > 32767 ? 32767 : sample < -32768 ? -32768 : Math.trunc(sample) || 0;
  return (clamped + 32768) >> 2;
}

/** One 16-bit linear sample to the nearest μ-law code. */
export function linearToUlaw(sample: number): number {
  return LINEAR_TO_ULAW[tableIndex(sample)] ?? 0xff;
}

/** One 16-bit linear sample to the nearest A-law code. */
export function linearToAlaw(sample: number): number {
  return LINEAR_TO_ALAW[tableIndex(sample)] ?? 0xd5;
}

/** 16-bit linear PCM to μ-law codes. */
export function encodeUlaw(samples: Int16Array): Uint8Array {
  const out = new Uint8Array(samples.length);
  for (let i = 0; i < samples.length; i++) out[i] = linearToUlaw(samples[i] ?? 0);
  return out;
}

/** 16-bit linear PCM to A-law codes. */
export function encodeAlaw(samples: Int16Array): Uint8Array {
  const out = new Uint8Array(samples.length);
  for (let i = 0; i < samples.length; i++) out[i] = linearToAlaw(samples[i] ?? 0);
  return out;
}
