// The one contract every speech engine meets (Whisper through whisper.cpp, Parakeet through its parakeet_* API), so
// that the transcription pipeline, chunking, admission, metrics and the server need no engine-specific branches.
// Options speak OpenAI's terms; an engine refuses what its model cannot do with UnsupportedOptionError naming the
// request field (see engineFields.ts for which engine takes which field).
import type { NativeBuildInfo } from "./nativeTypes.js";
import type { JobPriority, StatePoolStats } from "./StatePool.js";
import type { Segment, Task, TranscriptionResult } from "./types.js";

export type { JobPriority } from "./StatePool.js";

/** The engines the addon carries. */
export type EngineKind = "whisper" | "parakeet";

/** Job-slot options every engine takes (EngineOptions adds Whisper's own). */
export interface SlotOptions {
  /** Jobs decoded at once, each on its own native state (weights shared). Default: cores / threadsPerJob, at least 1. */
  parallelJobs?: number;
  /** CPU threads each job uses. Default: min(4, cores). */
  threadsPerJob?: number;
  /** Jobs allowed to wait for a free slot before new ones are refused. Default 16. */
  maxQueuedJobs?: number;
  /** Offload to the GPU when the addon was built with one. Default true. */
  useGpu?: boolean;
  /**
   * On the CPU, a job slot of two threads or more may run two sharing jobs (a long file's chunks) side by side, each
   * on its own state with half the threads. Default true; false: one job per slot, on all its threads.
   */
  slotSharing?: boolean;
  /** Told of every job that ran on a job slot, once it ends (metrics). Never throws into the job. */
  onJob?: (job: EngineJob) => void;
}

/** What every engine tells about itself. */
export interface EngineInfo {
  kind: EngineKind;
  build: NativeBuildInfo;
  model: {
    path: string;
    /** The model's size class as the engine names it ("tiny", "base", "0.6b", ...). */
    type: string;
    /** False for a model of one language (English). */
    multilingual: boolean;
  };
  parallelJobs: number;
  threadsPerJob: number;
  maxQueuedJobs: number;
  /** Whether CPU job slots take two sharing jobs side by side (see {@link SlotOptions.slotSharing}). */
  slotSharing: boolean;
}

/** One loaded model serving many concurrent jobs off the JS thread. */
export interface TranscriptionEngine {
  readonly info: EngineInfo;
  /** Whether two sharing jobs ({@link TranscribeHooks.shareSlot}) can run side by side on one job slot, threads split. */
  readonly sharesSlots: boolean;
  /** Jobs decoding now. */
  readonly runningJobs: number;
  /** True when a new job would be refused with EngineOverloadedError. */
  readonly saturated: boolean;
  stats(): StatePoolStats;
  /** Seconds a client refused now should wait before retrying. */
  retryAfterSeconds(): number;
  /**
   * Transcribes (or translates) 16 kHz mono PCM. Rejects with EngineOverloadedError when the queue is full,
   * TranscriptionAbortedError when `hooks.signal` aborts (queued or running), UnsupportedOptionError when the model
   * cannot do what an option asks.
   */
  transcribe(pcm: Float32Array, options?: TranscriptionOptions, hooks?: TranscribeHooks): Promise<TranscriptionResult>;
  /** Refuses new jobs and frees the model once running jobs finish. */
  close(): Promise<void>;
}

/** One engine job that ran on a job slot (queued jobs refused or aborted before they started are not jobs). */
export interface EngineJob {
  audioSeconds: number;
  /** Wall time on the job slot (the native run), not counting the wait for the slot. */
  processingSeconds: number;
  outcome: "ok" | "aborted" | "failed";
}

/** Decoding options in the terms of OpenAI's API. */
export interface TranscriptionOptions {
  /** ISO-639-1 code; undefined or "auto" detects it from the first 30 s. */
  language?: string;
  task?: Task;
  /** Text to condition the first window on (style, spelling of names). */
  prompt?: string;
  /** 0 (default): whisper's temperature fallback ladder; > 0: sample at exactly this temperature. */
  temperature?: number;
  beamSize?: number;
  bestOf?: number;
  /** Words with their times (DTW-aligned when the engine aligns with DTW). */
  wordTimestamps?: boolean;
  /**
   * Token times without words (whisper.cpp's heuristic, nearly free): for callers that cut segments by their tokens'
   * times. Implied by wordTimestamps.
   */
  tokenTimes?: boolean;
  noSpeechThreshold?: number;
  logprobThreshold?: number;
  /** whisper.cpp's entropy threshold, its stand-in for the compression-ratio check. */
  entropyThreshold?: number;
  conditionOnPreviousText?: boolean;
  /**
   * "fit": run the encoder over the audio's own length instead of a full 30-s window (audio under 30 s only).
   * Several times faster for short audio, somewhat less accurate: for provisional passes such as live partials.
   */
  encoderContext?: "full" | "fit";
  /**
   * Default true: when the language is detected, the detection's encoder pass also decodes the first window.
   * false runs the encoder twice, as whisper.cpp does (kept for benchmarks and tests that compare the two).
   */
  reuseEncoder?: boolean;
  /**
   * When the language is detected, the languages it may be (ISO codes): the most probable of them is taken. One
   * language is simply that language (nothing to detect).
   */
  languages?: string[];
}

export interface TranscribeHooks {
  signal?: AbortSignal;
  /** Called with each segment as soon as it is decoded, in order. */
  onSegment?: (segment: Segment) => void;
  /** Decoding progress, 0-100. */
  onProgress?: (percent: number) => void;
  /** The detected language, as soon as it is known (before decoding); not called when the language was given. */
  onLanguage?: (language: string, probability: number) => void;
  /**
   * Work of a request that was already admitted (the later chunks of a chunked file): it waits for a slot however
   * long the queue is, instead of being refused with EngineOverloadedError.
   */
  admitted?: boolean;
  /**
   * "batch" (a batch job's work): waits behind every live job for a slot, is never refused as overloaded and takes
   * no place in the bounded queue. Default "live".
   */
  priority?: JobPriority;
  /**
   * The job may share its slot with another sharing job of its priority (a chunked file's chunks): when two are
   * ready together they run side by side, the slot's threads split between them; alone it gets them all (true), or
   * half of them when the caller has more work in hand and the other half is for its next job ("half"). No effect
   * unless {@link TranscriptionEngine.sharesSlots}.
   */
  shareSlot?: boolean | "half";
}

