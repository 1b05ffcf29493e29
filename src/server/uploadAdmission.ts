// Admission of uploads before their body is read: an upload route takes a ticket first, and is answered 429 with
// Retry-After (no byte of the body read, no FFmpeg started) when the engine could not take its job once decoded,
// when the concurrent decodes are all taken, or when the decoded-audio memory budget has no room for its start.
import { AudioMemoryBudget, type AudioMemoryLease } from "../audio/index.js";
import type { WhisperEngine } from "../engine/WhisperEngine.js";
import { ApiError } from "../transcription/apiErrors.js";

export interface UploadAdmissionOptions {
  /** Uploads received and decoded at once; undefined: the engine's job slots + queue places. */
  maxDecodes: number | undefined;
  /** Decoded audio held by all uploads together, in bytes. */
  budgetBytes: number;
  /** Leased to each upload when it is admitted: its first buffer of decoded audio. */
  initialLeaseBytes: number;
  /** The engine uploads are transcribed on (undefined while it loads). */
  engine: () => WhisperEngine | undefined;
}

export interface UploadStats {
  /** Uploads being received and decoded now. */
  decoding: number;
  maxDecoding: number;
  /** Admitted uploads not answered yet (decoding, waiting for the engine or being transcribed). */
  uploads: number;
  /** Decoded audio held by them, and the budget, in MiB. */
  decodedAudioMb: number;
  maxDecodedAudioMb: number;
}

/** One admitted upload: its decode slot (until its decode ends) and its lease on the memory budget (until it is answered). */
export class UploadTicket {
  private decodeHeld = true;
  private released = false;

  constructor(
    private readonly admission: UploadAdmission,
    /** Granted to the decoder; holds the decoded samples' memory until {@link release}. */
    readonly memory: AudioMemoryLease,
  ) {}

  /** The decode is over (done or failed): its slot goes to the next upload. Idempotent. */
  decodeDone(): void {
    if (!this.decodeHeld) return;
    this.decodeHeld = false;
    this.admission.decodeEnded();
  }

  /** The request is answered (or gone): everything is given back. Idempotent. */
  release(): void {
    if (this.released) return;
    this.released = true;
    this.decodeDone();
    this.memory.release();
    this.admission.uploadEnded();
  }
}

export class UploadAdmission {
  readonly budget: AudioMemoryBudget;
  private decoding = 0;
  private uploads = 0;

  constructor(private readonly options: UploadAdmissionOptions) {
    this.budget = new AudioMemoryBudget(options.budgetBytes);
  }

  /** Why a new upload would be refused now (a 429), or undefined. */
  refusal(): ApiError | undefined {
    const engine = this.options.engine();
    const retryAfter = engine?.retryAfterSeconds() ?? 5;
    if (engine) {
      const stats = engine.stats();
      // Every admitted upload becomes a job: admit no more than the slots and the queue can take.
      if (engine.saturated || this.uploads >= stats.maxParallel + stats.maxQueued) return ApiError.overloaded(retryAfter);
    }
    if (this.decoding >= this.maxDecodes) return ApiError.overloaded(retryAfter);
    if (this.budget.freeBytes < this.options.initialLeaseBytes) return ApiError.overloaded(retryAfter);
    return undefined;
  }

  /** A ticket for a new upload; throws the 429 of {@link refusal}. */
  admit(): UploadTicket {
    const refused = this.refusal();
    if (refused) throw refused;
    const lease = this.budget.lease(this.options.initialLeaseBytes);
    if (!lease) throw ApiError.overloaded(this.options.engine()?.retryAfterSeconds() ?? 5);
    this.decoding++;
    this.uploads++;
    return new UploadTicket(this, lease);
  }

  /** The configured bound, else the engine's job slots + queue places (every admitted upload becomes a job). */
  get maxDecodes(): number {
    if (this.options.maxDecodes !== undefined) return this.options.maxDecodes;
    const stats = this.options.engine()?.stats();
    return stats ? stats.maxParallel + stats.maxQueued : 1;
  }

  stats(): UploadStats {
    const mb = (bytes: number) => Math.round((bytes / 1_048_576) * 10) / 10;
    return {
      decoding: this.decoding,
      maxDecoding: this.maxDecodes,
      uploads: this.uploads,
      decodedAudioMb: mb(this.budget.usedBytes),
      maxDecodedAudioMb: mb(this.budget.limitBytes),
    };
  }

  /** @internal */
  decodeEnded(): void {
    this.decoding = Math.max(0, this.decoding - 1);
  }

  /** @internal */
  uploadEnded(): void {
    this.uploads = Math.max(0, this.uploads - 1);
  }
}

/** A decode refused for memory (mid-decode, or from the duration the header declares): the server is busy. */
export function memoryBudgetExhausted(retryAfterSeconds: number): ApiError {
  return new ApiError(
    503,
    `The server is holding as much decoded audio as it is configured for; retry after ${retryAfterSeconds} s.`,
    "server_error",
    null,
    "decoded_audio_budget_exhausted",
    { "Retry-After": String(retryAfterSeconds) },
  );
}
