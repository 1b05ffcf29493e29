// Admission of uploads before their body is read: an upload route takes a ticket first, and is answered 429 with
// Retry-After (no byte of the body read, no FFmpeg started) when no loaded engine could take its job once decoded,
// when the concurrent decodes are all taken, or when the decoded-audio memory budget has no room for its start. The
// model an upload asks for is not known before its body (the SDK sends the file first): admission counts every loaded
// model's slots and queue together, and the model's own engine refuses its job (429) when its queue is full.
import { AudioMemoryBudget, type AudioMemoryLease } from "../audio/index.js";
import type { TranscriptionEngine } from "../engine/engine.js";
import { ApiError, shuttingDown, uploadIdleTimeout } from "../api/errors.js";

export interface UploadAdmissionOptions {
  /** Uploads received and decoded at once; undefined: the engine's job slots + queue places. */
  maxDecodes: number | undefined;
  /** Decoded audio held by all uploads together, in bytes. */
  budgetBytes: number;
  /** Leased to each upload when it is admitted: its first buffer of decoded audio. */
  initialLeaseBytes: number;
  /** The engines loaded now (none while the preloaded models load, or when every model is unloaded). */
  engines: () => TranscriptionEngine[];
  /** One engine's job slots + queue places, for the decode bound while no engine is loaded. */
  placesPerEngine: number;
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

/** An upload is dropped to make room for a new one only after sending nothing for this long. */
export const EVICT_IDLE_MS = 2_000;

/** One admitted upload: its decode slot (until its decode ends) and its lease on the memory budget (until it is answered). */
export class UploadTicket {
  private decodeHeld = true;
  private released = false;
  /** How long the upload has sent nothing (the route tells, once its body is being read); undefined: not known. */
  idleMs: (() => number) | undefined;
  /** Drops the upload with the given 408 (the route sets it while the body is being read). */
  evict: ((error: ApiError) => void) | undefined;

  constructor(
    private readonly admission: UploadAdmission,
    /** Granted to the decoder; holds the decoded samples' memory until {@link release}. */
    readonly memory: AudioMemoryLease,
  ) {}

  /** Still receiving and decoding its body. */
  get decoding(): boolean {
    return this.decodeHeld;
  }

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
    this.admission.uploadEnded(this);
  }
}

export class UploadAdmission {
  readonly budget: AudioMemoryBudget;
  private decoding = 0;
  private uploads = 0;
  private readonly tickets = new Set<UploadTicket>();
  private drainingSince: number | undefined;
  private leavingSince: number | undefined;

  constructor(private readonly options: UploadAdmissionOptions) {
    this.budget = new AudioMemoryBudget(options.budgetBytes);
  }

  /**
   * Shutdown has begun: /ready answers 503 "draining" from now on (a load balancer takes the server out), while
   * uploads and realtime sessions are still admitted until {@link drain}.
   */
  leave(): void {
    this.leavingSince ??= Date.now();
  }

  /** Shutdown has begun ({@link leave} or {@link drain}): /ready answers 503 "draining". */
  get leaving(): boolean {
    return this.leavingSince !== undefined || this.draining;
  }

  /** The server is shutting down: every new upload (and realtime session) is refused with {@link shuttingDown}. */
  drain(): void {
    this.drainingSince ??= Date.now();
  }

  get draining(): boolean {
    return this.drainingSince !== undefined;
  }

  /** Why a new upload would be refused now (a 429, or 503 while draining), or undefined. */
  refusal(): ApiError | undefined {
    if (this.draining) return shuttingDown();
    const engines = this.options.engines();
    const retryAfter = this.retryAfterSeconds();
    // Every admitted upload becomes a job: admit no more than the slots and the queues can take.
    if (engines.length > 0 && (engines.every((engine) => engine.saturated) || this.uploads >= this.jobPlaces())) return ApiError.overloaded(retryAfter);
    if (this.decoding >= this.maxDecodes) return ApiError.overloaded(retryAfter);
    if (this.budget.freeBytes < this.options.initialLeaseBytes) return ApiError.overloaded(retryAfter);
    return undefined;
  }

  /**
   * A ticket for a new upload; throws the 429 of {@link refusal}. When uploads that have stalled (nothing sent for
   * {@link EVICT_IDLE_MS}) hold the places, the one idle longest is dropped with a 408 to make room: a client that
   * opens uploads and stops sending cannot lock the others out for the whole idle timeout.
   */
  admit(): UploadTicket {
    if (this.draining) throw shuttingDown();
    let refused = this.refusal();
    while (refused && this.evictIdlest()) refused = this.refusal();
    if (refused) throw refused;
    const lease = this.budget.lease(this.options.initialLeaseBytes);
    if (!lease) throw ApiError.overloaded(this.retryAfterSeconds());
    this.decoding++;
    this.uploads++;
    const ticket = new UploadTicket(this, lease);
    this.tickets.add(ticket);
    return ticket;
  }

  /** The configured bound, else the loaded engines' job slots + queue places (every admitted upload becomes a job). */
  get maxDecodes(): number {
    if (this.options.maxDecodes !== undefined) return this.options.maxDecodes;
    return this.options.engines().length > 0 ? this.jobPlaces() : this.options.placesPerEngine;
  }

  /** Job slots and queue places of every loaded engine. */
  private jobPlaces(): number {
    return this.options.engines().reduce((sum, engine) => {
      const stats = engine.stats();
      return sum + stats.maxParallel + stats.maxQueued;
    }, 0);
  }

  /** The soonest a loaded engine expects a free slot (5 s when none is loaded). */
  private retryAfterSeconds(): number {
    const engines = this.options.engines();
    return engines.length > 0 ? Math.min(...engines.map((engine) => engine.retryAfterSeconds())) : 5;
  }

  /** Uploads being received and decoded now. */
  get decodingNow(): number {
    return this.decoding;
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
  uploadEnded(ticket: UploadTicket): void {
    this.uploads = Math.max(0, this.uploads - 1);
    this.tickets.delete(ticket);
  }

  /** Drops the upload idle longest (at least {@link EVICT_IDLE_MS}); false when none is. */
  private evictIdlest(): boolean {
    let victim: UploadTicket | undefined;
    let longest = EVICT_IDLE_MS;
    for (const ticket of this.tickets) {
      const idle = ticket.decoding && ticket.evict ? (ticket.idleMs?.() ?? 0) : 0;
      if (idle >= longest) {
        longest = idle;
        victim = ticket;
      }
    }
    if (!victim) return false;
    victim.evict!(uploadIdleTimeout(Math.round(longest / 100) * 100, " while other uploads waited for its place"));
    // Its places are free now, whatever its request still takes to wind down.
    victim.release();
    return true;
  }
}

