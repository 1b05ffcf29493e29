// The official `openai` SDK, unmodified, against the real server: every response format,
// word timestamps, logprobs, streaming, translations and the model endpoints.
import fs from "node:fs";
import path from "node:path";

import OpenAI, { toFile } from "openai";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";

import { getTestModelPath, TEST_MODEL_SEGMENTS } from "../../src/models/testModel/index.js";
import {
  expectedText,
  expectNoTempFiles,
  longSpeechWav,
  makeAudioFiles,
  removeAudioFiles,
  startTestServer,
  WINDOW_TEXT,
  type AudioFiles,
  type TestServer,
} from "../support/server.js";

let server: TestServer;
let client: OpenAI;
let audio: AudioFiles;
/** Seconds of speech in the test clip (one 30-s window). */
let clipSeconds: number;

beforeAll(async () => {
  [server, audio] = await Promise.all([startTestServer(), makeAudioFiles()]);
  client = server.client();
  // 44-byte header, 16-bit mono at 22.05 kHz
  clipSeconds = (fs.statSync(audio.wav).size - 44) / 2 / 22_050;
});

afterAll(async () => {
  await server?.close();
  removeAudioFiles(audio);
});

// Every request, whatever its outcome, must leave the decoder's temp dir empty.
afterEach(async () => {
  await expectNoTempFiles(server.tempDir);
});

const [first, second] = TEST_MODEL_SEGMENTS as [(typeof TEST_MODEL_SEGMENTS)[number], (typeof TEST_MODEL_SEGMENTS)[number]];

describe("audio.transcriptions.create", () => {
  it("json (default): text and duration usage, from a WAV read stream", async () => {
    const result = await client.audio.transcriptions.create({ file: fs.createReadStream(audio.wav), model: "whisper-1", language: "en" });
    expect(result).toEqual({ text: WINDOW_TEXT, usage: { type: "duration", seconds: Math.ceil(clipSeconds) } });
  });

  it("json from an mp3 and an m4a (decoded through temp files) under the other aliases", async () => {
    const mp3 = await client.audio.transcriptions.create({
      file: await toFile(fs.readFileSync(audio.mp3), "speech.mp3"),
      model: "gpt-4o-transcribe",
      response_format: "json",
      language: "en",
    });
    expect(mp3.text).toBe(WINDOW_TEXT);
    const m4a = await client.audio.transcriptions.create({
      file: await toFile(fs.readFileSync(audio.m4a), "speech.m4a"),
      model: "gpt-4o-mini-transcribe",
      language: "en",
    });
    expect(m4a.text).toBe(WINDOW_TEXT);
    expect(m4a.usage).toEqual({ type: "duration", seconds: expect.any(Number) });
  });

  it("text: the bare transcript as a string", async () => {
    const text = await client.audio.transcriptions.create({
      file: await toFile(fs.readFileSync(audio.wav), "speech.wav"),
      model: "whisper-1",
      response_format: "text",
      language: "en",
    });
    expect(typeof text).toBe("string");
    expect(text.trim()).toBe(WINDOW_TEXT);
  });

  it("srt: numbered cues with comma timestamps", async () => {
    const srt = await client.audio.transcriptions.create({
      file: await toFile(fs.readFileSync(audio.wav), "speech.wav"),
      model: "whisper-1",
      response_format: "srt",
      language: "en",
    });
    expect(srt).toBe(
      `1\n00:00:00,000 --> 00:00:02,000\n${first.text.trim()}\n\n` + `2\n00:00:03,000 --> 00:00:06,000\n${second.text.trim()}\n\n\n`,
    );
    expect(srt).toMatch(/^(\d+\n\d{2}:\d{2}:\d{2},\d{3} --> \d{2}:\d{2}:\d{2},\d{3}\n.+\n\n)+\n$/);
  });

  it("vtt: a WEBVTT header and dotted timestamps", async () => {
    const vtt = await client.audio.transcriptions.create({
      file: await toFile(fs.readFileSync(audio.wav), "speech.wav"),
      model: "whisper-1",
      response_format: "vtt",
      language: "en",
    });
    expect(vtt).toBe(`WEBVTT\n\n00:00:00.000 --> 00:00:02.000\n${first.text.trim()}\n\n00:00:03.000 --> 00:00:06.000\n${second.text.trim()}\n\n`);
  });

  it("verbose_json: task, language name, duration, fully populated segments and usage", async () => {
    const result = await client.audio.transcriptions.create({
      file: await toFile(fs.readFileSync(audio.mp3), "speech.mp3"),
      model: "whisper-1",
      response_format: "verbose_json",
    });
    // openai-node's TranscriptionVerbose does not declare `task`, OpenAI sends it
    expect((result as typeof result & { task: string }).task).toBe("transcribe");
    expect(result.language).toBe("english");
    expect(result.duration).toBeCloseTo(clipSeconds, 0);
    expect(result.text).toBe(WINDOW_TEXT);
    expect(result.usage).toEqual({ type: "duration", seconds: Math.ceil(result.duration) });
    expect(result.words).toBeUndefined();
    expect(result.segments).toHaveLength(2);
    result.segments!.forEach((segment, index) => {
      expect(segment).toEqual({
        id: index,
        seek: 0,
        start: TEST_MODEL_SEGMENTS[index]!.start,
        end: TEST_MODEL_SEGMENTS[index]!.end,
        text: TEST_MODEL_SEGMENTS[index]!.text,
        tokens: expect.any(Array),
        temperature: 0,
        avg_logprob: expect.any(Number),
        compression_ratio: expect.any(Number),
        no_speech_prob: expect.any(Number),
      });
      expect(segment.tokens.length).toBeGreaterThan(0);
      expect(segment.tokens.every((id) => Number.isInteger(id) && id >= 0)).toBe(true);
      expect(segment.avg_logprob).toBeLessThanOrEqual(0);
      expect(segment.compression_ratio).toBeGreaterThan(0);
      expect(segment.no_speech_prob).toBeGreaterThanOrEqual(0);
      expect(segment.no_speech_prob).toBeLessThanOrEqual(1);
    });
  });

  it("verbose_json with timestamp_granularities word and segment: timed words beside the segments", async () => {
    const result = await client.audio.transcriptions.create({
      file: await toFile(fs.readFileSync(audio.wav), "speech.wav"),
      model: "whisper-1",
      response_format: "verbose_json",
      timestamp_granularities: ["word", "segment"],
      language: "en",
    });
    expect(result.segments).toHaveLength(2);
    const words = result.words!;
    expect(words.map((w) => w.word)).toEqual(["one", "two", "three", "four", "five", "six"]);
    let previous = 0;
    for (const word of words) {
      expect(word).toEqual({ word: expect.any(String), start: expect.any(Number), end: expect.any(Number) });
      expect(word.start).toBeGreaterThanOrEqual(previous - 1e-6);
      expect(word.end).toBeGreaterThanOrEqual(word.start);
      previous = word.end;
    }
    // each word inside its segment
    for (const word of words.slice(0, 3)) expect(word.end).toBeLessThanOrEqual(first.end + 1e-6);
    for (const word of words.slice(3)) expect(word.start).toBeGreaterThanOrEqual(second.start - 1e-6);
  });

  it("json with include logprobs: one {token, logprob, bytes} per text token", async () => {
    const result = await client.audio.transcriptions.create({
      file: await toFile(fs.readFileSync(audio.m4a), "speech.m4a"),
      model: "gpt-4o-transcribe",
      include: ["logprobs"],
      language: "en",
    });
    expect(result.text).toBe(WINDOW_TEXT);
    const logprobs = result.logprobs!;
    expect(logprobs.length).toBeGreaterThanOrEqual(6);
    for (const entry of logprobs) {
      expect(Object.keys(entry).sort()).toEqual(["bytes", "logprob", "token"]);
      expect(entry.logprob).toBeLessThanOrEqual(0);
      expect(Buffer.from(entry.bytes!).toString("utf8")).toBe(entry.token);
    }
    expect(logprobs.map((l) => l.token).join("").trim()).toBe(WINDOW_TEXT);
  });

  it("stream: text deltas, then one done event with the full text", async () => {
    const stream = await client.audio.transcriptions.create({
      file: await toFile(fs.readFileSync(audio.webm), "clip.webm"),
      model: "gpt-4o-mini-transcribe",
      stream: true,
      include: ["logprobs"],
      language: "en",
    });
    const events = [];
    for await (const event of stream) events.push(event);
    const deltas = events.filter((e) => e.type === "transcript.text.delta");
    const done = events.filter((e) => e.type === "transcript.text.done");
    expect(deltas.length).toBe(2);
    expect(done).toHaveLength(1);
    expect(events.at(-1)).toBe(done[0]);
    expect(deltas.map((d) => d.delta).join("")).toBe(WINDOW_TEXT);
    expect(done[0]!.text).toBe(WINDOW_TEXT);
    for (const delta of deltas) expect(delta.logprobs!.length).toBeGreaterThan(0);
    expect(done[0]!.logprobs!.map((l) => l.token).join("").trim()).toBe(WINDOW_TEXT);
  });

  it("stream: on 95 s of speech the first delta arrives long before the transcription ends", async () => {
    const wav = await longSpeechWav(95);
    const started = performance.now();
    const stream = await client.audio.transcriptions.create({
      file: await toFile(wav, "long.wav"),
      model: "whisper-1",
      stream: true,
      language: "en",
    });
    const arrivals: { at: number; type: string; text: string }[] = [];
    for await (const event of stream) {
      arrivals.push({
        at: performance.now() - started,
        type: event.type,
        text: event.type === "transcript.text.delta" ? event.delta : event.type === "transcript.text.done" ? event.text : "",
      });
    }
    const deltas = arrivals.filter((a) => a.type === "transcript.text.delta");
    const done = arrivals.filter((a) => a.type === "transcript.text.done");
    expect(done).toHaveLength(1);
    expect(arrivals.at(-1)).toBe(done[0]);
    // 4 windows (0, 30, 60, 90 s), two segments each
    expect(deltas).toHaveLength(8);
    expect(done[0]!.text).toBe(expectedText(4));
    expect(deltas.map((d) => d.text).join("")).toBe(done[0]!.text);
    // Deltas are sent as each window is decoded, not all at the end: the first comes after about one
    // window's worth of decoding out of four.
    const firstAt = deltas[0]!.at;
    const doneAt = done[0]!.at;
    expect(doneAt - firstAt, `first delta at ${firstAt.toFixed(0)} ms, done at ${doneAt.toFixed(0)} ms`).toBeGreaterThan(0.4 * doneAt);
    // and the later windows' deltas are spread out too
    expect(deltas[6]!.at - deltas[0]!.at).toBeGreaterThan(0.3 * doneAt);
  });
});

describe("audio.translations.create", () => {
  it("json: the English text", async () => {
    const result = await client.audio.translations.create({ file: await toFile(fs.readFileSync(audio.mp3), "speech.mp3"), model: "whisper-1" });
    expect(result.text).toBe(WINDOW_TEXT);
  });

  it("verbose_json: task translate, language english, segments", async () => {
    const result = (await client.audio.translations.create({
      file: fs.createReadStream(audio.wav),
      model: "whisper-1",
      response_format: "verbose_json",
    })) as OpenAI.Audio.TranslationVerbose & { task: string };
    expect(result.task).toBe("translate");
    expect(result.language).toBe("english");
    expect(result.duration).toBeCloseTo(clipSeconds, 0);
    expect(result.text).toBe(WINDOW_TEXT);
    expect(result.segments!.map((s) => [s.start, s.end, s.text])).toEqual(TEST_MODEL_SEGMENTS.map((s) => [s.start, s.end, s.text]));
  });
});

describe("models", () => {
  it("lists the OpenAI aliases and the local model", async () => {
    const localId = path.basename(await getTestModelPath("tiny")).replace(/^ggml-/, "").replace(/\.bin$/, "");
    const page = await client.models.list();
    const ids = page.data.map((m) => m.id);
    expect(ids).toEqual(expect.arrayContaining(["whisper-1", "gpt-4o-transcribe", "gpt-4o-mini-transcribe", localId]));
    // OpenAI's model object, with Earshot's fields beside (docs/model-loading.md): every id here runs on the loaded default model.
    for (const model of page.data) {
      expect(model).toMatchObject({ id: expect.any(String), object: "model", created: expect.any(Number), owned_by: expect.any(String) });
      expect(model).toMatchObject({ root: localId, engine: "whisper", state: "loaded", loaded: true, preloaded: true, memory_bytes: expect.any(Number) });
    }
    // the local id works as a model too
    const result = await client.audio.transcriptions.create({ file: fs.createReadStream(audio.wav), model: localId, language: "en" });
    expect(result.text).toBe(WINDOW_TEXT);
  });

  it("serves every current OpenAI transcription model id as an alias of the default model, and lists them", async () => {
    const ids = (await client.models.list()).data.map((m) => m.id);
    for (const id of ["whisper-1", "gpt-4o-transcribe", "gpt-4o-mini-transcribe", "gpt-4o-mini-transcribe-2025-12-15", "gpt-4o-transcribe-diarize", "gpt-transcribe"]) {
      expect(ids).toContain(id);
    }
    for (const model of ["gpt-transcribe", "gpt-4o-mini-transcribe-2025-12-15", "gpt-4o-transcribe-diarize"]) {
      const result = await client.audio.transcriptions.create({ file: fs.createReadStream(audio.wav), model, language: "en" });
      expect(result.text).toBe(WINDOW_TEXT);
    }
  });

  it("retrieves whisper-1", async () => {
    const model = await client.models.retrieve("whisper-1");
    expect(model).toMatchObject({ id: "whisper-1", object: "model", created: expect.any(Number), owned_by: expect.any(String), engine: "whisper", loaded: true });
    expect(Math.abs(model.created - Date.now() / 1000)).toBeLessThan(3600);
  });
});
