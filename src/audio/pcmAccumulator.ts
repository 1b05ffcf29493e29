// Collects little-endian float32 PCM bytes (ffmpeg's `-f f32le` stdout) into one growing Float32Array.

import { endianness } from "node:os";

import type { AudioMemoryGrant } from "./memoryBudget.js";

const LITTLE_ENDIAN_HOST = endianness() === "LE";

/** Why a push was refused: more samples than `maxSamples`, or more memory than the grant allows. */
export type PcmPushResult = "ok" | "too_long" | "over_budget";

/** Growth step when the grant cannot give the usual 1.5x: one second of samples beyond what is needed. */
const MIN_STEP_SAMPLES = 16_000;

/**
 * A Float32Array that grows by half its capacity as PCM chunks arrive (amortised O(1) per byte, no repeated Buffer
 * concatenation), refusing to grow past `maxSamples`. With a memory grant, every allocation is granted first (its
 * whole capacity), so the samples held are always within what was granted.
 */
export class PcmAccumulator {
  private buffer = new Float32Array(0);
  private bytes = new Uint8Array(0);
  private byteLength = 0;

  /** Samples already handed to `onSamples`. */
  private reported = 0;

  constructor(
    private readonly maxSamples: number,
    private readonly initialSamples = 16_000 * 30,
    /** Called after each push with a copy of the whole samples it completed (none: not called). */
    private readonly onSamples?: (samples: Float32Array) => void,
    /** Asked before each allocation; none: unbounded but for `maxSamples`. */
    private readonly memory?: AudioMemoryGrant,
  ) {}

  /** Whole samples received so far. */
  get sampleCount(): number {
    return Math.floor(this.byteLength / 4);
  }

  /** Samples the buffer can hold now (what a grant has been asked for). */
  get capacity(): number {
    return this.buffer.length;
  }

  /** Appends a chunk; on refusal keeps nothing of it. */
  push(chunk: Uint8Array): PcmPushResult {
    const needed = this.byteLength + chunk.length;
    if (needed > this.maxSamples * 4) return "too_long";
    if (needed > this.bytes.length && !this.grow(needed)) return "over_budget";
    this.bytes.set(chunk, this.byteLength);
    this.byteLength = needed;
    if (this.onSamples && LITTLE_ENDIAN_HOST && this.sampleCount > this.reported) {
      const fresh = this.buffer.slice(this.reported, this.sampleCount);
      this.reported = this.sampleCount;
      this.onSamples(fresh);
    }
    return "ok";
  }

  /**
   * Makes room for `samples` in all at once (the length the container declares), so the decode grows no further
   * while the declaration holds and is refused before decoding when the grant has not the memory. Capped at
   * `maxSamples`; false when the grant refuses.
   */
  reserve(samples: number): boolean {
    const target = Math.min(Math.ceil(samples), this.maxSamples);
    if (target <= this.buffer.length) return true;
    return this.resize(target);
  }

  /** The samples, trimmed to length: a view when the memory was granted (it stays accounted), else a copy. */
  finish(): Float32Array {
    const count = this.sampleCount;
    if (!LITTLE_ENDIAN_HOST) {
      const view = new DataView(this.buffer.buffer);
      for (let i = 0; i < count; i++) this.buffer[i] = view.getFloat32(i * 4, true);
    }
    if (count === this.buffer.length) return this.buffer;
    return this.memory ? this.buffer.subarray(0, count) : this.buffer.slice(0, count);
  }

  private grow(minBytes: number): boolean {
    const needed = Math.ceil(minBytes / 4);
    const usual = Math.min(this.maxSamples, Math.max(needed, this.initialSamples, Math.floor(this.buffer.length * 1.5)));
    if (this.resize(usual)) return true;
    const least = Math.min(this.maxSamples, needed + MIN_STEP_SAMPLES);
    return least < usual && this.resize(least);
  }

  private resize(samples: number): boolean {
    if (this.memory && !this.memory.ensure(samples * 4)) return false;
    const next = new Float32Array(samples);
    const nextBytes = new Uint8Array(next.buffer);
    nextBytes.set(this.bytes.subarray(0, this.byteLength)); // bytes, not floats: a chunk may end mid-sample
    this.buffer = next;
    this.bytes = nextBytes;
    return true;
  }
}
