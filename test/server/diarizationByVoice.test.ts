// diarized_json on mono audio: the real server with the generated Whisper model and the generated speaker models
// (onnxruntime-node in the inference thread), a conversation of eSpeak voices the test makes itself, and the official
// SDK. The transcript's words are junk (the generated Whisper model), so the speakers are checked against the truth
// through the speaker models' own turns (Earshot's `rttm`), and the transcript's segments against those turns.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

import { BadRequestError, toFile } from "openai";
import type { TranscriptionDiarized, TranscriptionStreamEvent } from "openai/resources/audio/transcriptions";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { parseRttm } from "../../src/formats/index.js";
import { getSegmentationTestModelPath, getSpeakerEmbeddingTestModelPath } from "../../src/models/testModel/diarization/index.js";
import { SAMPLE_RATE } from "../../src/engine/sampleRate.js";
import { alternatingTurns, makeConversation, voiceSamples, type Conversation } from "../support/conversation.js";
import { encodeMultichannelWav, encodeWav } from "../support/speech.js";
import { expectNoTempFiles, startTestServer, waitFor, type TestServer } from "../support/server.js";

let server: TestServer;
let conversation: Conversation;
let wav: Buffer;

beforeAll(async () => {
  [conversation] = await Promise.all([makeConversation(alternatingTurns(2, 5))]);
  wav = encodeWav(conversation.samples, SAMPLE_RATE);
  server = await startTestServer({
    segmentationModel: await getSegmentationTestModelPath("tiny"),
    speakerEmbeddingModel: await getSpeakerEmbeddingTestModelPath("tiny"),
  });
}, 120_000);

afterAll(async () => {
  await server?.close();
});

const file = (bytes: Buffer, name = "meeting.wav") => toFile(bytes, name);
const dataUrl = (samples: Float32Array) => `data:audio/wav;base64,${encodeWav(samples, SAMPLE_RATE).toString("base64")}`;

async function post(fields: Array<[string, string]>, audio: Buffer = wav): Promise<Response> {
  const form = new FormData();
  form.append("file", new Blob([audio], { type: "audio/wav" }), "meeting.wav");
  form.append("model", "whisper-1");
  for (const [name, value] of fields) form.append(name, value);
  return fetch(`${server.url}/v1/audio/transcriptions`, { method: "POST", body: form });
}

async function rttmTurns(fields: Array<[string, string]> = []) {
  const response = await post([["response_format", "rttm"], ...fields]);
  expect(response.status).toBe(200);
  return parseRttm(await response.text());
}

/** Every diarized segment lies inside one turn of its own speaker (no segment crosses a change), in time order. */
function expectSegmentsOnTurns(body: TranscriptionDiarized, turns: Array<{ start: number; end: number; speaker: string }>): void {
  expect(body.segments.length).toBeGreaterThan(0);
  for (let i = 1; i < body.segments.length; i++) expect(body.segments[i]!.start).toBeGreaterThanOrEqual(body.segments[i - 1]!.start);
  for (const segment of body.segments) {
    const middle = (segment.start + segment.end) / 2;
    const owner = turns.filter((turn) => turn.start - 0.5 <= middle && middle <= turn.end + 0.5).map((turn) => turn.speaker);
    expect(owner.length === 0 || owner.includes(segment.speaker), `segment ${JSON.stringify(segment)} against ${JSON.stringify(turns)}`).toBe(true);
  }
}

describe("diarized_json on a mono conversation", () => {
  it("the speaker models find the two voices and their turns (rttm, within 0.3 s of the truth)", async () => {
    const turns = await rttmTurns();
    expect(new Set(turns.map((turn) => turn.speaker))).toEqual(new Set(["A", "B"]));
    expect(turns).toHaveLength(conversation.truth.length);
    turns.forEach((turn, i) => {
      const truth = conversation.truth[i]!;
      expect(Math.abs(turn.start - truth.start)).toBeLessThan(0.3);
      expect(Math.abs(turn.end - truth.end)).toBeLessThan(0.3);
      expect(turn.speaker).toBe(truth.speaker === 0 ? "A" : "B");
    });
  });

  it("the official SDK: speakers A and B, segments in time order, none crossing a turn", async () => {
    const body = (await server.client().audio.transcriptions.create({
      file: await file(wav),
      model: "gpt-4o-transcribe-diarize",
      response_format: "diarized_json",
    })) as unknown as TranscriptionDiarized;
    const turns = await rttmTurns();
    expectSegmentsOnTurns(body, turns);
    // Letters in order of first appearance in the transcript.
    expect([...new Set(body.segments.map((segment) => segment.speaker))]).toEqual(["A", "B"]);
    expect(body.duration).toBeCloseTo(conversation.samples.length / SAMPLE_RATE, 2);

    // stream=true: the same segments as events, then done.
    const stream = await server.client().audio.transcriptions.create({ file: await file(wav), model: "gpt-4o-transcribe-diarize", response_format: "diarized_json", stream: true });
    const events: TranscriptionStreamEvent[] = [];
    for await (const event of stream) events.push(event);
    const segments = events.filter((event) => event.type === "transcript.text.segment");
    expect(segments.map(({ start, end, speaker, text }) => ({ start, end, speaker, text }))).toEqual(body.segments.map(({ start, end, speaker, text }) => ({ start, end, speaker, text })));
    expect(events.at(-1)!.type).toBe("transcript.text.done");
  }, 120_000);

  it("a reference clip cut from the recording names that voice; a voice not in it names nobody", async () => {
    const second = conversation.truth[1]!;
    const clip = conversation.samples.slice(Math.round(second.start * SAMPLE_RATE), Math.round(Math.min(second.end, second.start + 6) * SAMPLE_RATE));
    const stranger = await voiceSamples(2, "Nobody in this meeting speaks with my voice, as you can hear.");
    const body = (await server.client().audio.transcriptions.create({
      file: await file(wav),
      model: "gpt-4o-transcribe-diarize",
      response_format: "diarized_json",
      known_speaker_names: ["Bob", "Stranger"],
      known_speaker_references: [dataUrl(clip), dataUrl(stranger.slice(0, 6 * SAMPLE_RATE))],
    })) as unknown as TranscriptionDiarized;
    expect(new Set(body.segments.map((segment) => segment.speaker))).toEqual(new Set(["A", "Bob"]));
    const turns = await rttmTurns([
      ["known_speaker_names[]", "Bob"],
      ["known_speaker_references[]", dataUrl(clip)],
    ]);
    conversation.truth.forEach((truth, i) => expect(turns[i]!.speaker).toBe(truth.speaker === 1 ? "Bob" : "A"));
  }, 120_000);

  it("a reference as large as OpenAI's longest clip can be (10 s of 48 kHz stereo WAV, 2.56 MB as a data URL) is taken; more, or a 300 KB prompt, is field_too_long", async () => {
    const mono = conversation.samples.slice(Math.round(conversation.truth[1]!.start * SAMPLE_RATE), Math.round(conversation.truth[1]!.start * SAMPLE_RATE) + 10 * SAMPLE_RATE);
    const upsampled = Float32Array.from({ length: mono.length * 3 }, (_, i) => mono[Math.floor(i / 3)]!);
    const big = `data:audio/wav;base64,${encodeMultichannelWav([upsampled, upsampled], 48_000).toString("base64")}`;
    expect(big.length).toBeGreaterThan(2.5e6);
    const body = (await server.client().audio.transcriptions.create({
      file: await file(wav),
      model: "gpt-4o-transcribe-diarize",
      response_format: "diarized_json",
      known_speaker_names: ["Bob"],
      known_speaker_references: [big],
    })) as unknown as TranscriptionDiarized;
    expect(body.segments.length).toBeGreaterThan(0);
    const tooBig = await post([["response_format", "diarized_json"], ["known_speaker_names[]", "x"], ["known_speaker_references[]", `${big}${"A".repeat(600_000)}`]]);
    expect(tooBig.status).toBe(400);
    expect(((await tooBig.json()) as { error: { param: string; code: string } }).error).toMatchObject({ param: "known_speaker_references", code: "field_too_long" });
    const longPrompt = await post([["prompt", "a".repeat(300 * 1024)]]);
    expect(longPrompt.status).toBe(400);
    expect(((await longPrompt.json()) as { error: { param: string; code: string } }).error).toMatchObject({ param: "prompt", code: "field_too_long" });
  }, 120_000);

  it("num_speakers=1 puts everybody in one speaker; max_speakers caps the count", async () => {
    expect(new Set((await rttmTurns([["num_speakers", "1"]])).map((turn) => turn.speaker))).toEqual(new Set(["A"]));
    expect(new Set((await rttmTurns([["max_speakers", "1"]])).map((turn) => turn.speaker)).size).toBe(1);
    expect(new Set((await rttmTurns([["min_speakers", "2"], ["max_speakers", "4"]])).map((turn) => turn.speaker)).size).toBe(2);
  }, 60_000);

  it("silence: 200 with no segments", async () => {
    const silence = encodeWav(new Float32Array(4 * SAMPLE_RATE), SAMPLE_RATE);
    const response = await post([["response_format", "diarized_json"]], silence);
    expect(response.status).toBe(200);
    const body = (await response.json()) as TranscriptionDiarized;
    expect(body.segments).toEqual([]);
    expect(body.text).toBe("");
  });

  it("bad input: 400s naming the field, nothing left in the temp dir", async () => {
    const expect400 = async (fields: Array<[string, string]>, param: string, message: RegExp) => {
      const response = await post([["response_format", "diarized_json"], ...fields]);
      expect(response.status).toBe(400);
      const { error } = (await response.json()) as { error: { param: string; message: string } };
      expect(error.param).toBe(param);
      expect(error.message).toMatch(message);
    };
    const tooShort = conversation.samples.slice(0, SAMPLE_RATE);
    await expect400([["known_speaker_names[]", "x"], ["known_speaker_references[]", dataUrl(tooShort)]], "known_speaker_references", /between 2 and 10 seconds/);
    const silent = new Float32Array(3 * SAMPLE_RATE);
    await expect400([["known_speaker_names[]", "x"], ["known_speaker_references[]", dataUrl(silent)]], "known_speaker_references", /no speech/);
    const notAudio = `data:audio/wav;base64,${Buffer.from("RIFF0000WAVEfmt nothing here at all").toString("base64")}`;
    await expect400([["known_speaker_names[]", "x"], ["known_speaker_references[]", notAudio]], "known_speaker_references", /./);
    await expect400([["min_speakers", "3"], ["max_speakers", "2"]], "min_speakers", /above/);
    await expect400([["num_speakers", "0"]], "num_speakers", /whole number/);
    await expect400([["num_speakers", "2"], ["max_speakers", "3"]], "num_speakers", /either/);
    const json = await post([["num_speakers", "2"]]);
    expect(json.status).toBe(400);
    const sdk = await server
      .client()
      .audio.transcriptions.create({
        file: await file(wav),
        model: "whisper-1",
        response_format: "diarized_json",
        known_speaker_names: ["a", "b", "c", "d", "e"],
      })
      .catch((error: unknown) => error);
    expect(sdk).toBeInstanceOf(BadRequestError);
    await expectNoTempFiles(server.tempDir);
  }, 60_000);
});

describe("the bound on diarizations at once", () => {
  it("a second recording while the only slot is taken: 429 diarization_overloaded with Retry-After; both counted in /metrics", async () => {
    const busy = await startTestServer({
      segmentationModel: await getSegmentationTestModelPath("tiny"),
      speakerEmbeddingModel: await getSpeakerEmbeddingTestModelPath("tiny"),
      maxDiarizations: "1",
    });
    try {
      const long = new Float32Array(conversation.samples.length * 4);
      for (let i = 0; i < 4; i++) long.set(conversation.samples, i * conversation.samples.length);
      const audio = encodeWav(long, SAMPLE_RATE);
      const send = () => {
        const form = new FormData();
        form.append("file", new Blob([audio], { type: "audio/wav" }), "meeting.wav");
        form.append("model", "whisper-1");
        form.append("response_format", "diarized_json");
        return fetch(`${busy.url}/v1/audio/transcriptions`, { method: "POST", body: form });
      };
      const responses = await Promise.all([send(), send()]);
      const statuses = responses.map((response) => response.status).sort();
      expect(statuses).toEqual([200, 429]);
      const refused = responses.find((response) => response.status === 429)!;
      expect(refused.headers.get("retry-after")).toBe("5");
      expect(((await refused.json()) as { error: { code: string } }).error.code).toBe("diarization_overloaded");
      const metrics = await (await fetch(`${busy.url}/metrics`)).text();
      expect(metrics).toMatch(/earshot_diarizations_total\{outcome="ok"\} 1/);
      expect(metrics).toMatch(/earshot_diarizations_total\{outcome="refused"\} 1/);
      expect(metrics).toMatch(/earshot_diarization_duration_seconds_count 1/);

      // A client that goes away mid-way stops the diarization with the transcription: counted as aborted, the slot
      // free again, nothing left in the temp dir.
      const gone = new AbortController();
      const form = new FormData();
      form.append("file", new Blob([audio], { type: "audio/wav" }), "meeting.wav");
      form.append("model", "whisper-1");
      form.append("response_format", "diarized_json");
      const request = fetch(`${busy.url}/v1/audio/transcriptions`, { method: "POST", body: form, signal: gone.signal }).catch((error: unknown) => error);
      await waitFor("the diarization to start", async () => /earshot_diarizations_running 1/.test(await (await fetch(`${busy.url}/metrics`)).text()), 30_000, 20);
      gone.abort();
      await request;
      await waitFor("the aborted diarization to be counted", async () => {
        const text = await (await fetch(`${busy.url}/metrics`)).text();
        return /earshot_diarizations_total\{outcome="aborted"\} 1/.test(text) && /earshot_diarizations_running 0/.test(text);
      }, 30_000, 50);
      expect((await send()).status).toBe(200);
      await expectNoTempFiles(busy.tempDir);
    } finally {
      await busy.close();
    }
  }, 120_000);
});

describe("speaker model settings", () => {
  it("a file that is no ONNX model, a missing one, or one model without the other stops startup, naming the setting", async () => {
    const segmentation = await getSegmentationTestModelPath("tiny");
    const notAModel = path.join(os.tmpdir(), `earshot-not-a-model-${process.pid}.onnx`);
    fs.writeFileSync(notAModel, Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x00]));
    try {
      await expect(startTestServer({ segmentationModel: segmentation, speakerEmbeddingModel: notAModel })).rejects.toThrow(/speakerEmbeddingModel .*not an ONNX model/);
      await expect(startTestServer({ segmentationModel: segmentation, speakerEmbeddingModel: "/nonexistent/embedding.onnx" })).rejects.toThrow(/speakerEmbeddingModel .*not found/);
      await expect(startTestServer({ segmentationModel: segmentation })).rejects.toThrow(/speakerEmbeddingModel.* is needed too/);
    } finally {
      fs.rmSync(notAModel, { force: true });
    }
  });
});
