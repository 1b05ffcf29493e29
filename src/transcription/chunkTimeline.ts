// A chunk is several stretches of the original audio played back to back: its own clock runs over the pieces
// only. These map the chunk's times (segments, words, tokens) back to the original timeline, and put the chunks'
// results together into one transcription.
import type { Segment, TranscriptionResult } from "../engine/types.js";
import { CHUNK_SAMPLE_RATE, type SampleSpan, type SpeechChunk } from "./speechChunker.js";

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

/** Maps seconds on a chunk's clock to seconds of the original audio. */
export class ChunkTimeline {
  /** [chunk start, chunk end, original start] of each piece, in seconds. */
  private readonly pieces: Array<{ from: number; to: number; origin: number }> = [];

  constructor(pieces: readonly SampleSpan[]) {
    let offset = 0;
    for (const piece of pieces) {
      const length = (piece.end - piece.start) / CHUNK_SAMPLE_RATE;
      this.pieces.push({ from: offset, to: offset + length, origin: piece.start / CHUNK_SAMPLE_RATE });
      offset += length;
    }
  }

  /** Where the chunk starts in the original audio. */
  get originStart(): number {
    return this.pieces[0]?.origin ?? 0;
  }

  /**
   * A start time: in the piece that holds it (at a boundary between pieces, the later one). Times past the chunk's
   * end stay at its end.
   */
  start(t: number): number {
    const piece = this.pieces.find((p) => t < p.to) ?? this.pieces[this.pieces.length - 1];
    return piece ? piece.origin + Math.min(Math.max(0, t - piece.from), piece.to - piece.from) : t;
  }

  /** An end time: in the piece that holds it (at a boundary between pieces, the earlier one). */
  end(t: number): number {
    const piece = this.pieces.find((p) => t <= p.to) ?? this.pieces[this.pieces.length - 1];
    return piece ? piece.origin + Math.min(Math.max(0, t - piece.from), piece.to - piece.from) : t;
  }
}

const round = (seconds: number) => Math.round(seconds * 1000) / 1000;

/** A chunk's segment on the original timeline, renumbered `id`. */
export function mapSegment(segment: Segment, timeline: ChunkTimeline, id: number): Segment {
  const start = round(timeline.start(segment.start));
  const end = Math.max(start, round(timeline.end(segment.end)));
  const mapped: Segment = {
    ...segment,
    id,
    // OpenAI's seek: the offset of the window the segment was decoded in, in 10-ms frames.
    seek: Math.round(timeline.originStart * 100),
    start,
    end,
    tokens: segment.tokens.map((token) => ({ ...token, start: round(timeline.start(token.start)), end: round(timeline.end(token.end)) })),
  };
  if (segment.words) {
    mapped.words = segment.words.map((word) => {
      const wordStart = round(timeline.start(word.start));
      return { ...word, start: wordStart, end: Math.max(wordStart, round(timeline.end(word.end))) };
    });
  }
  return mapped;
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
