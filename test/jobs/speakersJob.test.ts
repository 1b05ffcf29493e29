// A batch job with diarized_json on mono audio: the job's FLAC read twice at once (transcription and diarization),
// its stored result rendered in every format with the speakers (diarized_json, rttm, srt/vtt cues as `A: text`) and
// the plain ones; references checked at submit; a server without speaker models refuses such a job.
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { parseRttm } from "../../src/formats/index.js";
import { getSegmentationTestModelPath, getSpeakerEmbeddingTestModelPath } from "../../src/models/testModel/diarization/index.js";
import { SAMPLE_RATE } from "../../src/engine/sampleRate.js";
import { alternatingTurns, makeConversation, type Conversation } from "../support/conversation.js";
import { encodeWav } from "../support/speech.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { JobsClient, type ErrorBody } from "./jobsClient.js";

let server: TestServer;
let plain: TestServer;
let conversation: Conversation;
let wav: Buffer;

beforeAll(async () => {
  conversation = await makeConversation(alternatingTurns(2, 5));
  wav = encodeWav(conversation.samples, SAMPLE_RATE);
  server = await startTestServer({
    segmentationModel: await getSegmentationTestModelPath("tiny"),
    speakerEmbeddingModel: await getSpeakerEmbeddingTestModelPath("tiny"),
  });
  plain = await startTestServer();
}, 120_000);

afterAll(async () => {
  await server?.close();
  await plain?.close();
});

const dataUrl = (samples: Float32Array) => `data:audio/wav;base64,${encodeWav(samples, SAMPLE_RATE).toString("base64")}`;

describe("a batch job with diarized_json", () => {
  it("completes, and its one stored result renders with speakers in every format that can carry them", async () => {
    const jobs = new JobsClient(server.url);
    const second = conversation.truth[1]!;
    const clip = conversation.samples.slice(Math.round(second.start * SAMPLE_RATE), Math.round((second.start + 3) * SAMPLE_RATE));
    const submitted = await jobs.submit(wav, { response_format: "diarized_json", "known_speaker_names[]": "Bob", "known_speaker_references[]": dataUrl(clip) });
    const done = await jobs.waitFor(submitted.id, ["succeeded", "failed"], 120_000);
    expect(done.status, JSON.stringify(done)).toBe("succeeded");

    const diarized = (await (await jobs.result(done.id)).json()) as { segments: Array<{ speaker: string; start: number; end: number; text: string }>; duration: number };
    expect([...new Set(diarized.segments.map((segment) => segment.speaker))]).toEqual(["A", "Bob"]);
    expect(diarized.duration).toBeCloseTo(conversation.samples.length / SAMPLE_RATE, 1);

    const rttm = parseRttm(await (await jobs.result(done.id, "rttm")).text());
    expect(rttm.map((turn) => turn.speaker)).toEqual(conversation.truth.map((truth) => (truth.speaker === 1 ? "Bob" : "A")));
    rttm.forEach((turn, i) => expect(Math.abs(turn.start - conversation.truth[i]!.start)).toBeLessThan(0.3));
    expect(rttm[0]!.fileId).toBe(done.id);

    const srt = await (await jobs.result(done.id, "srt")).text();
    const cues = srt.trim().split("\n\n");
    expect(cues).toHaveLength(diarized.segments.length);
    cues.forEach((cue, i) => expect(cue.split("\n")[2]).toBe(`${diarized.segments[i]!.speaker}: ${diarized.segments[i]!.text}`));
    const vtt = await (await jobs.result(done.id, "vtt")).text();
    expect(vtt.startsWith("WEBVTT\n\n")).toBe(true);
    expect(vtt).toContain(`Bob: `);

    // The plain formats from the same stored result.
    const json = (await (await jobs.result(done.id, "json")).json()) as { text: string };
    expect(json.text.length).toBeGreaterThan(0);
    expect((await jobs.result(done.id, "verbose_json")).status).toBe(200);
    expect((await jobs.result(done.id, "nonsense")).status).toBe(400);
  }, 180_000);

  it("refused at submit: a reference out of bounds (400 naming it); a server without speaker models (400 naming response_format)", async () => {
    const jobs = new JobsClient(server.url);
    const short = await jobs.submitRaw(wav, { response_format: "diarized_json", "known_speaker_names[]": "x", "known_speaker_references[]": dataUrl(conversation.samples.slice(0, SAMPLE_RATE)) });
    expect(short.status).toBe(400);
    expect(((await short.json()) as ErrorBody).error.param).toBe("known_speaker_references");
    const refused = await new JobsClient(plain.url).submitRaw(wav, { response_format: "diarized_json" });
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as ErrorBody).error.param).toBe("response_format");
    // A plain job's result has no speaker formats.
    const plainJobs = new JobsClient(plain.url);
    const job = await plainJobs.waitFor((await plainJobs.submit(wav)).id, ["succeeded"], 120_000);
    expect((await plainJobs.result(job.id, "diarized_json")).status).toBe(400);
  }, 180_000);
});
