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

/**
 * Base64 text read piece by piece: a string is one, and {@link bytesAsBase64Text} makes one of ASCII bytes (the
 * audio field of a received message, left in the message's buffer instead of copied into a string).
 */
export interface Base64Text {
  readonly length: number;
  /** Characters [start, end) as a string. */
  slice(start: number, end: number): string;
  /** The character code at `index` (0 ≤ index < length). */
  charCodeAt(index: number): number;
}

/** ASCII bytes read as base64 text, without copying them (a non-ASCII byte reads as a latin1 character: never base64). */
export function bytesAsBase64Text(bytes: Buffer): Base64Text {
  return {
    length: bytes.length,
    slice: (start, end) => bytes.toString("latin1", start, end),
    charCodeAt: (index) => bytes[index] ?? 0,
  };
}

const EQUALS = 0x3d;
/** Standard base64 characters without padding, for validating a chunk's text piece by piece. */
const BASE64_BODY_PATTERN = /^[A-Za-z0-9+/]*$/;

/**
 * One base64 audio chunk, checked and decoded in pieces so that a large chunk never holds the event loop: first
 * {@link validate} (in as many calls as wanted) checks all of it exactly as {@link decodeBase64Bytes} does, then
 * {@link read} decodes it front to back. Nothing is decoded before the whole chunk is known to be valid, so a bad
 * chunk is refused as a whole. The text is read, never copied whole.
 */
export class Base64Chunk {
  /** Bytes the chunk decodes to. */
  readonly byteLength: number;
  /** Characters before the padding. */
  private readonly dataChars: number;
  private validatedChars = 0;
  private readChars = 0;

  /**
   * Checks the length and padding at once (throws {@link InvalidAudioChunkError} `invalid_base64`); the characters
   * themselves, and `odd_byte_count` for `sampleBytes` 2, are checked by {@link validate}.
   */
  constructor(
    private text: Base64Text,
    private readonly sampleBytes: 1 | 2,
  ) {
    if (typeof text !== "string" && (typeof text !== "object" || text === null || typeof text.length !== "number")) {
      throw new InvalidAudioChunkError("invalid_base64", "Audio must be a base64 string");
    }
    const length = text.length;
    const padded = length > 0 && text.charCodeAt(length - 1) === EQUALS;
    const padding = padded ? (length > 1 && text.charCodeAt(length - 2) === EQUALS ? 2 : 1) : 0;
    this.dataChars = length - padding;
    if ((padding > 0 && length % 4 !== 0) || this.dataChars % 4 === 1) {
      throw new InvalidAudioChunkError("invalid_base64", `Audio is not valid base64 (length ${length})`);
    }
    this.byteLength = Math.floor((this.dataChars * 3) / 4);
  }

  /** Whether the whole chunk has been checked. */
  get validated(): boolean {
    return this.validatedChars >= this.dataChars;
  }

  /**
   * Checks up to `maxChars` more characters; returns whether the whole chunk is now checked. Throws
   * {@link InvalidAudioChunkError}: `invalid_base64`, or (once all characters pass) `odd_byte_count`.
   */
  validate(maxChars: number): boolean {
    if (this.validated) return true;
    const end = Math.min(this.dataChars, this.validatedChars + Math.max(4, maxChars));
    if (!BASE64_BODY_PATTERN.test(this.text.slice(this.validatedChars, end))) {
      throw new InvalidAudioChunkError("invalid_base64", "Audio is not valid base64 (only A-Z, a-z, 0-9, +, / and trailing = padding)");
    }
    this.validatedChars = end;
    if (!this.validated) return false;
    if (this.byteLength % this.sampleBytes !== 0) {
      throw new InvalidAudioChunkError(
        "odd_byte_count",
        `16-bit PCM audio must be a whole number of 2-byte samples, got ${this.byteLength} bytes`,
      );
    }
    return true;
  }

  /** Bytes not yet read. */
  get remainingBytes(): number {
    return this.byteLength - Math.floor((this.readChars * 3) / 4);
  }

  /** Whether every byte has been read. */
  get done(): boolean {
    return this.readChars >= this.dataChars;
  }

  /**
   * Decodes the next `maxBytes` (rounded up to 6 bytes: whole base64 quanta and whole samples; at least 6) or what
   * is left. The chunk must be {@link validated} first. After the last read the text is let go.
   */
  read(maxBytes: number): Buffer {
    if (!this.validated) throw new Error("Base64Chunk: read() before the chunk was validated");
    const chars = Math.max(1, Math.ceil(maxBytes / 6)) * 8;
    const end = Math.min(this.dataChars, this.readChars + chars);
    const bytes = Buffer.from(this.text.slice(this.readChars, end), "base64");
    this.readChars = end;
    if (this.done) this.text = "";
    return bytes;
  }
}

/** 16-bit little-endian PCM bytes (any alignment, whole samples) to floats, `s / 32768` as {@link pcm16ToFloat32}. */
export function pcm16BytesToFloat32(bytes: Uint8Array): Float32Array {
  const out = new Float32Array(bytes.length >> 1);
  for (let i = 0, j = 0; i < out.length; i++, j += 2) out[i] = (((bytes[j]! | (bytes[j + 1]! << 8)) << 16) >> 16) / 32768;
  return out;
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
