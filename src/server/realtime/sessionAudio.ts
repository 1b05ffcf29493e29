// The audio a realtime session has received and not yet committed or dropped, addressed by absolute sample
// position in the session's 16 kHz timeline (sample 0 is the session's first sample).

export class SessionAudio {
  private chunks: Float32Array[] = [];
  private first = 0;
  private end = 0;

  /** Position of the oldest sample still held. */
  get startSample(): number {
    return this.first;
  }

  /** Position one past the newest sample (= samples received in the session). */
  get endSample(): number {
    return this.end;
  }

  /** Samples held. */
  get length(): number {
    return this.end - this.first;
  }

  /**
   * Bytes of memory the held samples keep alive: whole buffers, a chunk cut by {@link dropBefore} included (each chunk
   * is one decoded slice of its own, so at most one slice more than the samples themselves).
   */
  get heldBytes(): number {
    let bytes = 0;
    for (const chunk of this.chunks) bytes += chunk.buffer.byteLength;
    return bytes;
  }

  append(samples: Float32Array): void {
    if (samples.length === 0) return;
    this.chunks.push(samples);
    this.end += samples.length;
  }

  /** A copy of the samples in [from, to), clamped to what is held. */
  slice(from: number, to: number): Float32Array {
    const start = Math.max(from, this.first);
    const stop = Math.min(to, this.end);
    const out = new Float32Array(Math.max(0, stop - start));
    let position = this.first;
    for (const chunk of this.chunks) {
      const chunkEnd = position + chunk.length;
      if (chunkEnd > start && position < stop) {
        const a = Math.max(start, position) - position;
        const b = Math.min(stop, chunkEnd) - position;
        out.set(chunk.subarray(a, b), position + a - start);
      }
      position = chunkEnd;
      if (position >= stop) break;
    }
    return out;
  }

  /** Forgets every sample before `position`. */
  dropBefore(position: number): void {
    const target = Math.min(Math.max(position, this.first), this.end);
    while (this.chunks.length > 0 && this.first + this.chunks[0]!.length <= target) {
      this.first += this.chunks.shift()!.length;
    }
    if (this.first < target && this.chunks.length > 0) {
      this.chunks[0] = this.chunks[0]!.subarray(target - this.first);
      this.first = target;
    }
    if (this.chunks.length === 0) this.first = this.end;
  }
}
