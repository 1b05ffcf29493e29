// Keeps committed turns' events in commit order: turns are transcribed in parallel, but a turn's events go out
// only once every earlier turn has completed (or failed); until then they wait here. Live text of the turn being
// spoken (not committed yet) goes out after every committed turn's events ({@link OrderedOutput.emitAfterAll}).

interface Entry<Event> {
  id: string;
  /** This turn's events, held until it is first in line. */
  waiting: Event[];
  /** Events emitted after every turn then in line: sent once this turn (then the last) is done. */
  after: Event[];
  done: boolean;
}

export class OrderedOutput<Event> {
  private readonly queue: Array<Entry<Event>> = [];

  constructor(private readonly send: (event: Event) => void) {}

  /** Starts a turn at the end of the order. */
  open(id: string): void {
    this.queue.push({ id, waiting: [], after: [], done: false });
  }

  /** Sends now if the turn is first in line; holds the event otherwise. */
  emit(id: string, event: Event): void {
    const index = this.queue.findIndex((entry) => entry.id === id);
    if (index === 0) this.send(event);
    else if (index > 0) this.queue[index]!.waiting.push(event);
  }

  /** Sends now if no turn is in line; otherwise once every turn now in line has sent its events. */
  emitAfterAll(event: Event): void {
    const last = this.queue.at(-1);
    if (last) last.after.push(event);
    else this.send(event);
  }

  /** The turn has sent its last event: later turns move up and send what they held. */
  finish(id: string): void {
    const entry = this.queue.find((e) => e.id === id);
    if (!entry) return;
    entry.done = true;
    while (this.queue[0]?.done) {
      const finished = this.queue.shift()!;
      for (const event of finished.after) this.send(event);
      const next = this.queue[0];
      if (next) for (const event of next.waiting.splice(0)) this.send(event);
    }
  }

  /** Turns not yet finished. */
  get pending(): number {
    return this.queue.length;
  }
}
