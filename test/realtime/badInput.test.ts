// Bad realtime input gets an `error` event and the session goes on; limits hold; other sessions are unaffected.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { getTestModelPath } from "../../src/models/testModel/index.js";

import { COMPLETED, RealtimeClient, realtimeUrl, spokenTurns, type SpokenTurns } from "../support/realtime.js";
import { readyStats, startTestServer, type TestServer } from "../support/server.js";

const MAX_MESSAGE_BYTES = Math.round(0.25 * 1_048_576);

let server: TestServer;
let sentence: SpokenTurns;

beforeAll(async () => {
  server = await startTestServer({ realtimeMaxMessageMb: "0.25", realtimeMaxBufferSeconds: "3" });
  sentence = await spokenTurns(["Testing one, two, three."], { gapMs: 800 });
});
afterAll(async () => {
  await server?.close();
});

const open = () => RealtimeClient.open(realtimeUrl(server.url));

/** The session still works: a spoken sentence becomes a completed transcript. */
async function stillTranscribes(client: RealtimeClient): Promise<void> {
  const before = client.all(COMPLETED).length;
  await client.streamAudio(sentence.pcm);
  await client.next(COMPLETED, before, 30_000);
  expect(client.closed).toBeUndefined();
}

describe("realtime bad input", () => {
  it("answers malformed messages with error events and keeps the session", async () => {
    const client = await open();
    const cases: Array<{ send: () => void; code: string; param?: string; eventId?: string }> = [
      { send: () => client.socket.send("{not json"), code: "invalid_json" },
      { send: () => client.socket.send("[1,2,3]"), code: "invalid_json" },
      { send: () => client.send({ event_id: "e1" }), code: "missing_required_parameter", param: "type", eventId: "e1" },
      { send: () => client.send({ type: "no.such.event", event_id: "e2" }), code: "invalid_value", param: "type", eventId: "e2" },
      { send: () => client.send({ type: "response.create" }), code: "unsupported_event" },
      { send: () => client.send({ type: "input_audio_buffer.append" }), code: "missing_required_parameter", param: "audio" },
      { send: () => client.send({ type: "input_audio_buffer.append", audio: 42 }), code: "invalid_type", param: "audio" },
      { send: () => client.send({ type: "input_audio_buffer.append", audio: "not base64!!" }), code: "invalid_base64", param: "audio" },
      { send: () => client.send({ type: "input_audio_buffer.append", audio: Buffer.from([1, 2, 3]).toString("base64") }), code: "odd_byte_count", param: "audio" },
      { send: () => client.socket.send(Buffer.from([0, 1, 2, 3])), code: "invalid_event" },
      { send: () => client.send({ type: "input_audio_buffer.append", audio: "A".repeat(MAX_MESSAGE_BYTES + 4) }), code: "message_too_large" },
      { send: () => client.send({ type: "session.update", session: { type: "transcription", audio: { input: { turn_detection: { threshold: 2 } } } } }), code: "invalid_value", param: "session.audio.input.turn_detection.threshold" },
      { send: () => client.send({ type: "session.update", session: { type: "transcription", audio: { input: { format: { type: "audio/pcm", rate: 16000 } } } } }), code: "invalid_value", param: "session.audio.input.format" },
      { send: () => client.send({ type: "session.update", session: { type: "transcription", audio: { input: { transcription: { model: "nope" } } } } }), code: "model_not_found", param: "session.audio.input.transcription.model" },
      { send: () => client.send({ type: "session.update", session: { type: "transcription", audio: { input: { transcription: { language: "klingon" } } } } }), code: "invalid_value", param: "session.audio.input.transcription.language" },
      { send: () => client.send({ type: "session.update", session: { type: "realtime" } }), code: "unsupported_session_type", param: "session.type" },
      { send: () => client.send({ type: "session.update", session: { type: "transcription", include: ["everything"] } }), code: "invalid_value", param: "session.include[0]" },
    ];
    for (const [index, testCase] of cases.entries()) {
      testCase.send();
      const error = await client.next("error", index);
      expect(error.error, JSON.stringify(error)).toMatchObject({ type: "invalid_request_error", code: testCase.code });
      expect(error.error.message.length).toBeGreaterThan(10);
      if (testCase.param) expect(error.error.param).toBe(testCase.param);
      if (testCase.eventId) expect(error.error.event_id).toBe(testCase.eventId);
    }
    // None of it changed the session: defaults still in force, and it still transcribes.
    expect(client.all("session.updated")).toHaveLength(0);
    await stillTranscribes(client);
    await client.close();
  });

  it("refuses audio beyond the buffer limit in manual mode, without losing it silently", async () => {
    const client = await open();
    client.send({ type: "session.update", session: { type: "transcription", audio: { input: { turn_detection: null } } } });
    await client.next("session.updated");
    // 4 s of audio into a 3 s buffer: the chunk that would overflow is refused with an error.
    await client.streamAudio(Buffer.alloc(4 * 48_000), { chunkMs: 500 });
    const error = await client.next("error");
    expect(error.error.code).toBe("input_audio_buffer_full");
    client.send({ type: "input_audio_buffer.commit" });
    await client.next("input_audio_buffer.committed");
    await client.next(COMPLETED, 0, 30_000);
    await client.close();
  });

  it("commits a VAD turn that outgrows the buffer, and starts a new turn for the rest", async () => {
    const client = await open();
    const long = await spokenTurns(
      ["Earshot is a self hosted speech to text server. It accepts audio in many formats, decodes it with FFmpeg, and transcribes it."],
      { gapMs: 800 },
    );
    await client.streamAudio(long.pcm);
    await client.until("two turns completed", (events) => events.filter((e) => e.type === COMPLETED).length >= 2 && events, 30_000);
    const stopped = client.all("input_audio_buffer.speech_stopped");
    const started = client.all("input_audio_buffer.speech_started");
    // The first turn was cut at the 3 s limit.
    expect(stopped[0]!.audio_end_ms - started[0]!.audio_start_ms).toBeLessThanOrEqual(3100);
    await client.close();
  });

  it("stays responsive to other sessions and HTTP while one floods audio faster than real time", async () => {
    const flooder = await open();
    const other = await open();
    // Five sentences (~16 s of audio) in 10-ms appends, as fast as the socket takes it.
    const flood = Buffer.concat(Array.from({ length: 5 }, () => sentence.pcm));
    const flooding = flooder.streamAudio(flood, { chunkMs: 10 });
    const health = Date.now();
    const response = await fetch(`${server.url}/health`);
    expect(response.status).toBe(200);
    expect(Date.now() - health).toBeLessThan(1000);
    await stillTranscribes(other);
    await flooding;
    // Every turn of the flood is still transcribed, in order, and the session stayed open.
    await flooder.until("the flood's turns", (events) => {
      const committed = events.filter((e) => e.type === "input_audio_buffer.committed").length;
      return committed >= 5 && events.filter((e) => e.type === COMPLETED).length === committed;
    }, 120_000);
    const ids = flooder.all("input_audio_buffer.committed").map((e) => e.item_id);
    expect(flooder.all(COMPLETED).map((e) => e.item_id)).toEqual(ids);
    expect(flooder.closed).toBeUndefined();
    expect((await readyStats(server.url)).status).toBe("ready");
    await Promise.all([flooder.close(), other.close()]);
  }, 180_000);
});

describe("realtime session limits", () => {
  let limited: TestServer;
  let brokenModelDir: string;
  beforeAll(async () => {
    // A model file cut short inside its weights: its header is a model's (so startup, which sizes every model from its
    // header, takes it) but it does not load, so sessions that pick it get `failed` transcriptions. (Cut before its
    // first tensor, whisper.cpp would load it as an empty model "for testing".)
    brokenModelDir = fs.mkdtempSync(path.join(os.tmpdir(), "earshot-broken-model-"));
    const model = fs.readFileSync(await getTestModelPath("tiny"));
    fs.writeFileSync(path.join(brokenModelDir, "broken.bin"), model.subarray(0, 2 * 1024 * 1024));
    limited = await startTestServer({
      realtimeIdleTimeoutSeconds: "1",
      realtimeMaxSessionMinutes: String(4 / 60),
      extraModels: path.join(brokenModelDir, "broken.bin"),
    });
  });
  afterAll(async () => {
    await limited?.close();
    fs.rmSync(brokenModelDir, { recursive: true, force: true });
  });

  it("reports a turn that cannot be transcribed as failed, and goes on", async () => {
    const client = await RealtimeClient.open(realtimeUrl(limited.url));
    client.send({ type: "session.update", session: { type: "transcription", audio: { input: { transcription: { model: "broken" } } } } });
    await client.next("session.updated");
    // This server closes sessions idle for 1 s: keep talking (silence) while the turn is processed.
    const keepAlive = setInterval(() => client.send({ type: "input_audio_buffer.append", audio: Buffer.alloc(480).toString("base64") }), 300);
    try {
      await client.streamAudio(sentence.pcm);
      const failed = await client.next("conversation.item.input_audio_transcription.failed");
      expect(failed.item_id).toBe(client.all("input_audio_buffer.committed")[0]!.item_id);
      expect(failed.error).toMatchObject({ type: "server_error", message: expect.any(String) });
      expect(client.closed).toBeUndefined();
    } finally {
      clearInterval(keepAlive);
      await client.close();
    }
  });

  it("closes an idle session with an error event first", async () => {
    const client = await RealtimeClient.open(realtimeUrl(limited.url));
    const error = await client.next("error", 0, 5000);
    expect(error.error.code).toBe("idle_timeout");
    await client.until("close", () => client.closed, 5000).catch(() => undefined);
    expect(client.closed?.code).toBe(1000);
  });

  it("closes a session at its maximum length even while it is busy", async () => {
    const client = await RealtimeClient.connect(realtimeUrl(limited.url));
    const created = await client.next("session.created");
    expect(created.session.expires_at - Date.now() / 1000).toBeLessThan(5);
    const keepAlive = setInterval(() => client.send({ type: "input_audio_buffer.append", audio: Buffer.alloc(4800).toString("base64") }), 200);
    try {
      const error = await client.next("error", 0, 8000);
      expect(error.error.code).toBe("session_expired");
      await client.until("close", () => client.closed, 5000).catch(() => undefined);
      expect(client.closed?.code).toBe(1000);
    } finally {
      clearInterval(keepAlive);
    }
  });
});
