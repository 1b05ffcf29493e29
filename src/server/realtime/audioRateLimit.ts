// How fast one realtime session may send audio: `speed` × real time once a burst of `burstSeconds` is spent (a token
// bucket counted in seconds of audio). Audio is counted as its bytes arrive on the socket, before any of it is decoded;
// a client that sends faster has its socket left unread until it is back within the limit (TCP back-pressure), so a
// session's audio can never cost the server more than `speed` × real time of decoding, resampling and VAD (plus the
// burst and one message). Pacing the reads also spreads a large message's arrival (and ws's copying of it) over time
// instead of taking it in at loopback speed.

export class AudioRateLimit {
  /** Seconds of audio that may arrive right now (negative: owed). */
  private credit: number;
  private last = performance.now();

  constructor(
    readonly speed: number,
    readonly burstSeconds: number,
  ) {
    this.credit = burstSeconds;
  }

  private refill(): void {
    const now = performance.now();
    this.credit = Math.min(this.burstSeconds, this.credit + ((now - this.last) / 1000) * this.speed);
    this.last = now;
  }

  /** Counts `seconds` of audio as arrived; returns how long to wait, in seconds, before more may (0: none). */
  charge(seconds: number): number {
    this.refill();
    this.credit -= seconds;
    return this.waitSeconds();
  }

  /** Seconds until the limit allows more audio (0: now). */
  waitSeconds(): number {
    this.refill();
    return this.credit >= 0 ? 0 : -this.credit / this.speed;
  }
}

/**
 * The speed limit with its clock: once audio has come in faster than the limit, `throttled` holds (and `onChange` is
 * called) until the limit allows more again; then it clears (and `onChange` is called again).
 */
export class Throttle {
  private readonly limit: AudioRateLimit;
  private timer: NodeJS.Timeout | undefined;
  private waiting = false;

  constructor(
    speed: number,
    burstSeconds: number,
    private readonly onChange: () => void,
    /** Runs the timer's work (what it throws is the session's failure). */
    private readonly guard: (work: () => void) => void,
  ) {
    this.limit = new AudioRateLimit(speed, burstSeconds);
  }

  /** Whether audio must wait now. */
  get throttled(): boolean {
    return this.waiting;
  }

  /** Counts `seconds` of audio as arrived. */
  charge(seconds: number): void {
    const wait = this.limit.charge(seconds);
    if (wait > 0) this.waitFor(wait);
  }

  /** Stops the clock for good; `throttled` is false from now on. */
  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.waiting = false;
  }

  private waitFor(seconds: number): void {
    if (this.timer) return;
    if (!this.waiting) {
      this.waiting = true;
      this.onChange();
    }
    this.timer = setTimeout(
      () =>
        this.guard(() => {
          this.timer = undefined;
          const wait = this.limit.waitSeconds();
          if (wait > 0) return this.waitFor(wait);
          this.waiting = false;
          this.onChange();
        }),
      Math.max(1, Math.ceil(seconds * 1000)),
    );
  }
}
