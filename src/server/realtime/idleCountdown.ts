// A realtime session's idle timeout (EARSHOT_REALTIME_IDLE_TIMEOUT_SECONDS, the wall clock). Only what the client does
// that succeeds restarts it (touch: valid audio, a commit, a clear, an applied session.update); a refused message
// does not, so a client cannot hold a session with a few invalid bytes now and then. A large message still arriving
// when the countdown runs out (a second of audio's worth of bytes since it last restarted) postpones it until it has
// arrived; if that message is then refused, the session closes (see inGrace).

export interface IdleCountdownOptions {
  seconds: number;
  /** Whether the session is not idle whatever the client does (its own backlog holds the channel, it is busy). */
  held(): boolean;
  /** Bytes that make a message "large": one second of audio in the session's format, as base64. */
  largeMessageBytes(): number;
  /** The countdown ran out: the session closes. */
  expire(): void;
  /** Runs the timer's work (what it throws closes the session). */
  guard(work: () => void): void;
}

export class IdleCountdown {
  private readonly timer: NodeJS.Timeout;
  /** Bytes received on the connection since the countdown last restarted. */
  private receivedSinceTouch = 0;
  /** The countdown ran out while a large message was arriving: if that message is refused, the session closes. */
  private grace = false;

  constructor(private readonly options: IdleCountdownOptions) {
    this.timer = setTimeout(() => options.guard(() => this.onTimeout()), options.seconds * 1000);
    this.timer.unref();
  }

  /** Whether the countdown ran out but for a message still arriving then. */
  get inGrace(): boolean {
    return this.grace;
  }

  /** Restarts the countdown. */
  touch(): void {
    this.receivedSinceTouch = 0;
    this.grace = false;
    this.timer.refresh();
  }

  /** Bytes arrived on the connection (a large message on its way postpones the timeout). */
  received(bytes: number): void {
    this.receivedSinceTouch += bytes;
  }

  stop(): void {
    clearTimeout(this.timer);
  }

  private onTimeout(): void {
    if (this.options.held()) return this.touch();
    // A large message on its way: wait for it, but it must be valid to count (see inGrace).
    if (this.receivedSinceTouch >= this.options.largeMessageBytes()) {
      this.receivedSinceTouch = 0;
      this.grace = true;
      this.timer.refresh();
      return;
    }
    this.options.expire();
  }
}
