// Base64 chunks of 16-bit little-endian PCM (the Realtime API's `input_audio_buffer.append`), to and from floats.

import { endianness } from "node:os";

const LITTLE_ENDIAN_HOST = endianness() === "LE";

/**
 * Why an audio chunk was refused. Codes are stable: the realtime WebSocket reports them to the client.
 * - `invalid_base64`: not standard base64 (RFC 4648 §4 alphabet `A-Z a-z 0-9 + /`, at most two trailing `=`,
 *   no whitespace, no base64url `-`/`_`), or a length no base64 encoder produces.
 * - `odd_byte_count`: 16-bit PCM whose byte count is not a multiple of 2 (a sample split across chunks).
 */
export type InvalidAudioChunkCode = "invalid_base64" | "odd_byte_count";

/** An `input_audio_buffer.append` payload that cannot be audio in the session's format. */
export class InvalidAudioChunkError extends Error {
  override readonly name = "InvalidAudioChunkError";
  /** Stable error code, see {@link InvalidAudioChunkCode}. */
  readonly code: InvalidAudioChunkCode;

  constructor(code: InvalidAudioChunkCode, message: string) {
    super(message);
    this.code = code;
  }
}

/** Standard base64, padding optional: linear-time (no backtracking), checked before decoding. */
const BASE64_PATTERN = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * Decodes standard base64 to bytes, strictly: Node's decoder silently skips characters outside the alphabet,
 * which would turn a corrupt chunk into shifted, garbled audio. Padding may be omitted; an empty string is zero
 * bytes. Throws {@link InvalidAudioChunkError} (`invalid_base64`).
 */
export function decodeBase64Bytes(base64: string): Buffer {
  if (typeof base64 !== "string") throw new InvalidAudioChunkError("invalid_base64", "Audio must be a base64 string");
  if (!BASE64_PATTERN.test(base64)) {
    throw new InvalidAudioChunkError("invalid_base64", "Audio is not valid base64 (only A-Z, a-z, 0-9, +, / and trailing = padding)");
  }
  const padding = base64.endsWith("==") ? 2 : base64.endsWith("=") ? 1 : 0;
  const dataChars = base64.length - padding;
  // With padding the length must be a multiple of 4; without, 4k+1 characters cannot encode whole bytes.
  if ((padding > 0 && base64.length % 4 !== 0) || dataChars % 4 === 1) {
    throw new InvalidAudioChunkError("invalid_base64", `Audio is not valid base64 (length ${base64.length})`);
  }
  return Buffer.from(base64, "base64");
}

/**
 * Decodes a base64 chunk of 16-bit little-endian PCM to samples (a fresh array, not a view of Node's buffer pool).
 * Throws {@link InvalidAudioChunkError}: `invalid_base64`, or `odd_byte_count` when the bytes are not whole samples.
 */
export function decodeBase64Pcm16(base64: string): Int16Array {
  const bytes = decodeBase64Bytes(base64);
  if (bytes.length % 2 !== 0) {
    throw new InvalidAudioChunkError(
      "odd_byte_count",
      `16-bit PCM audio must be a whole number of 2-byte samples, got ${bytes.length} bytes`,
    );
  }
  const samples = new Int16Array(bytes.length / 2);
  if (LITTLE_ENDIAN_HOST) {
    new Uint8Array(samples.buffer).set(bytes);
  } else {
    for (let i = 0; i < samples.length; i++) samples[i] = bytes.readInt16LE(i * 2);
  }
  return samples;
}

/** Base64 of 16-bit little-endian PCM: the inverse of {@link decodeBase64Pcm16} (for clients and tests). */
export function encodeBase64Pcm16(samples: Int16Array): string {
  const bytes = Buffer.alloc(samples.length * 2);
  for (let i = 0; i < samples.length; i++) bytes.writeInt16LE(samples[i] ?? 0, i * 2);
  return bytes.toString("base64");
}

/** 16-bit PCM to floats: `s / 32768`, so -32768 → -1 and 32767 → 0.99997 (exact: every value is representable). */
export function pcm16ToFloat32(samples: Int16Array): Float32Array {
  const out = new Float32Array(samples.length);
  for (let i = 0; i < samples.length; i++) out[i] = (samples[i] ?? 0) / 32768;
  return out;
}

/**
 * Floats to 16-bit PCM: `round(x * 32768)` clamped to [-32768, 32767] (NaN → 0). The exact inverse of
 * {@link pcm16ToFloat32}.
 */
export function float32ToPcm16(samples: Float32Array): Int16Array {
  const out = new Int16Array(samples.length);
  for (let i = 0; i < samples.length; i++) {
    const value = Math.round((samples[i] ?? 0) * 32768);
    out[i] = value > 32767 ? 32767 : value < -32768 ? -32768 : value || 0;
  }
  return out;
}
