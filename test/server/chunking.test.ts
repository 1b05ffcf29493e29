// chunking_strategy over HTTP: the official SDK's encodings, times mapped back onto a known silence layout,
// streamed deltas in order, silence in every format, transcription starting while the upload is still arriving,
// a client that leaves mid-file, and the server-wide default for /api/transcribe.
import http from "node:http";

import OpenAI, { BadRequestError, toFile } from "openai";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";

import { encodeWav } from "../support/speech.js";
import { expectNoTempFiles, readyStats, startTestServer, waitFor, type TestServer } from "../support/server.js";
import { insideSpeech, speechLayout, STANDARD_LAYOUT, type SpeechLayout } from "../support/speechLayout.js";

let server: TestServer;
let client: OpenAI;
let layout: SpeechLayout;
let layoutWav: Buffer;
const silenceWav = encodeWav(new Float32Array(16_000 * 35), 16_000);

beforeAll(async () => {
  [server, layout] = await Promise.all([startTestServer({ parallelJobs: "2", threadsPerJob: "1" }), speechLayout(STANDARD_LAYOUT)]);
  client = server.client();
  layoutWav = encodeWav(layout.samples, 16_000);
});
afterAll(async () => {
  await server?.close();
});
afterEach(async () => {
  await expectNoTempFiles(server.tempDir);
});

const file = (bytes: Buffer, name = "recording.wav") => toFile(bytes, name);

function expectInSpeech(segments: Array<{ start: number; end: number }>): void {
  expect(segments.length).toBeGreaterThan(0);
  for (const s of segments) expect(insideSpeech(layout, s.start, s.end), `${s.start}-${s.end} in ${JSON.stringify(layout.speech)}`).toBe(true);
}

describe("chunking_strategy through the official SDK", () => {
  it('"auto": silence skipped, segments and words on the recording\'s timeline, language from the speech', async () => {
    const result = await client.audio.transcriptions.create({
      file: await file(layoutWav),
      model: "whisper-1",
      chunking_strategy: "auto",
      response_format: "verbose_json",
      timestamp_granularities: ["word", "segment"],
    });
    expect(result.language).toBe("english");
    expect(result.duration).toBeCloseTo(layout.duration, 2);
    expectInSpeech(result.segments!);
    expectInSpeech(result.words!);
    expect(result.segments![0]!.start).toBeGreaterThan(7);
  });

  it("server_vad with its settings, sent as the SDK's chunking_strategy[...] fields", async () => {
    const result = await client.audio.transcriptions.create({
      file: await file(layoutWav),
      model: "whisper-1",
      chunking_strategy: { type: "server_vad", prefix_padding_ms: 200, silence_duration_ms: 700, threshold: 0.4 },
      response_format: "verbose_json",
    });
    expectInSpeech(result.segments!);
    const srt = (await client.audio.transcriptions.create({ file: await file(layoutWav), model: "whisper-1", chunking_strategy: "auto", response_format: "srt" })) as unknown as string;
    const firstCue = /(\d\d):(\d\d):(\d\d),(\d\d\d) -->/.exec(srt)!;
    expect(Number(firstCue[2]) * 60 + Number(firstCue[3])).toBeGreaterThanOrEqual(7);
  });

  it("server_vad as one JSON field (curl's way)", async () => {
    const form = new FormData();
    form.append("model", "whisper-1");
    form.append("chunking_strategy", JSON.stringify({ type: "server_vad", silence_duration_ms: 600 }));
    form.append("response_format", "verbose_json");
    form.append("file", new Blob([layoutWav]), "recording.wav");
    const response = await fetch(`${server.url}/v1/audio/transcriptions`, { method: "POST", body: form });
    expect(response.status).toBe(200);
    expectInSpeech(((await response.json()) as { segments: Array<{ start: number; end: number }> }).segments);
  });

  it("keeps its 400s naming the param for invalid values", async () => {
    for (const chunking_strategy of [{ type: "vad" }, { type: "server_vad", threshold: 2 }, { type: "server_vad", silence_duration_ms: -1 }] as never[]) {
      const error = await client.audio.transcriptions.create({ file: await file(layoutWav), model: "whisper-1", chunking_strategy }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(BadRequestError);
      expect((error as BadRequestError).param).toBe("chunking_strategy");
    }
    const form = new FormData();
    form.append("model", "whisper-1");
    form.append("chunking_strategy", "{not json");
    form.append("file", new Blob([layoutWav]), "recording.wav");
    const response = await fetch(`${server.url}/v1/audio/transcriptions`, { method: "POST", body: form });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { param: string } }).error.param).toBe("chunking_strategy");
  });

  it("streams the chunks' deltas in order, and they add up to the final text", async () => {
    const stream = await client.audio.transcriptions.create({ file: await file(layoutWav), model: "whisper-1", chunking_strategy: "auto", stream: true });
    let deltas = "";
    let done = "";
    for await (const event of stream) {
      if (event.type === "transcript.text.delta") deltas += event.delta;
      if (event.type === "transcript.text.done") done = event.text;
    }
    expect(done.length).toBeGreaterThan(0);
    expect(deltas.trim()).toBe(done);
  });

  it("streams each segment's delta once, in order, when words are asked for too (the DTW alignment on, past the first window)", async () => {
    for (const chunking_strategy of ["auto", undefined] as const) {
      const request = { model: "whisper-1", response_format: "verbose_json" as const, timestamp_granularities: ["word" as const, "segment" as const], ...(chunking_strategy ? { chunking_strategy } : {}) };
      const whole = await client.audio.transcriptions.create({ ...request, file: await file(layoutWav) });
      expect(whole.words?.length).toBeGreaterThan(0);
      const stream = await client.audio.transcriptions.create({ ...request, file: await file(layoutWav), stream: true } as never);
      const deltas: string[] = [];
      let done = "";
      for await (const event of stream as unknown as AsyncIterable<{ type: string; delta?: string; text?: string }>) {
        if (event.type === "transcript.text.delta") deltas.push(event.delta!);
        if (event.type === "transcript.text.done") done = event.text!;
      }
      // One delta per segment, in the order of the answer without streaming.
      expect(deltas.join("").trim()).toBe(whole.text);
      expect(done).toBe(whole.text);
      expect(deltas).toHaveLength(whole.segments!.length);
    }
  });
});

describe("a recording with no speech", () => {
  it("is 200 with no text in every format, chunked or not", async () => {
    for (const chunking_strategy of ["auto", undefined] as const) {
      const common = { file: await file(silenceWav), model: "whisper-1", ...(chunking_strategy ? { chunking_strategy } : {}) };
      expect(await client.audio.transcriptions.create({ ...common })).toMatchObject({ text: "" });
      expect(await client.audio.transcriptions.create({ ...common, file: await file(silenceWav), response_format: "text" })).toMatch(/^\n?$/);
      const verbose = await client.audio.transcriptions.create({ ...common, file: await file(silenceWav), response_format: "verbose_json" });
      expect(verbose.text).toBe("");
      expect(verbose.segments).toEqual([]);
      expect(verbose.duration).toBeCloseTo(35, 2);
      expect((await client.audio.transcriptions.create({ ...common, file: await file(silenceWav), response_format: "srt" })) as unknown as string).toMatch(/^\n?$/);
      expect(((await client.audio.transcriptions.create({ ...common, file: await file(silenceWav), response_format: "vtt" })) as unknown as string).trim()).toBe("WEBVTT");
    }
  });
});

/** POSTs a multipart form whose fields come before the file, sending the file slowly; records when things happened. */
function slowUpload(fields: Record<string, string>, wav: Buffer, bytesPerTick: number, tickMs: number, onEvent: (line: string) => void): Promise<{ uploadDoneAt: number; endedAt: number; status: number }> {
  const boundary = "earshot-test-boundary";
  const head = Buffer.from(
    Object.entries(fields)
      .map(([name, value]) => `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`)
      .join("") + `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="long.wav"\r\nContent-Type: audio/wav\r\n\r\n`,
  );
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  const url = new URL(`${server.url}/v1/audio/transcriptions`);
  return new Promise((resolve, reject) => {
    let uploadDoneAt = 0;
    const request = http.request(
      { host: url.hostname, port: url.port, path: url.pathname, method: "POST", headers: { "content-type": `multipart/form-data; boundary=${boundary}` } },
      (response) => {
        let buffer = "";
        response.setEncoding("utf8");
        response.on("data", (text: string) => {
          buffer += text;
          let newline: number;
          while ((newline = buffer.indexOf("\n")) >= 0) {
            onEvent(buffer.slice(0, newline));
            buffer = buffer.slice(newline + 1);
          }
        });
        response.on("end", () => resolve({ uploadDoneAt, endedAt: Date.now(), status: response.statusCode ?? 0 }));
      },
    );
    request.on("error", reject);
    request.write(head);
    let offset = 0;
    const tick = setInterval(() => {
      request.write(wav.subarray(offset, offset + bytesPerTick));
      offset += bytesPerTick;
      if (offset >= wav.length) {
        clearInterval(tick);
        request.end(tail);
        uploadDoneAt = Date.now();
      }
    }, tickMs);
  });
}

describe("transcription while the upload is still arriving", () => {
  it("streams the first chunk's text before the last byte is sent, when the fields come before the file", async () => {
    // Three times the layout: ~3 minutes, ~6 MB, sent at ~1 MB/s.
    const long = await speechLayout([...STANDARD_LAYOUT, ...STANDARD_LAYOUT, ...STANDARD_LAYOUT]);
    const wav = encodeWav(long.samples, 16_000);
    let firstDeltaAt = 0;
    let done = false;
    const started = Date.now();
    const outcome = await slowUpload({ model: "whisper-1", chunking_strategy: "auto", stream: "true" }, wav, 64 * 1024, 60, (line) => {
      if (line.includes('"transcript.text.delta"') && firstDeltaAt === 0) firstDeltaAt = Date.now();
      if (line.includes('"transcript.text.done"')) done = true;
    });
    expect(outcome.status).toBe(200);
    expect(done).toBe(true);
    expect(firstDeltaAt).toBeGreaterThan(0);
    expect(firstDeltaAt, `first delta ${firstDeltaAt - started} ms, upload done ${outcome.uploadDoneAt - started} ms`).toBeLessThan(outcome.uploadDoneAt);
  });

  it("stops every chunk and the decoder when the client goes away mid-file", async () => {
    const long = await speechLayout([...STANDARD_LAYOUT, ...STANDARD_LAYOUT]);
    const form = new FormData();
    form.append("model", "whisper-1");
    form.append("chunking_strategy", "auto");
    form.append("file", new Blob([encodeWav(long.samples, 16_000)]), "long.wav");
    const abort = new AbortController();
    const request = fetch(`${server.url}/v1/audio/transcriptions`, { method: "POST", body: form, signal: abort.signal }).catch((e: unknown) => e);
    await waitFor("chunks running", async () => (await readyStats(server.url)).running >= 1, 20_000);
    abort.abort();
    await request;
    await waitFor("engine idle", async () => {
      const stats = await readyStats(server.url);
      return stats.running === 0 && stats.queued === 0;
    }, 5_000);
  });
});

describe("the server-wide default", () => {
  let chunked: TestServer;
  beforeAll(async () => {
    chunked = await startTestServer({ chunking: "auto" });
  });
  afterAll(async () => {
    await chunked?.close();
  });

  it("chunks requests that choose nothing, /api/transcribe included", async () => {
    const upload = async (wav: Buffer) => {
      const form = new FormData();
      form.append("file", new Blob([wav]), "recording.wav");
      const response = await fetch(`${chunked.url}/api/transcribe`, { method: "POST", body: form });
      expect(response.status).toBe(200);
      return ((await response.json()) as { transcript: string }).transcript;
    };
    expect(await upload(silenceWav)).toBe("");
    expect((await upload(layoutWav)).length).toBeGreaterThan(0);
    const sdk = chunked.client();
    const verbose = await sdk.audio.transcriptions.create({ file: await file(layoutWav), model: "whisper-1", response_format: "verbose_json" });
    expectInSpeech(verbose.segments!);
  });
});
