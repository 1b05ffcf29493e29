// Runs a chunked file's chunks on the engine, several at once when it has free slots, and hands their segments
// on in time order. The first chunk detects the language (in the same encoder pass that decodes it); the others
// start as soon as it is known, with that language given.
import { TranscriptionAbortedError } from "../engine/errors.js";
import type { Segment, TranscriptionResult } from "../engine/types.js";
import type { JobPriority, TranscriptionEngine, TranscriptionOptions } from "../engine/engine.js";
import { ChunkTimeline, mapSegment } from "./chunkTimeline.js";
import type { SpeechChunk } from "./speechChunker.js";
import { requestedLanguage } from "./languages.js";

export interface ChunkSchedulerOptions {
  engine: TranscriptionEngine;
  options: TranscriptionOptions;
  /**
   * Job slots used at once, at most. Where the engine shares slots, twice as many chunks run: two side by side on
   * a slot, its threads split between them (a chunk that finds no partner gets all of them).
   */
  concurrency: number;
  /** Every chunk is the work of a request already admitted (one channel of several): none is refused as overloaded. */
  admitted?: boolean | undefined;
  signal?: AbortSignal | undefined;
  /** Each segment on the original timeline, in time order, numbered from 0 across chunks. */
  onSegment?: ((segment: Segment) => void) | undefined;
  /** The engine priority of every chunk (default live; batch jobs: "batch", never refused as overloaded). */
  priority?: JobPriority | undefined;
  /** Each chunk once it and every chunk before it are decoded, in order. */
  onChunkDone?: ((chunk: SpeechChunk) => void) | undefined;
  /**
   * Whether more chunks are coming soon (the caller has audio in hand still to cut): a chunk that would run alone
   * then takes half a shared slot's threads, the other half being for the chunks to come (and, meanwhile, the VAD).
   */
  moreComing?: (() => boolean) | undefined;
  /** Told when fewer chunks wait for a slot (one started, or all were dropped on failure): the run's back-pressure. */
  onWaitingShrunk?: (() => void) | undefined;
}

interface ChunkState {
  chunk: SpeechChunk;
  samples: Float32Array;
  timeline: ChunkTimeline;
  /** Mapped segments received while an earlier chunk was still being handed on. */
  held: Segment[];
  result?: TranscriptionResult;
}

/**
 * Add chunks in index order as they are cut; {@link finish} once the last one is in. Fails as a whole: the first
 * chunk that fails aborts the others. The first job is admitted like any request (it may be refused as overloaded);
 * later ones are the same request's work and wait for a slot however long the queue.
 */
export class ChunkScheduler {
  private readonly chunks: ChunkState[] = [];
  private readonly waiting: ChunkState[] = [];
  private readonly abort = new AbortController();
  private readonly signal: AbortSignal;
  private language: string | undefined;
  private running = 0;
  private started = 0;
  private closed = false;
  private failure: unknown;
  /** Index of the chunk whose segments are being handed on live. */
  private emitting = 0;
  private emitted = 0;
  private settle: { resolve: () => void; reject: (error: unknown) => void } | undefined;

  constructor(private readonly options: ChunkSchedulerOptions) {
    this.language = requestedLanguage(options.options.language) ?? (options.engine.info.model.multilingual ? undefined : "en");
    this.signal = options.signal ? AbortSignal.any([options.signal, this.abort.signal]) : this.abort.signal;
  }

  /** Queues the next chunk (chunks come in index order). */
  add(chunk: SpeechChunk, samples: Float32Array): void {
    if (this.closed) throw new Error("ChunkScheduler: add() after finish()");
    const state: ChunkState = { chunk, samples, timeline: new ChunkTimeline(chunk.pieces), held: [] };
    this.chunks.push(state);
    this.waiting.push(state);
    this.pump();
  }

  /** Resolves with every chunk's result (segments on the original timeline, numbered across chunks) in order. */
  finish(): Promise<TranscriptionResult[]> {
    this.closed = true;
    const done = new Promise<void>((resolve, reject) => {
      this.settle = { resolve, reject };
    });
    this.checkDone();
    return done.then(() => this.chunks.map((c) => c.result!));
  }

  /** Chunks added and not started yet. */
  get waitingCount(): number {
    return this.waiting.length;
  }

  /** Stops every running and waiting chunk. */
  cancel(reason: unknown = new TranscriptionAbortedError()): void {
    this.fail(reason);
  }

  private pump(): void {
    const limit = this.options.concurrency * (this.options.engine.sharesSlots ? 2 : 1);
    while (this.failure === undefined && this.waiting.length > 0 && this.running < limit) {
      // Until the language is known only the first chunk runs: it detects it.
      if (this.language === undefined && this.started > 0) return;
      const state = this.waiting.shift()!;
      this.run(state, this.started++ > 0 || this.options.admitted === true);
      this.options.onWaitingShrunk?.();
    }
  }

  private run(state: ChunkState, admitted: boolean): void {
    this.running++;
    // Token times always: a segment running across a join of pieces is split there by them.
    const options: TranscriptionOptions = { ...this.options.options, tokenTimes: true, ...(this.language ? { language: this.language } : {}) };
    const onSegment = this.options.onSegment ? (segment: Segment) => this.onChunkSegment(state, segment) : undefined;
    this.options.engine
      .transcribe(state.samples, options, {
        signal: this.signal,
        admitted,
        shareSlot: this.waiting.length > 0 || this.options.moreComing?.() ? "half" : true,
        ...(this.options.priority ? { priority: this.options.priority } : {}),
        ...(onSegment ? { onSegment } : {}),
        onLanguage: (language) => this.learnLanguage(language),
      })
      .then(
        (result) => {
          this.learnLanguage(result.language);
          state.result = { ...result, segments: result.segments.flatMap((s) => mapSegment(s, state.timeline, this.keepWords)) };
          // The chunk's samples are no longer needed.
          state.samples = new Float32Array(0);
          this.running--;
          this.handOn();
          this.pump();
          this.checkDone();
        },
        (error: unknown) => {
          this.running--;
          this.fail(error);
        },
      );
  }

  private learnLanguage(language: string): void {
    if (this.language !== undefined) return;
    this.language = language;
    this.pump();
  }

  private onChunkSegment(state: ChunkState, segment: Segment): void {
    for (const mapped of mapSegment(segment, state.timeline, this.keepWords)) {
      if (state.chunk.index === this.emitting) this.emit(mapped);
      else state.held.push(mapped);
    }
  }

  /** Whether the caller asked for word timestamps (chunks are always decoded with token times). */
  private get keepWords(): boolean {
    return this.options.options.wordTimestamps ?? false;
  }

  private emit(segment: Segment): void {
    this.options.onSegment?.({ ...segment, id: this.emitted++ });
  }

  /** Moves the live hand-on past finished chunks, handing on what the next ones held back. */
  private handOn(): void {
    for (;;) {
      const current = this.chunks[this.emitting];
      if (!current?.result) return;
      this.emitting++;
      this.options.onChunkDone?.(current.chunk);
      const next = this.chunks[this.emitting];
      if (next) for (const segment of next.held.splice(0)) this.emit(segment);
    }
  }

  private checkDone(): void {
    if (!this.settle) return;
    if (this.failure !== undefined) {
      if (this.running === 0) this.settle.reject(this.failure);
      return;
    }
    if (this.closed && this.running === 0 && this.waiting.length === 0) {
      let id = 0;
      for (const state of this.chunks) state.result!.segments = state.result!.segments.map((s) => ({ ...s, id: id++ }));
      this.settle.resolve();
    }
  }

  private fail(error: unknown): void {
    if (this.failure === undefined) {
      this.failure = error;
      this.waiting.length = 0;
      this.abort.abort(error);
      this.options.onWaitingShrunk?.();
    }
    this.checkDone();
  }
}
