// Runs the realtime sessions' CPU work (base64 → PCM → float, resampling) in short slices, one session's slice after
// another's, and gives the event loop back between rounds: a session with a 15 MB append gets its audio decoded
// over many turns of the loop while other sessions, /health and the HTTP API go on in between.

import { setImmediate as nextTurn } from "node:timers";

interface Task {
  work: () => unknown;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

/** Why a task never ran: its signal was aborted (the session closed). */
export class SliceAbortedError extends Error {
  override readonly name = "SliceAbortedError";
  constructor() {
    super("The work was cancelled: its session closed.");
  }
}

export class SliceScheduler {
  private readonly queue: Task[] = [];
  private scheduled = false;

  /**
   * @param budgetMs the most time one turn of the event loop spends on tasks (one task may overrun it: tasks are
   * meant to be a few ms each).
   */
  constructor(private readonly budgetMs = 8) {}

  /** Tasks waiting for their turn. */
  get pending(): number {
    return this.queue.length;
  }

  /**
   * Runs `work` (synchronous, a few ms at most) in a later turn of the event loop, after the tasks queued before it;
   * resolves with its result. Rejects with {@link SliceAbortedError} without running it when `signal` is aborted first
   * (the task is dropped from the queue at once).
   */
  run<T>(work: () => T, signal?: AbortSignal): Promise<T> {
    if (signal?.aborted) return Promise.reject(new SliceAbortedError());
    return new Promise<T>((resolve, reject) => {
      const task: Task = { work, resolve: resolve as (value: unknown) => void, reject, signal, onAbort: undefined };
      if (signal) {
        task.onAbort = () => {
          const index = this.queue.indexOf(task);
          if (index >= 0) this.queue.splice(index, 1);
          reject(new SliceAbortedError());
        };
        signal.addEventListener("abort", task.onAbort, { once: true });
      }
      this.queue.push(task);
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    nextTurn(this.tick);
  }

  private readonly tick = (): void => {
    this.scheduled = false;
    const started = performance.now();
    // Tasks queued by the continuations of this turn's tasks wait for the next turn (they run as microtasks, after it).
    let left = this.queue.length;
    while (left-- > 0) {
      const task = this.queue.shift()!;
      if (task.onAbort) task.signal!.removeEventListener("abort", task.onAbort);
      try {
        task.resolve(task.work());
      } catch (error) {
        task.reject(error);
      }
      if (performance.now() - started >= this.budgetMs) break;
    }
    if (this.queue.length > 0) this.schedule();
  };
}
