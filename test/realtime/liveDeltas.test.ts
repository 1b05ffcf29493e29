// Live text on OpenAI's standard events: `conversation.item.input_audio_transcription.delta` while a turn is still
// being spoken (before its commit), append-only, with `completed` carrying the whole turn — for the live model ids
// (gpt-live-transcribe, gpt-realtime-whisper) in manual commit mode, and for any model that sets `delay`, with server
// VAD. Audio is paced in real time, as a microphone sends it.
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { COMPLETED, RealtimeClient, realtimeUrl, spokenTurns, type ServerEvent, type SpokenTurns } from "../support/realtime.js";
import { startTestServer, type TestServer } from "../support/server.js";

const DELTA = "conversation.item.input_audio_transcription.delta";
const LONG_SENTENCE = "Earshot is a self hosted speech to text server. It accepts audio in many formats and answers quickly.";

let server: TestServer;
let long: SpokenTurns;
let two: SpokenTurns;

beforeAll(async () => {
  server = await startTestServer();
  [long, two] = await Promise.all([
    spokenTurns([LONG_SENTENCE], { gapMs: 300, leadMs: 300 }),
    spokenTurns([LONG_SENTENCE, "Testing one, two, three."], { gapMs: 1200 }),
  ]);
});
afterAll(async () => {
  await server?.close();
});

function deltasOf(client: RealtimeClient, itemId: string): ServerEvent[] {
  return client.all(DELTA).filter((e) => e.item_id === itemId);
}

function session(transcription: Record<string, unknown>, turnDetection?: null) {
  return { type: "session.update", session: { type: "transcription", audio: { input: { transcription, ...(turnDetection === null ? { turn_detection: null } : {}) } } } };
}

describe("live deltas, manual commits (the live models' mode)", () => {
  for (const model of ["gpt-live-transcribe", "gpt-realtime-whisper"]) {
    it(`${model}: deltas while the turn is spoken, the whole turn in completed`, async () => {
      const client = await RealtimeClient.open(realtimeUrl(server.url));
      client.send(session({ model, language: "en" }, null));
      const updated = await client.next("session.updated");
      expect(updated.session.audio.input.transcription.model).toBe(model);
      expect(updated.session.audio.input.turn_detection).toBeNull();

      await client.streamAudio(long.pcm, { chunkMs: 100, realtime: true });
      // Deltas came while the audio was still arriving: before the commit was even sent.
      const early = client.all(DELTA);
      expect(early.length).toBeGreaterThan(0);
      client.send({ type: "input_audio_buffer.commit" });
      const committed = await client.next("input_audio_buffer.committed");
      const completed = await client.next(COMPLETED);
      expect(completed.item_id).toBe(committed.item_id);
      // The deltas named the item the commit then created.
      for (const delta of early) expect(delta.item_id).toBe(committed.item_id);
      const deltas = deltasOf(client, committed.item_id);
      expect(deltas.map((d) => d.delta).join("")).toBe(completed.transcript);
      expect(completed.transcript.length).toBeGreaterThan(0);
      for (const delta of deltas) expect(client.events.indexOf(delta)).toBeLessThan(client.events.indexOf(completed));
      // The Earshot extension's partial event is only for sessions that ask for it.
      expect(client.all("conversation.item.input_audio_transcription.partial")).toEqual([]);
      await client.close();
    });
  }

  it("a clear drops the turn's live text: the next commit is a new item, its deltas its own", async () => {
    const client = await RealtimeClient.open(realtimeUrl(server.url));
    client.send(session({ model: "gpt-live-transcribe", language: "en", delay: "minimal" }, null));
    await client.next("session.updated");
    await client.streamAudio(long.pcm, { chunkMs: 100, realtime: true });
    const dropped = (await client.next(DELTA)).item_id as string;
    client.send({ type: "input_audio_buffer.clear" });
    await client.next("input_audio_buffer.cleared");
    await client.streamAudio(long.pcm, { chunkMs: 100, realtime: true });
    client.send({ type: "input_audio_buffer.commit" });
    const committed = await client.next("input_audio_buffer.committed");
    const completed = await client.next(COMPLETED);
    expect(committed.item_id).not.toBe(dropped);
    expect(deltasOf(client, committed.item_id).map((d) => d.delta).join("")).toBe(completed.transcript);
    expect(client.all(COMPLETED)).toHaveLength(1);
    await client.close();
  });
});

describe("live deltas with server VAD, per delay level", () => {
  /** Streams two turns in real time; returns, per level, when the first delta came after the stream started. */
  async function run(delay: string): Promise<{ client: RealtimeClient; firstDeltaMs: number }> {
    const client = await RealtimeClient.open(realtimeUrl(server.url));
    client.send(session({ model: "whisper-1", language: "en", delay }));
    expect((await client.next("session.updated")).session.audio.input.transcription.delay).toBe(delay);
    const started = Date.now();
    await client.streamAudio(two.pcm, { chunkMs: 100, realtime: true });
    await client.next(COMPLETED, 1, 30_000);
    return { client, firstDeltaMs: (client.all(DELTA)[0]!.t as number) - started };
  }

  it("minimal and xhigh: deltas before each commit, in turn order, concatenating to each transcript", async () => {
    const results: Record<string, number> = {};
    for (const delay of ["minimal", "xhigh"]) {
      const { client, firstDeltaMs } = await run(delay);
      results[delay] = firstDeltaMs;
      const committed = client.all("input_audio_buffer.committed");
      const completed = client.all(COMPLETED);
      expect(committed).toHaveLength(2);
      at: for (const [i, commit] of committed.entries()) {
        const deltas = deltasOf(client, commit.item_id);
        expect(deltas.map((d) => d.delta).join("")).toBe(completed[i]!.transcript);
        if (i > 0) {
          // Live text of a turn goes out after every earlier turn's events: a client concatenating deltas reads turns in order.
          for (const delta of deltas) expect(client.events.indexOf(delta)).toBeGreaterThan(client.events.indexOf(completed[i - 1]!));
          continue at;
        }
        // The long first turn: text arrived while it was being spoken.
        expect(client.events.indexOf(deltas[0]!)).toBeLessThan(client.events.indexOf(commit));
        expect(client.events.indexOf(deltas[0]!)).toBeLessThan(client.events.indexOf(client.all("input_audio_buffer.speech_stopped")[0]!));
      }
      await client.close();
    }
    // One agreeing pass shows words sooner than three passes a second apart.
    expect(results.minimal!).toBeLessThan(results.xhigh!);
  });
});
