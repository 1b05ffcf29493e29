// Word times moved out of silences: the speech map built from VAD frames, and each way a word can sit in a silence.
import { describe, expect, it } from "vitest";

import { SILERO_FRAME_MS } from "../../src/audio/vad/index.js";
import type { Segment, Word } from "../../src/engine/types.js";
import { MIN_SILENCE_SECONDS, SpeechMap } from "../../src/transcription/speechMap.js";
import { snapSegment, snapWord } from "../../src/transcription/snapWords.js";

const FRAME = SILERO_FRAME_MS / 1000;
const word = (start: number, end: number): Word => ({ word: " w", start, end, probability: 1 });

/** A map from a frame pattern: "#" speech (0.9), "." silence (0.05), "~" under the threshold but above its hysteresis (0.4). */
function mapOf(pattern: string): SpeechMap {
  const map = new SpeechMap();
  for (const c of pattern) map.push(c === "#" ? 0.9 : c === "~" ? 0.4 : 0.05);
  return map;
}

describe("the speech map", () => {
  it("spans speech frame to frame at the threshold, and closes a span only after a real silence", () => {
    const shortPause = ".".repeat(Math.floor(MIN_SILENCE_SECONDS / FRAME) - 1);
    const longPause = ".".repeat(Math.ceil(MIN_SILENCE_SECONDS / FRAME) + 2);
    const map = mapOf(`..~##~${shortPause}##${longPause}#`);
    const spans = map.speech;
    expect(spans).toHaveLength(2);
    // "~" is not speech, before speech or after it.
    expect(spans[0]![0]).toBeCloseTo(3 * FRAME, 9);
    expect(spans[0]![1]).toBeCloseTo((6 + shortPause.length + 2) * FRAME, 9);
    // The last span is still open, and reported up to its last speech frame.
    expect(spans[1]![1]).toBeCloseTo((6 + shortPause.length + 2 + longPause.length + 1) * FRAME, 9);
    expect(mapOf("....").speech).toEqual([]);
  });
});

describe("snapping", () => {
  const spans = [[1, 2], [4, 5]] as const;

  it("leaves words in speech as they are", () => {
    const inside = word(1.2, 1.8);
    expect(snapWord(inside, spans)).toBe(inside);
    expect(snapWord(word(1.5, 4.5), spans)).toEqual(word(1.5, 4.5));
  });

  it("moves a start in a silence to where speech resumes and an end to where it stopped", () => {
    expect(snapWord(word(3, 4.5), spans)).toEqual(word(4, 4.5));
    expect(snapWord(word(1.5, 3), spans)).toEqual(word(1.5, 2));
    expect(snapWord(word(0.2, 1.5), spans)).toEqual(word(1, 1.5));
    expect(snapWord(word(4.5, 6), spans)).toEqual(word(4.5, 5));
    expect(snapWord(word(2.5, 4.5), spans)).toEqual(word(4, 4.5));
  });

  it("puts a word with no speech under it at the nearer edge of its silence", () => {
    expect(snapWord(word(2.2, 2.6), spans)).toEqual(word(2, 2));
    expect(snapWord(word(3.3, 3.8), spans)).toEqual(word(4, 4));
    expect(snapWord(word(0.1, 0.3), spans)).toEqual(word(1, 1));
    expect(snapWord(word(6, 7), spans)).toEqual(word(5, 5));
  });

  it("keeps segments as decoded, a word with no speech under it at the edge inside its segment", () => {
    const segment: Segment = {
      id: 0, seek: 0, start: 1.5, end: 3.9, text: " a b", tokens: [], temperature: 0, avgLogprob: 0, compressionRatio: 1, noSpeechProb: 0,
      words: [word(1.6, 2.3), word(3.1, 3.9)],
    };
    const snapped = snapSegment(segment, spans);
    // The second word is nearer the silence's far edge (4), but that is past its segment: it goes to 2.
    expect(snapped.words).toEqual([word(1.6, 2), word(2, 2)]);
    expect([snapped.start, snapped.end]).toEqual([1.5, 3.9]);
    expect(snapSegment(segment, [])).toBe(segment);
  });

  it("grows only a segment that lies inside a silence, to hold its words at the silence's edge", () => {
    const hallucination: Segment = {
      id: 0, seek: 0, start: 2.1, end: 3.9, text: " a b", tokens: [], temperature: 0, avgLogprob: 0, compressionRatio: 1, noSpeechProb: 0,
      words: [word(2.1, 2.3), word(3.5, 3.9)],
    };
    const snapped = snapSegment(hallucination, spans);
    expect(snapped.words).toEqual([word(2, 2), word(4, 4)]);
    expect([snapped.start, snapped.end]).toEqual([2, 4]);
  });
});
