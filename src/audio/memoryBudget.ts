// A budget for decoded audio held in memory, shared by every decode of a process: a decoder is handed a lease and
// grows it before each allocation of sample memory, so the audio held by all requests together never exceeds the
// budget; a lease that cannot grow fails its decode (AudioMemoryError) instead of allocating.

/** What a decoder needs of a lease: grow it before allocating. */
export interface AudioMemoryGrant {
  /** Makes the lease at least `bytes`; false (lease unchanged) when the budget does not have them free. */
  ensure(bytes: number): boolean;
}

/** Bytes per second of decoded audio: 16 kHz mono float32. */
export const DECODED_BYTES_PER_SECOND = 16_000 * 4;

export class AudioMemoryBudget {
  private used = 0;

  constructor(readonly limitBytes: number) {
    if (!(limitBytes > 0)) throw new RangeError(`AudioMemoryBudget: limitBytes must be > 0 (got ${limitBytes})`);
  }

  /** Bytes leased now. */
  get usedBytes(): number {
    return this.used;
  }

  get freeBytes(): number {
    return Math.max(0, this.limitBytes - this.used);
  }

  /** A lease of `initialBytes`, or undefined when they are not free. */
  lease(initialBytes = 0): AudioMemoryLease | undefined {
    if (initialBytes > this.freeBytes) return undefined;
    this.used += initialBytes;
    return new AudioMemoryLease(this, initialBytes);
  }

  /** @internal the lease's side of the accounting. */
  take(bytes: number): boolean {
    if (bytes > this.freeBytes) return false;
    this.used += bytes;
    return true;
  }

  /** @internal */
  give(bytes: number): void {
    this.used = Math.max(0, this.used - bytes);
  }
}

/** One holder's part of an {@link AudioMemoryBudget}; held until {@link release} (idempotent). */
export class AudioMemoryLease implements AudioMemoryGrant {
  private released = false;

  constructor(
    private readonly budget: AudioMemoryBudget,
    private held: number,
  ) {}

  get bytes(): number {
    return this.held;
  }

  ensure(bytes: number): boolean {
    if (this.released) return false;
    if (bytes <= this.held) return true;
    if (!this.budget.take(bytes - this.held)) return false;
    this.held = bytes;
    return true;
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    this.budget.give(this.held);
    this.held = 0;
  }
}
