import type { Segment, TranscriptionResult, Word } from "../engine/types.js";
import { durationUsage } from "./json.js";
import { languageName } from "../transcription/languages.js";
import type { RenderOptions, TranscriptionSegment, TranscriptionVerbose, TranscriptionWord } from "./types.js";

/** Whitespace and punctuation at either end of a word. */
const EDGE_PUNCTUATION = /^[\s\p{P}]+|[\s\p{P}]+$/gu;

/**
 * A word as OpenAI's `words[]` carries it: no surrounding space and no attached punctuation
 * (the API docs' example ends "...playing beach volleyball." with the word "volleyball").
 * Returns "" for a word made only of punctuation; such words are left out.
 */
export function wireWordText(word: string): string {
  return word.replace(EDGE_PUNCTUATION, "");
}

/** One engine segment in verbose_json shape (`tokens` = every token id, timestamps included). */
export function wireSegment(segment: Segment): TranscriptionSegment {
  return {
    id: segment.id,
    seek: segment.seek,
    start: segment.start,
    end: segment.end,
    text: segment.text,
    tokens: segment.tokens.map((token) => token.id),
    temperature: segment.temperature,
    avg_logprob: segment.avgLogprob,
    compression_ratio: segment.compressionRatio,
    no_speech_prob: segment.noSpeechProb,
  };
}

/** All words of the result in verbose_json shape; empty when the engine computed none. */
export function wireWords(segments: readonly Segment[]): TranscriptionWord[] {
  const out: TranscriptionWord[] = [];
  for (const segment of segments) {
    for (const word of segment.words ?? ([] as Word[])) {
      const text = wireWordText(word.word);
      if (text) out.push({ word: text, start: word.start, end: word.end });
    }
  }
  return out;
}

/**
 * `response_format=verbose_json`: task, language (lower-case English name, "english"), duration
 * (seconds, unrounded), trimmed text, then
 * - `segments` when segment granularity was asked for, or when no granularity was given (the default);
 * - `words` only when word granularity was asked for (with word alone, OpenAI sends no segments);
 * - `usage` (duration, whole seconds rounded up) for transcriptions only: openai-node's
 *   TranslationVerbose has no usage, and its `language` is "always `english`".
 */
export function renderVerboseJson(result: TranscriptionResult, options: RenderOptions = {}): TranscriptionVerbose {
  const granularities = options.timestampGranularities ?? [];
  const wantSegments = granularities.length === 0 || granularities.includes("segment");
  const wantWords = granularities.includes("word");
  const translate = result.task === "translate";

  const body: TranscriptionVerbose = {
    task: result.task,
    language: translate ? "english" : (languageName(result.language) ?? result.language.toLowerCase()),
    duration: result.duration,
    text: result.text.trim(),
  };
  if (wantSegments) body.segments = result.segments.map(wireSegment);
  if (wantWords) body.words = wireWords(result.segments);
  if (!translate) body.usage = durationUsage(result.duration);
  return body;
}
