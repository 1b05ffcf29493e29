// The whole surface of the native addon (native/src), typed in one place so the C++ exports
// can be reviewed against a single file. Times are whisper.cpp's centiseconds.

export interface NativeBuildInfo {
  whisperVersion: string;
  /** whisper_print_system_info(): the SIMD features the binary was compiled with. */
  systemInfo: string;
  hardwareThreads: number;
  devices: Array<{ name: string; description: string; type: "cpu" | "gpu" | "other" }>;
}

export interface NativeLanguage {
  id: number;
  code: string;
  name: string;
}

/**
 * The cross-attention heads DTW word alignment reads (whisper.cpp's dtw_aheads): a preset of a known model, the
 * heads of the `nTop` last text layers, or custom [layer, head] pairs flattened. `count`: how many heads that is (it
 * sizes the alignment pass's scratch memory).
 */
export type NativeAlignmentHeads =
  | { preset: NativeAlignmentPreset; count: number }
  | { preset: "top"; nTop: number; count: number }
  | { preset: "custom"; heads: number[]; count: number };

export type NativeAlignmentPreset =
  | "tiny.en"
  | "tiny"
  | "base.en"
  | "base"
  | "small.en"
  | "small"
  | "medium.en"
  | "medium"
  | "large-v1"
  | "large-v2"
  | "large-v3"
  | "large-v3-turbo";

export interface NativeModelOptions {
  useGpu?: boolean;
  flashAttn?: boolean;
  gpuDevice?: number;
  /** Load with DTW alignment heads, so that jobs may ask for the alignment pass (`dtw`). Absent: no DTW. */
  alignmentHeads?: NativeAlignmentHeads;
}

/** The 11 hyper-parameters a ggml whisper file starts with (in this order; see whisper_model_load). */
export interface WhisperHparams {
  nVocab: number;
  nAudioCtx: number;
  nAudioState: number;
  nAudioHead: number;
  nAudioLayer: number;
  nTextCtx: number;
  nTextState: number;
  nTextHead: number;
  nTextLayer: number;
  nMels: number;
  ftype: number;
}

export interface NativeModelInfo extends WhisperHparams {
  path: string;
  type: string;
  multilingual: boolean;
  specialTokens: { eot: number; sot: number; beg: number; translate: number; transcribe: number; noTimestamps: number };
}

/** Options of one job; see native/src/TranscribeParams.h for defaults. */
export interface NativeTranscribeParams {
  threads?: number;
  /** ISO code, or "" / "auto" to detect on the first 30 s. */
  language?: string;
  translate?: boolean;
  prompt?: string;
  carryPrompt?: boolean;
  conditionOnPreviousText?: boolean;
  temperature?: number;
  /** 0 disables the temperature fallback. */
  temperatureIncrement?: number;
  beamSize?: number;
  bestOf?: number;
  noSpeechThreshold?: number;
  logprobThreshold?: number;
  entropyThreshold?: number;
  tokenTimestamps?: boolean;
  /**
   * The DTW alignment pass after each window (token tDtw): only on a model loaded with alignmentHeads
   * (native/patches/whisper-word-dtw.patch makes it work with flash attention and per job).
   */
  dtw?: boolean;
  noTimestamps?: boolean;
  singleSegment?: boolean;
  suppressNonSpeechTokens?: boolean;
  maxTokensPerSegment?: number;
  offsetMs?: number;
  durationMs?: number;
  /** Encoder positions to run (50 per second of audio, at most 1500); 0: the full 30-s window. */
  audioCtx?: number;
  /**
   * Default true: language detection's encoder pass also serves the first window's decoding (one encoder pass
   * instead of two; native/patches/whisper-encoder-reuse.patch). false: whisper.cpp's own behaviour, for comparison.
   */
  reuseEncoder?: boolean;
  /** Language detection picks the most probable of these ISO codes (empty or absent: any language). */
  languageCandidates?: string[];
}

export interface NativeToken {
  id: number;
  bytes: Buffer;
  p: number;
  plog: number;
  pt: number;
  ptsum: number;
  t0: number;
  t1: number;
  tDtw: number;
}

export interface NativeSegment {
  t0: number;
  t1: number;
  text: string;
  noSpeechProb: number;
  temperature: number;
  speakerTurnNext: boolean;
  tokens: NativeToken[];
}

export interface NativeTranscribeResult {
  segments: NativeSegment[];
  language: string;
  /** Negative when the language was not detected (given, or English-only model). */
  languageProbability: number;
  timings: { detectMs: number; decodeMs: number; windows: number; fallbacks: number; encoderPasses: number };
}

/** Error codes a native job rejects with (error.code). */
export type NativeJobErrorCode = "ABORTED" | "TRANSCRIPTION_FAILED" | "LANGUAGE_DETECTION_FAILED" | "UNKNOWN_LANGUAGE";

/** What every engine's native state offers a job slot (StatePool, SlotSharing): abort, threads, disposal. */
export interface NativeJobState {
  readonly busy: boolean;
  /** Asks the running job to stop at the next decoding step; returns whether one was running. */
  abort(): boolean;
  /**
   * The threads the running job uses from its next encoder or decoder pass on (0: the threads it was started with,
   * as every job starts).
   */
  setThreads(threads: number): void;
  /** The last {@link setThreads} value since the running (or last) job started: 0 when none. */
  readonly threadsOverride: number;
  dispose(): void;
}

export interface NativeWhisperState extends NativeJobState {
  transcribe(
    pcm: Float32Array,
    params: NativeTranscribeParams,
    onSegments?: (segments: NativeSegment[]) => void,
    onProgress?: (percent: number) => void,
    /** Called once the language has been detected, before decoding starts (not called when it was given). */
    onLanguage?: (language: string, probability: number) => void,
  ): Promise<NativeTranscribeResult>;
}

export interface NativeWhisperModel {
  info(): NativeModelInfo;
  createState(): Promise<NativeWhisperState>;
  /** Drops this handle; the weights are freed once every state is disposed too. */
  dispose(): void;
}

/**
 * One stream of whisper.cpp's ggml Silero VAD (its own weights, LSTM state and context), run off the JS thread.
 * Calls must not overlap.
 */
export interface NativeSileroVad {
  /**
   * The speech probability of each 512 samples (16 kHz mono; a last partial window is zero-padded), carrying the
   * state on to the next call. The first call loads the model; an empty array only does that.
   */
  detect(samples: Float32Array): Promise<Float32Array>;
  /** Frees the native context (at once, or when a running detect ends); later calls throw. */
  dispose(): void;
}

export interface NativeSileroVadConstructor {
  /** `model`: whisper.cpp's ggml Silero VAD format (copied). */
  new (model: Uint8Array): NativeSileroVad;
}

/** A loaded Parakeet TDT model's shape (parakeet_model_*). */
export interface NativeParakeetModelInfo {
  path: string;
  nVocab: number;
  /** Mel frames one encoder pass takes before parakeet_full switches to a graph sized to the whole input. */
  nAudioCtx: number;
  nAudioState: number;
  nAudioHead: number;
  nAudioLayer: number;
  nMels: number;
  ftype: number;
  /** The transducer's blank: n_vocab, outside the vocabulary. */
  blankToken: number;
}

/** One emitted token of greedy TDT decoding (parakeet_token_data); times in centiseconds. */
export interface NativeParakeetToken {
  id: number;
  /** The SentencePiece piece's bytes ("▁word": U+2581 marks a word start). */
  piece: Buffer;
  /** Probability among the vocabulary and blank. */
  p: number;
  /** parakeet's plog: the log-probability over all of the joint network's outputs (pieces, blank and durations). */
  plog: number;
  /** Start: the encoder frame it was emitted at; end: that frame plus its predicted duration (punctuation collapsed to the previous token's end). */
  t0: number;
  t1: number;
  frameIndex: number;
  /** Encoder frames the token spans (TDT duration). */
  duration: number;
  wordStart: boolean;
}

export interface NativeParakeetResult {
  tokens: NativeParakeetToken[];
  /** The text as parakeet_full assembles it (for comparison with parakeet-cli). */
  text: string;
  timings: { decodeMs: number };
}

export interface NativeParakeetState extends NativeJobState {
  /** Progress is reported at 0 and 100 only (parakeet_full encodes the whole input in one pass). */
  transcribe(pcm: Float32Array, params: { threads: number }, onProgress?: (percent: number) => void): Promise<NativeParakeetResult>;
}

export interface NativeParakeetModel {
  info(): NativeParakeetModelInfo;
  createState(): Promise<NativeParakeetState>;
  /** Drops this handle; the weights are freed once every state is disposed too. */
  dispose(): void;
}

export interface NativeAddon {
  loadParakeetModel(path: string, options?: { useGpu?: boolean; gpuDevice?: number }): Promise<NativeParakeetModel>;
  parakeetVersion(): string;
  SileroVad: NativeSileroVadConstructor;
  buildInfo(): NativeBuildInfo;
  languages(): NativeLanguage[];
  loadModel(path: string, options?: NativeModelOptions): Promise<NativeWhisperModel>;
}
