// Word times moved out of silences. An alignment (DTW or the heuristic) can put a word's start in the pause before
// it or its end in the pause after it, and a subtitle then shows over silence. Given where the VAD heard speech
// (SpeechMap), a start inside a silence moves forward to where the speech resumes and an end moves back to where
// it stopped; a word with no speech under it at all moves to the nearer edge of its silence (within its segment when
// one is). The moves are monotonic, so words stay in order. Segments keep their decoded times, so a request gets the
// same segments whether it asks for words or not; only a segment that lies inside a silence (a hallucination over
// silence) grows to hold a word moved to the silence's edge.
import type { Segment, Word } from "../engine/types.js";

type Spans = ReadonlyArray<readonly [number, number]>;

/** The silence holding `t` (between two spans, or before the first, or after the last), if any. */
function silenceAt(spans: Spans, t: number): { from: number | undefined; to: number | undefined } | undefined {
  // The first span ending at or after t.
  let low = 0;
  let high = spans.length;
  while (low < high) {
    const mid = (low + high) >> 1;
    if (spans[mid]![1] < t) low = mid + 1;
    else high = mid;
  }
  const next = spans[low];
  if (next && t >= next[0]) return undefined;
  return { from: spans[low - 1]?.[1], to: next?.[0] };
}

const round = (t: number) => Math.round(t * 1000) / 1000;

/**
 * One word moved out of the silences of `spans` (unchanged when it starts and ends in speech). `within`: its segment's
 * bounds, which a word with no speech under it prefers the edge inside of.
 */
export function snapWord(word: Word, spans: Spans, within?: readonly [number, number]): Word {
  if (spans.length === 0) return word;
  const startSilence = silenceAt(spans, word.start);
  const endSilence = silenceAt(spans, word.end);
  let start = startSilence ? (startSilence.to ?? startSilence.from!) : word.start;
  let end = endSilence ? (endSilence.from ?? endSilence.to!) : word.end;
  if (start > end) {
    // No speech under the word: it sits at the nearer edge of its silence, one inside its segment if there is one.
    const silence = startSilence ?? endSilence!;
    const inside = (edge: number | undefined) => edge !== undefined && (!within || (edge >= within[0] && edge <= within[1]));
    const usable = (edge: number | undefined) => edge !== undefined && (inside(edge) || (!inside(silence.from) && !inside(silence.to)));
    const before = usable(silence.from) ? word.start - silence.from! : Infinity;
    const after = usable(silence.to) ? silence.to! - word.end : Infinity;
    start = end = before <= after ? silence.from! : silence.to!;
  }
  if (start === word.start && end === word.end) return word;
  return { ...word, start: round(start), end: round(end) };
}

/** The segments with their words snapped to `spans` (segments without words are returned as they are). */
export function snapSegmentWords<S extends Segment>(segments: readonly S[], spans: Spans): S[] {
  return segments.map((segment) => snapSegment(segment, spans));
}

export function snapSegment<S extends Segment>(segment: S, spans: Spans): S {
  if (!segment.words || segment.words.length === 0 || spans.length === 0) return segment;
  const words = segment.words.map((word) => snapWord(word, spans, [segment.start, segment.end]));
  const first = words[0]!;
  const last = words.at(-1)!;
  return { ...segment, words, start: Math.min(segment.start, first.start), end: Math.max(segment.end, last.end) };
}
