// Collects little-endian float32 PCM bytes (ffmpeg's `-f f32le` stdout) into one growing Float32Array.

import { endianness } from "node:os";

const LITTLE_ENDIAN_HOST = endianness() === "LE";

/**
 * A Float32Array that doubles its capacity as PCM chunks arrive (amortised O(1) per byte, no repeated Buffer
 * concatenation), refusing to grow past `maxSamples`.
 */
export class PcmAccumulator {
  private buffer: Float32Array;
  private bytes: Uint8Array;
  private byteLength = 0;

  /** Samples already handed to `onSamples`. */
  private reported = 0;

  constructor(
    private readonly maxSamples: number,
    initialSamples = 16_000 * 30,
    /** Called after each push with a copy of the whole samples it completed (none: not called). */
    private readonly onSamples?: (samples: Float32Array) => void,
  ) {
    this.buffer = new Float32Array(Math.max(1024, Math.min(initialSamples, maxSamples)));
    this.bytes = new Uint8Array(this.buffer.buffer);
  }

  /** Whole samples received so far. */
  get sampleCount(): number {
    return Math.floor(this.byteLength / 4);
  }

  /** Appends a chunk; returns false (and keeps nothing of it) when it would exceed `maxSamples`. */
  push(chunk: Uint8Array): boolean {
    const needed = this.byteLength + chunk.length;
    if (needed > this.maxSamples * 4) return false;
    if (needed > this.bytes.length) this.grow(needed);
    this.bytes.set(chunk, this.byteLength);
    this.byteLength = needed;
    if (this.onSamples && LITTLE_ENDIAN_HOST && this.sampleCount > this.reported) {
      const fresh = this.buffer.slice(this.reported, this.sampleCount);
      this.reported = this.sampleCount;
      this.onSamples(fresh);
    }
    return true;
  }

  /** The samples, trimmed to length (a copy only when the capacity is larger than the content). */
  finish(): Float32Array {
    const count = this.sampleCount;
    if (!LITTLE_ENDIAN_HOST) {
      const view = new DataView(this.buffer.buffer);
      for (let i = 0; i < count; i++) this.buffer[i] = view.getFloat32(i * 4, true);
    }
    return count === this.buffer.length ? this.buffer : this.buffer.slice(0, count);
  }

  private grow(minBytes: number): void {
    let samples = this.buffer.length;
    while (samples * 4 < minBytes) samples *= 2;
    samples = Math.min(samples, Math.max(Math.ceil(minBytes / 4), Math.ceil(this.maxSamples)));
    const next = new Float32Array(samples);
    const nextBytes = new Uint8Array(next.buffer);
    nextBytes.set(this.bytes.subarray(0, this.byteLength)); // bytes, not floats: a chunk may end mid-sample
    this.buffer = next;
    this.bytes = nextBytes;
  }
}
