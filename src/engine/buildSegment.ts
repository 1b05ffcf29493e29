import { averageLogprob, compressionRatio } from "./segmentStats.js";
import type { NativeModelInfo, NativeSegment } from "./nativeTypes.js";
import type { Segment, TokenInfo, Word } from "./types.js";
import { groupTokensIntoWords } from "./words.js";

export interface SegmentContext {
  tokens: NativeModelInfo["specialTokens"];
  /** Audio duration in seconds: no time is reported past it. */
  duration: number;
  language: string;
  wordTimestamps: boolean;
}

/**
 * A probability as JSON can carry it. whisper.cpp can report a non-finite value on degenerate
 * logits (seen for no_speech_prob with the generated test model); that is no probability: 0.
 */
const probability = (value: number) => (Number.isFinite(value) ? Math.min(1, Math.max(0, value)) : 0);

const centiseconds = (value: number, duration: number) => Math.min(Math.max(0, value) / 100, duration);

/**
 * whisper.cpp does not expose the offset of the 30-s window a segment was decoded in; recover it
 * from a timestamp token of the segment (a timestamp token's time is seek + 2 * (id - beg)
 * centiseconds): the closing one (segment end), else the opening one (segment start).
 */
function windowOffset(native: NativeSegment, beg: number): number {
  const last = native.tokens.at(-1);
  if (last && last.id > beg) return Math.max(0, native.t1 - 2 * (last.id - beg));
  const first = native.tokens[0];
  if (first && first.id >= beg) return Math.max(0, native.t0 - 2 * (first.id - beg));
  return Math.max(0, native.t0);
}

/** Words kept inside their segment's span (DTW may place the first or last a little outside the decoded one). */
function withinSegment(words: Word[], segment: Segment): Word[] {
  const clamp = (t: number) => Math.min(segment.end, Math.max(segment.start, t));
  return words.map((word) => ({ ...word, start: clamp(word.start), end: clamp(word.end) }));
}

/**
 * A segment as whisper.cpp reports it as the engine's OpenAI-shaped Segment, avgLogprob and
 * compressionRatio left at 0 for the caller to fill in.
 */
/**
 * Each token's [start, end] in centiseconds. A text token that DTW aligned (tDtw set) ends at its tDtw and starts at
 * the previous text token's end (the segment's first at the segment's start, or its own end if that is earlier). The
 * alignment's rows are the positions that *predict* each token (the no-timestamps token's row predicts the first
 * text token): whisper.cpp's tDtw is when the path enters the row after the token's own, which is openai/whisper's
 * jump time of the next token, this token's end (timing.py: a word ends at jump_times[next word boundary]). The
 * others keep whisper.cpp's heuristic t0/t1.
 */
function tokenSpans(native: NativeSegment, eot: number): Array<[number, number]> {
  const spans: Array<[number, number]> = native.tokens.map((t) => [t.t0, t.t1]);
  let previous = -1;
  native.tokens.forEach((token, i) => {
    if (token.id >= eot || token.tDtw < 0) return;
    const start = previous >= 0 ? previous : Math.min(native.t0, token.tDtw);
    spans[i] = [start, Math.max(start, token.tDtw)];
    previous = token.tDtw;
  });
  return spans;
}

function segmentWithoutStats(native: NativeSegment, id: number, context: SegmentContext): Segment {
  const { eot, beg } = context.tokens;
  const spans = tokenSpans(native, eot);
  const tokens: TokenInfo[] = native.tokens.map((t, i) => ({
    id: t.id,
    text: t.bytes.toString("utf8"),
    bytes: new Uint8Array(t.bytes),
    probability: probability(t.p),
    logprob: Number.isFinite(t.plog) ? Math.min(0, t.plog) : -100,
    start: centiseconds(spans[i]![0], context.duration),
    end: centiseconds(spans[i]![1], context.duration),
    special: t.id >= eot,
  }));
  const seek = windowOffset(native, beg);
  const segment: Segment = {
    id,
    seek: Math.round(seek),
    start: centiseconds(native.t0, context.duration),
    end: centiseconds(native.t1, context.duration),
    text: native.text,
    tokens,
    temperature: Math.round(native.temperature * 100) / 100,
    avgLogprob: 0,
    compressionRatio: 0,
    noSpeechProb: probability(native.noSpeechProb),
  };
  if (context.wordTimestamps) segment.words = withinSegment(groupTokensIntoWords(tokens, { language: context.language }), segment);
  return segment;
}

/**
 * Turns a segment as whisper.cpp reports it into the engine's OpenAI-shaped Segment, with
 * avgLogprob and compressionRatio of the segment alone (a streamed segment: its window may not
 * be complete yet).
 */
export function buildSegment(native: NativeSegment, id: number, context: SegmentContext): Segment {
  const segment = segmentWithoutStats(native, id, context);
  segment.avgLogprob = averageLogprob(segment.tokens);
  segment.compressionRatio = compressionRatio(native.text);
  return segment;
}

/**
 * The segments of a finished job, numbered from 0, with avgLogprob and compressionRatio per
 * 30-s window (applyWindowStats) and so computed once per window, not per segment.
 */
export function buildSegments(natives: readonly NativeSegment[], context: SegmentContext): Segment[] {
  return applyWindowStats(natives.map((native, index) => segmentWithoutStats(native, index, context)));
}

/**
 * OpenAI (like openai/whisper) reports avg_logprob and compression_ratio once per 30-s decoding
 * window, shared by the window's segments: recompute them over each window (same `seek`).
 */
export function applyWindowStats(segments: Segment[]): Segment[] {
  const windows = new Map<number, Segment[]>();
  for (const segment of segments) {
    const members = windows.get(segment.seek);
    if (members) members.push(segment);
    else windows.set(segment.seek, [segment]);
  }
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
