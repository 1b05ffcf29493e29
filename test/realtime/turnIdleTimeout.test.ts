// server_vad's `turn_detection.idle_timeout_ms` (OpenAI, 2026) over a raw `ws` client: timed on the audio timeline,
// it commits the turn in progress, or each quiet stretch after one, with `input_audio_buffer.timeout_triggered`.
// The turns themselves are in turns.test.ts; the session's own idle timeout (closing a silent client) in
// sessionLimits.test.ts.
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { COMPLETED, RealtimeClient, realtimeUrl, REALTIME_RATE, silentPcm, spokenTurns, type ServerEvent, type SpokenTurns } from "../support/realtime.js";
import { startTestServer, type TestServer, WINDOW_TEXT } from "../support/server.js";

const TIMEOUT = "input_audio_buffer.timeout_triggered";
const IDLE_MS = 5000;

let server: TestServer;
let sentence: SpokenTurns;

beforeAll(async () => {
  server = await startTestServer();
  // 500 ms of silence, one sentence, nothing after it: each test sends the silence it needs.
  sentence = await spokenTurns(["The quick brown fox jumps over the lazy dog."], { leadMs: 500, gapMs: 0 });
});
afterAll(async () => {
  await server?.close();
});

/** Resolves once the server has handled every event sent before it (client events are handled in order). */
async function handled(client: RealtimeClient, id: string): Promise<void> {
  client.send({ type: "earshot.sync", event_id: id });
  await client.until(`error for ${id}`, (events) => events.some((e) => e.type === "error" && e.error.event_id === id));
}

function update(client: RealtimeClient, session: Record<string, unknown>, eventId?: string): void {
  client.send({ type: "session.update", ...(eventId ? { event_id: eventId } : {}), session: { type: "transcription", ...session } });
}

/** The error event answering the client event `eventId`. */
function errorFor(client: RealtimeClient, eventId: string): Promise<ServerEvent> {
  return client.until(`error for ${eventId}`, (events) => events.find((e) => e.type === "error" && e.error.event_id === eventId));
}

describe("turn_detection.idle_timeout_ms", () => {
  it("commits a turn the VAD has not ended once idle_timeout_ms of audio holds no speech, on the audio timeline", async () => {
    const client = await RealtimeClient.open(realtimeUrl(server.url));
    // A silence duration the VAD will not reach: only the idle timeout can end the turn.
    update(client, { audio: { input: { turn_detection: { type: "server_vad", silence_duration_ms: 10_000, idle_timeout_ms: IDLE_MS } } } });
    const updated = await client.next("session.updated");
    expect(updated.session.audio.input.turn_detection).toMatchObject({ type: "server_vad", silence_duration_ms: 10_000, idle_timeout_ms: IDLE_MS });

    const speechEndMs = sentence.sentences[0]!.endMs;
    await client.streamAudio(Buffer.concat([sentence.pcm, silentPcm(IDLE_MS - 1000)]), { chunkMs: 100 });
    await handled(client, "evt_sync_1");
    const started = await client.next("input_audio_buffer.speech_started");
    // 4 s of quiet audio is not enough, however long the wall clock has run since the speech.
    await new Promise((resolve) => setTimeout(resolve, IDLE_MS + 200));
    expect(client.all(TIMEOUT)).toHaveLength(0);
    expect(client.all("input_audio_buffer.speech_stopped")).toHaveLength(0);
    expect(client.all("input_audio_buffer.committed")).toHaveLength(0);

    // Two more seconds of audio (sent at once) pass the idle time.
    await client.streamAudio(silentPcm(2000), { chunkMs: 100 });
    const timeout = await client.next(TIMEOUT);
    const sentMs = (sentence.pcm.length / 2 / REALTIME_RATE) * 1000 + IDLE_MS + 1000;
    expect(timeout).toEqual({ type: TIMEOUT, event_id: expect.stringMatching(/^event_/), audio_start_ms: expect.any(Number), audio_end_ms: expect.any(Number), item_id: started.item_id, t: expect.any(Number) });
    // The quiet stretch starts where the speech ended (Silero hears its last syllable a little longer) ...
    expect(timeout.audio_start_ms).toBeGreaterThanOrEqual(speechEndMs - 300);
    expect(timeout.audio_start_ms).toBeLessThanOrEqual(speechEndMs + 500);
    // ... and lasts the idle time, to within a VAD frame (32 ms).
    expect(timeout.audio_end_ms - timeout.audio_start_ms).toBeGreaterThanOrEqual(IDLE_MS);
    expect(timeout.audio_end_ms - timeout.audio_start_ms).toBeLessThanOrEqual(IDLE_MS + 40);
    expect(timeout.audio_end_ms).toBeLessThanOrEqual(sentMs);

    // The turn ends there and is committed and transcribed like any other.
    const completed = await client.next(COMPLETED);
    const stopped = client.all("input_audio_buffer.speech_stopped");
    const committed = client.all("input_audio_buffer.committed");
    expect(stopped).toHaveLength(1);
    expect(stopped[0]).toMatchObject({ item_id: started.item_id, audio_end_ms: timeout.audio_end_ms });
    expect(committed).toHaveLength(1);
    expect(committed[0]).toMatchObject({ item_id: started.item_id, previous_item_id: null });
    expect(completed.item_id).toBe(started.item_id);
    expect(completed.transcript.length).toBeGreaterThan(0);
    expect(WINDOW_TEXT.startsWith(completed.transcript)).toBe(true);
    expect(completed).not.toHaveProperty("languages");
    const at = (e: ServerEvent) => client.events.indexOf(e);
    expect(at(stopped[0]!)).toBeLessThan(at(timeout));
    expect(at(timeout)).toBeLessThan(at(committed[0]!));
    expect(at(committed[0]!)).toBeLessThan(at(completed));
    expect(client.closed).toBeUndefined();
    await client.close();
  });

  it("after a turn the VAD ended, commits each idle stretch as an item with no speech", async () => {
    const client = await RealtimeClient.open(realtimeUrl(server.url));
    update(client, { audio: { input: { turn_detection: { type: "server_vad", idle_timeout_ms: IDLE_MS } } } });
    await client.next("session.updated");
    // The turn ends 500 ms after the speech; then two idle stretches and a bit.
    await client.streamAudio(Buffer.concat([sentence.pcm, silentPcm(500 + 2 * IDLE_MS + 400)]), { chunkMs: 100 });
    const [first, second] = await client.count(TIMEOUT, 2);
    const stopped = await client.next("input_audio_buffer.speech_stopped");
    expect(client.all("input_audio_buffer.speech_stopped")).toHaveLength(1);
    expect(first!.audio_start_ms).toBe(stopped.audio_end_ms);
    expect(first!.audio_end_ms - first!.audio_start_ms).toBeGreaterThanOrEqual(IDLE_MS);
    expect(first!.audio_end_ms - first!.audio_start_ms).toBeLessThanOrEqual(IDLE_MS + 40);
    // The countdown starts over at the timeout.
    expect(second!.audio_start_ms).toBe(first!.audio_end_ms);
    expect(second!.audio_end_ms - second!.audio_start_ms).toBeLessThanOrEqual(IDLE_MS + 40);

    // Three items in order: the spoken turn, then each quiet stretch (nothing in it to transcribe).
    const completed = await client.count(COMPLETED, 3);
    const committed = client.all("input_audio_buffer.committed");
    expect(committed.map((e) => e.item_id)).toEqual([stopped.item_id, first!.item_id, second!.item_id]);
    expect(committed[1]!.previous_item_id).toBe(stopped.item_id);
    expect(new Set([stopped.item_id, first!.item_id, second!.item_id]).size).toBe(3);
    expect(completed.map((e) => e.item_id)).toEqual(committed.map((e) => e.item_id));
    expect(completed[0]!.transcript.length).toBeGreaterThan(0);
    expect(completed[1]!.transcript).toBe("");
    expect(completed[2]!.transcript).toBe("");
    // A quiet stretch is about idle_timeout_ms of audio (usage in whole seconds, rounded up).
    expect(completed[1]!.usage.seconds).toBeGreaterThanOrEqual(IDLE_MS / 1000);
    expect(completed[1]!.usage.seconds).toBeLessThanOrEqual(IDLE_MS / 1000 + 1);
    await client.count("conversation.item.done", 3);
    await client.close();
  });

  it("is refused out of OpenAI's range (5000-30000 ms) and with semantic_vad, naming the param", async () => {
    const client = await RealtimeClient.open(realtimeUrl(server.url));
    update(client, { audio: { input: { turn_detection: { type: "server_vad", idle_timeout_ms: 4999 } } } }, "evt_low");
    update(client, { audio: { input: { turn_detection: { type: "server_vad", idle_timeout_ms: 30_001 } } } }, "evt_high");
    update(client, { audio: { input: { turn_detection: { type: "semantic_vad", idle_timeout_ms: 6000 } } } }, "evt_semantic");
    client.send({ type: "transcription_session.update", event_id: "evt_beta", session: { turn_detection: { type: "server_vad", idle_timeout_ms: 1000 } } });
    for (const id of ["evt_low", "evt_high", "evt_semantic"]) {
      expect((await errorFor(client, id)).error).toMatchObject({ type: "invalid_request_error", code: "invalid_value", param: "session.audio.input.turn_detection.idle_timeout_ms" });
    }
    expect((await errorFor(client, "evt_beta")).error).toMatchObject({ code: "invalid_value", param: "session.turn_detection.idle_timeout_ms" });
    expect(client.all("session.updated")).toHaveLength(0);
    // null turns it off again.
    update(client, { audio: { input: { turn_detection: { type: "server_vad", idle_timeout_ms: null } } } });
    expect((await client.next("session.updated")).session.audio.input.turn_detection.idle_timeout_ms).toBeNull();
    await client.close();
  });
});
