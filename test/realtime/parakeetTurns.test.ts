// A Parakeet model behind the one realtime session logic: server VAD turns and live deltas (`delay`), exactly as a
// Whisper model's, with the earlier words a Whisper pass is conditioned on left out (a transducer takes no prompt),
// and a client's prompt for it refused at session.update naming the field.
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { getParakeetTestModelPath } from "../../src/models/testModel/parakeet/index.js";
import { COMPLETED, RealtimeClient, realtimeUrl, spokenTurns, type SpokenTurns } from "../support/realtime.js";
import { startTestServer, type TestServer } from "../support/server.js";

const DELTA = "conversation.item.input_audio_transcription.delta";
const SENTENCES = ["The quick brown fox jumps over the lazy dog.", "Testing one, two, three."];
const LONG_SENTENCE = "Earshot is a self hosted speech to text server. It accepts audio in many formats and answers quickly.";

let server: TestServer;
let turns: SpokenTurns;
let long: SpokenTurns;

beforeAll(async () => {
  server = await startTestServer({ aliases: `whisper-1,parakeet=${await getParakeetTestModelPath("tiny")}` });
  [turns, long] = await Promise.all([spokenTurns(SENTENCES, { gapMs: 1200 }), spokenTurns([LONG_SENTENCE], { gapMs: 300, leadMs: 300 })]);
});
afterAll(async () => {
  await server?.close();
});

function session(transcription: Record<string, unknown>, turnDetection?: null) {
  return { type: "session.update", session: { type: "transcription", audio: { input: { transcription, ...(turnDetection === null ? { turn_detection: null } : {}) } } } };
}

describe("realtime on a Parakeet model", () => {
  it("server VAD: one completed turn per sentence, each with text, deltas adding up to it", async () => {
    const client = await RealtimeClient.open(realtimeUrl(server.url));
    client.send(session({ model: "parakeet" }));
    expect((await client.next("session.updated")).session.audio.input.transcription.model).toBe("parakeet");
    await client.streamAudio(turns.pcm, { chunkMs: 100 });
    const completed = [await client.next(COMPLETED), await client.next(COMPLETED)];
    for (const turn of completed) {
      expect(turn.transcript.length).toBeGreaterThan(0);
      const deltas = client.all(DELTA).filter((d) => d.item_id === turn.item_id);
      expect(deltas.map((d) => d.delta).join("")).toBe(turn.transcript);
    }
    expect(client.all("error")).toEqual([]);
    await client.close();
  });

  it("live deltas while the turn is spoken (delay), the whole turn in completed, no error from the context text", async () => {
    const client = await RealtimeClient.open(realtimeUrl(server.url));
    client.send(session({ model: "parakeet", delay: "minimal" }, null));
    await client.next("session.updated");
    await client.streamAudio(long.pcm, { chunkMs: 100, realtime: true });
    const early = client.all(DELTA);
    expect(early.length).toBeGreaterThan(0);
    client.send({ type: "input_audio_buffer.commit" });
    const committed = await client.next("input_audio_buffer.committed");
    const completed = await client.next(COMPLETED);
    expect(completed.item_id).toBe(committed.item_id);
    const deltas = client.all(DELTA).filter((d) => d.item_id === committed.item_id);
    expect(deltas.map((d) => d.delta).join("")).toBe(completed.transcript);
    expect(completed.transcript.length).toBeGreaterThan(0);
    expect(client.all("error")).toEqual([]);
    await client.close();
  });

  it("a prompt for the Parakeet model is refused at session.update, naming the field; the session keeps its settings", async () => {
    const client = await RealtimeClient.open(realtimeUrl(server.url));
    client.send(session({ model: "parakeet", prompt: "Names: Ada." }));
    const error = await client.next("error");
    expect(error.error.param).toBe("session.audio.input.transcription.prompt");
    expect(error.error.code).toBe("unsupported_parameter");
    client.send(session({ model: "parakeet" }));
    expect((await client.next("session.updated")).session.audio.input.transcription.model).toBe("parakeet");
    await client.close();
  });
});
