// While transcriptions run: a client that goes away (mid-upload, mid-transcription, mid-stream) cancels its own
// and leaves no temp file, and /health stays fast. Request ids and CORS are in requestIdAndCors.test.ts.
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";

import { APIUserAbortError, toFile } from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { encodeWithFfmpeg, longSpeech, writeWav } from "../support/speech.js";
import {
  expectNoTempFiles,
  longSpeechWav,
  readyStats,
  sleep,
  startTestServer,
  waitFor,
  WINDOW_TEXT,
  type TestServer,
} from "../support/server.js";

let server: TestServer;
let longWav: Buffer;
let audio: { dir: string; wav: string };

beforeAll(async () => {
  // two jobs at once (the /health test runs two transcriptions side by side), two threads each
  [server, longWav] = await Promise.all([startTestServer({ parallelJobs: "2", threadsPerJob: "2" }), longSpeechWav(240)]);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "earshot-lifecycle-"));
  const speech = await longSpeech();
  audio = { dir, wav: path.join(dir, "speech.wav") };
  await writeWav(audio.wav, speech.samples, speech.sampleRate);
});
afterAll(async () => {
  await server?.close();
  if (audio) fs.rmSync(audio.dir, { recursive: true, force: true });
});

/** A multipart body for /v1/audio/transcriptions with `file`. */
function multipart(file: Buffer, filename: string, fields: Record<string, string>): { body: Buffer; contentType: string } {
  const boundary = `----earshot-${Math.random().toString(16).slice(2)}`;
  const parts = Object.entries(fields).map(([name, value]) => `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`);
  const body = Buffer.concat([
    Buffer.from(parts.join("")),
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${filename}"\r\nContent-Type: application/octet-stream\r\n\r\n`),
    file,
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
  return { body, contentType: `multipart/form-data; boundary=${boundary}` };
}

describe("a client that disconnects", () => {
  it("cancels its running transcription within ~2 s, and the server serves the next request", async () => {
    const { body, contentType } = multipart(longWav, "long.wav", { model: "whisper-1", language: "en" });
    const request = http.request(`${server.url}/v1/audio/transcriptions`, {
      method: "POST",
      headers: { "content-type": contentType, "content-length": String(body.length) },
    });
    let response: http.IncomingMessage | undefined;
    request.on("response", (r) => (response = r));
    request.on("error", () => undefined); // destroyed on purpose below
    await new Promise<void>((resolve) => request.end(body, resolve));

    await waitFor("the 240-s job to start decoding", async () => (await readyStats(server.url)).running === 1);
    await sleep(300); // well into the first window
    const destroyedAt = performance.now();
    request.destroy();

    await waitFor("the job to stop", async () => (await readyStats(server.url)).running === 0, 10_000, 10);
    const stoppedAfter = performance.now() - destroyedAt;
    // 240 s of audio is 8 windows, ~6 s of decoding: stopping within 2 s means it was cancelled
    expect(stoppedAfter).toBeLessThan(2_000);
    expect(response).toBeUndefined();
    expect(await readyStats(server.url)).toMatchObject({ status: "ready", running: 0, queued: 0 });

    const result = await server.client().audio.transcriptions.create({ file: await toFile(await longSpeechWav(10), "ten.wav"), model: "whisper-1", language: "en" });
    expect(result.text).toBe(WINDOW_TEXT);
    await expectNoTempFiles(server.tempDir);
  });

  it("a client that goes away while streaming cancels too", async () => {
    const { body, contentType } = multipart(longWav, "long.wav", { model: "whisper-1", language: "en", stream: "true" });
    const firstData = await new Promise<{ request: http.ClientRequest; chunk: string }>((resolve, reject) => {
      const request = http.request(`${server.url}/v1/audio/transcriptions`, {
        method: "POST",
        headers: { "content-type": contentType, "content-length": String(body.length) },
      });
      request.on("error", reject);
      request.on("response", (response) => {
        expect(response.headers["content-type"]).toMatch(/^text\/event-stream/);
        response.once("data", (chunk: Buffer) => resolve({ request, chunk: chunk.toString() }));
      });
      request.end(body);
    });
    expect(firstData.chunk).toMatch(/^data: \{"type":"transcript\.text\.delta"/);
    firstData.request.on("error", () => undefined);
    const destroyedAt = performance.now();
    firstData.request.destroy();
    await waitFor("the job to stop", async () => (await readyStats(server.url)).running === 0, 10_000, 10);
    // The stop lands at the next encoder-pass boundary (~1 s here when idle): 3 s leaves room for a loaded machine.
    expect(performance.now() - destroyedAt).toBeLessThan(3_000);
  });
  it("going away mid-upload stops the decoder and removes its temp file", async () => {
    const mp3 = await encodeWithFfmpeg(audio.wav, "mp3");
    const boundary = "----earshot-half-upload";
    const request = http.request(`${server.url}/v1/audio/transcriptions`, {
      method: "POST",
      headers: { "content-type": `multipart/form-data; boundary=${boundary}` },
    });
    let response: http.IncomingMessage | undefined;
    request.on("response", (r) => (response = r));
    request.on("error", () => undefined); // destroyed on purpose below
    request.write(
      `--${boundary}\r\nContent-Disposition: form-data; name="model"\r\n\r\nwhisper-1\r\n` +
        `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="half.mp3"\r\n\r\n`,
    );
    request.write(mp3.subarray(0, Math.floor(mp3.length / 2)));
    // the mp3 is being spooled to a temp file for ffmpeg
    await waitFor("the decoder's temp file", async () => fs.readdirSync(server.tempDir).length > 0);
    request.destroy();
    await expectNoTempFiles(server.tempDir, 2_000);
    expect(response).toBeUndefined();
    expect(await readyStats(server.url)).toMatchObject({ status: "ready", running: 0, queued: 0 });
    const result = await server.client().audio.transcriptions.create({ file: await toFile(mp3, "whole.mp3"), model: "whisper-1", language: "en" });
    expect(result.text).toBe(WINDOW_TEXT);
    await expectNoTempFiles(server.tempDir);
  });
});

describe("/health", () => {
  it("answers in under 50 ms while two transcriptions run", async () => {
    const client = server.client();
    const stop = new AbortController();
    const ninety = await longSpeechWav(90);
    const jobs = [0, 1].map(async () =>
      client.audio.transcriptions
        .create({ file: await toFile(ninety, "ninety.wav"), model: "whisper-1", language: "en" }, { signal: stop.signal })
        .catch((error: Error) => error),
    );
    await waitFor("both jobs to run", async () => (await readyStats(server.url)).running === 2);

    const latencies: number[] = [];
    for (let i = 0; i < 10; i++) {
      const started = performance.now();
      const response = await fetch(`${server.url}/health`);
      expect(await response.json()).toEqual({ status: "ok" });
      latencies.push(performance.now() - started);
      await sleep(30);
    }
    // both were still running the whole time
    expect((await readyStats(server.url)).running).toBe(2);
    expect(Math.max(...latencies), `latencies ${latencies.map((l) => l.toFixed(1)).join(", ")} ms`).toBeLessThan(50);

    // no need to wait for them: cancelling is tested above
    stop.abort();
    for (const outcome of await Promise.all(jobs)) expect(outcome).toBeInstanceOf(APIUserAbortError);
    await waitFor("the jobs to stop", async () => (await readyStats(server.url)).running === 0);
  });
});
