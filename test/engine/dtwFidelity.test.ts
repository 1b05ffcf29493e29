// DTW word times held against whisper.cpp's own: for the same model, audio and decoding settings, every token's DTW
// time and every word's start and end from Earshot equal those of `whisper-cli -dtw <preset>` built from the same
// tree (its full JSON output, -ojf, carries each token's t_dtw) within 10 ms: over one block of several 30-s windows
// (the first, a full later one, and a short last one), and chunked, each chunk held against whisper-cli on that
// chunk's own samples. Flash attention is on for both, as by default (the alignment heads' weights then come from
// native/patches/whisper-word-dtw.patch, in both); whisper-cli without flash attention, where whisper.cpp's own code
// computes them, checks the patch's weights (where flash attention's padding is not in play, see that test).
//
// The generated test model says a fixed transcript whatever the audio (src/models/testModel), so the times are not
// where the words are spoken; what is checked is that the engine reports the alignment whisper.cpp computes, through
// the same rules: a text token ends at its t_dtw (openai/whisper's jump time of the next token: see
// src/engine/buildSegment.ts) and starts at the previous text token's (the segment's first at the segment's start);
// words are openai/whisper's grouping of the tokens (first token's start, last token's end) kept within their segment;
// no time past the end of the audio.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { decodeAudio } from "../../src/audio/index.js";
import { SileroVadModel } from "../../src/audio/vad/index.js";
import type { Segment, TokenInfo, Word } from "../../src/engine/types.js";
import { groupTokensIntoWords } from "../../src/engine/words.js";
import type { WhisperEngine } from "../../src/engine/WhisperEngine.js";
import type { TranscriptionOptions } from "../../src/engine/engine.js";
import { getTestModelPath } from "../../src/models/testModel/index.js";
import { ChunkTimeline, chunkSamples } from "../../src/transcription/chunkTimeline.js";
import { snapWord } from "../../src/transcription/snapWords.js";
import type { SpeechChunk } from "../../src/transcription/speechChunker.js";
import { mapSpeech } from "../../src/transcription/speechPresence.js";
import { TranscriptionRun } from "../../src/transcription/transcriptionRun.js";
import { loadTestEngine, speechPcm } from "../support/engineFixtures.js";
import { encodeWav } from "../support/speech.js";
import { speechLayout, STANDARD_LAYOUT } from "../support/speechLayout.js";
import { type CliOutput, type CliSegment, ensureWhisperCli, runWhisperCliJson } from "../support/whisperCli.js";

const RATE = 16_000;
/** The bound: 10 ms. */
const TOLERANCE = 0.01;
const WINDOW_SECONDS = 30;

/**
 * The engine's decoding settings, spelled out: greedy (best of 5 when sampling), whisper's temperature fallback from
 * 0 in steps of 0.2, no previous text as context (whisper-cli's default), English given.
 */
const ENGINE_OPTIONS: TranscriptionOptions = { language: "en", beamSize: 1, bestOf: 5, temperature: 0, conditionOnPreviousText: false, wordTimestamps: true };
/** whisper-cli the same way (no_context is its default); 2 threads like the test engine's job slot. */
const CLI_DECODING = ["-l", "en", "-t", "2", "-bs", "1", "-bo", "5", "-tp", "0", "-tpi", "0.2", "-dtw", "tiny"];

let cliModel: string;
let engine: WhisperEngine;
let eot: number;
let tmp: string;

beforeAll(async () => {
  // Built once (about a minute on two cores), from the tree the addon was built from; kept for later runs.
  await ensureWhisperCli();
  cliModel = await getTestModelPath("tiny");
  engine = await loadTestEngine({ parallelJobs: 1, flashAttention: true, wordAlignment: "dtw" });
  eot = engine.info.model.specialTokens.eot;
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "earshot-dtw-fidelity-"));
}, 240_000);

afterAll(async () => {
  await engine?.close();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

/** A token or word's times on one side and the other. */
interface Pair {
  what: string;
  ours: { start: number; end: number };
  cli: { start: number; end: number };
}

/** The largest difference of start or end over `pairs`, in seconds. */
const largestDifference = (pairs: readonly Pair[]) => Math.max(0, ...pairs.flatMap((p) => [Math.abs(p.ours.start - p.cli.start), Math.abs(p.ours.end - p.cli.end)]));

/** Fails naming the first pair whose start or end is more than 10 ms apart. */
function expectWithinTolerance(pairs: readonly Pair[], label: string): void {
  const off = pairs.find((p) => Math.abs(p.ours.start - p.cli.start) > TOLERANCE || Math.abs(p.ours.end - p.cli.end) > TOLERANCE);
  expect(off, `${label}: ${off?.what} Earshot ${JSON.stringify(off?.ours)} whisper-cli ${JSON.stringify(off?.cli)}`).toBeUndefined();
}

/** What whisper-cli's segment says, in seconds of the audio it was given (of `duration` seconds). */
interface CliTimes {
  start: number;
  end: number;
  text: string;
  /** Text tokens with their DTW span, in order. */
  tokens: Array<{ id: number; text: string; start: number; end: number; heuristicStart: number | undefined }>;
  words: Word[];
}

/**
 * whisper-cli's segment turned into token and word times by the rules stated at the top: a text token ends at its
 * t_dtw and starts at the previous text token's (the first at the segment's start, or its own t_dtw if earlier); words by openai/whisper's grouping, within
 * the segment; nothing past `duration`.
 */
function cliTimes(segment: CliSegment, duration: number): CliTimes {
  const seconds = (centiseconds: number) => Math.min(Math.max(0, centiseconds) / 100, duration);
  const t0 = segment.offsets.from / 10;
  const t1 = segment.offsets.to / 10;
  const textIndexes = segment.tokens.flatMap((token, i) => (token.id < eot ? [i] : []));
  const infos: TokenInfo[] = segment.tokens.map((token) => {
    const bytes = new Uint8Array(Buffer.from(token.text, "utf8"));
    return { id: token.id, text: token.text, bytes, probability: token.p, logprob: Math.log(token.p), start: 0, end: 0, special: token.id >= eot };
  });
  textIndexes.forEach((index, k) => {
    const token = segment.tokens[index]!;
    const previous = textIndexes[k - 1];
    const start = previous === undefined ? Math.min(t0, token.t_dtw) : segment.tokens[previous]!.t_dtw;
    infos[index]!.start = seconds(start);
    infos[index]!.end = seconds(Math.max(start, token.t_dtw));
  });
  const start = seconds(t0);
  const end = seconds(t1);
  const within = (t: number) => Math.min(end, Math.max(start, t));
  const words = groupTokensIntoWords(infos, { language: "en" }).map((w) => ({ ...w, start: within(w.start), end: within(w.end) }));
  const tokens = textIndexes.map((index) => {
    const token = segment.tokens[index]!;
    return { id: token.id, text: token.text, start: infos[index]!.start, end: infos[index]!.end, heuristicStart: token.offsets && token.offsets.from / 1000 };
  });
  return { start, end, text: segment.text, tokens, words };
}

/** Every text token of the cli's output was aligned (t_dtw set): the comparison has DTW times to compare. */
function expectAligned(output: CliOutput): void {
  const tokens = output.transcription.flatMap((s) => s.tokens.filter((t) => t.id < eot));
  expect(tokens.length).toBeGreaterThan(0);
  expect(tokens.filter((t) => t.t_dtw < 0).map((t) => t.text)).toEqual([]);
}

/**
 * Some DTW time is not whisper.cpp's heuristic token time: both sides reporting the heuristic times would match as
 * well, and would not be what is tested.
 */
function expectNotHeuristic(tokens: CliTimes["tokens"], label: string): void {
  expect(tokens.some((t) => t.heuristicStart !== undefined && Math.abs(t.start - t.heuristicStart) > 0.05), `${label}: DTW times differ from the heuristic`).toBe(true);
}

/** Writes `samples` as a 16-bit WAV and checks they are exactly what a reader of that file gets back. */
async function writeExactWav(file: string, samples: Float32Array): Promise<void> {
  fs.writeFileSync(file, encodeWav(samples, RATE));
  const read = (await decodeAudio(file)).samples;
  expect(read.length).toBe(samples.length);
  expect(read.every((v, i) => v === samples[i])).toBe(true);
}

/** 16-bit samples as floats (what whisper-cli and FFmpeg read out of a 16-bit WAV: n / 32768). */
const quantized = (samples: Float32Array) => samples.map((v) => Math.max(-32768, Math.min(32767, Math.round(v * 32768))) / 32768);

/** Our segments and the cli's, token by token and word by word. */
function pairUp(ours: readonly Segment[], cli: readonly CliTimes[], label: string): { tokens: Pair[]; words: Pair[] } {
  const ourTokens = ours.flatMap((s) => s.tokens.filter((t) => !t.special));
  const cliTokens = cli.flatMap((s) => s.tokens);
  expect(ourTokens.map((t) => t.id), `${label}: the same text tokens`).toEqual(cliTokens.map((t) => t.id));
  const ourWords = ours.flatMap((s) => s.words ?? []);
  const cliWords = cli.flatMap((s) => s.words);
  expect(ourWords.map((w) => w.word), `${label}: the same words`).toEqual(cliWords.map((w) => w.word));
  return {
    tokens: ourTokens.map((t, i) => ({ what: `token ${JSON.stringify(t.text)} #${i}`, ours: t, cli: cliTokens[i]! })),
    words: ourWords.map((w, i) => ({ what: `word ${JSON.stringify(w.word)} #${i}`, ours: w, cli: cliWords[i]! })),
  };
}

describe("DTW word times equal whisper-cli -dtw's (same tree, model, audio and decoding settings)", () => {
  /** The one-block audio (16-bit exact), its WAV, and whisper-cli's output on it (flash attention on, as ours). */
  let block: { samples: Float32Array; wav: string; duration: number; cli: CliOutput };

  beforeAll(async () => {
    // 65 s: speech with silences between, over three windows (the last one 5 s).
    const clip = await speechPcm();
    const samples = new Float32Array(65 * RATE);
    for (let at = 0; at < samples.length; at += clip.length + 2 * RATE) samples.set(clip.subarray(0, Math.min(clip.length, samples.length - at)), at);
    const exact = quantized(samples);
    const wav = path.join(tmp, "block.wav");
    await writeExactWav(wav, exact);
    block = { samples: exact, wav, duration: exact.length / RATE, cli: await runWhisperCliJson(cliModel, wav, [...CLI_DECODING, "-fa"]) };
  }, 120_000);

  it("one block of three windows: every token's time and every word's start and end within 10 ms, in the first window and the later ones", async () => {
    // The heads whisper-cli -dtw tiny reads: the engine chose the preset from the model's shape.
    expect(engine.info.alignmentHeads).toMatchObject({ preset: "tiny" });
    const result = await engine.transcribe(block.samples, ENGINE_OPTIONS);
    expect(result.timings.windows).toBe(3);
    expectAligned(block.cli);
    const cli = block.cli.transcription.map((s) => cliTimes(s, block.duration));
    expect(result.segments.map((s) => s.text)).toEqual(cli.map((s) => s.text));
    for (const [i, segment] of result.segments.entries()) {
      expect(Math.abs(segment.start - cli[i]!.start), `segment ${i} start`).toBeLessThanOrEqual(TOLERANCE);
      expect(Math.abs(segment.end - cli[i]!.end), `segment ${i} end`).toBeLessThanOrEqual(TOLERANCE);
    }

    // Window by window (the window a segment was decoded in: its seek, in 10-ms frames).
    const windowOf = (segment: Segment) => Math.floor(segment.seek / (WINDOW_SECONDS * 100));
    const windows = [...new Set(result.segments.map(windowOf))];
    expect(windows).toEqual([0, 1, 2]);
    const largest = { tokens: 0, words: 0 };
    for (const window of windows) {
      const indexes = result.segments.flatMap((s, i) => (windowOf(s) === window ? [i] : []));
      const label = `window ${window}`;
      const { tokens, words } = pairUp(
        indexes.map((i) => result.segments[i]!),
        indexes.map((i) => cli[i]!),
        label,
      );
      expect(tokens.length, label).toBeGreaterThan(0);
      expect(words.length, label).toBeGreaterThan(0);
      expectWithinTolerance(tokens, `${label} tokens`);
      expectWithinTolerance(words, `${label} words`);
      expectNotHeuristic(indexes.flatMap((i) => cli[i]!.tokens), label);
      largest.tokens = Math.max(largest.tokens, largestDifference(tokens));
      largest.words = Math.max(largest.words, largestDifference(words));
    }
    console.log(`one block: largest difference tokens ${(largest.tokens * 1000).toFixed(1)} ms, words ${(largest.words * 1000).toFixed(1)} ms`);
  });

  it("the patch's alignment beside flash attention is whisper.cpp's own without flash attention, where no padding is in play", async () => {
    // With flash attention whisper.cpp pads the audio positions to a multiple of 256 (1500 -> 1536) and its encoder
    // and cross-attention attend over the zero padding too, unmasked; the non-flash code does not. That changes the
    // inputs of the alignment heads (not their weights' computation), enough to move some DTW times of the
    // generated model (up to 0.78 s seen at the full 1500 positions). With an audio context of 1280 positions (a
    // multiple of 256) there is no padding, and the weights the patch computes beside flash attention must give
    // whisper.cpp's own non-flash alignment.
    const noPadding = ["-ac", "1280"];
    const withFlash = await runWhisperCliJson(cliModel, block.wav, [...CLI_DECODING, ...noPadding, "-fa"]);
    const withoutFlash = await runWhisperCliJson(cliModel, block.wav, [...CLI_DECODING, ...noPadding, "-nfa"]);
    expectAligned(withFlash);
    expectAligned(withoutFlash);
    const patched = withFlash.transcription.map((s) => cliTimes(s, block.duration));
    const reference = withoutFlash.transcription.map((s) => cliTimes(s, block.duration));
    expect(patched.map((s) => s.text)).toEqual(reference.map((s) => s.text));
    expect(patched.map((s) => s.start)).toContain(WINDOW_SECONDS);
    const tokens = patched.flatMap((s) => s.tokens);
    const referenceTokens = reference.flatMap((s) => s.tokens);
    expect(tokens.map((t) => t.id)).toEqual(referenceTokens.map((t) => t.id));
    expectNotHeuristic(referenceTokens, "without flash attention");
    const pairs = tokens.map((t, i) => ({ what: `token ${JSON.stringify(t.text)} #${i}`, ours: t, cli: referenceTokens[i]! }));
    expectWithinTolerance(pairs, "flash attention (the patch) vs none");
    console.log(`flash attention (the patch) vs none, no padding: largest difference ${(largestDifference(pairs) * 1000).toFixed(1)} ms over ${pairs.length} tokens`);
  });

  it("chunked: each chunk's tokens and words, mapped onto the recording, within 10 ms of whisper-cli on the chunk's samples", async () => {
    // The recording as 16 bits, so that each chunk's samples are exactly what whisper-cli reads from its WAV.
    const layout = await speechLayout(STANDARD_LAYOUT);
    const recording = quantized(layout.samples);
    const chunks: SpeechChunk[] = [];
    const run = new TranscriptionRun({
      engine,
      loadVad: () => SileroVadModel.load(),
      options: ENGINE_OPTIONS,
      chunking: { type: "auto" },
      onChunkDone: (chunk) => chunks.push(chunk),
    });
    const result = await run.finish(recording);
    expect(chunks.length).toBeGreaterThanOrEqual(2);
    // The run snaps words out of the silences its VAD found (the tokens it leaves as they are). The same speech map
    // from the same VAD over the same samples snaps whisper-cli's words: what is compared is whisper-cli's alignment
    // put through the two documented steps that follow it in a chunked run (chunk clock to recording, then out of
    // the silences). The tokens compare the alignment before snapping; the words that the snapping left where
    // whisper-cli put them compare it after.
    const speech = (await mapSpeech(recording, await SileroVadModel.load())).speech;

    const largest = { tokens: 0, words: 0 };
    let snappedWords = 0;
    let totalWords = 0;
    for (const chunk of chunks) {
      const label = `chunk ${chunk.index}`;
      const samples = chunkSamples(recording, chunk);
      const wav = path.join(tmp, `chunk${chunk.index}.wav`);
      await writeExactWav(wav, samples);
      const output = await runWhisperCliJson(cliModel, wav, [...CLI_DECODING, "-fa"]);
      expectAligned(output);
      const timeline = new ChunkTimeline(chunk.pieces);
      const cli = output.transcription.map((s) => cliTimes(s, chunk.length / RATE));
      expectNotHeuristic(cli.flatMap((s) => s.tokens), label);
      // Our segments of this chunk (a segment over a join of pieces is split in two): those with the chunk's seek.
      const ours = result.segments.filter((s) => s.seek === Math.round(timeline.originStart * 100));
      expect(ours.map((s) => s.text).join(""), label).toBe(cli.map((s) => s.text).join(""));

      let snappedHere = 0;
      const mapped = cli.map((segment) => ({
        ...segment,
        tokens: segment.tokens.map((t) => ({ ...t, ...timeline.span(t.start, t.end) })),
        words: segment.words.map((w) => {
          const onRecording = { ...w, ...timeline.span(w.start, w.end) };
          // Snapped as the run snaps it: within the bounds of its segment on the recording (ours: the one holding it).
          const middle = (onRecording.start + onRecording.end) / 2;
          const holder = ours.find((s) => middle >= s.start - 1e-6 && middle <= s.end + 1e-6);
          const snapped = snapWord(onRecording, speech, holder ? [holder.start, holder.end] : undefined);
          if (snapped !== onRecording) snappedHere++;
          return snapped;
        }),
      }));
      const { tokens, words } = pairUp(ours, mapped, label);
      expect(tokens.length, label).toBeGreaterThan(0);
      // Not every word was moved by the snapping: some compare whisper-cli's alignment itself, in every chunk.
      expect(snappedHere, `${label}: words snapped`).toBeLessThan(words.length);
      snappedWords += snappedHere;
      totalWords += words.length;
      expectWithinTolerance(tokens, `${label} tokens`);
      expectWithinTolerance(words, `${label} words`);
      largest.tokens = Math.max(largest.tokens, largestDifference(tokens));
      largest.words = Math.max(largest.words, largestDifference(words));
    }
    console.log(
      `chunked (${chunks.length} chunks): largest difference tokens ${(largest.tokens * 1000).toFixed(1)} ms, words ${(largest.words * 1000).toFixed(1)} ms; ${snappedWords} of ${totalWords} words snapped out of silences`,
    );
  });
});
