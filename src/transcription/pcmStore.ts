// The samples of a transcription received so far (chunks are cut out of them). A run that keeps its whole audio
// holds them in one growing Float32Array. A run that does not (a long batch job) lets go of what no chunk still to
// come can hold: it keeps the stretches already placed in the chunk being filled (copied out, however long the
// silence between them), and everything from the earliest point an unplaced stretch may start (see
// SpeechChunker.retained), so what it holds is bounded by about two chunks whatever the audio's length.
import type { SampleSpan, SpeechChunk } from "./speechChunker.js";

export class PcmStore {
  private buffer: Float32Array = new Float32Array(0);
  /** Index, in the whole audio, of buffer[0]. */
  private base = 0;
  private used = 0;
  /** Copies of stretches before `base` still needed, in order, not overlapping. */
  private saved: Array<{ start: number; samples: Float32Array }> = [];

  /** Samples received so far (those let go included). */
  get length(): number {
    return this.base + this.used;
  }

  /** Samples held now. */
  get held(): number {
    return this.used + this.saved.reduce((n, s) => n + s.samples.length, 0);
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
    this.saved = [];
  }

  /**
   * A view of samples [start, end), valid until the next append, retainOnly or replaceWith; they must still be in the
   * buffer (from the earliest sample held on: never let go, nor only in a copy set aside).
   */
  view(start: number, end: number): Float32Array {
    if (start < this.base || end > this.length) throw new Error(`PcmStore: samples ${start}-${end} are not held (held from ${this.base} to ${this.length})`);
    return this.buffer.subarray(start - this.base, end - this.base);
  }

  /** A copy of a chunk's samples (pieces back to back); every piece must still be held. */
  chunk(chunk: SpeechChunk): Float32Array {
    const out = new Float32Array(chunk.length);
    let offset = 0;
    for (const piece of chunk.pieces) {
      this.copy(piece, out, offset);
      offset += piece.end - piece.start;
    }
    return out;
  }

  /**
   * Lets go of every sample before `from` except those in `spans` (which are copied aside). The rest of the buffer
   * is moved down only once what is let go is at least as much as what stays (each sample is moved a bounded
   * number of times), and the buffer shrinks when it is far larger than what it holds.
   */
  retainOnly(spans: readonly SampleSpan[], from: number): void {
    const cut = Math.min(this.base + this.used, Math.max(this.base, from));
    // Copies no longer in any span go.
    this.saved = this.saved.filter((s) => spans.some((span) => span.start < s.start + s.samples.length && span.end > s.start));
    const drop = cut - this.base;
    if (drop === 0 || drop < this.used - drop) return;
    for (const span of spans) {
      const start = Math.max(span.start, this.base);
      const end = Math.min(span.end, cut);
      if (start < end) this.saved.push({ start, samples: this.buffer.slice(start - this.base, end - this.base) });
    }
    this.saved.sort((a, b) => a.start - b.start);
    const rest = this.used - drop;
    if (this.buffer.length > 4 * Math.max(rest, 16_000 * 30)) {
      const next = new Float32Array(Math.max(rest * 2, 16_000 * 30));
      next.set(this.buffer.subarray(drop, this.used));
      this.buffer = next;
    } else {
      this.buffer.copyWithin(0, drop, this.used);
    }
    this.base = cut;
    this.used = rest;
  }

  /** Copies samples [span.start, span.end) into `out` at `offset`, from the copies set aside and the buffer. */
  private copy(span: SampleSpan, out: Float32Array, offset: number): void {
    let at = span.start;
    for (const part of this.saved) {
      const partEnd = part.start + part.samples.length;
      if (partEnd <= at || part.start >= span.end) continue;
      if (part.start > at) break;
      const end = Math.min(span.end, partEnd);
      out.set(part.samples.subarray(at - part.start, end - part.start), offset + (at - span.start));
      at = end;
    }
    if (at < span.end) {
      if (at < this.base) throw new Error(`PcmStore: sample ${at} was let go (held from ${this.base})`);
      out.set(this.buffer.subarray(at - this.base, span.end - this.base), offset + (at - span.start));
    }
  }
}
