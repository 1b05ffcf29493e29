// The samples of a transcription received so far, in one growing Float32Array (chunks are cut out of it).

export class PcmStore {
  private buffer: Float32Array = new Float32Array(0);
  private used = 0;

  /** Samples received so far. */
  get length(): number {
    return this.used;
  }

  /** A view of the samples received so far (valid until the next append). */
  get samples(): Float32Array {
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
    this.used = audio.length;
  }
}
