// A chunk is several stretches of the original audio played back to back: its own clock runs over the pieces
// only. These map the chunk's times (segments, words, tokens) back to the original timeline, and put the chunks'
// results together into one transcription.
import type { Segment, TranscriptionResult } from "../engine/types.js";
import { type SampleSpan, type SpeechChunk } from "./speechChunker.js";
import { SAMPLE_RATE } from "../engine/sampleRate.js";

/** The chunk's samples, copied out of the whole audio (pieces back to back). */
export function chunkSamples(audio: Float32Array, chunk: SpeechChunk): Float32Array {
  const out = new Float32Array(chunk.length);
  let offset = 0;
  for (const piece of chunk.pieces) {
    out.set(audio.subarray(piece.start, piece.end), offset);
    offset += piece.end - piece.start;
  }
  return out;
}

const round = (seconds: number) => Math.round(seconds * 1000) / 1000;

/** Maps seconds on a chunk's clock to seconds of the original audio. */
export class ChunkTimeline {
  /** [chunk start, chunk end, original start] of each piece, in seconds. */
  private readonly pieces: Array<{ from: number; to: number; origin: number }> = [];

  constructor(pieces: readonly SampleSpan[]) {
    let offset = 0;
    for (const piece of pieces) {
      const length = (piece.end - piece.start) / SAMPLE_RATE;
      this.pieces.push({ from: offset, to: offset + length, origin: piece.start / SAMPLE_RATE });
      offset += length;
    }
  }

  /** Where the chunk starts in the original audio. */
  get originStart(): number {
    return this.pieces[0]?.origin ?? 0;
  }

  /** Which piece a chunk time falls in; at a join, a start belongs to the later piece and an end to the earlier one. */
  pieceAt(t: number, kind: "start" | "end"): number {
    const index = this.pieces.findIndex((p) => (kind === "start" ? t < p.to : t <= p.to));
    return index < 0 ? this.pieces.length - 1 : index;
  }

  /** A span (a word, a token) on the original timeline, kept within the piece that holds its middle. */
  span(start: number, end: number): { start: number; end: number } {
    const piece = this.pieceAt((start + end) / 2, "start");
    const mappedStart = round(this.at(piece, start));
    return { start: mappedStart, end: Math.max(mappedStart, round(this.at(piece, end))) };
  }

  /** A piece's span on the chunk's clock. */
  pieceBounds(index: number): { from: number; to: number } {
    const piece = this.pieces[index]!;
    return { from: piece.from, to: piece.to };
  }

  /**
   * A start time: in the piece that holds it (at a boundary between pieces, the later one). Times past the chunk's
   * end stay at its end.
   */
  start(t: number): number {
    return this.at(this.pieceAt(t, "start"), t);
  }

  /** An end time: in the piece that holds it (at a boundary between pieces, the earlier one). */
  end(t: number): number {
    return this.at(this.pieceAt(t, "end"), t);
  }

  /** Chunk time `t` on the original timeline, through piece `index` (clamped to it); `t` itself when there is none. */
  private at(index: number, t: number): number {
    const piece = this.pieces[index];
    return piece ? piece.origin + Math.min(Math.max(0, t - piece.from), piece.to - piece.from) : t;
  }
}

/** A chunk's segment on the original timeline (`id` left for the caller to number). */
function mapWhole(segment: Segment, timeline: ChunkTimeline, keepWords: boolean): Segment {
  const start = round(timeline.start(segment.start));
  const end = Math.max(start, round(timeline.end(segment.end)));
  const { words, ...rest } = segment;
  const mapped: Segment = {
    ...rest,
    // OpenAI's seek: the offset of the window the segment was decoded in, in 10-ms frames.
    seek: Math.round(timeline.originStart * 100),
    start,
    end,
    tokens: segment.tokens.map((token) => ({ ...token, ...timeline.span(token.start, token.end) })),
  };
  if (keepWords && words) {
    mapped.words = words.map((word) => ({ ...word, ...timeline.span(word.start, word.end) }));
  }
  return mapped;
}

/**
 * A chunk's segment on the original timeline. A segment that runs across the join of two pieces (whose audio was
 * apart in the recording) is split there, by its tokens' times, so that no segment spans the silence left out
 * between them. `keepWords`: keep word timestamps (the segment must have them to be split: chunked runs always
 * decode with token times).
 */
export function mapSegment(segment: Segment, timeline: ChunkTimeline, keepWords: boolean): Segment[] {
  const first = timeline.pieceAt(segment.start, "start");
  const last = timeline.pieceAt(segment.end, "end");
  if (first === last || segment.tokens.length === 0) return [mapWhole(segment, timeline, keepWords)];
  const groups = new Map<number, { tokens: Segment["tokens"]; words: NonNullable<Segment["words"]> }>();
  const groupOf = (piece: number) => {
    let group = groups.get(piece);
    if (!group) groups.set(piece, (group = { tokens: [], words: [] }));
    return group;
  };
  let current = first;
  for (const token of segment.tokens) {
    // Special tokens (timestamps) stay with the text around them.
    if (!token.special) current = Math.min(last, Math.max(current, timeline.pieceAt((token.start + token.end) / 2, "start")));
    groupOf(current).tokens.push(token);
  }
  for (const word of segment.words ?? []) groupOf(Math.min(last, Math.max(first, timeline.pieceAt((word.start + word.end) / 2, "start")))).words.push(word);
  const parts: Segment[] = [];
  for (const [piece, group] of [...groups].sort((a, b) => a[0] - b[0])) {
    const text = group.tokens.filter((t) => !t.special).map((t) => t.text).join("");
    if (text.trim() === "") continue;
    const bounds = timeline.pieceBounds(piece);
    const textTokens = group.tokens.filter((t) => !t.special);
    const start = Math.max(bounds.from, Math.min(textTokens[0]!.start, bounds.to));
    const end = Math.min(bounds.to, Math.max(textTokens.at(-1)!.end, start));
    const part: Segment = { ...segment, text, start, end, tokens: group.tokens };
    if (group.words.length > 0) part.words = group.words;
    else delete part.words;
    parts.push(mapWhole(part, timeline, keepWords));
  }
  return parts.length > 0 ? parts : [mapWhole(segment, timeline, keepWords)];
}

/** What a chunked transcription returns when no chunk had speech. */
export function emptyResult(task: TranscriptionResult["task"], duration: number, language: string): TranscriptionResult {
  return {
    task,
    language,
    languageProbability: null,
    duration,
    text: "",
    segments: [],
    timings: { decodeMs: 0, detectMs: 0, windows: 0, fallbacks: 0, encoderPasses: 0 },
  };
}

/** The chunks' results (in chunk order, segments already mapped) as one transcription of the whole audio. */
export function mergeChunkResults(
  task: TranscriptionResult["task"],
  duration: number,
  results: readonly TranscriptionResult[],
  fallbackLanguage: string,
): TranscriptionResult {
  const first = results[0];
  if (!first) return emptyResult(task, duration, fallbackLanguage);
  const segments = results.flatMap((r) => r.segments);
  return {
    task,
    language: first.language,
    languageProbability: first.languageProbability,
    duration,
    text: segments.map((s) => s.text).join("").trim(),
    segments,
    timings: {
      decodeMs: results.reduce((sum, r) => sum + r.timings.decodeMs, 0),
      detectMs: first.timings.detectMs,
      windows: results.reduce((sum, r) => sum + r.timings.windows, 0),
      fallbacks: results.reduce((sum, r) => sum + r.timings.fallbacks, 0),
      encoderPasses: results.reduce((sum, r) => sum + r.timings.encoderPasses, 0),
    },
  };
}
