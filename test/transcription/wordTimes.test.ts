// Word times on a recording with a known silence layout, through the transcription pipeline on the real engine and
// the real VAD: DTW-aligned words (the default) and heuristic ones alike never start or end inside a silence, stay in
// order and inside their segment, chunked or not; streamed segments arrive once each, in order, as the result has
// them (whisper.cpp's new-segment callback with DTW on, past the first 30-s window).
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import type { Segment, TranscriptionResult, Word } from "../../src/engine/types.js";
import { WhisperEngine, type WordAlignment } from "../../src/engine/WhisperEngine.js";
import { getTestModelPath } from "../../src/models/testModel/index.js";
import { ModelRegistry } from "../../src/transcription/ModelRegistry.js";
import { TranscriptionService } from "../../src/transcription/TranscriptionService.js";
import { speechLayout, STANDARD_LAYOUT, type SpeechLayout } from "../support/speechLayout.js";

/**
 * How far outside a sentence's voice (first to last sample above -40 dBFS) a word edge may be: Silero's 32-ms frames
 * and its onset, and the soft consonants under -40 dBFS.
 */
const TOLERANCE = 0.1;

let layout: SpeechLayout;
let modelPath: string;
const registries: ModelRegistry[] = [];

const inSpeech = (t: number) => layout.speech.some(([from, to]) => t >= from - TOLERANCE && t <= to + TOLERANCE);
const wordsOf = (segments: readonly Segment[]): Word[] => segments.flatMap((segment) => segment.words ?? []);
const inSilence = (words: readonly Word[]) => words.filter((word) => !inSpeech(word.start) || !inSpeech(word.end));

async function service(wordAlignment: WordAlignment): Promise<{ transcription: TranscriptionService; model: string }> {
  const models = new ModelRegistry({ model: modelPath, extraModels: [], aliases: [] }, { parallelJobs: 1, threadsPerJob: 2, wordAlignment });
  registries.push(models);
  return { transcription: new TranscriptionService({ models }), model: models.defaultModel.name };
}

/** Checks every word of `result`: out of the silences, in order, inside its segment. */
function expectWordsInSpeech(result: TranscriptionResult): void {
  const words = wordsOf(result.segments);
  expect(words.length).toBeGreaterThan(5);
  expect(inSilence(words).map((w) => `${w.word}@${w.start}-${w.end}`), `speech: ${JSON.stringify(layout.speech)}`).toEqual([]);
  for (let i = 1; i < words.length; i++) expect(words[i]!.start).toBeGreaterThanOrEqual(words[i - 1]!.end - 1e-9);
  for (const segment of result.segments) {
    for (const word of segment.words ?? []) {
      expect(word.start).toBeGreaterThanOrEqual(segment.start - 1e-9);
      expect(word.end).toBeLessThanOrEqual(segment.end + 1e-9);
      expect(word.end).toBeGreaterThanOrEqual(word.start);
    }
  }
}

beforeAll(async () => {
  layout = await speechLayout(STANDARD_LAYOUT);
  modelPath = await getTestModelPath("tiny");
});
afterAll(async () => {
  for (const models of registries) await models.close();
});

describe("the alignment itself", () => {
  it("aligns words by DTW by default (other times than the heuristic's) and puts some in the silences before they are snapped", async () => {
    const results: Record<WordAlignment, TranscriptionResult> = {} as Record<WordAlignment, TranscriptionResult>;
    for (const wordAlignment of ["dtw", "heuristic"] as const) {
      const engine = await WhisperEngine.load(modelPath, { parallelJobs: 1, threadsPerJob: 2, wordAlignment });
      try {
        expect(engine.info.wordAlignment).toBe(wordAlignment);
        results[wordAlignment] = await engine.transcribe(layout.samples, { wordTimestamps: true, language: "en" });
      } finally {
        await engine.close();
      }
    }
    const dtw = wordsOf(results.dtw.segments);
    const heuristic = wordsOf(results.heuristic.segments);
    expect(dtw.map((w) => w.word)).toEqual(heuristic.map((w) => w.word));
    expect(dtw.map((w) => [w.start, w.end])).not.toEqual(heuristic.map((w) => [w.start, w.end]));
    // The generated model's attention is random: its alignment lands words in the silences, which is what the
    // pipeline's snapping has to undo below (so the checks there cannot pass on their own).
    expect(inSilence(dtw).length).toBeGreaterThan(0);
  });
});

describe.each(["dtw", "heuristic"] as const)("words by %s", (wordAlignment) => {
  it("never starts or ends a word inside a silence, one block, and streams each segment once, as the result has it", async () => {
    const { transcription, model } = await service(wordAlignment);
    const streamed: Segment[] = [];
    const { run } = await transcription.open({ model, task: "transcribe", wordTimestamps: true, language: "en", chunking: null }, { onSegment: (s) => streamed.push(s) });
    const result = await run.finish(layout.samples);
    // Past the first 30-s window: the segment callback with DTW fired for the later windows too.
    expect(result.segments.at(-1)!.start).toBeGreaterThan(30);
    expectWordsInSpeech(result);
    expect(streamed.map((s) => [s.id, s.start, s.end, s.text, s.words])).toEqual(result.segments.map((s) => [s.id, s.start, s.end, s.text, s.words]));
  });

  it("never starts or ends a word inside a silence, chunked, and streams each segment once, in order", async () => {
    const { transcription, model } = await service(wordAlignment);
    const streamed: Segment[] = [];
    const { run } = await transcription.open({ model, task: "transcribe", wordTimestamps: true, language: "en", chunking: { type: "auto" } }, { onSegment: (s) => streamed.push(s) });
    const result = await run.finish(layout.samples);
    expectWordsInSpeech(result);
    expect(streamed.map((s) => [s.id, s.text])).toEqual(result.segments.map((s) => [s.id, s.text]));
    expectWordsInSpeech({ ...result, segments: streamed });
  });
});
