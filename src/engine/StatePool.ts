import { EngineClosedError, EngineOverloadedError, TranscriptionAbortedError } from "./errors.js";
import type { NativeJobState } from "./nativeTypes.js";

export interface StatePoolOptions<S extends NativeJobState> {
  /** Jobs that run at once, each on its own whisper_state. */
  maxParallel: number;
  /** Jobs allowed to wait for a free state; beyond that acquire() throws EngineOverloadedError. */
  maxQueued: number;
  createState: () => Promise<S>;
}

/**
 * "live": a request someone is waiting for (the default); "batch": a batch job's work. Live waiters are always served
 * before batch waiters; batch work takes no place in the bounded queue and is never refused as overloaded.
 */
export type JobPriority = "live" | "batch";

export interface StatePoolStats {
  running: number;
  /** Live jobs waiting for a state (bounded by maxQueued). */
  queued: number;
  /** Batch jobs waiting for a state (not bounded, not counted in `queued`). */
  batchQueued: number;
  maxParallel: number;
  maxQueued: number;
}

interface Waiter<S> {
  resolve: (state: S) => void;
  reject: (error: Error) => void;
}

/**
 * A bounded pool of whisper_states with two FIFO queues in front of it: the weights live once in the model, each
 * in-flight job gets a state of its own. States are created lazily and reused. A freed state goes to the first live
 * waiter, and to a batch waiter only when no live one waits, so a live job waits at most for the first running job
 * to end, however much batch work is queued.
 */
export class StatePool<S extends NativeJobState = NativeJobState> {
  private readonly idle: S[] = [];
  private readonly waiters: Waiter<S>[] = [];
  private readonly batchWaiters: Waiter<S>[] = [];
  private running = 0;
  private closed = false;
  private averageJobMs = 0;

  constructor(private readonly options: StatePoolOptions<S>) {}

  stats(): StatePoolStats {
    return { running: this.running, queued: this.waiters.length, batchQueued: this.batchWaiters.length, maxParallel: this.options.maxParallel, maxQueued: this.options.maxQueued };
  }

  /** True when a new job would have to be refused. */
  get saturated(): boolean {
    return this.running >= this.options.maxParallel && this.waiters.length >= this.options.maxQueued;
  }

  /** Seconds until a queued job would likely start, from the running average job time. */
  estimatedWaitSeconds(): number {
    const jobsAhead = this.waiters.length + 1;
    const perJob = this.averageJobMs > 0 ? this.averageJobMs : 5_000;
    return Math.max(1, Math.ceil((jobsAhead * perJob) / this.options.maxParallel / 1000));
  }

  /** Runs `job` with a state of its own, waiting in the queue if all states are busy. */
  async run<T>(
    job: (state: S) => Promise<T>,
    options: { signal?: AbortSignal | undefined; admitted?: boolean; priority?: JobPriority | undefined } = {},
  ): Promise<T> {
    const state = await this.acquire(options.signal, options.admitted ?? false, options.priority ?? "live");
    const started = Date.now();
    try {
      return await job(state);
    } finally {
      const elapsed = Date.now() - started;
      this.averageJobMs = this.averageJobMs === 0 ? elapsed : this.averageJobMs * 0.8 + elapsed * 0.2;
      this.release(state);
    }
  }

  private async acquire(signal: AbortSignal | undefined, admitted: boolean, priority: JobPriority): Promise<S> {
    if (this.closed) throw new EngineClosedError();
    if (signal?.aborted) throw new TranscriptionAbortedError();
    const batch = priority === "batch";
    // A free state, unless live jobs wait for it (a batch job does not jump them).
    if (this.running < this.options.maxParallel && (!batch || this.waiters.length === 0)) {
      this.running++;
      try {
        return await this.takeState();
      } catch (error) {
        this.running--;
        this.wakeNext();
        throw error;
      }
    }
    if (!batch && !admitted && this.waiters.length >= this.options.maxQueued) throw new EngineOverloadedError(this.estimatedWaitSeconds());
    const queue = batch ? this.batchWaiters : this.waiters;
    return new Promise<S>((resolve, reject) => {
      const onAbort = () => {
        const index = queue.indexOf(waiter);
        if (index >= 0) queue.splice(index, 1);
        reject(new TranscriptionAbortedError());
      };
      const waiter: Waiter<S> = {
        resolve: (state) => {
          signal?.removeEventListener("abort", onAbort);
          resolve(state);
        },
        reject: (error) => {
          signal?.removeEventListener("abort", onAbort);
          reject(error);
        },
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      queue.push(waiter);
    });
  }

  /** The waiter a freed state goes to: live ones first. */
  private nextWaiter(): Waiter<S> | undefined {
    return this.waiters.shift() ?? this.batchWaiters.shift();
  }

  private async takeState(): Promise<S> {
    return this.idle.pop() ?? this.options.createState();
  }

  private release(state: S): void {
    const next = this.nextWaiter();
    if (next && !this.closed) {
      next.resolve(state);
      return;
    }
    this.running--;
    if (this.closed) {
      state.dispose();
    } else {
      this.idle.push(state);
    }
  }

  /** After a failed state creation, lets the next waiter try. */
  private wakeNext(): void {
    const next = this.nextWaiter();
    if (!next) return;
    this.running++;
    this.takeState().then(next.resolve, (error: Error) => {
      this.running--;
      next.reject(error);
      this.wakeNext();
    });
  }

  /** Refuses new jobs, fails queued ones, frees idle states; running jobs finish first. */
  close(): void {
    this.closed = true;
    for (const waiter of [...this.waiters.splice(0), ...this.batchWaiters.splice(0)]) waiter.reject(new EngineClosedError());
    for (const state of this.idle.splice(0)) state.dispose();
  }
}
