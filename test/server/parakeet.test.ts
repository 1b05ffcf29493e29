// A Parakeet TDT model served beside Whisper through every door: the official SDK's transcriptions in every format
// (segment and word times from the TDT frame times), SSE, logprobs, the fields a transducer cannot take refused with
// a 400 naming them, a batch job, and the CLI. The real addon on the generated Parakeet-shaped model (junk text, real
// shapes and decoding), the real server on loopback, real FFmpeg.
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";

import OpenAI, { toFile } from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { getParakeetTestModelPath } from "../../src/models/testModel/parakeet/index.js";
import { JobsClient } from "../jobs/jobsClient.js";
import { speechOfLength } from "../support/engineFixtures.js";
import { encodeWav } from "../support/speech.js";
import { expectNoTempFiles, startTestServer, type TestServer } from "../support/server.js";

const run = promisify(execFile);

let server: TestServer;
let client: OpenAI;
let parakeetPath: string;
/** 12 s of speech at 16 kHz, as a WAV. */
let wav: Buffer;
const SECONDS = 12;

beforeAll(async () => {
  parakeetPath = await getParakeetTestModelPath("tiny");
  server = await startTestServer({ aliases: `whisper-1,parakeet=${parakeetPath}` });
  client = server.client();
  wav = encodeWav(await speechOfLength(SECONDS), 16_000);
});

afterAll(async () => {
  await server?.close();
});

const file = () => toFile(wav, "speech.wav");

interface TimedWord {
  word: string;
  start: number;
  end: number;
}

function expectOrderedWithin(items: ReadonlyArray<{ start: number; end: number }>, from: number, to: number): void {
  let previous = from;
  for (const item of items) {
    expect(item.start).toBeGreaterThanOrEqual(previous - 1e-6);
    expect(item.end).toBeGreaterThanOrEqual(item.start);
    expect(item.end).toBeLessThanOrEqual(to + 1e-6);
    previous = item.start;
  }
}

describe("Parakeet through the OpenAI API", () => {
  it("verbose_json with word and segment times: words in order, each inside its segment, text the segments joined", async () => {
    const result = await client.audio.transcriptions.create({
      file: await file(),
      model: "parakeet",
      response_format: "verbose_json",
      timestamp_granularities: ["word", "segment"],
    });
    expect(result.duration).toBeCloseTo(SECONDS, 1);
    const segments = result.segments!;
    const words = result.words! as TimedWord[];
    expect(segments.length).toBeGreaterThan(0);
    // The generated model emits tokens at a speech-like rate: several words a second.
    expect(words.length).toBeGreaterThan(SECONDS);
    expectOrderedWithin(segments, 0, SECONDS);
    expectOrderedWithin(words, 0, SECONDS);
    expect(result.text).toBe(segments.map((s) => s.text).join("").trim());
    for (const word of words) {
      const holder = segments.find((s) => word.start >= s.start - 1e-6 && word.end <= s.end + 1e-6);
      expect(holder, `${JSON.stringify(word)} lies in no segment`).toBeDefined();
    }
    // OpenAI's words carry no spaces; joined with one they read as the text.
    expect(words.map((w) => w.word.trim()).join(" ")).toBe(result.text.replace(/\s+/g, " "));
    for (const segment of segments) {
      expect(segment.temperature).toBe(0);
      expect(segment.avg_logprob).toBeLessThanOrEqual(0);
      expect(segment.tokens.length).toBeGreaterThan(0);
    }
  });

  it("json, text, srt and vtt carry the same text", async () => {
    const json = await client.audio.transcriptions.create({ file: await file(), model: "parakeet" });
    expect(json.text.length).toBeGreaterThan(0);
    const text = await client.audio.transcriptions.create({ file: await file(), model: "parakeet", response_format: "text" });
    expect(String(text).trim()).toBe(json.text);
    const srt = String(await client.audio.transcriptions.create({ file: await file(), model: "parakeet", response_format: "srt" }));
    expect(srt).toMatch(/^1\n\d\d:\d\d:\d\d,\d{3} --> \d\d:\d\d:\d\d,\d{3}\n/);
    const vtt = String(await client.audio.transcriptions.create({ file: await file(), model: "parakeet", response_format: "vtt" }));
    expect(vtt.startsWith("WEBVTT")).toBe(true);
    const cueText = (subtitles: string) =>
      subtitles.split("\n").filter((line) => line.trim() !== "" && !/-->|^\d+$|^WEBVTT/.test(line)).join(" ").replace(/\s+/g, " ").trim();
    expect(cueText(srt)).toBe(json.text.replace(/\s+/g, " "));
    expect(cueText(vtt)).toBe(json.text.replace(/\s+/g, " "));
    await expectNoTempFiles(server.tempDir);
  });

  it("logprobs: one per token, adding up to the text; stream: deltas adding up to the done text", async () => {
    const withLogprobs = await client.audio.transcriptions.create({ file: await file(), model: "parakeet", include: ["logprobs"] });
    const logprobs = withLogprobs.logprobs!;
    expect(logprobs.length).toBeGreaterThan(0);
    for (const entry of logprobs) expect(entry.logprob!).toBeLessThanOrEqual(0);
    expect(logprobs.map((l) => l.token).join("").trim()).toBe(withLogprobs.text);

    const stream = await client.audio.transcriptions.create({ file: await file(), model: "parakeet", stream: true });
    const events: Array<{ type: string; delta?: string; text?: string }> = [];
    for await (const event of stream) events.push(event);
    const deltas = events.filter((e) => e.type === "transcript.text.delta");
    const done = events.filter((e) => e.type === "transcript.text.done");
    expect(deltas.length).toBeGreaterThan(0);
    expect(done).toHaveLength(1);
    expect(deltas.map((d) => d.delta).join("").trim()).toBe(done[0]!.text);
    expect(done[0]!.text).toBe(withLogprobs.text);
  });

  it("refuses what a transducer cannot do with a 400 naming the field, and accepts OpenAI's defaults", async () => {
    const refused = async (fields: Record<string, unknown>, param: string, code: string) => {
      const error = await client.audio.transcriptions.create({ file: await file(), model: "parakeet", ...fields } as never).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(OpenAI.BadRequestError);
      expect((error as InstanceType<typeof OpenAI.BadRequestError>).param).toBe(param);
      expect((error as InstanceType<typeof OpenAI.BadRequestError>).code).toBe(code);
    };
    await refused({ prompt: "Earshot, Parakeet." }, "prompt", "unsupported_parameter");
    await refused({ temperature: 0.4 }, "temperature", "unsupported_parameter");
    await refused({ language: "ja" }, "language", "unsupported_language");
    const translation = await client.audio.translations.create({ file: await file(), model: "parakeet" }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(translation).toBeInstanceOf(OpenAI.BadRequestError);
    expect((translation as InstanceType<typeof OpenAI.BadRequestError>).param).toBe("model");
    // What clients send blindly: temperature 0, the model's own language.
    const plain = await client.audio.transcriptions.create({ file: await file(), model: "parakeet", temperature: 0, language: "en", response_format: "verbose_json" });
    expect(plain.language).toBe("english");
    await expectNoTempFiles(server.tempDir);
  });

  it("a batch job on the Parakeet model gives the words and text of the same request made synchronously", async () => {
    const jobs = new JobsClient(server.url);
    const job = await jobs.submit(wav, { model: "parakeet", response_format: "verbose_json", "timestamp_granularities[]": ["word", "segment"] }, "speech.wav");
    const done = await jobs.waitFor(job.id, ["succeeded", "failed"], 120_000);
    expect(done.status).toBe("succeeded");
    const stored = (await (await jobs.result(job.id, "verbose_json")).json()) as { text: string; words: TimedWord[] };
    expect(stored.words.length).toBeGreaterThan(SECONDS);
    expectOrderedWithin(stored.words, 0, SECONDS);
    // A job is chunked at pauses, as a request with chunking_strategy=auto is.
    const now = await client.audio.transcriptions.create({
      file: await file(),
      model: "parakeet",
      response_format: "verbose_json",
      timestamp_granularities: ["word", "segment"],
      chunking_strategy: "auto",
    });
    expect(stored.text).toBe(now.text);
    expect(stored.words).toEqual(now.words);
  });
});

describe("Parakeet on the CLI", () => {
  it("earshot transcribe --model <parakeet file> -f verbose_json --word-timestamps", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "earshot-parakeet-cli-"));
    try {
      const input = path.join(dir, "speech.wav");
      fs.writeFileSync(input, wav);
      const { stdout } = await run(process.execPath, [path.resolve("bin", "earshot.js"), "transcribe", input, "--model", parakeetPath, "-f", "verbose_json", "--word-timestamps"], {
        env: { ...process.env, EARSHOT_THREADS: "2" },
        maxBuffer: 16 << 20,
        timeout: 120_000,
      });
      const result = JSON.parse(stdout) as { text: string; words: TimedWord[] };
      expect(result.text.length).toBeGreaterThan(0);
      expect(result.words.length).toBeGreaterThan(SECONDS);
      expectOrderedWithin(result.words, 0, SECONDS);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
