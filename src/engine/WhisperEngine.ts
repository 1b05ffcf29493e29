import path from "node:path";

import { alignmentHeadsFor, readModelHparams } from "./alignmentHeads.js";
import { buildSegment, buildSegments, type SegmentContext } from "./buildSegment.js";
import { ModelLoadError, UnsupportedLanguageError } from "./errors.js";
import { loadAddon } from "./loadAddon.js";
import type { NativeAlignmentHeads, NativeModelInfo, NativeSegment, NativeTranscribeParams, NativeWhisperModel, NativeWhisperState } from "./nativeTypes.js";
import { jobSlots, sharesSlots } from "./jobSlots.js";
import { PooledEngine } from "./PooledEngine.js";
import { SlotSharing } from "./SlotSharing.js";
import type { EngineInfo, EngineJob, SlotOptions, TranscribeHooks, TranscriptionOptions } from "./engine.js";
import type { Segment, Task, TranscriptionResult } from "./types.js";
import { SAMPLE_RATE } from "./sampleRate.js";

export type WordAlignment = "dtw" | "heuristic";

export interface EngineOptions extends SlotOptions {
  flashAttention?: boolean;
  /**
   * How word times are made. "dtw" (default): whisper's attention-based alignment (dynamic time warping over the
   * cross-attention of the model's alignment heads), one extra decoder pass per 30-s window for the jobs that ask for
   * words. "heuristic": whisper.cpp's token-timestamp heuristic, nothing extra, less accurate.
   */
  wordAlignment?: WordAlignment;
  /**
   * The alignment heads DTW reads: "auto" (default: the preset of the model's shape, else every head of its upper
   * text layers), a preset name, "top:N" or "layer:head" pairs joined by commas (see alignmentHeads.ts).
   */
  alignmentHeads?: string;
}

export interface WhisperEngineInfo extends EngineInfo {
  kind: "whisper";
  model: NativeModelInfo;
  /** How this engine makes word times, and with which heads when by DTW. */
  wordAlignment: WordAlignment;
  alignmentHeads?: NativeAlignmentHeads;
}

/**
 * One loaded whisper model serving many concurrent jobs: the weights are in memory once, each
 * running job decodes on its own whisper_state on a native thread, so the event loop never blocks.
 */
/** Encoder positions per second of audio (1500 per 30-s window). */
const ENCODER_POSITIONS_PER_SECOND = 50;
const FULL_AUDIO_CONTEXT = 1500;

/**
 * The encoder context that covers `durationSeconds` with a margin of 0.64 s, in steps of 32 positions (so
 * similar lengths share compute-graph shapes); 0 (the full window) when that would not be smaller.
 */
export function fittedAudioContext(durationSeconds: number): number {
  const positions = Math.ceil((durationSeconds * ENCODER_POSITIONS_PER_SECOND + 32) / 32) * 32;
  return positions >= FULL_AUDIO_CONTEXT ? 0 : positions;
}

export class WhisperEngine extends PooledEngine<NativeWhisperState> {
  /** Undefined when a slot cannot be split (one thread per job, or the model runs on a GPU). */
  private readonly sharing: SlotSharing<NativeWhisperState> | undefined;
  private readonly languageCodes: Set<string>;

  private constructor(
    model: NativeWhisperModel,
    readonly info: WhisperEngineInfo,
    onJob?: (job: EngineJob) => void,
  ) {
    super(model, info, onJob);
    this.sharing = info.slotSharing ? new SlotSharing(this.pool, info.threadsPerJob, () => model.createState()) : undefined;
    this.languageCodes = new Set(loadAddon().languages().map((l) => l.code));
  }

  /** Whether two sharing jobs ({@link TranscribeHooks.shareSlot}) can run side by side on one job slot, threads split. */
  get sharesSlots(): boolean {
    return this.sharing !== undefined;
  }

  /** Loads a ggml model file. */
  static async load(modelPath: string, options: EngineOptions = {}): Promise<WhisperEngine> {
    const addon = loadAddon();
    const { parallelJobs, threadsPerJob, maxQueuedJobs } = jobSlots(options);
    const wordAlignment = options.wordAlignment ?? "dtw";
    let model: NativeWhisperModel;
    let alignmentHeads: NativeAlignmentHeads | undefined;
    try {
      if (wordAlignment === "dtw") alignmentHeads = alignmentHeadsFor(options.alignmentHeads ?? "auto", await readModelHparams(modelPath), path.basename(modelPath));
      model = await addon.loadModel(modelPath, {
        useGpu: options.useGpu ?? true,
        flashAttn: options.flashAttention ?? true,
        ...(alignmentHeads ? { alignmentHeads } : {}),
      });
    } catch (error) {
      throw new ModelLoadError((error as Error).message, modelPath);
    }
    const build = addon.buildInfo();
    const slotSharing = sharesSlots(options, threadsPerJob, build);
    const info: WhisperEngineInfo = { kind: "whisper", build, model: model.info(), parallelJobs, threadsPerJob, maxQueuedJobs, slotSharing, wordAlignment, ...(alignmentHeads ? { alignmentHeads } : {}) };
    return new WhisperEngine(model, info, options.onJob);
  }

  /**
   * Transcribes (or translates) 16 kHz mono PCM. Rejects with EngineOverloadedError when the queue
   * is full, TranscriptionAbortedError when `hooks.signal` aborts (queued or running).
   */
  async transcribe(pcm: Float32Array, options: TranscriptionOptions = {}, hooks: TranscribeHooks = {}): Promise<TranscriptionResult> {
    const candidates = (options.languages ?? []).map((code) => code.toLowerCase());
    for (const code of candidates) if (!this.languageCodes.has(code)) throw new UnsupportedLanguageError(code);
    // One candidate is no choice at all: that language, nothing to detect.
    const given = options.language === undefined || options.language === "auto" ? undefined : options.language.toLowerCase();
    const language = given ?? (candidates.length === 1 ? candidates[0]! : "auto");
    if (language !== "auto" && !this.languageCodes.has(language)) throw new UnsupportedLanguageError(language);
    const task: Task = options.task ?? "transcribe";
    const duration = pcm.length / SAMPLE_RATE;
    const params = this.nativeParams(options, language, language === "auto" ? candidates : [], task, duration);
    const { signal } = hooks;
    const admitted = hooks.admitted ?? false;
    const priority = hooks.priority ?? "live";
    const context = { task, language, duration, wordTimestamps: options.wordTimestamps ?? false };
    const run = (state: NativeWhisperState, threads: number) => this.runJob(state, pcm, { ...params, threads }, hooks, context);
    if (hooks.shareSlot && this.sharing) return this.sharing.run({ run, signal, admitted, priority, alone: hooks.shareSlot === "half" ? "half" : "all" });
    return this.pool.run((state) => run(state, this.info.threadsPerJob), { signal, admitted, priority });
  }

  /** One job on a state it holds, with `params.threads` threads. */
  private runJob(
    state: NativeWhisperState,
    pcm: Float32Array,
    params: NativeTranscribeParams,
    hooks: TranscribeHooks,
    { task, language, duration, wordTimestamps }: { task: Task; language: string; duration: number; wordTimestamps: boolean },
  ): Promise<TranscriptionResult> {
    const { onSegment } = hooks;
    const tokens = this.info.model.specialTokens;
    let onSegments: ((segments: NativeSegment[]) => void) | undefined;
    if (onSegment) {
      // The requested language ("auto" while detecting): JS learns the detected one with the result only.
      const streamContext: SegmentContext = { tokens, duration, wordTimestamps, language };
      let streamed = 0;
      onSegments = (segments) => {
        for (const native of segments) onSegment(buildSegment(native, streamed++, streamContext));
      };
    }
    const work = async (): Promise<TranscriptionResult> => {
      const result = await state.transcribe(pcm, params, onSegments, hooks.onProgress, hooks.onLanguage);
      const segments = buildSegments(result.segments, { tokens, duration, wordTimestamps, language: result.language });
      return {
        task,
        language: result.language,
        languageProbability: result.languageProbability >= 0 ? result.languageProbability : null,
        duration,
        text: segments.map((s) => s.text).join("").trim(),
        segments,
        timings: result.timings,
      };
    };
    return this.runOnState(state, duration, hooks.signal, work, (code) => (code === "UNKNOWN_LANGUAGE" ? new UnsupportedLanguageError(language) : undefined));
  }

  private nativeParams(options: TranscriptionOptions, language: string, languageCandidates: string[], task: Task, durationSeconds: number): NativeTranscribeParams {
    const temperature = options.temperature ?? 0;
    return {
      audioCtx: options.encoderContext === "fit" ? fittedAudioContext(durationSeconds) : 0,
      threads: this.info.threadsPerJob,
      language,
      translate: task === "translate",
      prompt: options.prompt ?? "",
      temperature,
      // OpenAI: "If set to 0, the model will use log probability to automatically increase the temperature".
      temperatureIncrement: temperature === 0 ? 0.2 : 0,
      beamSize: options.beamSize ?? 1,
      bestOf: options.bestOf ?? 5,
      noSpeechThreshold: options.noSpeechThreshold ?? 0.6,
      logprobThreshold: options.logprobThreshold ?? -1,
      entropyThreshold: options.entropyThreshold ?? 2.4,
      tokenTimestamps: (options.wordTimestamps ?? false) || (options.tokenTimes ?? false),
      // The alignment pass runs for the jobs that asked for words only.
      dtw: (options.wordTimestamps ?? false) && this.info.wordAlignment === "dtw",
      conditionOnPreviousText: options.conditionOnPreviousText ?? true,
      reuseEncoder: options.reuseEncoder ?? true,
      languageCandidates,
    };
  }

  protected override closing(): void {
    this.sharing?.close();
  }
}
