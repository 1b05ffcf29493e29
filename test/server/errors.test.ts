// Errors as the official SDK sees them: typed exceptions carrying OpenAI's error body. After each
// one the server must still transcribe, hold no job slot, and have no temp file left.
import fs from "node:fs";
import http from "node:http";

import OpenAI, { APIError, AuthenticationError, BadRequestError, NotFoundError, RateLimitError, toFile } from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { encodeVideoWithoutAudio } from "../support/speech.js";
import {
  expectNoTempFiles,
  longSpeechWav,
  makeAudioFiles,
  readyStats,
  removeAudioFiles,
  startTestServer,
  waitFor,
  WINDOW_TEXT,
  type AudioFiles,
  type TestServer,
} from "../support/server.js";

let audio: AudioFiles;

beforeAll(async () => {
  audio = await makeAudioFiles();
});
afterAll(() => removeAudioFiles(audio));

/** Runs `request`, expects it to throw an instance of `type`, and returns the error. */
async function expectApiError<E extends APIError>(request: Promise<unknown>, type: abstract new (...args: never[]) => E): Promise<E> {
  const error = await request.then(
    (value) => {
      throw new Error(`expected ${type.name}, got a response: ${JSON.stringify(value).slice(0, 200)}`);
    },
    (error: unknown) => error,
  );
  expect(error).toBeInstanceOf(type);
  return error as E;
}

/** OpenAI's error body, as the SDK exposes it. */
function expectErrorBody(error: APIError, expected: { status: number; type: string; param: string | null; code?: string | null }): void {
  expect(error.status).toBe(expected.status);
  expect(error.error).toEqual({
    message: expect.any(String),
    type: expected.type,
    param: expected.param,
    code: expected.code === undefined ? expect.toSatisfy((c: unknown) => c === null || typeof c === "string") : expected.code,
  });
  expect((error.error as { message: string }).message.length).toBeGreaterThan(0);
  expect(error.param).toBe(expected.param);
  expect(error.type).toBe(expected.type);
}

/** Nothing leaked: no temp file left, no job slot held, and the API still answers. */
async function expectNoLeak(server: TestServer, client: OpenAI = server.client()): Promise<void> {
  await expectNoTempFiles(server.tempDir);
  const ready = await waitFor("no running or queued job", async () => {
    const stats = await readyStats(server.url);
    return stats.running === 0 && stats.queued === 0 && stats;
  }, 5_000);
  expect(ready.status).toBe("ready");
  expect((await client.models.retrieve("whisper-1")).id).toBe("whisper-1");
}

/** The server recovered: nothing leaked, and a normal mp3 transcription (through a temp file) works. */
async function expectServerStillWorks(server: TestServer, client: OpenAI = server.client()): Promise<void> {
  await expectNoLeak(server, client);
  const result = await client.audio.transcriptions.create({ file: await toFile(fs.readFileSync(audio.mp3), "ok.mp3"), model: "whisper-1", language: "en" });
  expect(result.text).toBe(WINDOW_TEXT);
  await expectNoTempFiles(server.tempDir);
}

describe("400 / 404 / 415 on an open server", () => {
  let server: TestServer;
  let client: OpenAI;

  beforeAll(async () => {
    server = await startTestServer();
    client = server.client();
  });
  afterAll(async () => {
    await server?.close();
  });

  it("bad form fields are BadRequestErrors naming the parameter", async () => {
    const mp3 = async () => toFile(fs.readFileSync(audio.mp3), "speech.mp3");
    const m4a = async () => toFile(fs.readFileSync(audio.m4a), "speech.m4a");

    const format = await expectApiError(
      client.audio.transcriptions.create({ file: await mp3(), model: "whisper-1", response_format: "yaml" as "json" }),
      BadRequestError,
    );
    expectErrorBody(format, { status: 400, type: "invalid_request_error", param: "response_format" });
    expect(format.message).toMatch(/yaml/);
    await expectNoLeak(server);

    const temperature = await expectApiError(client.audio.transcriptions.create({ file: await m4a(), model: "whisper-1", temperature: 5 }), BadRequestError);
    expectErrorBody(temperature, { status: 400, type: "invalid_request_error", param: "temperature" });
    await expectNoLeak(server);

    const language = await expectApiError(client.audio.transcriptions.create({ file: await mp3(), model: "whisper-1", language: "klingon" }), BadRequestError);
    expectErrorBody(language, { status: 400, type: "invalid_request_error", param: "language", code: "unsupported_language" });
    await expectNoLeak(server);

    const granularities = await expectApiError(
      client.audio.transcriptions.create({ file: await m4a(), model: "whisper-1", response_format: "json", timestamp_granularities: ["word"] }),
      BadRequestError,
    );
    expectErrorBody(granularities, { status: 400, type: "invalid_request_error", param: "timestamp_granularities" });
    await expectNoLeak(server);

    const noFile = await expectApiError(
      client.audio.transcriptions.create({ model: "whisper-1" } as OpenAI.Audio.TranscriptionCreateParamsNonStreaming),
      BadRequestError,
    );
    expectErrorBody(noFile, { status: 400, type: "invalid_request_error", param: "file", code: "missing_required_parameter" });
    await expectNoLeak(server);

    const translationLanguage = await expectApiError(
      client.audio.translations.create({ file: await mp3(), model: "whisper-1", language: "en" } as OpenAI.Audio.TranslationCreateParams),
      BadRequestError,
    );
    expectErrorBody(translationLanguage, { status: 400, type: "invalid_request_error", param: "language", code: "unknown_parameter" });

    await expectServerStillWorks(server);
  });

  it("the browser endpoint answers errors in the same shape", async () => {
    const noFile = await fetch(`${server.url}/api/transcribe`, { method: "POST", body: new FormData() });
    expect(noFile.status).toBe(400);
    expect(await noFile.json()).toEqual({
      error: { message: expect.any(String), type: "invalid_request_error", param: "file", code: "missing_required_parameter" },
    });
    const form = new FormData();
    form.append("file", new Blob([fs.readFileSync(audio.mp3)]), "speech.mp3");
    form.append("language", "klingon");
    const language = await fetch(`${server.url}/api/transcribe`, { method: "POST", body: form });
    expect(language.status).toBe(400);
    expect(((await language.json()) as { error: { param: string } }).error.param).toBe("language");
    const json = await fetch(`${server.url}/api/transcribe`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    expect(json.status).toBe(400);
    expect(((await json.json()) as { error: { code: string } }).error.code).toBe("invalid_content_type");
    await expectNoLeak(server);
  });

  it("an unknown model or route is a NotFoundError", async () => {
    const model = await expectApiError(
      client.audio.transcriptions.create({ file: await toFile(fs.readFileSync(audio.mp3), "speech.mp3"), model: "whisper-9000" }),
      NotFoundError,
    );
    expectErrorBody(model, { status: 404, type: "invalid_request_error", param: "model", code: "model_not_found" });
    expect(model.message).toContain("whisper-9000");
    await expectNoLeak(server);

    const retrieve = await expectApiError(client.models.retrieve("whisper-9000"), NotFoundError);
    expectErrorBody(retrieve, { status: 404, type: "invalid_request_error", param: "model", code: "model_not_found" });

    const route = await expectApiError(client.get("/audio/speeches"), NotFoundError);
    expectErrorBody(route, { status: 404, type: "invalid_request_error", param: null });
    expect(route.message).toContain("/v1/audio/speeches");

    await expectServerStillWorks(server);
  });

  it("files that are not usable audio: 400 for an empty file, 415 for text or a silent video, 4xx for a cut m4a", async () => {
    const empty = await expectApiError(
      client.audio.transcriptions.create({ file: await toFile(Buffer.alloc(0), "empty.mp3"), model: "whisper-1" }),
      BadRequestError,
    );
    expectErrorBody(empty, { status: 400, type: "invalid_request_error", param: "file", code: "empty_file" });
    await expectNoLeak(server);

    const text = await expectApiError(
      client.audio.transcriptions.create({ file: await toFile(Buffer.from("this is not audio at all\n".repeat(100)), "notes.mp3"), model: "whisper-1" }),
      APIError,
    );
    expectErrorBody(text, { status: 415, type: "invalid_request_error", param: "file", code: "unsupported_format" });
    await expectNoLeak(server);

    const video = await expectApiError(
      client.audio.transcriptions.create({ file: await toFile(await encodeVideoWithoutAudio(), "screen.mp4"), model: "whisper-1" }),
      APIError,
    );
    expectErrorBody(video, { status: 415, type: "invalid_request_error", param: "file", code: "no_audio_stream" });
    await expectNoLeak(server);

    // moov at the end: cut in half, the mp4 has no index (decoded through a temp file)
    const m4a = fs.readFileSync(audio.m4a);
    const cut = await expectApiError(
      client.audio.transcriptions.create({ file: await toFile(m4a.subarray(0, Math.floor(m4a.length / 2)), "cut.m4a"), model: "whisper-1" }),
      APIError,
    );
    expect(cut.status).toBeGreaterThanOrEqual(400);
    expect(cut.status).toBeLessThan(500);
    expect(cut.param).toBe("file");

    await expectServerStillWorks(server);
  });
});

const KEY_ONE = "sk-errors-key-one-1111";
const KEY_TWO = "sk-errors-key-two-2222";

describe("API keys", () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer({ apiKeys: `${KEY_ONE},${KEY_TWO}` });
  });
  afterAll(async () => {
    await server?.close();
  });

  it("no key is a 401 in OpenAI's shape", async () => {
    for (const path of ["/v1/models", "/v1/audio/transcriptions", "/api/transcribe"]) {
      const response = await fetch(`${server.url}${path}`, { method: path === "/v1/models" ? "GET" : "POST" });
      expect(response.status, path).toBe(401);
      expect(await response.json()).toEqual({
        error: { message: expect.stringMatching(/API key/), type: "authentication_error", param: null, code: "invalid_api_key" },
      });
    }
  });

  it("a wrong key is an AuthenticationError, with or without an upload", async () => {
    const wrong = server.client("sk-errors-key-three-3333");
    const list = await expectApiError(wrong.models.list(), AuthenticationError);
    expectErrorBody(list, { status: 401, type: "authentication_error", param: null, code: "invalid_api_key" });
    const upload = await expectApiError(
      wrong.audio.transcriptions.create({ file: await toFile(fs.readFileSync(audio.m4a), "speech.m4a"), model: "whisper-1" }),
      AuthenticationError,
    );
    expectErrorBody(upload, { status: 401, type: "authentication_error", param: null, code: "invalid_api_key" });
    await expectNoTempFiles(server.tempDir);
  });

  it("either configured key works", async () => {
    expect((await server.client(KEY_ONE).models.retrieve("whisper-1")).id).toBe("whisper-1");
    await expectServerStillWorks(server, server.client(KEY_TWO));
  });

  it("browsers can preflight without a key and read the 401", async () => {
    const origin = "http://localhost:5173";
    const preflight = await fetch(`${server.url}/v1/audio/transcriptions`, {
      method: "OPTIONS",
      headers: { origin, "access-control-request-method": "POST", "access-control-request-headers": "authorization" },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get("access-control-allow-origin")).toBe(origin);
    const denied = await fetch(`${server.url}/v1/models`, { headers: { origin } });
    expect(denied.status).toBe(401);
    expect(denied.headers.get("access-control-allow-origin")).toBe(origin);
    expect(denied.headers.get("www-authenticate")).toMatch(/^Bearer/);
  });

  it("/health and /ready stay open", async () => {
    const health = await fetch(`${server.url}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: "ok" });
    expect((await fetch(`${server.url}/ready`)).status).toBe(200);
  });
});

describe("429 when the queue is full", () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer({ parallelJobs: "1", maxQueuedJobs: "0" });
  });
  afterAll(async () => {
    await server?.close();
  });

  it("a second concurrent transcription is a RateLimitError with retry-after", async () => {
    const client = server.client();
    const long = client.audio.transcriptions.create({ file: await toFile(await longSpeechWav(65), "long.wav"), model: "whisper-1", language: "en" });
    await waitFor("the long job to run", async () => (await readyStats(server.url)).running === 1);

    const error = await expectApiError(
      client.audio.transcriptions.create({ file: await toFile(fs.readFileSync(audio.mp3), "speech.mp3"), model: "whisper-1" }),
      RateLimitError,
    );
    expectErrorBody(error, { status: 429, type: "rate_limit_error", param: null });
    expect(error.headers?.get("retry-after")).toMatch(/^\d+$/);

    const form = new FormData();
    form.append("model", "whisper-1");
    form.append("file", new Blob([fs.readFileSync(audio.m4a)]), "speech.m4a");
    const raw = await fetch(`${server.url}/v1/audio/transcriptions`, { method: "POST", body: form });
    expect(raw.status).toBe(429);
    const retryAfter = Number(raw.headers.get("retry-after"));
    expect(Number.isInteger(retryAfter) && retryAfter >= 1).toBe(true);
    expect(((await raw.json()) as { error: { type: string } }).error.type).toBe("rate_limit_error");

    // /ready says so too
    const ready = await fetch(`${server.url}/ready`);
    expect(ready.status).toBe(503);
    expect(ready.headers.get("retry-after")).toMatch(/^\d+$/);

    // the running job is unaffected
    expect((await long).text.startsWith(`${WINDOW_TEXT} ${WINDOW_TEXT}`)).toBe(true);
    await expectServerStillWorks(server);
  });
});

describe("413 above the upload limit", () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer({ maxUploadMb: "1" });
  });
  afterAll(async () => {
    await server?.close();
  });

  it("the SDK gets a 413 APIError for a ~3 MB mp3, and for 1.5 MB (refused mid-upload)", async () => {
    const mp3 = fs.readFileSync(audio.mp3);
    const big = Buffer.concat(Array.from({ length: Math.ceil(3_000_000 / mp3.length) }, () => mp3));
    expect(big.length).toBeGreaterThan(3_000_000);
    const error = await expectApiError(server.client().audio.transcriptions.create({ file: await toFile(big, "big.mp3"), model: "whisper-1" }), APIError);
    expectErrorBody(error, { status: 413, type: "invalid_request_error", param: "file", code: "file_too_large" });
    expect(error.message).toMatch(/1 MB/);
    await expectNoLeak(server);

    // small enough to pass the content-length check: the streaming limit stops it (with a temp file being written)
    const smaller = await expectApiError(
      server.client().audio.transcriptions.create({ file: await toFile(big.subarray(0, 1_500_000), "smaller.mp3"), model: "whisper-1" }),
      APIError,
    );
    expectErrorBody(smaller, { status: 413, type: "invalid_request_error", param: "file", code: "file_too_large" });
    await expectServerStillWorks(server);
  });

  it("a streamed upload is refused as soon as it passes the limit, not after 20 MB", async () => {
    const total = 20 * 1_048_576;
    const result = await slowUpload(`${server.url}/v1/audio/transcriptions`, total);
    expect(result.status).toBe(413);
    expect(JSON.parse(result.body)).toMatchObject({ error: { param: "file", code: "file_too_large", type: "invalid_request_error" } });
    // the limit is 1 MB; allow for the socket buffers between client and server
    expect(result.writtenAtResponse, `${result.writtenAtResponse} bytes written when the 413 came`).toBeLessThan(4 * 1_048_576);
    expect(result.writtenAtResponse).toBeLessThan(total);
    await expectServerStillWorks(server);
  });
});

/**
 * POSTs a multipart form whose file part is `fileBytes` of mp3-looking data, chunked (no
 * content-length, so only the streaming check can stop it), 64 KiB at a time with pauses.
 * Resolves with the response and how many bytes had been handed to the socket when it arrived.
 */
function slowUpload(url: string, fileBytes: number): Promise<{ status: number; body: string; writtenAtResponse: number }> {
  const boundary = "----earshot-slow-upload";
  const head = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="model"\r\n\r\nwhisper-1\r\n` +
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.mp3"\r\nContent-Type: audio/mpeg\r\n\r\n`,
  );
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  const chunk = Buffer.alloc(64 * 1024);
  // an ID3 tag start so the content sniffs as mp3 (decoded through a temp file)
  const firstChunk = Buffer.concat([Buffer.from("ID3\x04\x00\x00\x00\x00\x00\x00", "latin1"), chunk.subarray(10)]);

  return new Promise((resolve, reject) => {
    let written = 0;
    let responded = false;
    const request = http.request(url, { method: "POST", headers: { "content-type": `multipart/form-data; boundary=${boundary}` } });
    request.on("response", (response) => {
      responded = true;
      const writtenAtResponse = written;
      let body = "";
      response.setEncoding("utf8");
      response.on("data", (data: string) => (body += data));
      response.on("end", () => {
        request.destroy();
        resolve({ status: response.statusCode ?? 0, body, writtenAtResponse });
      });
    });
    request.on("error", (error) => {
      if (!responded) reject(error);
    });
    let wake: (() => void) | undefined;
    const resume = () => {
      wake?.();
      wake = undefined;
    };
    request.on("drain", resume);
    request.on("close", resume);
    const write = (data: Buffer) =>
      new Promise<void>((done) => {
        written += data.length;
        if (request.write(data)) done();
        else wake = done;
      });
    void (async () => {
      await write(head);
      for (let sent = 0; sent < fileBytes && !responded && !request.destroyed; sent += chunk.length) {
        await write(sent === 0 ? firstChunk : chunk);
        await new Promise((r) => setTimeout(r, 2));
      }
      if (!responded && !request.destroyed) request.end(tail);
    })().catch(() => undefined);
  });
}
