import { averageLogprob, compressionRatio } from "./segmentStats.js";
import type { NativeModelInfo, NativeSegment } from "./nativeTypes.js";
import type { Segment, TokenInfo } from "./types.js";
import { groupTokensIntoWords } from "./words.js";

export interface SegmentContext {
  tokens: NativeModelInfo["specialTokens"];
  /** Audio duration in seconds: no time is reported past it. */
  duration: number;
  language: string;
  wordTimestamps: boolean;
}

const centiseconds = (value: number, duration: number) => Math.min(Math.max(0, value) / 100, duration);

/** Turns a segment as whisper.cpp reports it into the engine's OpenAI-shaped Segment. */
export function buildSegment(native: NativeSegment, id: number, context: SegmentContext): Segment {
  const { eot, beg } = context.tokens;
  const tokens: TokenInfo[] = native.tokens.map((t) => ({
    id: t.id,
    text: t.bytes.toString("utf8"),
    bytes: new Uint8Array(t.bytes),
    probability: t.p,
    logprob: t.plog,
    start: centiseconds(t.t0, context.duration),
    end: centiseconds(t.t1, context.duration),
    special: t.id >= eot,
  }));
  // whisper.cpp does not expose the window offset; recover it from the segment's opening
  // timestamp token (t0 = seek + 2 * (timestampId - beg)).
  const first = native.tokens[0];
  const seek = first && first.id >= beg ? Math.max(0, native.t0 - 2 * (first.id - beg)) : Math.max(0, native.t0);
  const segment: Segment = {
    id,
    seek: Math.round(seek),
    start: centiseconds(native.t0, context.duration),
    end: centiseconds(native.t1, context.duration),
    text: native.text,
    tokens,
    temperature: Math.round(native.temperature * 100) / 100,
    avgLogprob: averageLogprob(tokens),
    compressionRatio: compressionRatio(native.text),
    noSpeechProb: native.noSpeechProb,
  };
  if (context.wordTimestamps) segment.words = groupTokensIntoWords(tokens, { language: context.language });
  return segment;
}

/**
 * OpenAI (like openai/whisper) reports avg_logprob and compression_ratio once per 30-s decoding
 * window, shared by the window's segments: recompute them over each window (same `seek`).
 */
export function applyWindowStats(segments: Segment[]): Segment[] {
  const windows = new Map<number, Segment[]>();
  for (const segment of segments) windows.set(segment.seek, [...(windows.get(segment.seek) ?? []), segment]);
  for (const members of windows.values()) {
    const avgLogprob = averageLogprob(members.flatMap((s) => s.tokens));
    const ratio = compressionRatio(members.map((s) => s.text).join(""));
    for (const segment of members) {
      segment.avgLogprob = avgLogprob;
      segment.compressionRatio = ratio;
    }
  }
  return segments;
}
