// Keeps committed turns' events in commit order: turns are transcribed in parallel, but a turn's events go out
// only once every earlier turn has completed (or failed); until then they wait here.

export class OrderedOutput<Event> {
  private readonly queue: Array<{ id: string; waiting: Event[]; done: boolean }> = [];

  constructor(private readonly send: (event: Event) => void) {}

  /** Starts a turn at the end of the order. */
  open(id: string): void {
    this.queue.push({ id, waiting: [], done: false });
  }

  /** Sends now if the turn is first in line; holds the event otherwise. */
  emit(id: string, event: Event): void {
    const index = this.queue.findIndex((entry) => entry.id === id);
    if (index === 0) this.send(event);
    else if (index > 0) this.queue[index]!.waiting.push(event);
  }

  /** The turn has sent its last event: later turns move up and send what they held. */
  finish(id: string): void {
    const entry = this.queue.find((e) => e.id === id);
    if (!entry) return;
    entry.done = true;
    while (this.queue[0]?.done) {
      this.queue.shift();
      const next = this.queue[0];
      if (next) for (const event of next.waiting.splice(0)) this.send(event);
    }
  }

  /** Turns not yet finished. */
  get pending(): number {
    return this.queue.length;
  }
}
