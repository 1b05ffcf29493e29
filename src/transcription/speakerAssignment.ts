// The transcript's words given to the speakers the diarization found, by time: each word to the speaker whose speech
// overlaps it most (none overlaps: the nearest in time), and each segment cut where its words change speaker, so no
// segment crosses a speaker change and every word lands in exactly one segment.
import type { Segment, Word } from "../engine/types.js";
import type { SpeakerSpan } from "../diarization/index.js";
import type { SpeakerSegment } from "./channelTranscription.js";

/** The speaker (index into the spans' speakers) of [start, end]: most overlap, else nearest, else `fallback`. */
export function speakerAt(spans: readonly SpeakerSpan[], start: number, end: number, fallback: number): number {
  let best = -1;
  let bestOverlap = 0;
  let nearest = fallback;
  let nearestGap = Infinity;
  for (const span of spans) {
    const overlap = Math.min(end, span.end) - Math.max(start, span.start);
    if (overlap > bestOverlap) {
      bestOverlap = overlap;
      best = span.speaker;
    }
    const gap = Math.max(0, span.start - end, start - span.end);
    if (gap < nearestGap) {
      nearestGap = gap;
      nearest = span.speaker;
    }
  }
  return best >= 0 ? best : nearest;
}

/**
 * The segments of a mono transcription with their speakers (`labels[speaker]`), cut at speaker changes, in time
 * order. A segment without words (a model that gives none) goes whole to the speaker of its time.
 */
export function assignSpeakers(segments: readonly Segment[], spans: readonly SpeakerSpan[], labels: readonly string[]): SpeakerSegment[] {
  const out: SpeakerSegment[] = [];
  let previous = 0;
  for (const segment of segments) {
    if (segment.text.trim() === "") continue;
    const words = segment.words?.filter((word) => word.word !== "") ?? [];
    if (words.length === 0) {
      previous = speakerAt(spans, segment.start, segment.end, previous);
      out.push({ channel: 0, speaker: labels[previous]!, start: segment.start, end: segment.end, text: segment.text });
      continue;
    }
    let run: { speaker: number; words: Word[] } | undefined;
    const runs: Array<{ speaker: number; words: Word[] }> = [];
    for (const word of words) {
      const speaker = speakerAt(spans, word.start, word.end, run?.speaker ?? previous);
      if (!run || run.speaker !== speaker) runs.push((run = { speaker, words: [] }));
      run.words.push(word);
    }
    runs.forEach((piece, i) => {
      const start = i === 0 ? Math.min(segment.start, piece.words[0]!.start) : piece.words[0]!.start;
      const end = i === runs.length - 1 ? Math.max(segment.end, piece.words.at(-1)!.end) : piece.words.at(-1)!.end;
      out.push({ channel: 0, speaker: labels[piece.speaker]!, start, end, text: piece.words.map((word) => word.word).join("") });
    });
    previous = runs.at(-1)!.speaker;
  }
  return out.sort((a, b) => a.start - b.start);
}
