// The built `earshot` command as a user runs it: real process, real FFmpeg, real engine, generated model.
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { resolveFfmpegPath } from "../../src/audio/ffmpeg/ffmpegPath.js";
import { getTestModelPath, TEST_MODEL_SEGMENTS } from "../../src/models/testModel/index.js";
import { encodeWithFfmpeg, longSpeech, writeWav } from "../support/speech.js";
import { insideSpeech, speechLayout, STANDARD_LAYOUT } from "../support/speechLayout.js";

const earshot = path.resolve("bin", "earshot.js");
const run = promisify(execFile);

let dir: string;
let model: string;
let wav: string;
let webm: string;

async function cli(...args: string[]) {
  return run(process.execPath, [earshot, ...args], { env: { ...process.env, EARSHOT_THREADS: "2" }, maxBuffer: 16 << 20 });
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "earshot-cli-"));
  model = await getTestModelPath("tiny");
  const speech = await longSpeech();
  wav = path.join(dir, "speech.wav");
  await writeWav(wav, speech.samples, speech.sampleRate);
  // A Chrome-style recording under a misleading name: the content decides the format.
  webm = path.join(dir, "recording.mp3");
  fs.writeFileSync(webm, await encodeWithFfmpeg(wav, "webm-opus"));
});

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe("earshot transcribe", () => {
  const [first, second] = TEST_MODEL_SEGMENTS;

  it("prints plain text by default", async () => {
    const { stdout, stderr } = await cli("transcribe", wav, "--model", model, "--language", "en");
    expect(stdout.trim()).toBe(`${first!.text}${second!.text}`.trim());
    expect(stderr).toMatch(/speech\.wav: \d+\.\d s of audio transcribed in \d+\.\d+ s \(language en\)/);
  });

  it("prints OpenAI's json", async () => {
    const { stdout } = await cli("transcribe", wav, "--model", model, "-f", "json");
    const body = JSON.parse(stdout);
    expect(body).toEqual({ text: expect.any(String), usage: { type: "duration", seconds: expect.any(Number) } });
    expect(Number.isInteger(body.usage.seconds)).toBe(true);
  });

  it("prints verbose_json with segments and, when asked, words", async () => {
    const { stdout } = await cli("transcribe", webm, "--model", model, "-f", "verbose_json", "--word-timestamps", "--language", "english");
    const body = JSON.parse(stdout);
    expect(body.task).toBe("transcribe");
    expect(body.language).toBe("english");
    expect(body.duration).toBeGreaterThan(15);
    expect(body.segments.map((s: { start: number; end: number }) => [s.start, s.end])).toEqual([
      [first!.start, first!.end],
      [second!.start, second!.end],
    ]);
    for (const key of ["id", "seek", "start", "end", "text", "tokens", "temperature", "avg_logprob", "compression_ratio", "no_speech_prob"]) {
      expect(body.segments[0]).toHaveProperty(key);
    }
    expect(body.words.map((w: { word: string }) => w.word)).toEqual(["one", "two", "three", "four", "five", "six"]);
  });

  it("prints SRT and WebVTT cues", async () => {
    const srt = (await cli("transcribe", wav, "--model", model, "-f", "srt", "-l", "en")).stdout;
    expect(srt).toContain("1\n00:00:00,000 --> 00:00:02,000\none two three\n\n2\n00:00:03,000 --> 00:00:06,000\nfour five six\n");
    const vtt = (await cli("transcribe", wav, "--model", model, "-f", "vtt", "-l", "en")).stdout;
    expect(vtt.startsWith("WEBVTT\n\n")).toBe(true);
    expect(vtt).toContain("00:00:03.000 --> 00:00:06.000\nfour five six");
  });

  it("writes one file per input into --output with one loaded model", async () => {
    const out = path.join(dir, "out");
    const { stderr } = await cli("transcribe", wav, webm, "--model", model, "-f", "srt", "-o", out, "-l", "en");
    expect(fs.readdirSync(out).sort()).toEqual(["recording.srt", "speech.srt"]);
    expect(fs.readFileSync(path.join(out, "speech.srt"), "utf8")).toContain("one two three");
    expect(stderr).toContain(`wrote ${path.join(out, "recording.srt")}`);
  });

  it("reports a bad file clearly, still does the good ones, and exits non-zero", async () => {
    const text = path.join(dir, "notes.mp3");
    fs.writeFileSync(text, "this is not audio at all\n".repeat(20));
    const failure = await cli("transcribe", text, wav, "--model", model, "-l", "en").catch((error: { code: number; stdout: string; stderr: string }) => error);
    expect(failure).toMatchObject({ code: 1 });
    const { stdout, stderr } = failure as { stdout: string; stderr: string };
    expect(stderr).toMatch(/notes\.mp3: .*(not|unsupported|recogni)/i);
    expect(stdout).toContain("one two three");
  });

  it.skipIf(process.platform === "win32")("runs the ffmpeg that EARSHOT_FFMPEG_PATH names in .env", async () => {
    const project = path.join(dir, "dotenv-project");
    fs.mkdirSync(project);
    const calls = path.join(project, "ffmpeg-calls");
    const ffmpeg = path.join(project, "ffmpeg");
    fs.writeFileSync(ffmpeg, `#!/bin/sh\necho "$@" >> '${calls}'\nexec '${resolveFfmpegPath()}' "$@"\n`, { mode: 0o755 });
    fs.writeFileSync(path.join(project, ".env"), `EARSHOT_FFMPEG_PATH=${ffmpeg}\n`);
    const env: NodeJS.ProcessEnv = { ...process.env, EARSHOT_THREADS: "2" };
    delete env.EARSHOT_FFMPEG_PATH;
    const { stdout } = await run(process.execPath, [earshot, "transcribe", wav, "--model", model, "-l", "en"], { env, cwd: project });
    expect(stdout).toContain("one two three");
    // Not just the version check: the decoding itself ran through it.
    expect(fs.readFileSync(calls, "utf8").split("\n").filter((line) => line && line !== "-version").length).toBeGreaterThan(0);
  });

  it("names a missing model and how to get it", async () => {
    const failure = await cli("transcribe", wav, "--model", "small.en").catch((error: { code: number; stderr: string }) => error);
    expect(failure).toMatchObject({ code: 1 });
    expect((failure as { stderr: string }).stderr).toMatch(/earshot models pull small\.en/);
  }, 30_000);

  it("--chunking auto goes through the same chunked pipeline as the server: silence skipped, times on the recording", async () => {
    const layout = await speechLayout(STANDARD_LAYOUT);
    const file = path.join(dir, "layout.wav");
    await writeWav(file, layout.samples, 16_000);
    const { stdout } = await cli("transcribe", file, "--model", model, "-f", "verbose_json", "--word-timestamps", "--chunking", "auto");
    const body = JSON.parse(stdout) as { language: string; segments: Array<{ start: number; end: number }>; words: Array<{ start: number; end: number }> };
    expect(body.language).toBe("english");
    expect(body.segments.length).toBeGreaterThan(0);
    for (const span of [...body.segments, ...body.words]) expect(insideSpeech(layout, span.start, span.end), `${span.start}-${span.end}`).toBe(true);
    // Without chunking, the same file is decoded window by window from 0 s.
    const plain = JSON.parse((await cli("transcribe", file, "--model", model, "-f", "verbose_json")).stdout) as { segments: Array<{ start: number }> };
    expect(plain.segments[0]!.start).toBe(0);
    const bad = await cli("transcribe", file, "--model", model, "--chunking", "sometimes").catch((error: { code: number; stderr: string }) => error);
    expect((bad as { stderr: string }).stderr).toMatch(/--chunking/);
  });

  it("rejects an unknown language before loading anything", async () => {
    const failure = await cli("transcribe", wav, "--model", model, "--language", "klingon").catch((error: { code: number; stderr: string }) => error);
    expect((failure as { stderr: string }).stderr).toMatch(/unknown language "klingon"/);
  });
});

describe("earshot info", () => {
  it("shows the whisper.cpp version and the CPU features compiled in", async () => {
    const { stdout } = await cli("info", "--json");
    const info = JSON.parse(stdout);
    expect(info.whisperVersion).toMatch(/^\d+\.\d+\.\d+/);
    expect(info.systemInfo).toContain("CPU :");
  });
});
