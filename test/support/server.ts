// Fixtures for the HTTP server tests: the real server in-process on loopback (generated test
// model, its own watched temp dir), the official SDK pointed at it, and encoded speech files.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

import OpenAI from "openai";
import { expect } from "vitest";

import { getTestModelPath, TEST_MODEL_SEGMENTS } from "../../src/models/testModel/index.js";
import { startServer, type RunningServer, type StartServerOptions } from "../../src/server/server.js";
import { loadServerConfig, type ServerConfigInput } from "../../src/config.js";
import { speechOfLength } from "./engineFixtures.js";
import { encodeWav, encodeWithFfmpeg, longSpeech, writeWav } from "./speech.js";

/** What one 30-s window of any audio transcribes to with the generated model. */
export const WINDOW_TEXT = TEST_MODEL_SEGMENTS.map((s) => s.text).join("").trim();

export interface TestServer {
  server: RunningServer;
  url: string;
  /** The directory the server's decoder writes its temp files under (empty between requests). */
  tempDir: string;
  /** The official SDK, unmodified, pointed at the server. */
  client(apiKey?: string): OpenAI;
  close(): Promise<void>;
}

export interface TestServerOptions {
  /** The server's pino options (e.g. `{ level: "info", stream }` to capture the log); default no log. */
  logger?: StartServerOptions["logger"];
  /** The decoder's temp parent dir, made by the caller (who removes it); default a fresh one removed at close. */
  tempDir?: string;
}

/** Starts the real server on 127.0.0.1 with an OS-assigned port, no environment, no .env. */
export async function startTestServer(flags: ServerConfigInput = {}, options: TestServerOptions = {}): Promise<TestServer> {
  const ownTempDir = options.tempDir === undefined;
  const tempDir = options.tempDir ?? fs.mkdtempSync(path.join(os.tmpdir(), "earshot-server-test-"));
  const tlsDir = fs.mkdtempSync(path.join(os.tmpdir(), "earshot-server-tls-"));
  // Batch jobs live in the data dir: a fresh one unless the test names one (never the user's own).
  const ownDataDir = flags.dataDir === undefined ? fs.mkdtempSync(path.join(os.tmpdir(), "earshot-server-data-")) : undefined;
  // An empty models directory unless the test names one: models pulled on this machine (the speaker models, which the
  // server takes by default when they are there) never change what a test sees.
  const ownModelsDir = flags.modelsDir === undefined ? fs.mkdtempSync(path.join(os.tmpdir(), "earshot-server-models-")) : undefined;
  const own = { ...(ownDataDir ? { dataDir: ownDataDir } : {}), ...(ownModelsDir ? { modelsDir: ownModelsDir } : {}) };
  const config = loadServerConfig({ model: await getTestModelPath("tiny"), host: "127.0.0.1", port: "0", ...own, ...flags }, {}, {});
  let server: RunningServer;
  try {
    server = await startServer(config, { logger: options.logger ?? false, tempDir, tlsDir });
  } catch (error) {
    if (ownTempDir) fs.rmSync(tempDir, { recursive: true, force: true });
    fs.rmSync(tlsDir, { recursive: true, force: true });
    if (ownDataDir) fs.rmSync(ownDataDir, { recursive: true, force: true });
    if (ownModelsDir) fs.rmSync(ownModelsDir, { recursive: true, force: true });
    throw error;
  }
  return {
    server,
    url: server.url,
    tempDir,
    client: (apiKey = "sk-test") => new OpenAI({ baseURL: `${server.url}/v1`, apiKey, maxRetries: 0, timeout: 60_000 }),
    async close() {
      await server.close();
      if (ownTempDir) fs.rmSync(tempDir, { recursive: true, force: true });
      fs.rmSync(tlsDir, { recursive: true, force: true });
      if (ownDataDir) fs.rmSync(ownDataDir, { recursive: true, force: true });
      if (ownModelsDir) fs.rmSync(ownModelsDir, { recursive: true, force: true });
    },
  };
}

/** Waits (up to `timeoutMs`) for the server's temp dir to be empty, and fails naming what is left. */
export async function expectNoTempFiles(tempDir: string, timeoutMs = 3_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let left = fs.readdirSync(tempDir);
  while (left.length > 0 && Date.now() < deadline) {
    await sleep(25);
    left = fs.readdirSync(tempDir);
  }
  expect(left, `temp files left in ${tempDir}`).toEqual([]);
}

/** Polls until `check` returns a truthy value; fails after `timeoutMs`. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs = 10_000, everyMs = 20): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

export interface ReadyBody {
  status: string;
  running: number;
  queued: number;
  maxParallel: number;
  maxQueued: number;
  /** Uploads being received and decoded, and their bound. */
  decoding: number;
  maxDecoding: number;
  /** Admitted uploads not answered yet. */
  uploads: number;
  /** Decoded audio held, and the budget, in MiB. */
  decodedAudioMb: number;
  maxDecodedAudioMb: number;
}

/** GET /ready (200 when ready, 503 when saturated; both carry the job counts). */
export async function readyStats(url: string): Promise<ReadyBody> {
  const response = await fetch(`${url}/ready`);
  return (await response.json()) as ReadyBody;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export interface AudioFiles {
  /** Directory holding every file below (removed by {@link removeAudioFiles}). */
  dir: string;
  /** ~19 s of synthesized speech (one 30-s window), 22.05 kHz 16-bit WAV. */
  wav: string;
  /** The same speech as mp3 (decoded through a temp file). */
  mp3: string;
  /** The same speech as m4a, moov at the end (decoded through a temp file). */
  m4a: string;
  /** The same speech as a Chrome MediaRecorder-like webm/opus. */
  webm: string;
}

/** Encodes the long speech clip into the formats the tests upload. */
export async function makeAudioFiles(): Promise<AudioFiles> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "earshot-server-audio-"));
  const speech = await longSpeech();
  const wav = path.join(dir, "speech.wav");
  await writeWav(wav, speech.samples, speech.sampleRate);
  const files: AudioFiles = { dir, wav, mp3: path.join(dir, "speech.mp3"), m4a: path.join(dir, "speech.m4a"), webm: path.join(dir, "clip.webm") };
  const [mp3, m4a, webm] = await Promise.all([encodeWithFfmpeg(wav, "mp3"), encodeWithFfmpeg(wav, "m4a"), encodeWithFfmpeg(wav, "webm-opus")]);
  fs.writeFileSync(files.mp3, mp3);
  fs.writeFileSync(files.m4a, m4a);
  fs.writeFileSync(files.webm, webm);
  return files;
}

export function removeAudioFiles(files: AudioFiles | undefined): void {
  if (files) fs.rmSync(files.dir, { recursive: true, force: true });
}

/** A 16 kHz WAV of `seconds` of speech, made by repeating the clip (several 30-s windows). */
export async function longSpeechWav(seconds: number): Promise<Buffer> {
  return encodeWav(await speechOfLength(seconds), 16_000);
}

/** `count` 30-s windows' worth of the model's transcript, as the server joins it. */
export function expectedText(windows: number): string {
  return Array.from({ length: windows }, () => TEST_MODEL_SEGMENTS.map((s) => s.text).join("")).join("").trim();
}
