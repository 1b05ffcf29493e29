// One transcription of one piece of audio, fed as it is decoded. Without chunking the audio is decoded as one
// block (as OpenAI does when chunking_strategy is unset); with chunking, Silero VAD runs over the samples as they
// arrive, chunks are cut from the speech as soon as they are complete and decoded at once, several side by side.
import type { SileroVadModel, SileroVadStream } from "../audio/vad/index.js";
import { TranscriptionAbortedError } from "../engine/errors.js";
import type { Segment, TranscriptionResult } from "../engine/types.js";
import type { JobPriority, TranscriptionEngine, TranscriptionOptions } from "../engine/engine.js";
import { PcmStore } from "./pcmStore.js";
import { ChunkScheduler } from "./chunkScheduler.js";
import { emptyResult, mergeChunkResults } from "./chunkTimeline.js";
import { SpeechChunker, type SpeechChunk } from "./speechChunker.js";
import type { ChunkingStrategy } from "./settings.js";
import { hasSpeech, mapSpeech } from "./speechPresence.js";
import { SpeechMap } from "./speechMap.js";
import { snapSegment, snapSegmentWords } from "./snapWords.js";
import { requestedLanguage } from "./languages.js";
import { SAMPLE_RATE } from "../engine/sampleRate.js";

export interface TranscriptionRunOptions {
  engine: TranscriptionEngine;
  loadVad: () => Promise<SileroVadModel>;
  options: TranscriptionOptions;
  /** null: one block. */
  chunking: ChunkingStrategy | null;
  /** Chunks decoded at once at most; default the engine's job slots. */
  concurrency?: number | undefined;
  /** The work of a request already admitted (one channel of several): waits for a slot instead of being refused. */
  admitted?: boolean | undefined;
  signal?: AbortSignal | undefined;
  onSegment?: ((segment: Segment) => void) | undefined;
  onProgress?: ((percent: number) => void) | undefined;
  /** The engine priority of the run's work (default live; a batch job's: "batch"). */
  priority?: JobPriority | undefined;
  /** Unchunked runs: the caller's VAD already found speech in the audio, so it is not checked again. */
  speechKnown?: boolean | undefined;
  /** Chunked runs: each chunk once it and every chunk before it are decoded, in order. */
  onChunkDone?: ((chunk: SpeechChunk) => void) | undefined;
  /**
   * Chunked runs only. false: the run keeps only the samples a chunk still to come may hold (a long batch job's
   * audio is never in memory whole), and {@link TranscriptionRun.finish} is called without the audio. Default true.
   */
  keepAudio?: boolean | undefined;
  /** Called once when the run is over: finish() settled, or cancel() (the model it holds is given back). */
  onEnd?: (() => void) | undefined;
}

/** Work not started yet, in {@link TranscriptionRun.backlog}'s terms: what a feeder lets wait before it reads on. */
export interface RunBacklog {
  vadSamples: number;
  chunks: number;
}

/**
 * push() samples in order as they are decoded, then finish() with the whole audio. A chunked run starts decoding
 * chunks before finish(); abort through `signal` (or {@link cancel}) stops the VAD and every chunk.
 */
export class TranscriptionRun {
  private readonly store = new PcmStore();
  private readonly chunker: SpeechChunker | undefined;
  private readonly scheduler: ChunkScheduler | undefined;
  private vad: Promise<SileroVadStream> | undefined;
  /** VAD work queued so far, in order. */
  private vadTail: Promise<void> = Promise.resolve();
  private vadFailure: unknown;
  private cancelled = false;
  /** Samples handed to the VAD and not yet through it. */
  private vadBacklog = 0;
  /** Samples of the block the VAD is running now (part of the backlog). */
  private vadRunning = 0;
  /** Feeders waiting for the backlog to come down (see {@link whenBacklogWithin}). */
  private backlogWaiters: Array<{ bound: RunBacklog; resolve: () => void }> = [];
  /** Chunks decoded at once at most. */
  readonly concurrency: number;
  /** Chunked runs that want words: where the VAD heard speech, for snapping word times out of silences. */
  private readonly speechMap: SpeechMap | undefined;

  /** Until the run is over (see {@link TranscriptionRunOptions.onEnd}). */
  private onEnd: (() => void) | undefined;

  constructor(private readonly options: TranscriptionRunOptions) {
    this.onEnd = options.onEnd;
    if (options.keepAudio === false && !options.chunking) throw new RangeError("TranscriptionRun: keepAudio: false needs chunking");
    this.concurrency = options.concurrency ?? options.engine.info.parallelJobs;
    if (options.chunking && options.options.wordTimestamps) this.speechMap = new SpeechMap();
    if (options.chunking) {
      this.chunker = new SpeechChunker({
        ...(options.chunking.threshold !== undefined ? { threshold: options.chunking.threshold } : {}),
        ...(options.chunking.prefixPaddingMs !== undefined ? { prefixPaddingMs: options.chunking.prefixPaddingMs } : {}),
        ...(options.chunking.silenceDurationMs !== undefined ? { silenceDurationMs: options.chunking.silenceDurationMs } : {}),
      });
      this.scheduler = new ChunkScheduler({
        engine: options.engine,
        options: options.options,
        concurrency: this.concurrency,
        admitted: options.admitted,
        signal: options.signal,
        // A chunk's segments come once the VAD has passed its end: the speech map covers them.
        onSegment: snapped(options.onSegment, () => this.speechMap),
        priority: options.priority,
        onChunkDone: options.onChunkDone,
        // Audio in hand behind the block being cut: the VAD is busy and more chunks are coming.
        moreComing: () => this.vadBacklog - this.vadRunning >= MORE_COMING_SAMPLES,
        onWaitingShrunk: () => this.backlogShrunk(),
      });
      this.vad = options.loadVad().then((model) => model.createStream());
      this.vad.catch(() => undefined);
    }
  }

  /** More decoded samples (16 kHz mono), in order. */
  push(samples: Float32Array): void {
    // One block waits for the whole audio (given to finish()): nothing to keep before that.
    // A run whose VAD failed keeps nothing more: finish() throws that failure.
    if (!this.chunker || this.cancelled || this.vadFailure !== undefined || samples.length === 0) return;
    const from = this.store.length;
    this.store.append(samples);
    this.feedVad(from, this.store.length);
  }

  /** Work not started yet: samples waiting for the VAD, chunks cut and waiting for a slot (for back-pressure). */
  get backlog(): { vadSamples: number; chunks: number } {
    return { vadSamples: this.vadBacklog, chunks: this.scheduler?.waitingCount ?? 0 };
  }

  /**
   * Resolves once the work not started yet is within `bound` (at once when it is), or the run has stopped (cancelled,
   * aborted, its VAD failed): a feeder that can wait reads its next samples then. The run resolves it itself as its
   * VAD and chunks take the work, so nobody polls.
   */
  whenBacklogWithin(bound: RunBacklog): Promise<void> {
    if (this.stopped || this.backlogWithin(bound)) return Promise.resolve();
    const signal = this.options.signal;
    return new Promise((resolve) => {
      const waiter = {
        bound,
        resolve: () => {
          signal?.removeEventListener("abort", onAbort);
          resolve();
        },
      };
      const onAbort = () => this.backlogShrunk();
      signal?.addEventListener("abort", onAbort, { once: true });
      this.backlogWaiters.push(waiter);
    });
  }

  /** Samples the run holds now (a run with keepAudio: false lets go of those no chunk still to come may hold). */
  get heldSamples(): number {
    return this.store.held;
  }

  /**
   * The audio is complete (`audio`: all of it, the samples pushed so far included; none with keepAudio: false, where
   * the samples pushed are all of it): resolves with the transcription.
   */
  async finish(audio?: Float32Array): Promise<TranscriptionResult> {
    try {
      return await this.finishRun(audio);
    } finally {
      this.end();
    }
  }

  private async finishRun(audio?: Float32Array): Promise<TranscriptionResult> {
    if (audio === undefined && this.options.keepAudio !== false) throw new RangeError("TranscriptionRun: finish() needs the audio");
    const { options } = this.options;
    const task = options.task ?? "transcribe";
    const duration = (audio?.length ?? this.store.length) / SAMPLE_RATE;
    if (this.options.signal?.aborted) throw new TranscriptionAbortedError();
    if (!this.chunker || !this.scheduler) {
      // One block, unless nobody speaks in it: then there is nothing to decode (whisper would make something up).
      const whole = audio!;
      if (!this.options.speechKnown && !(await hasSpeech(whole, await this.options.loadVad(), this.options.signal))) return emptyResult(task, duration, silentLanguage(options));
      const { signal, onProgress, admitted, priority } = this.options;
      // Word times are snapped out of the silences: the whole audio's speech is mapped beside the decoding.
      const words = options.wordTimestamps ? new MappedSpeech(mapSpeech(whole, await this.options.loadVad(), signal), this.options.onSegment) : undefined;
      const onSegment = words ? words.onSegment : this.options.onSegment;
      const result = await this.options.engine.transcribe(whole, options, {
        ...(signal ? { signal } : {}),
        ...(onSegment ? { onSegment } : {}),
        ...(onProgress ? { onProgress } : {}),
        ...(admitted ? { admitted } : {}),
        ...(priority ? { priority } : {}),
      });
      return words ? { ...result, segments: snapSegmentWords(result.segments, (await words.map).speech) } : result;
    }
    if (audio) {
      // The whole audio replaces the copy built up so far; only what was not pushed yet still goes to the VAD.
      const pushed = this.store.length;
      this.store.replaceWith(audio);
      if (audio.length > pushed && !this.cancelled) this.feedVad(pushed, audio.length);
    }
    await this.vadTail;
    this.closeVad();
    if (this.vadFailure !== undefined) {
      this.scheduler.cancel(this.vadFailure);
      await this.scheduler.finish().catch(() => undefined);
      throw this.vadFailure;
    }
    this.dispatch(this.chunker.end(this.store.length));
    const results = await this.scheduler.finish();
    const merged = mergeChunkResults(task, duration, results, silentLanguage(options));
    return this.speechMap ? { ...merged, segments: snapSegmentWords(merged.segments, this.speechMap.speech) } : merged;
  }

  /** Stops the run: no more VAD, every chunk aborted. */
  cancel(): void {
    this.end();
    this.cancelled = true;
    this.closeVad();
    this.scheduler?.cancel();
    this.scheduler?.finish().catch(() => undefined);
    this.backlogShrunk();
  }

  /** Tells the owner, once, that the run is over. */
  private end(): void {
    const onEnd = this.onEnd;
    this.onEnd = undefined;
    onEnd?.();
  }

  /** Cancelled, aborted or failed: no more work will be taken, so no feeder waits for it. */
  private get stopped(): boolean {
    return this.cancelled || this.vadFailure !== undefined || this.options.signal?.aborted === true;
  }

  private backlogWithin(bound: RunBacklog): boolean {
    const { vadSamples, chunks } = this.backlog;
    return vadSamples <= bound.vadSamples && chunks <= bound.chunks;
  }

  /** The backlog came down (or the run stopped): the feeders it lets through read on. */
  private backlogShrunk(): void {
    if (this.backlogWaiters.length === 0) return;
    const stopped = this.stopped;
    const through = this.backlogWaiters.filter((waiter) => stopped || this.backlogWithin(waiter.bound));
    if (through.length === 0) return;
    this.backlogWaiters = this.backlogWaiters.filter((waiter) => !through.includes(waiter));
    for (const waiter of through) waiter.resolve();
  }

  /** Frees the VAD stream's native context: every frame the run needs is in (or the run was cancelled). */
  private closeVad(): void {
    this.vad?.then(
      (stream) => stream.close(),
      () => undefined,
    );
  }

  /**
   * Queues samples [from, to) of the store for the VAD. They are read from the store when their turn comes, so the
   * backlog holds no samples of its own (a feeder that cannot wait costs no more than the run's copy).
   */
  private feedVad(from: number, to: number): void {
    const vad = this.vad!;
    const chunker = this.chunker!;
    const count = to - from;
    this.vadBacklog += count;
    this.vadTail = this.vadTail.then(async () => {
      try {
        if (this.cancelled || this.vadFailure !== undefined || this.options.signal?.aborted) return;
        this.vadRunning = count;
        const stream = await vad;
        // The view is taken and copied by push() at once, before the store changes; the frames come back in order.
        // Every sample from the VAD's position on is still in the store's buffer (see SpeechChunker.retained).
        const frames = await stream.push(this.store.view(from, to));
        for (const frame of frames) {
          this.speechMap?.push(frame.probability);
          this.dispatch(chunker.push(frame.probability));
        }
        if (this.options.keepAudio === false) {
          const { spans, from } = chunker.retained();
          this.store.retainOnly(spans, from);
        }
      } catch (error) {
        this.vadFailure ??= error;
      } finally {
        this.vadBacklog -= count;
        this.vadRunning = 0;
        this.backlogShrunk();
      }
    });
  }

  private dispatch(chunks: SpeechChunk[]): void {
    for (const chunk of chunks) this.scheduler!.add(chunk, this.store.chunk(chunk));
  }
}

/**
 * The speech map of an unchunked run, made while the engine decodes: segments streamed before it is done wait for it
 * (it takes about 2 ms of one core per second of audio, the first window's decoding longer), then go out snapped, in
 * order.
 */
class MappedSpeech {
  private ready: SpeechMap | undefined;
  private readonly waiting: Segment[] = [];
  readonly map: Promise<SpeechMap>;
  readonly onSegment: ((segment: Segment) => void) | undefined;

  constructor(mapping: Promise<SpeechMap>, onSegment: ((segment: Segment) => void) | undefined) {
    this.map = mapping.then((map) => {
      this.ready = map;
      for (const segment of this.waiting.splice(0)) onSegment?.(snapSegment(segment, map.speech));
      return map;
    });
    // A failed decoding is the run's error; the mapping's (aborted with it) is not awaited then.
    this.map.catch(() => undefined);
    this.onSegment = onSegment
      ? (segment) => {
          if (this.ready) onSegment(snapSegment(segment, this.ready.speech));
          else this.waiting.push(segment);
        }
      : undefined;
  }
}

/** `onSegment` with each segment's words snapped to the speech map `map()` gives at the time (as is without one). */
function snapped(onSegment: ((segment: Segment) => void) | undefined, map: () => SpeechMap | undefined): ((segment: Segment) => void) | undefined {
  if (!onSegment) return undefined;
  return (segment) => {
    const speech = map()?.speech;
    onSegment(speech ? snapSegment(segment, speech) : segment);
  };
}

/** Audio waiting for the VAD that counts as more chunks coming soon (a third of a chunk): 10 s. */
const MORE_COMING_SAMPLES = 10 * SAMPLE_RATE;

/** The language reported for audio with no speech: the one asked for, else the first of those allowed, else English. */
function silentLanguage(options: TranscriptionOptions): string {
  return requestedLanguage(options.language) ?? options.languages?.[0] ?? "en";
}
