// `earshot transcribe --format diarized_json | rttm`: the CLI (built dist, a child process) tells the voices of a mono
// conversation apart with the generated speaker models, as the server does.
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { parseRttm } from "../../src/formats/index.js";
import { getTestModelPath } from "../../src/models/testModel/index.js";
import { getSegmentationTestModelPath, getSpeakerEmbeddingTestModelPath } from "../../src/models/testModel/diarization/index.js";
import { SAMPLE_RATE } from "../../src/engine/sampleRate.js";
import { alternatingTurns, makeConversation, type Conversation } from "../support/conversation.js";
import { writeWav } from "../support/speech.js";

const earshot = path.resolve("bin", "earshot.js");
const run = promisify(execFile);

let dir: string;
let wav: string;
let conversation: Conversation;
let flags: string[];

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "earshot-cli-speakers-"));
  conversation = await makeConversation(alternatingTurns(2, 4));
  wav = path.join(dir, "meeting.wav");
  await writeWav(wav, conversation.samples, SAMPLE_RATE);
  flags = [
    "--model", await getTestModelPath("tiny"),
    "--segmentation-model", await getSegmentationTestModelPath("tiny"),
    "--speaker-embedding-model", await getSpeakerEmbeddingTestModelPath("tiny"),
  ];
}, 60_000);

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

// An empty models directory: speaker models pulled on this machine would otherwise be taken by default.
const cli = (...args: string[]) => run(process.execPath, [earshot, ...args], { env: { ...process.env, EARSHOT_THREADS: "2", EARSHOT_MODELS_DIR: dir }, maxBuffer: 16 << 20 });

describe("earshot transcribe with speakers", () => {
  it("--format rttm gives the voices' turns; --format diarized_json the segments with speakers A and B", async () => {
    const rttm = parseRttm((await cli("transcribe", wav, ...flags, "--format", "rttm")).stdout);
    expect(rttm.map((turn) => turn.speaker)).toEqual(conversation.truth.map((truth) => (truth.speaker === 0 ? "A" : "B")));
    rttm.forEach((turn, i) => expect(Math.abs(turn.start - conversation.truth[i]!.start)).toBeLessThan(0.3));
    const body = JSON.parse((await cli("transcribe", wav, ...flags, "--format", "diarized_json", "--language", "en")).stdout) as { segments: Array<{ speaker: string }> };
    expect(new Set(body.segments.map((segment) => segment.speaker))).toEqual(new Set(["A", "B"]));
  }, 120_000);

  it("without speaker models, a mono file is refused with the settings to set", async () => {
    const failed = await cli("transcribe", wav, "--model", flags[1]!, "--format", "diarized_json").catch((error: { stderr: string; code: number }) => error);
    expect((failed as { code: number }).code).toBe(1);
    expect((failed as { stderr: string }).stderr).toMatch(/EARSHOT_SEGMENTATION_MODEL/);
  }, 60_000);
});
