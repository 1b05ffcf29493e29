// What every engine does the same way around its native states: the job slots and their queue (StatePool), the jobs
// counted while they run, a job's abort wired to its state, its outcome told to the observer (metrics), the native
// ABORTED error read as TranscriptionAbortedError, and the close. WhisperEngine and ParakeetEngine add only how
// their model is loaded and how a job's options become native parameters and its native result a transcription.
import type { EngineInfo, EngineJob, TranscribeHooks, TranscriptionEngine, TranscriptionOptions } from "./engine.js";
import { TranscriptionAbortedError, TranscriptionFailedError } from "./errors.js";
import type { NativeJobState } from "./nativeTypes.js";
import { StatePool, type StatePoolStats } from "./StatePool.js";
import type { TranscriptionResult } from "./types.js";

/** A loaded native model: it makes states and is let go once. */
export interface NativeModel<S extends NativeJobState> {
  createState(): Promise<S>;
  dispose(): void;
}

export abstract class PooledEngine<S extends NativeJobState> implements TranscriptionEngine {
  abstract readonly info: EngineInfo;
  protected readonly pool: StatePool<S>;
  private closed = false;
  private jobsRunning = 0;

  protected constructor(
    protected readonly model: NativeModel<S>,
    slots: { parallelJobs: number; maxQueuedJobs: number },
    private readonly onJob?: (job: EngineJob) => void,
  ) {
    this.pool = new StatePool({ maxParallel: slots.parallelJobs, maxQueued: slots.maxQueuedJobs, createState: () => model.createState() });
  }

  abstract get sharesSlots(): boolean;

  abstract transcribe(pcm: Float32Array, options?: TranscriptionOptions, hooks?: TranscribeHooks): Promise<TranscriptionResult>;

  /** Jobs decoding now: as many as the slots in use, or more where slots are shared. */
  get runningJobs(): number {
    return this.jobsRunning;
  }

  /** True when a new job would be refused with EngineOverloadedError. */
  get saturated(): boolean {
    return this.pool.saturated;
  }

  stats(): StatePoolStats {
    return this.pool.stats();
  }

  /** Seconds a client refused now should wait before retrying. */
  retryAfterSeconds(): number {
    return this.pool.estimatedWaitSeconds();
  }

  /**
   * Runs `work` as one engine job on a state the caller holds: `signal` aborts the state, the job is counted while
   * it runs and told to the observer when it ends. A native ABORTED rejects with TranscriptionAbortedError; any other
   * error with what `mapError` makes of it, else TranscriptionFailedError.
   */
  protected async runOnState<T>(
    state: S,
    audioSeconds: number,
    signal: AbortSignal | undefined,
    work: () => Promise<T>,
    mapError?: (code: string | undefined, error: unknown) => Error | undefined,
  ): Promise<T> {
    if (signal?.aborted) throw new TranscriptionAbortedError();
    const onAbort = () => state.abort();
    signal?.addEventListener("abort", onAbort, { once: true });
    const started = performance.now();
    let outcome: EngineJob["outcome"] = "failed";
    this.jobsRunning++;
    try {
      const result = await work();
      outcome = "ok";
      return result;
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code === "ABORTED") {
        outcome = "aborted";
        throw new TranscriptionAbortedError();
      }
      throw mapError?.(code, error) ?? new TranscriptionFailedError((error as Error).message);
    } finally {
      this.jobsRunning--;
      signal?.removeEventListener("abort", onAbort);
      try {
        this.onJob?.({ audioSeconds, processingSeconds: (performance.now() - started) / 1000, outcome });
      } catch {
        // An observer's failure is not the job's.
      }
    }
  }

  /** Refuses new jobs and frees the model once running jobs finish. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.pool.close();
    this.closing();
    this.model.dispose();
  }

  /** What an engine closes beside the pool (Whisper: its shared slots). */
  protected closing(): void {}
}
