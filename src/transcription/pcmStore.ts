// The samples of a transcription received so far, in one growing Float32Array (chunks are cut out of it). A run
// that does not keep its whole audio lets go of the samples no chunk still to come can hold (discardBefore).
import { chunkSamples } from "./chunkTimeline.js";
import type { SpeechChunk } from "./speechChunker.js";

export class PcmStore {
  private buffer: Float32Array = new Float32Array(0);
  /** Index, in the whole audio, of buffer[0]. */
  private base = 0;
  private used = 0;

  /** Samples received so far (those let go included). */
  get length(): number {
    return this.base + this.used;
  }

  /** Samples held now. */
  get held(): number {
    return this.used;
  }

  /** A view of the samples received so far (valid until the next append); only while none were let go. */
  get samples(): Float32Array {
    if (this.base > 0) throw new Error("PcmStore: samples were let go");
    return this.buffer.subarray(0, this.used);
  }

  append(samples: Float32Array): void {
    if (this.used + samples.length > this.buffer.length) {
      let capacity = Math.max(this.buffer.length, 16_000 * 30);
      while (capacity < this.used + samples.length) capacity *= 2;
      const next = new Float32Array(capacity);
      next.set(this.buffer.subarray(0, this.used));
      this.buffer = next;
    }
    this.buffer.set(samples, this.used);
    this.used += samples.length;
  }

  /** The whole audio is known: it replaces the copy built up so far (which it starts with). */
  replaceWith(audio: Float32Array): void {
    this.buffer = audio;
    this.base = 0;
    this.used = audio.length;
  }

  /** A copy of a chunk's samples (pieces back to back); its pieces must not have been let go. */
  chunk(chunk: SpeechChunk): Float32Array {
    if (this.base === 0) return chunkSamples(this.buffer.subarray(0, this.used), chunk);
    const first = chunk.pieces[0];
    if (first && first.start < this.base) throw new Error(`PcmStore: sample ${first.start} was let go (held from ${this.base})`);
    const shifted = { ...chunk, pieces: chunk.pieces.map((p) => ({ start: p.start - this.base, end: p.end - this.base })) };
    return chunkSamples(this.buffer.subarray(0, this.used), shifted);
  }

  /**
   * Lets go of the samples before `index` (of the whole audio). The rest is moved down only once what is let go is
   * at least as much as what stays (so each sample is moved a bounded number of times), and the buffer shrinks
   * when it is far larger than what it holds.
   */
  discardBefore(index: number): void {
    const drop = Math.min(this.used, Math.max(0, index - this.base));
    if (drop === 0 || drop < this.used - drop) return;
    const rest = this.used - drop;
    if (this.buffer.length > 4 * Math.max(rest, 16_000 * 30)) {
      const next = new Float32Array(Math.max(rest * 2, 16_000 * 30));
      next.set(this.buffer.subarray(drop, this.used));
      this.buffer = next;
    } else {
      this.buffer.copyWithin(0, drop, this.used);
    }
    this.base += drop;
    this.used = rest;
  }
}
