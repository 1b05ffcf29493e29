// response_format=diarized_json over HTTP: speakers told apart by channel in a two-party recording (each party on
// its own channel, speaking at different times), through the official SDK (the file sent first: the upload is kept
// and decoded again with its channels separated) and a form with its fields first (decoded separated at once),
// streamed as transcript.text.segment events, and the 400s: mono audio, the same signal in every channel, bad
// known_speaker_names / known_speaker_references, granularities and logprobs.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

import OpenAI, { BadRequestError, toFile } from "openai";
import type { TranscriptionDiarized, TranscriptionStreamEvent } from "openai/resources/audio/transcriptions";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";

import { encodeMultichannelWav, encodeWav, encodeWithFfmpeg } from "../support/speech.js";
import { expectNoTempFiles, startTestServer, type TestServer } from "../support/server.js";
import { RATE, speechLayout, type SpeechLayout } from "../support/speechLayout.js";

let server: TestServer;
let client: OpenAI;
/** Left: speech at ~1–5.4 s and ~20–24.4 s. Right: speech at ~10–14.4 s. Silence elsewhere. */
let left: SpeechLayout;
let right: SpeechLayout;
let stereoWav: Buffer;
let stereoM4a: Buffer;
let monoWav: Buffer;
let dualMonoWav: Buffer;
let dir: string;

beforeAll(async () => {
  [server, left, right] = await Promise.all([
    startTestServer({ parallelJobs: "2", threadsPerJob: "1" }),
    speechLayout([1, "short", 14.6, "short", 6]),
    speechLayout([10, "short", 16.4]),
  ]);
  client = server.client();
  stereoWav = encodeMultichannelWav([left.samples, right.samples], RATE);
  monoWav = encodeWav(left.samples, RATE);
  dualMonoWav = encodeMultichannelWav([left.samples, left.samples], RATE);
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "earshot-diarized-test-"));
  fs.writeFileSync(path.join(dir, "call.wav"), stereoWav);
  fs.writeFileSync(path.join(dir, "mono.wav"), monoWav);
  // AAC in mp4, moov at the end: decoded through a temp file, which is the input kept for the second decode.
  stereoM4a = await encodeWithFfmpeg(path.join(dir, "call.wav"), "m4a");
});
afterAll(async () => {
  await server?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});
afterEach(async () => {
  // The decoder's temp files, and the copy of an upload kept for a decode of its channels, are gone once answered.
  await expectNoTempFiles(server.tempDir);
});

const file = (bytes: Buffer, name = "call.wav") => toFile(bytes, name);

/** A form with its fields in the order given (the file where it says "file"), posted to /v1/audio/transcriptions. */
async function post(fields: Array<[string, string]>, audio: Buffer = stereoWav): Promise<Response> {
  const form = new FormData();
  for (const [name, value] of fields) {
    if (name === "file") form.append("file", new Blob([audio]), "call.wav");
    else form.append(name, value);
  }
  if (!fields.some(([name]) => name === "file")) form.append("file", new Blob([audio]), "call.wav");
  return fetch(`${server.url}/v1/audio/transcriptions`, { method: "POST", body: form });
}

type Segment = TranscriptionDiarized["segments"][number];

/**
 * Checks the shape and the speakers: `speakers[0]` on the left channel's speech, `speakers[1]` on the right's.
 * `durationSlack`: seconds the duration may differ by (AAC adds padding).
 */
function expectCall(body: TranscriptionDiarized, speakers: [string, string], durationSlack = 0.005): void {
  expect(body.task).toBe("transcribe");
  expect(Math.abs(body.duration - Math.max(left.duration, right.duration))).toBeLessThanOrEqual(durationSlack);
  expect(body.usage).toEqual({ type: "duration", seconds: Math.ceil(body.duration) });
  expect(body.segments.length).toBeGreaterThan(2);
  const layouts = new Map([
    [speakers[0], left],
    [speakers[1], right],
  ]);
  body.segments.forEach((segment, index) => {
    expect(segment).toEqual({ type: "transcript.text.segment", id: `seg_${index}`, start: expect.any(Number), end: expect.any(Number), speaker: expect.any(String), text: expect.any(String) });
    expect(segment.text).toBe(segment.text.trim());
    expect(segment.text.length).toBeGreaterThan(0);
    const layout = layouts.get(segment.speaker);
    expect(layout, `speaker ${segment.speaker}`).toBeDefined();
    // Inside its own channel's speech (±0.5 s): never the other party's turn, never the silence.
    const inside = layout!.speech.some(([from, to]) => segment.start >= from - 0.5 && segment.end <= to + 0.5);
    expect(inside, `${segment.speaker} ${segment.start}-${segment.end} in ${JSON.stringify(layout!.speech)}`).toBe(true);
  });
  // Time order, both speakers, and the left party speaks before and after the right one.
  const starts = body.segments.map((s) => s.start);
  expect(starts).toEqual([...starts].sort((a, b) => a - b));
  const order = body.segments.map((s) => s.speaker).filter((speaker, i, all) => speaker !== all[i - 1]);
  expect(order).toEqual([speakers[0], speakers[1], speakers[0]]);
  expect(body.text).toBe(body.segments.map((s) => s.text).join(" "));
}

const times = (segments: Segment[]) => segments.map((s) => [s.start, s.end, s.text]);

describe("diarized_json on a two-channel call", () => {
  let sdkResult: TranscriptionDiarized;

  it("the official SDK (file first): A and B, each segment on its own channel's speech, in time order", async () => {
    sdkResult = (await client.audio.transcriptions.create({
      file: await file(stereoWav),
      model: "gpt-4o-transcribe-diarize",
      response_format: "diarized_json",
    })) as unknown as TranscriptionDiarized;
    expectCall(sdkResult, ["A", "B"]);
  });

  it("known_speaker_names label the channels in order (SDK)", async () => {
    const named = (await client.audio.transcriptions.create({
      file: await file(stereoWav),
      model: "gpt-4o-transcribe-diarize",
      response_format: "diarized_json",
      known_speaker_names: ["agent", "customer"],
    })) as unknown as TranscriptionDiarized;
    expectCall(named, ["agent", "customer"]);
    expect(times(named.segments)).toEqual(times(sdkResult.segments));
  });

  it("fields before the file: decoded separated at once, the same answer; fewer names than channels: letters for the rest", async () => {
    const response = await post([
      ["model", "whisper-1"],
      ["response_format", "diarized_json"],
      ["known_speaker_names[]", "agent"],
      ["file", ""],
    ]);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^application\/json/);
    const body = (await response.json()) as TranscriptionDiarized;
    expectCall(body, ["agent", "A"]);
    expect(times(body.segments)).toEqual(times(sdkResult.segments));
    // More names than channels: the extra one is unused.
    const extra = await post([["model", "whisper-1"], ["response_format", "diarized_json"], ["known_speaker_names[]", "x"], ["known_speaker_names[]", "y"], ["known_speaker_names[]", "z"]]);
    expectCall((await extra.json()) as TranscriptionDiarized, ["x", "y"]);
  });

  it("a compressed upload (m4a, decoded through a temp file) works the same", async () => {
    const result = (await client.audio.transcriptions.create({
      file: await file(stereoM4a, "call.m4a"),
      model: "gpt-4o-transcribe-diarize",
      response_format: "diarized_json",
      known_speaker_names: ["agent", "customer"],
    })) as unknown as TranscriptionDiarized;
    expectCall(result, ["agent", "customer"], 0.1);
  });

  it("stream=true: each segment as transcript.text.segment (its text as a delta with its id first), in time order, then done", async () => {
    const stream = await client.audio.transcriptions.create({
      file: await file(stereoWav),
      model: "gpt-4o-transcribe-diarize",
      response_format: "diarized_json",
      known_speaker_names: ["agent", "customer"],
      stream: true,
    });
    const events: TranscriptionStreamEvent[] = [];
    for await (const event of stream) events.push(event);
    const segments = events.filter((e) => e.type === "transcript.text.segment");
    const deltas = events.filter((e) => e.type === "transcript.text.delta");
    const done = events.at(-1)!;
    expect(done.type).toBe("transcript.text.done");
    expect(events.filter((e) => e.type === "transcript.text.done")).toHaveLength(1);
    expect(times(segments as Segment[])).toEqual(times(sdkResult.segments));
    expect(segments.map((s) => s.speaker)).toEqual(sdkResult.segments.map((s) => (s.speaker === "A" ? "agent" : "customer")));
    segments.forEach((s, i) => expect(s.id).toBe(`seg_${i}`));
    expect(deltas.map((d) => d.segment_id)).toEqual(segments.map((s) => s.id));
    if (done.type === "transcript.text.done") {
      expect(done.text).toBe(sdkResult.text);
      expect(deltas.map((d) => d.delta).join("")).toBe(done.text);
    }
  });
});

describe("audio whose speakers cannot be told apart by channel", () => {
  const expectRefused = (error: unknown) => {
    expect(error).toBeInstanceOf(BadRequestError);
    expect((error as BadRequestError).param).toBe("response_format");
    expect((error as BadRequestError).message).toMatch(/speaker model this server does not have/);
    expect((error as BadRequestError).message).toMatch(/one speaker per channel/);
  };

  it("mono audio is a 400 naming response_format, never a single-speaker answer (file first, or fields first, or streamed)", async () => {
    const sdk = await client.audio.transcriptions.create({ file: await file(monoWav), model: "whisper-1", response_format: "diarized_json" }).catch((e: unknown) => e);
    expectRefused(sdk);
    const streamed = await client.audio.transcriptions
      .create({ file: await file(monoWav), model: "whisper-1", response_format: "diarized_json", stream: true })
      .catch((e: unknown) => e);
    expectRefused(streamed);
    const response = await post([["model", "whisper-1"], ["response_format", "diarized_json"], ["file", ""]], monoWav);
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { param: string } }).error.param).toBe("response_format");
  });

  it("the same signal in both channels (mono stored as stereo) is the same 400", async () => {
    expectRefused(await client.audio.transcriptions.create({ file: await file(dualMonoWav), model: "whisper-1", response_format: "diarized_json" }).catch((e: unknown) => e));
    // Resampled to 44.1 kHz and copied to two channels by FFmpeg.
    const wav44k = await encodeWithFfmpeg(path.join(dir, "mono.wav"), "wav-44k-stereo");
    const mixed = await client.audio.transcriptions.create({ file: await file(wav44k), model: "whisper-1", response_format: "diarized_json" }).catch((e: unknown) => e);
    expectRefused(mixed);
  });

  it("the other formats still take a stereo file as one mix", async () => {
    const result = await client.audio.transcriptions.create({ file: await file(stereoWav), model: "whisper-1", response_format: "verbose_json", chunking_strategy: "auto" });
    expect(result.segments!.length).toBeGreaterThan(0);
    expect(result.text.length).toBeGreaterThan(0);
  });
});

describe("parameters", () => {
  const paramOf = async (response: Response) => {
    expect(response.status).toBe(400);
    return ((await response.json()) as { error: { param: string } }).error.param;
  };
  const wavDataUrl = `data:audio/wav;base64,${encodeWav(new Float32Array(16_000 * 2), 16_000).toString("base64")}`;

  it("known_speaker_references: data URLs of audio, at most 4, one per name; accepted (not used yet)", async () => {
    const diarized: Array<[string, string]> = [["model", "whisper-1"], ["response_format", "diarized_json"]];
    const ok = await post([...diarized, ["known_speaker_names[]", "agent"], ["known_speaker_names[]", "customer"], ["known_speaker_references[]", wavDataUrl], ["known_speaker_references[]", wavDataUrl]]);
    expect(ok.status).toBe(200);
    expectCall((await ok.json()) as TranscriptionDiarized, ["agent", "customer"]);
    for (const bad of ["https://example.com/agent.wav", "data:text/plain;base64,aGVsbG8=", "data:audio/wav;base64,not base64!", "data:audio/wav;base64,", `data:audio/wav;base64,${Buffer.from("hello world, not audio").toString("base64")}`]) {
      expect(await paramOf(await post([...diarized, ["known_speaker_references[]", bad]])), bad).toBe("known_speaker_references");
    }
    const five = Array.from({ length: 5 }, (): [string, string] => ["known_speaker_references[]", wavDataUrl]);
    expect(await paramOf(await post([...diarized, ...five]))).toBe("known_speaker_references");
    expect(await paramOf(await post([...diarized, ["known_speaker_names[]", "a"], ["known_speaker_names[]", "b"], ["known_speaker_references[]", wavDataUrl]]))).toBe("known_speaker_references");
    // Through the SDK too.
    const sdk = await client.audio.transcriptions
      .create({ file: await file(stereoWav), model: "whisper-1", response_format: "diarized_json", known_speaker_names: ["agent"], known_speaker_references: ["agent.wav"] })
      .catch((e: unknown) => e);
    expect(sdk).toBeInstanceOf(BadRequestError);
    expect((sdk as BadRequestError).param).toBe("known_speaker_references");
  });

  it("known_speaker_names: at most 4 short, distinct, non-empty names", async () => {
    const diarized: Array<[string, string]> = [["model", "whisper-1"], ["response_format", "diarized_json"]];
    const names = (list: string[]) => list.map((name): [string, string] => ["known_speaker_names[]", name]);
    expect(await paramOf(await post([...diarized, ...names(["a", "b", "c", "d", "e"])]))).toBe("known_speaker_names");
    expect(await paramOf(await post([...diarized, ...names(["agent", " "])]))).toBe("known_speaker_names");
    expect(await paramOf(await post([...diarized, ...names(["x".repeat(65)])]))).toBe("known_speaker_names");
    expect(await paramOf(await post([...diarized, ...names(["agent", "agent"])]))).toBe("known_speaker_names");
  });

  it("diarized_json with timestamp_granularities or include[]=logprobs is a 400, as OpenAI answers; translations have no diarized_json", async () => {
    const granularities = await client.audio.transcriptions
      .create({ file: await file(stereoWav), model: "whisper-1", response_format: "diarized_json", timestamp_granularities: ["segment"] })
      .catch((e: unknown) => e);
    expect((granularities as BadRequestError).param).toBe("timestamp_granularities");
    for (const stream of [false, true]) {
      const logprobs = await client.audio.transcriptions
        .create({ file: await file(stereoWav), model: "whisper-1", response_format: "diarized_json", include: ["logprobs"], stream } as never)
        .catch((e: unknown) => e);
      expect((logprobs as BadRequestError).param).toBe("include");
    }
    const translation = await client.audio.translations.create({ file: await file(stereoWav), model: "whisper-1", response_format: "diarized_json" as never }).catch((e: unknown) => e);
    expect((translation as BadRequestError).param).toBe("response_format");
  });
});
