// The generated tiny Parakeet model in whisper.cpp's own parakeet-cli, built from the tree and flags the addon is built
// from: it loads, and greedy TDT decoding of the suite's synthesized speech gives a transcript of junk words at a
// speech-like rate, with token times that only move forward, varied durations and word starts, nothing where the
// recording is digitally silent, and the same tokens on every run (another seed, other tokens). Heavy: the first run
// builds parakeet-cli (about a minute on two cores); the model is generated in well under a second.
import { promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { getParakeetTestModelPath, WORD_START } from "../../src/models/testModel/parakeet/index.js";
import { speechPcm } from "../support/engineFixtures.js";
import { parakeetCliPath, type ParakeetCliOutput, runParakeetCli } from "../support/parakeetCli.js";
import { writeWav } from "../support/speech.js";
import { RATE, type SpeechLayout, speechLayout } from "../support/speechLayout.js";

/** parakeet-cli's token times are mel frames of 10 ms; an encoder frame is 8 of them. */
const MEL_FRAME_SECONDS = 0.01;
const SUBSAMPLING = 8;
const SPEECH_SECONDS = 8;
/** Threads, as a test engine's job slot. */
const CLI_ARGS = ["-t", "2"];

let tmp: string;
let model: string;
let speechWav: string;
let layout: SpeechLayout;
let layoutWav: string;

beforeAll(async () => {
  await parakeetCliPath();
  model = await getParakeetTestModelPath("tiny");
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), "earshot-parakeet-cli-"));
  speechWav = path.join(tmp, "speech.wav");
  await writeWav(speechWav, (await speechPcm()).subarray(0, SPEECH_SECONDS * RATE), RATE);
  // silence, a sentence, silence, a sentence, silence
  layout = await speechLayout([3, "short", 4, "short", 3]);
  layoutWav = path.join(tmp, "layout.wav");
  await writeWav(layoutWav, layout.samples, RATE);
}, 240_000);

afterAll(async () => {
  if (tmp) await fs.rm(tmp, { recursive: true, force: true });
});

/** The one segment parakeet_full gives for a short recording. */
function onlySegment(output: ParakeetCliOutput) {
  expect(output.segments.length).toBe(1);
  return output.segments[0]!;
}

/** What sentencepiece_piece_to_text makes of the pieces: "▁" a space, except at the very start. */
function piecesToText(pieces: readonly string[]): string {
  return pieces.join("").replaceAll(WORD_START, " ").replace(/^ /, "");
}

describe("the generated tiny Parakeet model in parakeet-cli", () => {
  it("transcribes speech to junk words at a speech-like rate, with forward-moving token times and varied durations", async () => {
    const output = await runParakeetCli(model, speechWav, CLI_ARGS);
    const segment = onlySegment(output);
    const { tokens } = segment;
    expect(segment.text.trim()).not.toBe("");
    expect(segment.text).toBe(piecesToText(tokens.map((t) => t.piece)));
    expect(output.text).toBe(segment.text);
    // the model emits ~4 pieces and ~3 words a second of speech
    expect(tokens.length).toBeGreaterThanOrEqual(2.5 * SPEECH_SECONDS);
    expect(tokens.length).toBeLessThanOrEqual(7 * SPEECH_SECONDS);
    expect(tokens.filter((t) => t.wordStart).length).toBeGreaterThanOrEqual(1.5 * SPEECH_SECONDS);
    expect(tokens.every((t) => t.wordStart === t.piece.startsWith(WORD_START))).toBe(true);
    for (const [i, token] of tokens.entries()) {
      expect(token.t0, `token ${i}`).toBe(token.frame * SUBSAMPLING);
      expect(token.t1, `token ${i}`).toBe((token.frame + token.duration) * SUBSAMPLING);
      if (i > 0) expect(token.t0, `token ${i}`).toBeGreaterThanOrEqual(tokens[i - 1]!.t0);
      expect(token.p).toBeGreaterThan(0);
      expect(token.p).toBeLessThanOrEqual(1);
    }
    // tokens through the whole recording, the last ending within a few encoder frames of its end
    expect(tokens[0]!.t0 * MEL_FRAME_SECONDS).toBeLessThan(1);
    expect(tokens.at(-1)!.t1 * MEL_FRAME_SECONDS).toBeGreaterThan(SPEECH_SECONDS - 1);
    expect(tokens.at(-1)!.t1 * MEL_FRAME_SECONDS).toBeLessThan(SPEECH_SECONDS + 0.5);
    expect(new Set(tokens.map((t) => t.duration)).size).toBeGreaterThanOrEqual(3);
  });

  it("emits nothing where the recording is digitally silent", async () => {
    const { tokens } = onlySegment(await runParakeetCli(model, layoutWav, CLI_ARGS));
    const inside = (t: number) => layout.speech.some(([from, to]) => t >= from - 0.5 && t <= to + 0.5);
    const outside = tokens.filter((t) => !inside(t.t0 * MEL_FRAME_SECONDS));
    expect(outside.map((t) => t.t0 * MEL_FRAME_SECONDS)).toEqual([]);
    for (const [from, to] of layout.speech) {
      const spoken = tokens.filter((t) => t.t0 * MEL_FRAME_SECONDS >= from - 0.5 && t.t0 * MEL_FRAME_SECONDS <= to + 0.5);
      expect(spoken.length, `speech at ${from.toFixed(1)} s`).toBeGreaterThanOrEqual(2 * (to - from));
    }
  });

  it("decodes the same tokens every time, and other tokens with another seed", async () => {
    const ids = async (file: string, threads: string) => onlySegment(await runParakeetCli(file, speechWav, ["-t", threads])).tokens.map((t) => `${t.id}@${t.t0}+${t.duration}`);
    const first = await ids(model, "2");
    expect(await ids(model, "1")).toEqual(first);
    const other = await ids(await getParakeetTestModelPath("tiny", { seed: 2 }), "2");
    expect(other.length).toBeGreaterThan(0);
    expect(other).not.toEqual(first);
  });
});
