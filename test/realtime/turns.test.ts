// Realtime transcription over a raw `ws` client against a real server on loopback: server VAD turns (as fast as
// possible and paced in real time), manual commit mode, G.711 input, logprobs and live partials.
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { encodeUlaw } from "../../src/audio/realtime/g711.js";
import {
  COMPLETED,
  RealtimeClient,
  realtimeUrl,
  REALTIME_RATE,
  resamplePcm16,
  spokenTurns,
  type ServerEvent,
  type SpokenTurns,
} from "../support/realtime.js";
import { startTestServer, type TestServer, WINDOW_TEXT } from "../support/server.js";

const SENTENCES = ["The quick brown fox jumps over the lazy dog.", "Testing one, two, three.", "The weather today is sunny."];

let server: TestServer;
let turns: SpokenTurns;

beforeAll(async () => {
  server = await startTestServer();
  turns = await spokenTurns(SENTENCES, { gapMs: 1200 });
});
afterAll(async () => {
  await server?.close();
});

/** Checks one VAD turn per sentence, each in order: started → stopped → committed → completed, ids chained. */
function expectTurnPerSentence(client: RealtimeClient, audio: SpokenTurns): ServerEvent[] {
  const started = client.all("input_audio_buffer.speech_started");
  const stopped = client.all("input_audio_buffer.speech_stopped");
  const committed = client.all("input_audio_buffer.committed");
  const completed = client.all(COMPLETED);
  expect(started).toHaveLength(audio.sentences.length);
  expect(stopped).toHaveLength(audio.sentences.length);
  expect(committed).toHaveLength(audio.sentences.length);
  expect(completed).toHaveLength(audio.sentences.length);
  audio.sentences.forEach((sentence, i) => {
    const itemId = started[i]!.item_id as string;
    expect(itemId).toMatch(/^item_/);
    // audio_start_ms includes the 300 ms prefix padding; audio_end_ms the 500 ms of silence that ended the turn.
    expect(started[i]!.audio_start_ms).toBeGreaterThanOrEqual(sentence.startMs - 300 - 100);
    expect(started[i]!.audio_start_ms).toBeLessThanOrEqual(sentence.startMs - 300 + 150);
    expect(stopped[i]!.audio_end_ms).toBeGreaterThanOrEqual(sentence.endMs + 500 - 100);
    expect(stopped[i]!.audio_end_ms).toBeLessThanOrEqual(sentence.endMs + 500 + 300);
    expect(stopped[i]!.item_id).toBe(itemId);
    expect(committed[i]!.item_id).toBe(itemId);
    expect(committed[i]!.previous_item_id).toBe(i === 0 ? null : committed[i - 1]!.item_id);
    expect(completed[i]!.item_id).toBe(itemId);
    expect(completed[i]!.content_index).toBe(0);
    expect(completed[i]!.usage).toEqual({ type: "duration", seconds: expect.any(Number) });
    // Order within the turn, and completions in commit order.
    const at = (e: ServerEvent) => client.events.indexOf(e);
    expect(at(started[i]!)).toBeLessThan(at(stopped[i]!));
    expect(at(stopped[i]!)).toBeLessThan(at(committed[i]!));
    expect(at(committed[i]!)).toBeLessThan(at(completed[i]!));
    if (i > 0) expect(at(completed[i - 1]!)).toBeLessThan(at(completed[i]!));
    // Deltas of the turn add up to its transcript.
    const deltas = client.all("conversation.item.input_audio_transcription.delta").filter((d) => d.item_id === itemId);
    expect(deltas.length).toBeGreaterThan(0);
    expect(deltas.map((d) => d.delta).join("")).toBe(completed[i]!.transcript);
    expect(WINDOW_TEXT.startsWith(completed[i]!.transcript as string)).toBe(true);
  });
  return completed;
}

describe("realtime transcription, server VAD (GA events over raw ws)", () => {
  it("announces the session on connect", async () => {
    const client = await RealtimeClient.connect(realtimeUrl(server.url));
    const created = await client.next("session.created");
    expect(created.event_id).toMatch(/^event_/);
    expect(created.session).toMatchObject({
      type: "transcription",
      object: "realtime.transcription_session",
      id: expect.stringMatching(/^sess_/),
      audio: {
        input: {
          format: { type: "audio/pcm", rate: 24000 },
          transcription: { model: expect.any(String), language: null },
          turn_detection: { type: "server_vad", threshold: 0.5, prefix_padding_ms: 300, silence_duration_ms: 500 },
        },
      },
    });
    await client.close();
  });

  it("finds one turn per sentence when audio arrives as fast as possible", async () => {
    const client = await RealtimeClient.open(realtimeUrl(server.url));
    await client.streamAudio(turns.pcm, { chunkMs: 40 });
    await client.count(COMPLETED, SENTENCES.length, 60_000);
    const completed = expectTurnPerSentence(client, turns);
    // The generated model reads any turn as the start of WINDOW_TEXT (segments at 0–2 s and 3–6 s).
    expect(completed.map((e) => e.transcript)).toEqual(["one two three four five six", "one two three", "one two three"]);
    // GA also reports the items: added at commit, done with the transcript.
    expect(client.all("conversation.item.added").map((e) => e.item.id)).toEqual(completed.map((e) => e.item_id));
    const done = await client.count("conversation.item.done", SENTENCES.length);
    expect(done.map((e) => e.item.content[0].transcript)).toEqual(completed.map((e) => e.transcript));
    expect(client.closed).toBeUndefined();
    await client.close();
  });

  it("transcribes each turn while the next is still being spoken when paced in real time", async () => {
    const audio = await spokenTurns(SENTENCES, { gapMs: 1500 });
    const client = await RealtimeClient.open(realtimeUrl(server.url));
    const started = Date.now();
    await client.streamAudio(audio.pcm, { chunkMs: 100, realtime: true });
    const streamedMs = Date.now() - started;
    expect(streamedMs).toBeGreaterThan((audio.pcm.length / 2 / REALTIME_RATE) * 1000 - 200);
    await client.count(COMPLETED, SENTENCES.length, 30_000);
    expectTurnPerSentence(client, audio);
    // The first turn was transcribed before the client finished sending the second.
    const firstCompleted = client.all(COMPLETED)[0]! as ServerEvent & { t: number };
    expect(firstCompleted.t - started).toBeLessThan(streamedMs);
    await client.close();
  });

  it("accepts G.711 μ-law at 8 kHz after session.update", async () => {
    const client = await RealtimeClient.open(realtimeUrl(server.url));
    client.send({ type: "session.update", event_id: "evt_fmt", session: { type: "transcription", audio: { input: { format: { type: "audio/pcmu" } } } } });
    const updated = await client.next("session.updated");
    expect(updated.session.audio.input.format).toEqual({ type: "audio/pcmu" });
    const pcm8k = await resamplePcm16(turns.pcm, 8000);
    const ulaw = Buffer.from(encodeUlaw(new Int16Array(pcm8k.buffer, pcm8k.byteOffset, pcm8k.length / 2)));
    await client.streamAudio(ulaw, { chunkMs: 20, bytesPerSecond: 8000 });
    await client.count(COMPLETED, SENTENCES.length, 60_000);
    expectTurnPerSentence(client, turns);
    await client.close();
  });

  it("adds logprobs to deltas and completions when the session includes them", async () => {
    const client = await RealtimeClient.open(realtimeUrl(server.url));
    client.send({ type: "session.update", session: { type: "transcription", include: ["item.input_audio_transcription.logprobs"] } });
    expect((await client.next("session.updated")).session.include).toEqual(["item.input_audio_transcription.logprobs"]);
    const audio = await spokenTurns(SENTENCES.slice(1, 2), { gapMs: 800 });
    await client.streamAudio(audio.pcm);
    const completed = await client.next(COMPLETED);
    expect(completed.logprobs.length).toBeGreaterThan(0);
    for (const entry of completed.logprobs) {
      expect(entry).toEqual({ token: expect.any(String), logprob: expect.any(Number), bytes: expect.any(Array) });
      expect(entry.logprob).toBeLessThanOrEqual(0);
    }
    expect(completed.logprobs.map((l: { token: string }) => l.token).join("").trim()).toBe(completed.transcript);
    expect(client.all("conversation.item.input_audio_transcription.delta")[0]!.logprobs.length).toBeGreaterThan(0);
    await client.close();
  });

  it("sends live partials that settle into the final transcript (Earshot extension)", async () => {
    const client = await RealtimeClient.open(realtimeUrl(server.url));
    // A fixed language spares each pass language detection, so several passes fit in the turn.
    client.send({ type: "session.update", session: { type: "transcription", audio: { input: { transcription: { language: "en", live_partials: true } } } } });
    expect((await client.next("session.updated")).session.audio.input.transcription.live_partials).toBe(true);
    const audio = await spokenTurns(["Earshot is a self hosted speech to text server. It accepts audio in many formats."], { gapMs: 800 });
    await client.streamAudio(audio.pcm, { chunkMs: 100, realtime: true });
    const completed = await client.next(COMPLETED, 0, 30_000);
    const itemId = client.all("input_audio_buffer.speech_started")[0]!.item_id;
    const partials = client.all("conversation.item.input_audio_transcription.partial");
    expect(partials.length).toBeGreaterThan(0);
    const committedAt = client.events.indexOf(client.all("input_audio_buffer.committed")[0]!);
    let text = "";
    for (const partial of partials) {
      expect(partial.item_id).toBe(itemId);
      expect(client.events.indexOf(partial)).toBeLessThan(committedAt);
      text += partial.delta;
      expect(partial.transcript).toBe(text);
      expect(typeof partial.unstable).toBe("string");
    }
    expect(text.length).toBeGreaterThan(0);
    expect((completed.transcript as string).startsWith(text)).toBe(true);
    await client.close();
  });
});

describe("realtime transcription, beta dialect over raw ws", () => {
  it("reads flat beta settings and GA-shaped ones alike", async () => {
    const client = await RealtimeClient.connect(realtimeUrl(server.url), { headers: { "OpenAI-Beta": "realtime=v1" } });
    expect((await client.next("transcription_session.created")).session).toMatchObject({ input_audio_format: "pcm16" });
    client.send({ type: "session.update", session: { input_audio_format: "g711_alaw", turn_detection: { type: "server_vad", silence_duration_ms: 650 } } });
    expect((await client.next("session.updated")).session).toMatchObject({ input_audio_format: "g711_alaw", turn_detection: { silence_duration_ms: 650 } });
    client.send({ type: "session.update", session: { type: "transcription", audio: { input: { format: { type: "audio/pcm", rate: 24000 } } } } });
    expect((await client.next("session.updated", 1)).session.audio.input.format).toEqual({ type: "audio/pcm", rate: 24000 });
    await client.streamAudio(turns.pcm.subarray(0, Math.round((turns.sentences[0]!.endMs + 1000) * 48)));
    const completed = await client.next(COMPLETED);
    expect(client.all("conversation.item.created").map((e) => e.item.id)).toEqual([completed.item_id]);
    await client.close();
  });
});

describe("realtime transcription, manual commits", () => {
  it("commits on the client's command, refuses an empty buffer, and clears", async () => {
    const client = await RealtimeClient.open(realtimeUrl(server.url));
    client.send({ type: "session.update", session: { type: "transcription", audio: { input: { turn_detection: null } } } });
    expect((await client.next("session.updated")).session.audio.input.turn_detection).toBeNull();

    client.send({ type: "input_audio_buffer.commit", event_id: "evt_empty" });
    const error = await client.next("error");
    expect(error.error).toMatchObject({ type: "invalid_request_error", code: "input_audio_buffer_commit_empty", event_id: "evt_empty" });

    const audio = await spokenTurns(SENTENCES.slice(0, 2), { gapMs: 1200 });
    await client.streamAudio(audio.pcm);
    client.send({ type: "input_audio_buffer.commit" });
    const committed = await client.next("input_audio_buffer.committed");
    expect(committed.previous_item_id).toBeNull();
    const completed = await client.next(COMPLETED);
    expect(completed.item_id).toBe(committed.item_id);
    // The whole buffer (two sentences, ~7 s) is one item; no VAD events without turn detection.
    expect(completed.transcript).toBe(WINDOW_TEXT);
    expect(client.all("input_audio_buffer.speech_started")).toHaveLength(0);

    await client.streamAudio(audio.pcm.subarray(0, 48_000));
    client.send({ type: "input_audio_buffer.clear" });
    await client.next("input_audio_buffer.cleared");
    client.send({ type: "input_audio_buffer.commit" });
    expect((await client.next("error", 1)).error.code).toBe("input_audio_buffer_commit_empty");

    await client.streamAudio(audio.pcm.subarray(0, 48_000));
    client.send({ type: "input_audio_buffer.commit" });
    const second = await client.next("input_audio_buffer.committed", 1);
    expect(second.previous_item_id).toBe(committed.item_id);
    await client.next(COMPLETED, 1);
    expect(client.closed).toBeUndefined();
    await client.close();
  });
});
