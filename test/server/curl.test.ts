// Raw multipart exactly as curl sends it (real curl binary, real server).
import { execFile } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { promisify } from "node:util";

import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";

import { TEST_MODEL_SEGMENTS } from "../../src/models/testModel/index.js";
import { expectedText, expectNoTempFiles, longSpeechWav, makeAudioFiles, removeAudioFiles, startTestServer, WINDOW_TEXT, type AudioFiles, type TestServer } from "../support/server.js";

const run = promisify(execFile);

let server: TestServer;
let audio: AudioFiles;

beforeAll(async () => {
  [server, audio] = await Promise.all([startTestServer(), makeAudioFiles()]);
});
afterAll(async () => {
  await server?.close();
  removeAudioFiles(audio);
});
afterEach(async () => {
  await expectNoTempFiles(server.tempDir);
});

/** Runs curl in the audio directory (so `@file` paths are relative, as users type them); returns status and body. */
async function curl(...args: string[]): Promise<{ status: number; body: string }> {
  const { stdout } = await run("curl", ["-sS", "--max-time", "60", "-w", "\n%{http_code}", ...args], { cwd: audio.dir, maxBuffer: 1 << 20 });
  const at = stdout.lastIndexOf("\n");
  return { status: Number(stdout.slice(at + 1)), body: stdout.slice(0, at) };
}

describe("curl", () => {
  it("POST /api/transcribe with a browser webm recording → {transcript}", async () => {
    const { status, body } = await curl("-F", "file=@clip.webm;type=audio/webm", `${server.url}/api/transcribe`);
    expect(status).toBe(200);
    expect(JSON.parse(body)).toEqual({ transcript: WINDOW_TEXT });
  });

  it("POST /v1/audio/transcriptions with model and response_format=text", async () => {
    const { status, body } = await curl(
      "-F", "file=@speech.m4a",
      "-F", "model=whisper-1",
      "-F", "response_format=text",
      "-F", "language=en",
      `${server.url}/v1/audio/transcriptions`,
    );
    expect(status).toBe(200);
    expect(body.trim()).toBe(WINDOW_TEXT);
  });

  it("a webm saved with a wrong .mp3 extension and MIME type still works: the content decides", async () => {
    fs.copyFileSync(audio.webm, path.join(audio.dir, "recording.mp3"));
    const { status, body } = await curl(
      "-F", "file=@recording.mp3;type=audio/mpeg",
      "-F", "model=whisper-1",
      "-F", "language=en",
      `${server.url}/v1/audio/transcriptions`,
    );
    expect(status).toBe(200);
    expect(JSON.parse(body)).toEqual({ text: WINDOW_TEXT, usage: { type: "duration", seconds: expect.any(Number) } });
  });

  it("chunking_strategy=auto and the bracketed timestamp_granularities[] form", async () => {
    const { status, body } = await curl(
      "-F", "file=@speech.mp3",
      "-F", "model=gpt-4o-transcribe",
      "-F", "chunking_strategy=auto",
      "-F", "timestamp_granularities[]=word",
      "-F", "response_format=verbose_json",
      "-F", "language=en",
      `${server.url}/v1/audio/transcriptions`,
    );
    expect(status).toBe(200);
    const result = JSON.parse(body);
    expect(result.task).toBe("transcribe");
    expect(result.text).toBe(WINDOW_TEXT);
    expect(result.words.map((w: { word: string }) => w.word)).toEqual(["one", "two", "three", "four", "five", "six"]);
    for (const word of result.words) {
      expect(word.start).toEqual(expect.any(Number));
      expect(word.end).toBeGreaterThanOrEqual(word.start);
    }
    // word granularity alone: no segments, as OpenAI answers
    expect(result.segments).toBeUndefined();
  });

  it("both granularities in bracketed form give words and segments", async () => {
    const { status, body } = await curl(
      "-F", "file=@speech.wav",
      "-F", "model=whisper-1",
      "-F", "timestamp_granularities[]=word",
      "-F", "timestamp_granularities[]=segment",
      "-F", "response_format=verbose_json",
      "-F", "language=en",
      `${server.url}/v1/audio/transcriptions`,
    );
    expect(status).toBe(200);
    const result = JSON.parse(body);
    expect(result.words).toHaveLength(6);
    expect(result.segments.map((s: { start: number; end: number }) => [s.start, s.end])).toEqual(TEST_MODEL_SEGMENTS.map((s) => [s.start, s.end]));
  });

  it("a file over 1 MB (curl sends Expect: 100-continue) is accepted", async () => {
    fs.writeFileSync(path.join(audio.dir, "forty.wav"), await longSpeechWav(40));
    expect(fs.statSync(path.join(audio.dir, "forty.wav")).size).toBeGreaterThan(1_048_576);
    const { status, body } = await curl(
      "-H", "Expect: 100-continue",
      "-F", "file=@forty.wav",
      "-F", "model=whisper-1",
      "-F", "response_format=text",
      "-F", "language=en",
      `${server.url}/v1/audio/transcriptions`,
    );
    expect(status).toBe(200);
    expect(body.trim()).toBe(expectedText(2));
  });

  it("a form field error comes back as OpenAI's JSON error", async () => {
    const { status, body } = await curl("-F", "file=@speech.mp3", "-F", "model=whisper-1", "-F", "chunking_strategy=sometimes", `${server.url}/v1/audio/transcriptions`);
    expect(status).toBe(400);
    expect(JSON.parse(body)).toEqual({ error: { message: expect.any(String), type: "invalid_request_error", param: "chunking_strategy", code: "invalid_value" } });
  });
});

describe("curl against a 1 MB upload limit", () => {
  let small: TestServer;
  beforeAll(async () => {
    small = await startTestServer({ maxUploadMb: "1" });
  });
  afterAll(async () => {
    await small?.close();
  });

  it("an oversized declared body gets its 413 without a 100 Continue, so curl sends none of it", async () => {
    fs.writeFileSync(path.join(audio.dir, "eighty.wav"), await longSpeechWav(80));
    const { stdout } = await run(
      "curl",
      ["-sS", "--max-time", "30", "-H", "Expect: 100-continue", "-F", "file=@eighty.wav", "-F", "model=whisper-1",
        "-w", "\n%{http_code} %{size_upload}", `${small.url}/v1/audio/transcriptions`],
      { cwd: audio.dir },
    );
    const [status, uploaded] = stdout.slice(stdout.lastIndexOf("\n") + 1).split(" ").map(Number);
    expect(status).toBe(413);
    expect(uploaded).toBe(0);
    expect(JSON.parse(stdout.slice(0, stdout.lastIndexOf("\n"))).error.code).toBe("file_too_large");
    await expectNoTempFiles(small.tempDir);
  });
});
