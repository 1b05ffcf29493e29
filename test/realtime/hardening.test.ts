// A hostile client's realtime input against a real server: settings that once crashed the process (a turn detection
// threshold under 0.15 in a client secret) or left a half-applied session, a session that cannot start, client
// secrets whose settings do not validate, prompts large enough to hold an engine slot for minutes, a client that goes
// away mid-turn. Each attack is one test: the server still answers and the session still works afterwards. Invalid
// messages used as keep-alives and the buffers of large appends are in sessionLimits.test.ts.
import type { AddressInfo } from "node:net";

import { toFile } from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebSocketServer } from "ws";

import { SileroVadModel } from "../../src/audio/vad/index.js";
import { ClientSecretStore } from "../../src/server/realtime/clientSecrets.js";
import type { RealtimeLimits } from "../../src/server/realtime/realtimeLimits.js";
import { RealtimeSession } from "../../src/server/realtime/RealtimeSession.js";
import { WebSocketChannel } from "../../src/server/realtime/webSocketChannel.js";
import { defaultSessionConfig, type TranscriptionSessionConfig } from "../../src/api/realtimeSession.js";
import { SliceScheduler } from "../../src/server/realtime/sliceScheduler.js";
import { MAX_KEYWORDS, MAX_PROMPT_BYTES } from "../../src/transcription/fieldLimits.js";
import { TranscriptionService } from "../../src/transcription/TranscriptionService.js";
import { COMPLETED, RealtimeClient, realtimeUrl, REALTIME_RATE, spokenTurns, type SpokenTurns } from "../support/realtime.js";
import { readyStats, sleep, startTestServer, type TestServer, waitFor } from "../support/server.js";
import { encodeWav } from "../support/speech.js";

const KEY = "sk-earshot-hardening-key";
const SECRET_KEY = "hardening-secret-key-of-32-bytes-or-more";
const STARTED = "input_audio_buffer.speech_started";

let server: TestServer;
let sentence: SpokenTurns;

beforeAll(async () => {
  [server, sentence] = await Promise.all([
    startTestServer({ apiKeys: KEY, secretKey: SECRET_KEY, realtimeMaxSpeed: "10000" }),
    spokenTurns(["Testing one, two, three."], { gapMs: 1000 }),
  ]);
}, 60_000);
afterAll(async () => {
  await server?.close();
});

const auth = { headers: { Authorization: `Bearer ${KEY}` } };
const open = (created?: string) => RealtimeClient.open(realtimeUrl(server.url), auth, created);

async function post(path: string, body: unknown): Promise<{ status: number; body: any }> {
  const response = await fetch(`${server.url}${path}`, {
    method: "POST",
    headers: { ...auth.headers, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: await response.json() };
}

async function expectHealthy(): Promise<void> {
  const response = await fetch(`${server.url}/health`);
  expect(response.status).toBe(200);
}

/** The session still works: a spoken sentence becomes a VAD turn with a completed transcript. */
async function detectsTurns(client: RealtimeClient): Promise<void> {
  const completed = client.all(COMPLETED).length;
  const started = client.all(STARTED).length;
  await client.streamAudio(sentence.pcm);
  await client.next(STARTED, started, 30_000);
  await client.next(COMPLETED, completed, 30_000);
  expect(client.closed).toBeUndefined();
}

/** A no-op update: its session.updated shows the whole config in force. */
async function currentSession(client: RealtimeClient): Promise<any> {
  const before = client.all("session.updated").length;
  client.send({ type: "session.update", session: { type: "transcription" } });
  return (await client.next("session.updated", before)).session;
}

describe("turn detection settings that once crashed the server", () => {
  it("a client secret minted with threshold 0.005 opens a working session; the server lives on", async () => {
    const minted = await post("/v1/realtime/client_secrets", {
      session: { type: "transcription", audio: { input: { turn_detection: { type: "server_vad", threshold: 0.005 } } } },
    });
    expect(minted.status).toBe(200);
    for (let attempt = 0; attempt < 2; attempt++) {
      const client = await RealtimeClient.connect(realtimeUrl(server.url), { headers: { Authorization: `Bearer ${minted.body.value}` } });
      const created = await client.next("session.created");
      expect(created.session.audio.input.turn_detection.threshold).toBe(0.005);
      await expectHealthy();
      await client.streamAudio(sentence.pcm);
      await client.next(STARTED, 0, 30_000);
      expect(client.closed).toBeUndefined();
      await client.close();
    }
    await expectHealthy();
  });

  it("the beta route mints threshold 0; its session detects speech", async () => {
    const minted = await post("/v1/realtime/transcription_sessions", { turn_detection: { type: "server_vad", threshold: 0 } });
    expect(minted.status).toBe(200);
    expect(minted.body.turn_detection.threshold).toBe(0);
    const client = await RealtimeClient.connect(realtimeUrl(server.url), {
      protocols: ["realtime", `openai-insecure-api-key.${minted.body.client_secret.value}`, "openai-beta.realtime-v1"],
    });
    const created = await client.next("transcription_session.created");
    expect(created.session.turn_detection.threshold).toBe(0);
    // Threshold 0: every frame is speech, so a turn starts at once.
    await client.streamAudio(sentence.pcm);
    await client.next(STARTED, 0, 30_000);
    await expectHealthy();
    expect(client.closed).toBeUndefined();
    await client.close();
  });

  it("session.update to threshold 0 is applied, and the session goes on", async () => {
    const client = await open();
    client.send({ type: "session.update", session: { type: "transcription", audio: { input: { turn_detection: { type: "server_vad", threshold: 0 } } } } });
    const updated = await client.next("session.updated");
    expect(updated.session.audio.input.turn_detection.threshold).toBe(0);
    expect(client.all("error")).toHaveLength(0);
    await client.streamAudio(sentence.pcm);
    await client.next(STARTED, 0, 30_000);
    client.send({ type: "session.update", session: { type: "transcription", audio: { input: { turn_detection: { type: "server_vad", threshold: 0.5 } } } } });
    await client.next("session.updated", 1);
    await detectsTurns(client);
    await client.close();
  });

  it("session.update is all or nothing: one invalid field refuses the whole update, naming it", async () => {
    const client = await open();
    const before = await currentSession(client);
    const valid = { language: "fr", prompt: "Bonjour", keywords: ["Earshot"] };
    const cases: Array<{ session: unknown; param: string; code?: string }> = [
      {
        session: { type: "transcription", audio: { input: { transcription: valid, turn_detection: { threshold: 2 } } } },
        param: "session.audio.input.turn_detection.threshold",
      },
      {
        session: { type: "transcription", audio: { input: { turn_detection: { threshold: 0.3 }, transcription: { ...valid, prompt: "p".repeat(MAX_PROMPT_BYTES + 1) } } } },
        param: "session.audio.input.transcription.prompt",
        code: "string_above_max_length",
      },
      {
        session: { type: "transcription", audio: { input: { format: { type: "audio/pcmu" }, transcription: { keywords: Array.from({ length: MAX_KEYWORDS + 1 }, (_, i) => `k${i}`) } } } },
        param: "session.audio.input.transcription.keywords",
      },
      {
        session: { type: "transcription", audio: { input: { transcription: valid, format: { type: "audio/pcm", rate: 8000 } } } },
        param: "session.audio.input.format",
      },
      {
        session: { type: "transcription", audio: { input: { turn_detection: null, transcription: { model: "nope" } } } },
        param: "session.audio.input.transcription.model",
        code: "model_not_found",
      },
    ];
    for (const [index, testCase] of cases.entries()) {
      client.send({ type: "session.update", event_id: `u${index}`, session: testCase.session });
      const error = await client.next("error", index);
      expect(error.error, JSON.stringify(error).slice(0, 500)).toMatchObject({ type: "invalid_request_error", param: testCase.param, event_id: `u${index}` });
      if (testCase.code) expect(error.error.code).toBe(testCase.code);
      // The refused value is not echoed whole.
      expect(JSON.stringify(error).length).toBeLessThan(2000);
    }
    // Not one of them was applied: only the no-op updates were answered, and the config is as it was.
    expect(client.all("session.updated")).toHaveLength(1);
    expect(await currentSession(client)).toEqual(before);
    await detectsTurns(client);
    await client.close();
  });
});

describe("a session that cannot start", () => {
  it("closes itself with 1011 after a server_error event; its constructor never throws", async () => {
    // Settings no door lets through (sessionConfig validates them): as a bug or a foreign secret could once bring them.
    const base = defaultSessionConfig("whisper-1");
    const broken: TranscriptionSessionConfig[] = [
      { ...base, turnDetection: { ...base.turnDetection!, threshold: 5 } },
      { ...base, format: { ...base.format, betaName: "mp3" as never } },
    ];
    const wss = new WebSocketServer({ port: 0, host: "127.0.0.1" });
    await new Promise((resolve) => wss.once("listening", resolve));
    const limits = { maxSessionSeconds: 60, maxBufferSeconds: 60, maxMessageBytes: 1_048_576, idleTimeoutSeconds: 60, maxSessions: 10, maxSpeed: 20 };
    const thrown: unknown[] = [];
    wss.on("connection", (socket, request) => {
      try {
        new RealtimeSession({
          channel: new WebSocketChannel(socket, request.socket, server.server.app.log),
          transcription: new TranscriptionService({ models: server.server.models }),
          loadVad: () => SileroVadModel.load(),
          limits: limits as RealtimeLimits,
          dialect: "ga",
          config: broken[Number(new URL(request.url ?? "/", "http://x").searchParams.get("case"))]!,
          identity: { id: "sess_broken", expiresAt: Date.now() / 1000 + 60 },
          log: server.server.app.log,
          scheduler: new SliceScheduler(),
        });
      } catch (error) {
        thrown.push(error);
      }
    });
    try {
      const { port } = wss.address() as AddressInfo;
      for (const index of broken.keys()) {
        const client = await RealtimeClient.connect(`ws://127.0.0.1:${port}/?case=${index}`);
        await client.until("close", () => client.closed, 5000);
        expect(client.closed?.code).toBe(1011);
        expect(client.all("error").map((e) => e.error)).toEqual([expect.objectContaining({ type: "server_error", code: "server_error" })]);
        expect(client.all("session.created")).toHaveLength(0);
      }
      expect(thrown).toEqual([]);
    } finally {
      await new Promise((resolve) => wss.close(resolve));
    }
  });
});

describe("client secrets", () => {
  it("refuses at mint time what a session could not use, naming the param", async () => {
    const cases: Array<{ path: string; body: unknown; param: string; code?: string }> = [
      {
        path: "/v1/realtime/client_secrets",
        body: { session: { type: "transcription", audio: { input: { transcription: { prompt: "p".repeat(MAX_PROMPT_BYTES + 1) } } } } },
        param: "session.audio.input.transcription.prompt",
        code: "string_above_max_length",
      },
      {
        path: "/v1/realtime/client_secrets",
        body: { session: { type: "transcription", audio: { input: { transcription: { keywords: Array.from({ length: MAX_KEYWORDS + 1 }, (_, i) => `k${i}`) } } } } },
        param: "session.audio.input.transcription.keywords",
      },
      {
        path: "/v1/realtime/transcription_sessions",
        body: { input_audio_transcription: { prompt: "p".repeat(MAX_PROMPT_BYTES + 1) } },
        param: "input_audio_transcription.prompt",
      },
      {
        path: "/v1/realtime/transcription_sessions",
        body: { turn_detection: { threshold: -0.1 } },
        param: "turn_detection.threshold",
      },
      // Within the field limits but too large to travel in a header as a secret: set it with session.update instead.
      {
        path: "/v1/realtime/client_secrets",
        body: { session: { type: "transcription", audio: { input: { transcription: { prompt: randomWords(20_000) } } } } },
        param: "session.audio.input.transcription",
        code: "client_secret_too_large",
      },
      {
        path: "/v1/realtime/transcription_sessions",
        body: { input_audio_transcription: { prompt: "a".repeat(MAX_PROMPT_BYTES) } },
        param: "input_audio_transcription",
        code: "client_secret_too_large",
      },
    ];
    for (const testCase of cases) {
      const response = await post(testCase.path, testCase.body);
      expect(response.status, JSON.stringify(response.body).slice(0, 300)).toBe(400);
      expect(response.body.error).toMatchObject({ type: "invalid_request_error", param: testCase.param });
      if (testCase.code) expect(response.body.error.code).toBe(testCase.code);
    }
    await expectHealthy();
  });

  it("refuses (401) a correctly signed secret whose settings do not validate here, and never crashes", async () => {
    const store = new ClientSecretStore({ key: SECRET_KEY });
    const base = defaultSessionConfig("whisper-1");
    const mint = (config: unknown) => store.mint(config as TranscriptionSessionConfig, "sess_foreign", 60, "open").value;
    const { livePartials: _dropped, ...older } = base;
    const bad: unknown[] = [
      { ...base, turnDetection: { ...base.turnDetection!, threshold: 5 } },
      { ...base, turnDetection: { ...base.turnDetection!, silenceDurationMs: -1 } },
      older,
      { ...base, futureSetting: true },
      { ...base, format: { ...base.format, betaName: "mp3" } },
      { ...base, format: { ...base.format, sampleRate: 44_100 } },
      { ...base, keywords: Array.from({ length: MAX_KEYWORDS + 1 }, (_, i) => `k${i}`) },
      { ...base, language: "klingon" },
      { ...base, prompt: 42 },
      "not a config",
    ];
    for (const config of bad) {
      const refused = await RealtimeClient.connect(realtimeUrl(server.url), { headers: { Authorization: `Bearer ${mint(config)}` } }).then(
        async (client) => {
          await client.close();
          return undefined;
        },
        (error: { status?: number }) => error.status,
      );
      expect(refused, JSON.stringify(config).slice(0, 200)).toBe(401);
    }
    await expectHealthy();
    // The same store's secret with valid settings (a low threshold included) is accepted: the refusals were the settings.
    const good = { ...base, turnDetection: { ...base.turnDetection!, threshold: 0.005 } };
    const client = await RealtimeClient.connect(realtimeUrl(server.url), { headers: { Authorization: `Bearer ${mint(good)}` } });
    expect((await client.next("session.created")).session.audio.input.turn_detection.threshold).toBe(0.005);
    await client.close();
  });
});

describe("prompts", () => {
  /**
   * `bytes` (UTF-8) of Chinese in runs of 288 characters between spaces: whisper's tokenizer reads each run as one
   * word and costs the cube of its length, so before the prompt was cut to its tail this took it seconds per run.
   */
  const longPrompt = (bytes: number) => `${"我们今天讨论语音识别的模型和提示词。".repeat(16)} `.repeat(Math.ceil(bytes / 865)).slice(0, Math.floor(bytes / 3));
  const PROMPT_BYTES = 200 * 1024;

  /** The fastest of `runs` timings of `work`, in ms. */
  async function fastest(runs: number, work: () => Promise<unknown>): Promise<number> {
    let best = Infinity;
    for (let i = 0; i < runs; i++) {
      const started = performance.now();
      await work();
      best = Math.min(best, performance.now() - started);
    }
    return best;
  }

  it("a 200 KB prompt costs an HTTP transcription about what a short one does", async () => {
    const wav = encodeWav(pcm16ToFloat(sentence.pcm), REALTIME_RATE);
    const client = server.client(KEY);
    const transcribe = async (prompt: string) =>
      client.audio.transcriptions.create({ file: await toFile(wav, "sentence.wav"), model: "whisper-1", language: "en", prompt });
    const short = await fastest(3, () => transcribe("Earshot."));
    const long = await fastest(3, () => transcribe(longPrompt(PROMPT_BYTES)));
    console.log(`HTTP transcription: short prompt ${short.toFixed(0)} ms, 200 KB prompt ${long.toFixed(0)} ms`);
    // Only the prompt's tail reaches whisper: the rest costs its upload and validation, not decoding time.
    expect(long, `short prompt ${short.toFixed(0)} ms, 200 KB prompt ${long.toFixed(0)} ms`).toBeLessThan(short * 1.5 + 300);
    // Beyond the limit: refused, naming the field.
    const refused = await transcribe("p".repeat(MAX_PROMPT_BYTES + 1)).catch((error: { status?: number; param?: string }) => error);
    expect(refused).toMatchObject({ status: 400, param: "prompt" });
  });

  it("a 200 KB prompt costs a realtime turn about what a short one does", async () => {
    const client = await open();
    client.send({ type: "session.update", session: { type: "transcription", audio: { input: { turn_detection: null, transcription: { language: "en" } } } } });
    await client.next("session.updated");
    const turn = async (prompt: string) => {
      const updated = client.all("session.updated").length;
      client.send({ type: "session.update", session: { type: "transcription", audio: { input: { transcription: { prompt } } } } });
      await client.next("session.updated", updated);
      const completed = client.all(COMPLETED).length;
      await client.streamAudio(sentence.pcm);
      const started = performance.now();
      client.send({ type: "input_audio_buffer.commit" });
      await client.next(COMPLETED, completed, 60_000);
      return performance.now() - started;
    };
    let short = Infinity;
    let long = Infinity;
    for (let i = 0; i < 3; i++) {
      short = Math.min(short, await turn("Earshot."));
      long = Math.min(long, await turn(longPrompt(PROMPT_BYTES)));
    }
    console.log(`realtime turn: short prompt ${short.toFixed(0)} ms, 200 KB prompt ${long.toFixed(0)} ms`);
    expect(long, `short prompt ${short.toFixed(0)} ms, 200 KB prompt ${long.toFixed(0)} ms`).toBeLessThan(short * 1.5 + 300);
    await client.close();
  });
});

describe("a client that goes away", () => {
  it("aborts its session's turn in progress when the socket closes", async () => {
    const client = await open();
    client.send({ type: "session.update", session: { type: "transcription", audio: { input: { turn_detection: null, transcription: { language: "en" } } } } });
    await client.next("session.updated");
    // 240 s of speech in one manual turn: 8 whisper windows, several seconds of decoding.
    const speech = Buffer.concat(Array.from({ length: Math.ceil((240 * REALTIME_RATE * 2) / sentence.pcm.length) }, () => sentence.pcm));
    await client.streamAudio(speech, { chunkMs: 5000 });
    client.send({ type: "input_audio_buffer.commit" });
    await client.next("input_audio_buffer.committed", 0, 30_000);
    await waitFor("the turn's transcription to run", async () => (await readyStats(server.url)).running === 1, 30_000);
    await sleep(300);
    const closedAt = performance.now();
    client.socket.terminate();
    await waitFor("the transcription to stop", async () => (await readyStats(server.url)).running === 0, 10_000, 10);
    // Decoding 240 s takes several seconds: stopping within 2 s means it was aborted.
    expect(performance.now() - closedAt).toBeLessThan(2_000);
    expect(await readyStats(server.url)).toMatchObject({ running: 0, queued: 0 });
  });
});

/** PCM16 LE → floats. */
function pcm16ToFloat(pcm: Buffer): Float32Array {
  const out = new Float32Array(pcm.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = pcm.readInt16LE(i * 2) / 32768;
  return out;
}

/** `words` pseudo-random words: text that deflates about as poorly as real prose. */
function randomWords(words: number): string {
  let seed = 7;
  const out: string[] = [];
  for (let i = 0; i < words; i++) {
    let word = "";
    seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
    const length = 2 + (seed % 8);
    for (let j = 0; j < length; j++) {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
      word += String.fromCharCode(97 + (seed % 26));
    }
    out.push(word);
  }
  return out.join(" ");
}
