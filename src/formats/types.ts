// Wire types of OpenAI's Audio API, named as in openai-node (src/resources/audio/transcriptions.ts,
// translations.ts, audio.ts). Field names are snake_case because these objects go on the wire as-is.
// All times are in seconds (JSON numbers), log-probabilities are natural logs.

/**
 * The five `response_format` values of /v1/audio/transcriptions and /v1/audio/translations: the ones rendered from one
 * transcription (see {@link TRANSCRIPTION_RESPONSE_FORMATS} for `diarized_json`).
 */
export const AUDIO_RESPONSE_FORMATS = ["json", "text", "srt", "verbose_json", "vtt"] as const;

/** camelCase alias of {@link AUDIO_RESPONSE_FORMATS} (e.g. for commander `.choices()`). */
export const audioResponseFormats: readonly AudioResponseFormat[] = AUDIO_RESPONSE_FORMATS;

/** openai-node `AudioResponseFormat` without `diarized_json` (which is rendered from several channels' transcriptions). */
export type AudioResponseFormat = (typeof AUDIO_RESPONSE_FORMATS)[number];

/** Every `response_format` of /v1/audio/transcriptions: the five, and `diarized_json` (speakers). */
export const TRANSCRIPTION_RESPONSE_FORMATS = [...AUDIO_RESPONSE_FORMATS, "diarized_json"] as const;

/** openai-node `AudioResponseFormat`. */
export type TranscriptionResponseFormat = (typeof TRANSCRIPTION_RESPONSE_FORMATS)[number];

/** The `timestamp_granularities[]` values (only meaningful with `verbose_json`). */
export const TIMESTAMP_GRANULARITIES = ["word", "segment"] as const;

/** One `timestamp_granularities[]` value. */
export type TimestampGranularity = (typeof TIMESTAMP_GRANULARITIES)[number];

/** True when `value` is one of {@link AUDIO_RESPONSE_FORMATS}. */
export function isAudioResponseFormat(value: unknown): value is AudioResponseFormat {
  return typeof value === "string" && (AUDIO_RESPONSE_FORMATS as readonly string[]).includes(value);
}

/** True when `value` is one of {@link TRANSCRIPTION_RESPONSE_FORMATS}. */
export function isTranscriptionResponseFormat(value: unknown): value is TranscriptionResponseFormat {
  return typeof value === "string" && (TRANSCRIPTION_RESPONSE_FORMATS as readonly string[]).includes(value);
}

/** True when `value` is one of {@link TIMESTAMP_GRANULARITIES}. */
export function isTimestampGranularity(value: unknown): value is TimestampGranularity {
  return typeof value === "string" && (TIMESTAMP_GRANULARITIES as readonly string[]).includes(value);
}

/**
 * Log-probability of one text token (`include[]=logprobs`). openai-node marks the three fields optional;
 * OpenAI always sends all three, in this order: token, logprob, bytes.
 */
export interface TranscriptionLogprob {
  /** The token's text. */
  token: string;
  /** Natural-log probability of the token. */
  logprob: number;
  /** The token's raw UTF-8 bytes, one number (0-255) per byte. */
  bytes: number[];
}

/** `usage` for models billed by audio duration (whisper-1): what Earshot reports. */
export interface TranscriptionUsageDuration {
  type: "duration";
  /** Billed audio duration in seconds: OpenAI sends a whole number, the duration rounded up. */
  seconds: number;
}

/** `usage` for models billed by tokens (gpt-4o-*-transcribe); also the only `usage` of `transcript.text.done`. */
export interface TranscriptionUsageTokens {
  type: "tokens";
  /** Number of input tokens billed. */
  input_tokens: number;
  /** Number of output tokens generated. */
  output_tokens: number;
  /** input_tokens + output_tokens. */
  total_tokens: number;
  input_token_details?: {
    /** Number of audio tokens billed. */
    audio_tokens?: number;
    /** Number of text (prompt) tokens billed. */
    text_tokens?: number;
  };
}

/** `response_format=json` body of a transcription. */
export interface Transcription {
  /** The transcribed text (leading/trailing whitespace removed). */
  text: string;
  /** Per-token log-probabilities, only with `include[]=logprobs`. */
  logprobs?: TranscriptionLogprob[];
  usage?: TranscriptionUsageTokens | TranscriptionUsageDuration;
  /** The language(s) of the text, when the request named `languages[]` (OpenAI's 2026 `Transcription`). */
  languages?: TranscriptionLanguage[];
}

/** One language of a transcription, as ISO-639-1. */
export interface TranscriptionLanguage {
  code: string;
}

/** One segment of `verbose_json`. */
export interface TranscriptionSegment {
  /** Index of the segment, from 0. */
  id: number;
  /** Offset of the 30-s window the segment was decoded in, in mel frames (100 per second). */
  seek: number;
  /** Start time in seconds. */
  start: number;
  /** End time in seconds. */
  end: number;
  /** Segment text, with whisper's leading space kept (" Hello."). */
  text: string;
  /** Token ids of the segment, timestamp tokens included (as OpenAI sends them). */
  tokens: number[];
  /** Sampling temperature that produced the segment. */
  temperature: number;
  /** Average log-probability; below -1 the decode is considered failed. */
  avg_logprob: number;
  /** zlib compression ratio of the text; above 2.4 the decode is considered repetitive. */
  compression_ratio: number;
  /** Probability of no speech in the segment's window. */
  no_speech_prob: number;
}

/** One word of `verbose_json` (`timestamp_granularities[]=word`). */
export interface TranscriptionWord {
  /** The word, without surrounding whitespace or punctuation ("volleyball", not " volleyball."). */
  word: string;
  /** Start time in seconds. */
  start: number;
  /** End time in seconds. */
  end: number;
}

/**
 * `response_format=verbose_json` body. openai-node's type has no `task`, but the API sends it
 * ("transcribe" | "translate") first, so it is part of the wire type here.
 */
export interface TranscriptionVerbose {
  task: "transcribe" | "translate";
  /** Lower-case English name of the language ("english"), not the ISO code. */
  language: string;
  /** Duration of the input audio in seconds (not rounded). */
  duration: number;
  /** The full text (leading/trailing whitespace removed). */
  text: string;
  /** Present unless only word granularity was asked for. */
  segments?: TranscriptionSegment[];
  /** Present only when word granularity was asked for. */
  words?: TranscriptionWord[];
  /** Duration usage; openai-node's TranslationVerbose has none, so translations omit it. */
  usage?: TranscriptionUsageDuration;
}

/** `response_format=json` body of a translation (openai-node `Translation`: text only). */
export interface Translation {
  text: string;
}

/** `response_format=verbose_json` body of a translation (openai-node `TranslationVerbose` + `task`). */
export type TranslationVerbose = TranscriptionVerbose;

/** SSE event `transcript.text.delta`: a new piece of text. */
export interface TranscriptionTextDeltaEvent {
  type: "transcript.text.delta";
  /** The newly transcribed text. */
  delta: string;
  /** Log-probabilities of the delta's tokens, only with `include[]=logprobs`. */
  logprobs?: TranscriptionLogprob[];
  /** The id of the diarized segment the delta belongs to (`diarized_json` only). */
  segment_id?: string;
}

/** SSE event `transcript.text.done`: the final text; the last event of the stream. */
export interface TranscriptionTextDoneEvent {
  type: "transcript.text.done";
  /** The complete transcribed text. */
  text: string;
  /** Log-probabilities of every text token, only with `include[]=logprobs`. */
  logprobs?: TranscriptionLogprob[];
  /** Token usage (the SDK types only the token variant here). */
  usage?: TranscriptionUsageTokens;
  /** The language(s) of the text, when the request named `languages[]`. */
  languages?: TranscriptionLanguage[];
}

/** One segment of `diarized_json` (openai-node `TranscriptionDiarizedSegment`), and the SSE event of it. */
export interface TranscriptionTextSegmentEvent {
  type: "transcript.text.segment";
  /** "seg_0", "seg_1", ... in time order. */
  id: string;
  /** Start time in seconds. */
  start: number;
  /** End time in seconds. */
  end: number;
  /** The speaker's label: its `known_speaker_names[]` entry, else "A", "B", ... */
  speaker: string;
  /** The segment's text, trimmed. */
  text: string;
}

/** openai-node `TranscriptionDiarizedSegment`: the same object as the `transcript.text.segment` event. */
export type TranscriptionDiarizedSegment = TranscriptionTextSegmentEvent;

/** `response_format=diarized_json` body (openai-node `TranscriptionDiarized`). */
export interface TranscriptionDiarized {
  task: "transcribe";
  /** Duration of the input audio in seconds. */
  duration: number;
  /** The segments' texts, in time order. */
  text: string;
  segments: TranscriptionDiarizedSegment[];
  usage: TranscriptionUsageDuration;
}

/** Any event of a streamed transcription. */
export type TranscriptionStreamEvent =
  | TranscriptionTextSegmentEvent
  | TranscriptionTextDeltaEvent
  | TranscriptionTextDoneEvent;

/** Options shared by every renderer (already validated by the caller). */
export interface RenderOptions {
  /** `include[]=logprobs`: add per-token log-probabilities (json only). */
  includeLogprobs?: boolean;
  /** `timestamp_granularities[]` (verbose_json only); absent or empty means ["segment"]. */
  timestampGranularities?: readonly TimestampGranularity[];
  /** The request named `languages[]`: json carries `languages: [{code}]`, the language the text is in. */
  includeLanguages?: boolean;
}
