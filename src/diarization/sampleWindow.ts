// The samples a diarization still needs, as they stream in: pushed blocks kept by reference (no copy), read back as
// copies of any range still held, and let go from the front once no window or piece to come needs them.

export class SampleWindow {
  private readonly blocks: Float32Array[] = [];
  /** The timeline position of blocks[0][0]. */
  private base = 0;
  /** Samples pushed in all. */
  received = 0;

  push(samples: Float32Array): void {
    if (samples.length === 0) return;
    this.blocks.push(samples);
    this.received += samples.length;
  }

  /** Samples held (pushed and not let go). */
  get held(): number {
    return this.received - this.base;
  }

  /** A copy of [from, to), zeros where nothing was pushed (past the end); `from` must not be before what is held. */
  read(from: number, to: number, into = new Float32Array(to - from), at = 0): Float32Array {
    if (from < this.base) throw new RangeError(`samples from ${from} were let go (held from ${this.base})`);
    let position = this.base;
    for (const block of this.blocks) {
      const blockEnd = position + block.length;
      if (blockEnd > from && position < to) {
        const start = Math.max(from, position);
        const end = Math.min(to, blockEnd);
        into.set(block.subarray(start - position, end - position), at + start - from);
      }
      position = blockEnd;
      if (position >= to) break;
    }
    return into;
  }

  /** Lets go of every block wholly before `position`. */
  dropBefore(position: number): void {
    while (this.blocks.length > 0 && this.base + this.blocks[0]!.length <= position) this.base += this.blocks.shift()!.length;
  }
}
