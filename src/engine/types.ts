// Engine-level result and option types. Field names follow OpenAI's verbose_json
// (openai-node TranscriptionSegment / TranscriptionWord) so src/formats is a near-identity map;
// times are in seconds.

/** One decoded token, text or timestamp. */
export interface TokenInfo {
  /** Vocabulary id. */
  id: number;
  /** The token's text (UTF-8 decoded; a partial multi-byte sequence decodes with U+FFFD). */
  text: string;
  /** The token's raw bytes; several tokens may be needed to complete one UTF-8 character. */
  bytes: Uint8Array;
  /** Probability of the token when it was sampled. */
  probability: number;
  /** Natural-log probability of the token. */
  logprob: number;
  /** Token-level start/end in seconds (only meaningful when word timestamps were requested). */
  start: number;
  end: number;
  /** True for special tokens (timestamps, end-of-text, ...): not part of the text. */
  special: boolean;
}

export interface Word {
  /** The word with its leading space, as whisper emits it (" Hello"). */
  word: string;
  start: number;
  end: number;
  /** Mean probability of the word's tokens. */
  probability: number;
}

export interface Segment {
  id: number;
  /** Offset of the 30-s window the segment was decoded in, in mel frames (100 per second), as OpenAI reports it. */
  seek: number;
  start: number;
  end: number;
  text: string;
  tokens: TokenInfo[];
  /** Temperature that produced this segment after the fallback ladder. */
  temperature: number;
  /** Mean log-probability of the segment's text tokens. */
  avgLogprob: number;
  /** zlib compression ratio of the segment's text (gzip-ish hallucination detector). */
  compressionRatio: number;
  /** Probability of no speech in the segment's window. */
  noSpeechProb: number;
  /** Present when word timestamps were requested. */
  words?: Word[];
}

export type Task = "transcribe" | "translate";

export interface TranscriptionTimings {
  /** Total wall time of the native job, ms. */
  decodeMs: number;
  /** Language detection wall time, ms (0 when the language was given). */
  detectMs: number;
  /** Number of 30-s encoder windows. */
  windows: number;
  /** Extra decoding attempts caused by the temperature fallback. */
  fallbacks: number;
  /** Encoder passes actually computed, language detection included (detection's pass also decodes the first window). */
  encoderPasses: number;
}

export interface TranscriptionResult {
  task: Task;
  /** ISO-639-1 code, e.g. "en". */
  language: string;
  /** Probability of the detected language, or null when the language was given. */
  languageProbability: number | null;
  /** Audio duration in seconds. */
  duration: number;
  text: string;
  segments: Segment[];
  timings: TranscriptionTimings;
}
