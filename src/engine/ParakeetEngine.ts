// One loaded Parakeet TDT model (whisper.cpp's parakeet_* API in the addon) serving many concurrent jobs behind the
// same TranscriptionEngine contract as Whisper: weights in memory once, each job on its own parakeet_state on a
// native thread, the same job slots, queue and admission. What the model cannot do (translate, prompt, temperature,
// beam search, a language outside its own) is refused by the table in engineFields.ts. A long input is decoded in
// blocks of at most a minute (parakeetBlocks.ts), so memory stays bounded whatever the length.
import type { EngineInfo, EngineJob, SlotOptions, TranscribeHooks, TranscriptionOptions } from "./engine.js";
import { refusedOption } from "./engineFields.js";
import { ModelLoadError, UnsupportedOptionError } from "./errors.js";
import { jobSlots } from "./jobSlots.js";
import { loadAddon } from "./loadAddon.js";
import type { NativeParakeetModel, NativeParakeetModelInfo, NativeParakeetState, NativeParakeetToken } from "./nativeTypes.js";
import { blockBounds } from "./parakeetBlocks.js";
import { parakeetSegments } from "./parakeetSegments.js";
import { PooledEngine } from "./PooledEngine.js";
import { SAMPLE_RATE } from "./sampleRate.js";
import type { TranscriptionResult } from "./types.js";

export interface ParakeetEngineInfo extends EngineInfo {
  kind: "parakeet";
  model: EngineInfo["model"] & NativeParakeetModelInfo;
}

/** Parakeet's English-only vocabulary (TDT 0.6B v2); the multilingual v3 has 8192 pieces. */
const ENGLISH_VOCAB = 1024;

/** The size class of a Parakeet model from its encoder's width and depth ("0.6b" for d_model 1024 × 24 layers). */
function modelType(info: NativeParakeetModelInfo): string {
  if (info.nAudioState === 1024 && info.nAudioLayer === 24) return "0.6b";
  if (info.nAudioState === 1024 && info.nAudioLayer === 42) return "1.1b";
  return `${info.nAudioState}x${info.nAudioLayer}`;
}

export class ParakeetEngine extends PooledEngine<NativeParakeetState> {
  private constructor(
    model: NativeParakeetModel,
    readonly info: ParakeetEngineInfo,
    onJob?: (job: EngineJob) => void,
  ) {
    super(model, info, onJob);
  }

  /**
   * Slot sharing splits a running job's threads between two jobs; parakeet_full takes its threads once per job, so
   * a Parakeet slot runs one job at a time on all its threads.
   */
  get sharesSlots(): boolean {
    return false;
  }

  /** Loads a ggml Parakeet TDT file (as converted by whisper.cpp's tools). */
  static async load(modelPath: string, options: SlotOptions = {}): Promise<ParakeetEngine> {
    const addon = loadAddon();
    const { parallelJobs, threadsPerJob, maxQueuedJobs } = jobSlots(options);
    let model: NativeParakeetModel;
    try {
      model = await addon.loadParakeetModel(modelPath, { useGpu: options.useGpu ?? true });
    } catch (error) {
      throw new ModelLoadError((error as Error).message, modelPath);
    }
    const native = model.info();
    const info: ParakeetEngineInfo = {
      kind: "parakeet",
      build: addon.buildInfo(),
      model: { ...native, type: modelType(native), multilingual: native.nVocab > ENGLISH_VOCAB },
      parallelJobs,
      threadsPerJob,
      maxQueuedJobs,
      slotSharing: false,
    };
    return new ParakeetEngine(model, info, options.onJob);
  }

  async transcribe(pcm: Float32Array, options: TranscriptionOptions = {}, hooks: TranscribeHooks = {}): Promise<TranscriptionResult> {
    const refusal = refusedOption({ kind: "parakeet", multilingual: this.info.model.multilingual }, options);
    if (refusal) throw new UnsupportedOptionError(refusal.option, refusal.message);
    const { signal } = hooks;
    const admitted = hooks.admitted ?? false;
    const priority = hooks.priority ?? "live";
    return this.pool.run((state) => this.runJob(state, pcm, options, hooks), { signal, admitted, priority });
  }

  /** One job on a state it holds: the input in blocks, the tokens of all of them cut into segments. */
  private runJob(state: NativeParakeetState, pcm: Float32Array, options: TranscriptionOptions, hooks: TranscribeHooks): Promise<TranscriptionResult> {
    const duration = pcm.length / SAMPLE_RATE;
    const work = async (): Promise<TranscriptionResult> => {
      const tokens: NativeParakeetToken[] = [];
      const context = { duration, wordTimestamps: options.wordTimestamps ?? false };
      let decodeMs = 0;
      let streamed = 0;
      const bounds = blockBounds(pcm);
      const blocks = bounds.length - 1;
      for (let block = 0; block < blocks; block++) {
        const from = bounds[block]!;
        const offset = Math.round((from / SAMPLE_RATE) * 100);
        const onProgress = hooks.onProgress && ((percent: number) => hooks.onProgress!(Math.round((100 * block + percent) / blocks)));
        const result = await state.transcribe(pcm.subarray(from, bounds[block + 1]), { threads: this.info.threadsPerJob }, onProgress);
        decodeMs += result.timings.decodeMs;
        for (const token of result.tokens) tokens.push(offset === 0 ? token : { ...token, t0: token.t0 + offset, t1: token.t1 + offset });
        // Segments are cut left to right, so every one but the last (which the next block may extend) is final: they
        // stream as each block is decoded, the same segments the result holds.
        if (hooks.onSegment && block < blocks - 1) {
          const sofar = parakeetSegments(tokens, context);
          for (; streamed < sofar.length - 1; streamed++) hooks.onSegment(sofar[streamed]!);
        }
      }
      const segments = parakeetSegments(tokens, context);
      // The model does not say which language it heard: the one asked for, else its only one, else none.
      const asked = options.language && options.language !== "auto" ? options.language.toLowerCase() : options.languages?.length === 1 ? options.languages[0]! : undefined;
      const language = asked ?? (this.info.model.multilingual ? "" : "en");
      for (; streamed < segments.length; streamed++) hooks.onSegment?.(segments[streamed]!);
      return {
        task: "transcribe",
        language,
        languageProbability: null,
        duration,
        text: segments.map((s) => s.text).join("").trim(),
        segments,
        timings: { decodeMs, detectMs: 0, windows: blocks, fallbacks: 0, encoderPasses: blocks },
      };
    };
    return this.runOnState(state, duration, hooks.signal, work);
  }
}
