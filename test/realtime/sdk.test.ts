// The official openai package's Node realtime clients (GA `openai/realtime/ws` and beta `openai/beta/realtime/ws`),
// unmodified, against a real server serving WSS with its generated self-signed certificate: the SDK always
// connects with wss://, trusting the certificate through the `ws` options it passes through.
import fs from "node:fs";

import OpenAI from "openai";
import { OpenAIRealtimeWS as BetaRealtimeWS } from "openai/beta/realtime/ws";
import { OpenAIRealtimeWS } from "openai/realtime/ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { spokenTurns, type SpokenTurns } from "../support/realtime.js";
import { startTestServer, type TestServer, waitFor, WINDOW_TEXT } from "../support/server.js";

const KEY = "sk-earshot-sdk-test-key";
const SENTENCES = ["The quick brown fox jumps over the lazy dog.", "Testing one, two, three."];

let server: TestServer;
let cert: string;
let audio: SpokenTurns;

beforeAll(async () => {
  server = await startTestServer({ apiKeys: KEY, tlsSelfSigned: "true" });
  cert = fs.readFileSync(server.server.tls!.certPath, "utf8");
  audio = await spokenTurns(SENTENCES, { gapMs: 1200 });
});
afterAll(async () => {
  await server?.close();
});

/** Sends the audio in 100-ms appends through the SDK's `send`. */
function stream(send: (event: { type: "input_audio_buffer.append"; audio: string }) => void, pcm: Buffer): void {
  for (let offset = 0; offset < pcm.length; offset += 4800) {
    send({ type: "input_audio_buffer.append", audio: pcm.subarray(offset, offset + 4800).toString("base64") });
  }
}

function opened(socket: { once(event: "open", listener: () => void): unknown; once(event: "error", listener: (error: Error) => void): unknown }): Promise<void> {
  return new Promise((resolve, reject) => {
    socket.once("open", resolve);
    socket.once("error", reject);
  });
}

describe("official SDK realtime clients over WSS", () => {
  it("serves HTTPS with the self-signed certificate", async () => {
    expect(server.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(server.server.tls).toMatchObject({ selfSigned: true });
    expect(cert).toMatch(/BEGIN CERTIFICATE/);
  });

  it("GA OpenAIRealtimeWS: session.update, VAD turns, transcripts in order", async () => {
    const client = new OpenAI({ apiKey: KEY, baseURL: `${server.url}/v1` });
    const rt = await OpenAIRealtimeWS.create(client, { model: "whisper-1", options: { ca: cert } });
    expect(rt.url.protocol).toBe("wss:");
    const events: Array<{ type: string; [key: string]: any }> = [];
    rt.on("event", (event) => events.push(event));
    const errors: unknown[] = [];
    rt.on("error", (error) => errors.push(error));
    const completed = new Promise<void>((resolve) => {
      rt.on("conversation.item.input_audio_transcription.completed", () => {
        if (events.filter((e) => e.type === "conversation.item.input_audio_transcription.completed").length === SENTENCES.length) resolve();
      });
    });
    await opened(rt.socket);
    rt.send({
      type: "session.update",
      session: { type: "transcription", audio: { input: { format: { type: "audio/pcm", rate: 24000 }, transcription: { model: "whisper-1", language: "en" } } } },
    });
    await new Promise<void>((resolve) => rt.once("session.updated", () => resolve()));
    stream((event) => rt.send(event), audio.pcm);
    await completed;
    rt.close();

    expect(errors).toEqual([]);
    expect(events[0]!.type).toBe("session.created");
    const turnEvents = events
      .map((e) => e.type)
      .filter((t) => t.startsWith("input_audio_buffer.") || t === "conversation.item.input_audio_transcription.completed");
    // Each sentence's turn is announced in order; completions follow their commits.
    expect(turnEvents.filter((t) => t !== "conversation.item.input_audio_transcription.completed")).toEqual([
      "input_audio_buffer.speech_started",
      "input_audio_buffer.speech_stopped",
      "input_audio_buffer.committed",
      "input_audio_buffer.speech_started",
      "input_audio_buffer.speech_stopped",
      "input_audio_buffer.committed",
    ]);
    const committed = events.filter((e) => e.type === "input_audio_buffer.committed").map((e) => e.item_id);
    const transcripts = events.filter((e) => e.type === "conversation.item.input_audio_transcription.completed");
    expect(transcripts.map((e) => e.item_id)).toEqual(committed);
    for (const event of transcripts) expect(WINDOW_TEXT.startsWith(event.transcript)).toBe(true);
  });

  it("GA OpenAIRealtimeWS with gpt-live-transcribe, manual commits, per delay: deltas before the commit, the turn at it", async () => {
    const client = new OpenAI({ apiKey: KEY, baseURL: `${server.url}/v1` });
    // Both sentences as one turn (~6 s): time for a few live passes to agree even on a loaded machine.
    const first = audio.pcm.subarray(0, Math.round((audio.sentences[1]!.endMs + 300) * 48));
    for (const delay of ["minimal", "medium"] as const) {
      const rt = await OpenAIRealtimeWS.create(client, { model: "gpt-live-transcribe", options: { ca: cert } });
      const events: Array<{ type: string; [key: string]: any }> = [];
      rt.on("event", (event) => events.push(event));
      const errors: unknown[] = [];
      rt.on("error", (error) => errors.push(error));
      await opened(rt.socket);
      rt.send({
        type: "session.update",
        session: { type: "transcription", audio: { input: { format: { type: "audio/pcm", rate: 24000 }, transcription: { model: "gpt-live-transcribe", language: "en", delay }, turn_detection: null } } },
      });
      const updated = await new Promise<{ session: Record<string, any> }>((resolve) => rt.once("session.updated", (event) => resolve(event as never)));
      expect(updated.session.audio.input.transcription).toMatchObject({ model: "gpt-live-transcribe", delay });
      // 100-ms appends at the pace a microphone delivers them.
      const started = Date.now();
      for (let offset = 0, n = 0; offset < first.length; offset += 4800, n++) {
        rt.send({ type: "input_audio_buffer.append", audio: first.subarray(offset, offset + 4800).toString("base64") });
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, started + (n + 1) * 100 - Date.now())));
      }
      const deltasBeforeCommit = events.filter((e) => e.type === "conversation.item.input_audio_transcription.delta").length;
      const completed = new Promise<{ item_id: string; transcript: string }>((resolve) =>
        rt.on("conversation.item.input_audio_transcription.completed", (event) => resolve(event)),
      );
      rt.send({ type: "input_audio_buffer.commit" });
      const done = await completed;
      rt.close();
      expect(errors).toEqual([]);
      expect(deltasBeforeCommit, `delay ${delay}`).toBeGreaterThan(0);
      const deltas = events.filter((e) => e.type === "conversation.item.input_audio_transcription.delta");
      expect(deltas.every((e) => e.item_id === done.item_id)).toBe(true);
      expect(deltas.map((e) => e.delta).join("")).toBe(done.transcript);
      expect(events.find((e) => e.type === "input_audio_buffer.committed")!.item_id).toBe(done.item_id);
    }
  });

  it("beta OpenAIRealtimeWS: transcription_session.update and the beta event names", async () => {
    const client = new OpenAI({ apiKey: KEY, baseURL: `${server.url}/v1` });
    const rt = new BetaRealtimeWS({ model: "whisper-1", options: { ca: cert } }, client);
    const events: Array<{ type: string; [key: string]: any }> = [];
    rt.on("event", (event) => events.push(event));
    rt.on("error", (error) => events.push({ type: "sdk-error", error }));
    await opened(rt.socket);
    // The beta SDK types no transcription_session.created; it arrives through the catch-all "event".
    await waitFor("transcription_session.created", async () => events.some((e) => e.type === "transcription_session.created"));
    expect(events[0]!.session).toMatchObject({ object: "realtime.transcription_session", input_audio_format: "pcm16" });
    rt.send({
      type: "transcription_session.update",
      session: { input_audio_format: "pcm16", input_audio_transcription: { model: "whisper-1" }, turn_detection: { type: "server_vad", silence_duration_ms: 600 } },
    });
    const updated = await new Promise<{ session: Record<string, any> }>((resolve) => rt.once("transcription_session.updated", (event) => resolve(event as never)));
    expect(updated.session).toMatchObject({ input_audio_format: "pcm16", turn_detection: { type: "server_vad", silence_duration_ms: 600 } });
    const done = new Promise<void>((resolve) => rt.on("conversation.item.input_audio_transcription.completed", () => resolve()));
    stream((event) => rt.send(event), audio.pcm.subarray(0, Math.round((audio.sentences[0]!.endMs + 1000) * 48)));
    await done;
    rt.close();
    const types = events.map((e) => e.type);
    expect(types).not.toContain("sdk-error");
    expect(types).toContain("conversation.item.created");
    expect(types).not.toContain("conversation.item.added");
  });

  it("the SDK's own error event surfaces a refused connection", async () => {
    const client = new OpenAI({ apiKey: "sk-wrong", baseURL: `${server.url}/v1` });
    const rt = new OpenAIRealtimeWS({ model: "whisper-1", options: { ca: cert } }, client);
    const error = await new Promise<Error>((resolve) => rt.on("error", resolve));
    expect(error.message).toMatch(/401/);
  });
});
