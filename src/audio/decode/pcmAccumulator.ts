// Collects little-endian float32 PCM bytes (ffmpeg's `-f f32le` stdout) into fixed blocks, joined once at the end.

import { endianness } from "node:os";

import type { AudioMemoryGrant } from "../memoryBudget.js";

const LITTLE_ENDIAN_HOST = endianness() === "LE";

/** Why a push was refused: more samples than `maxSamples`, or more memory than the grant allows. */
export type PcmPushResult = "ok" | "too_long" | "over_budget";

/** Samples per block: 10 s at 16 kHz (640 KB). */
const BLOCK_SAMPLES = 160_000;

/**
 * Decoded samples in fixed blocks: growing never copies what is already there (a decode that is refused, too long
 * or over budget, has copied nothing), and {@link finish} joins the blocks once. With a memory grant, every
 * allocation (each block, and the joined array) is granted first and stays granted: the grant covers all the
 * sample memory this accumulator ever allocated.
 */
export class PcmAccumulator {
  private readonly blocks: Uint8Array[] = [];
  /** Bytes the blocks hold in all. */
  private capacity = 0;
  /** Bytes allocated (blocks and joined array): what has been granted. */
  private allocated = 0;
  private byteLength = 0;
  /** The block being written, and where it starts. */
  private current = 0;
  private currentStart = 0;

  /** Samples already handed to `onSamples`. */
  private reported = 0;

  constructor(
    private readonly maxSamples: number,
    /** Called after each push with a copy of the whole samples it completed (none: not called). */
    private readonly onSamples?: (samples: Float32Array) => void,
    /** Asked before each allocation; none: unbounded but for `maxSamples`. */
    private readonly memory?: AudioMemoryGrant,
  ) {}

  /** Whole samples received so far. */
  get sampleCount(): number {
    return Math.floor(this.byteLength / 4);
  }

  /** Bytes of sample memory allocated so far. */
  get allocatedBytes(): number {
    return this.allocated;
  }

  /** Appends a chunk; on refusal keeps nothing of it. */
  push(chunk: Uint8Array): PcmPushResult {
    const needed = this.byteLength + chunk.length;
    if (needed > this.maxSamples * 4) return "too_long";
    if (needed > this.capacity) {
      const missing = Math.ceil((needed - this.capacity) / 4) * 4;
      if (!this.allocate(Math.min(Math.max(BLOCK_SAMPLES * 4, missing), this.maxSamples * 4 - this.capacity))) return "over_budget";
    }
    this.write(chunk);
    if (this.onSamples && LITTLE_ENDIAN_HOST && this.sampleCount > this.reported) {
      const fresh = this.copySamples(this.reported, this.sampleCount);
      this.reported = this.sampleCount;
      this.onSamples(fresh);
    }
    return "ok";
  }

  /**
   * Makes room for `samples` in all, in one block (the length the container declares), so that {@link finish} has
   * nothing to join while the declaration holds, and a decode whose grant has not the memory is refused before it
   * decodes. Capped at `maxSamples`; false when the grant refuses. Only before the first sample.
   */
  reserve(samples: number): boolean {
    const bytes = Math.min(Math.ceil(samples), this.maxSamples) * 4;
    if (this.byteLength > 0 || bytes <= this.capacity) return true;
    return this.allocate(bytes - this.capacity);
  }

  /**
   * The samples, as one array: the block itself when there is one (a view of it when memory was granted, which
   * stays accounted; else a trimmed copy), otherwise the blocks joined (granted first: "over_budget" when the grant
   * refuses).
   */
  finish(): Float32Array | "over_budget" {
    const count = this.sampleCount;
    let samples: Float32Array;
    if (this.blocks.length <= 1 || (this.blocks[0]?.byteLength ?? 0) >= count * 4) {
      const block = this.blocks[0] ?? new Uint8Array(0);
      const whole = new Float32Array(block.buffer, block.byteOffset, block.byteLength / 4);
      samples = count === whole.length ? whole : this.memory ? whole.subarray(0, count) : whole.slice(0, count);
    } else {
      if (this.memory && !this.memory.ensure(this.allocated + count * 4)) return "over_budget";
      this.allocated += count * 4;
      samples = this.copySamples(0, count);
      this.blocks.splice(0, this.blocks.length, new Uint8Array(samples.buffer, samples.byteOffset, samples.byteLength));
      this.capacity = samples.byteLength;
      this.current = 0;
      this.currentStart = 0;
    }
    if (!LITTLE_ENDIAN_HOST) {
      const view = new DataView(samples.buffer, samples.byteOffset, samples.byteLength);
      for (let i = 0; i < count; i++) samples[i] = view.getFloat32(i * 4, true);
    }
    return samples;
  }

  private allocate(bytes: number): boolean {
    if (this.memory && !this.memory.ensure(this.allocated + bytes)) return false;
    this.allocated += bytes;
    this.capacity += bytes;
    this.blocks.push(new Uint8Array(new ArrayBuffer(bytes)));
    return true;
  }

  /** Copies `chunk` in at the end, across blocks (there is room: push allocated it). */
  private write(chunk: Uint8Array): void {
    let offset = 0;
    while (offset < chunk.length) {
      const block = this.blocks[this.current]!;
      const into = this.byteLength - this.currentStart;
      if (into === block.byteLength) {
        this.currentStart += block.byteLength;
        this.current++;
        continue;
      }
      const count = Math.min(block.byteLength - into, chunk.length - offset);
      block.set(chunk.subarray(offset, offset + count), into);
      offset += count;
      this.byteLength += count;
    }
  }

  /** A new array holding samples [from, to) (whole samples only). */
  private copySamples(from: number, to: number): Float32Array {
    const out = new Float32Array(to - from);
    const outBytes = new Uint8Array(out.buffer);
    let start = 0;
    let written = 0;
    for (const block of this.blocks) {
      const end = start + block.byteLength;
      const lo = Math.max(from * 4, start);
      const hi = Math.min(to * 4, end);
      if (lo < hi) {
        outBytes.set(block.subarray(lo - start, hi - start), written);
        written += hi - lo;
      }
      start = end;
      if (start >= to * 4) break;
    }
    return out;
  }
}
