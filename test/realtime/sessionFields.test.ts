// The realtime session fields OpenAI added in 2026, over raw `ws` clients: the transcription settings `languages[]`
// and `keywords[]` applied to each turn, and fields the SDK types define that are accepted without changing a
// transcript. The same fields over HTTP are in ../server/languagesAndKeywords.test.ts; how session.update reads and
// renders them, without a server, in sessionSettings.test.ts; server_vad's idle_timeout_ms in turnIdleTimeout.test.ts.
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import type { TranscriptionOptions } from "../../src/engine/engine.js";
import { COMPLETED, RealtimeClient, realtimeUrl, silentPcm, spokenTurns, type ServerEvent, type SpokenTurns } from "../support/realtime.js";
import { startTestServer, type TestServer } from "../support/server.js";

let server: TestServer;
let sentence: SpokenTurns;

beforeAll(async () => {
  server = await startTestServer();
  // 500 ms of silence, one sentence, nothing after it: each turn sends the silence that ends it.
  sentence = await spokenTurns(["The quick brown fox jumps over the lazy dog."], { leadMs: 500, gapMs: 0 });
});
afterAll(async () => {
  await server?.close();
});

function update(client: RealtimeClient, session: Record<string, unknown>, eventId?: string): void {
  client.send({ type: "session.update", ...(eventId ? { event_id: eventId } : {}), session: { type: "transcription", ...session } });
}

/** The error event answering the client event `eventId`. */
function errorFor(client: RealtimeClient, eventId: string): Promise<ServerEvent> {
  return client.until(`error for ${eventId}`, (events) => events.find((e) => e.type === "error" && e.error.event_id === eventId));
}

describe("transcription languages[] and keywords[]", () => {
  it("applies them to each turn, echoes them, and names the language in completed", async () => {
    const engine = await server.server.models.engine(server.server.models.find("whisper-1")!);
    const seen: TranscriptionOptions[] = [];
    const transcribe = engine.transcribe.bind(engine);
    engine.transcribe = (pcm, options, hooks) => {
      if (options) seen.push(options);
      return transcribe(pcm, options, hooks);
    };
    try {
      const client = await RealtimeClient.open(realtimeUrl(server.url));
      update(client, { audio: { input: { transcription: { model: "whisper-1", languages: ["German"], keywords: [" Earshot ", "Silero"], prompt: "A demo." } } } });
      const updated = await client.next("session.updated");
      expect(updated.session.audio.input.transcription).toEqual({ model: "whisper-1", language: null, languages: ["de"], keywords: ["Earshot", "Silero"], prompt: "A demo." });
      await client.streamAudio(Buffer.concat([sentence.pcm, silentPcm(800)]));
      const completed = await client.next(COMPLETED);
      expect(completed.transcript.length).toBeGreaterThan(0);
      expect(completed.languages).toEqual([{ code: "de" }]);
      expect(seen.at(-1)).toMatchObject({ languages: ["de"], prompt: "Earshot, Silero. A demo." });

      // Cleared with null: the next turn is detected freely and names no language.
      update(client, { audio: { input: { transcription: { languages: null, keywords: [] } } } });
      expect((await client.next("session.updated", 1)).session.audio.input.transcription).toEqual({ model: "whisper-1", language: null, prompt: "A demo." });
      await client.streamAudio(Buffer.concat([sentence.pcm, silentPcm(800)]));
      const second = await client.next(COMPLETED, 1);
      expect(second).not.toHaveProperty("languages");
      expect(seen.at(-1)).not.toHaveProperty("languages");
      expect(seen.at(-1)!.prompt).toBe("A demo.");
      await client.close();
    } finally {
      delete (engine as { transcribe?: unknown }).transcribe;
    }
  });

  it("refuses a language that is none, and too long a keyword, naming the param; the session is unchanged", async () => {
    const client = await RealtimeClient.open(realtimeUrl(server.url));
    update(client, { audio: { input: { transcription: { languages: ["en", "klingon"] } } } }, "evt_lang");
    update(client, { audio: { input: { transcription: { keywords: ["x".repeat(101)] } } } }, "evt_kw");
    client.send({ type: "transcription_session.update", event_id: "evt_beta", session: { input_audio_transcription: { languages: ["xx"] } } });
    expect((await errorFor(client, "evt_lang")).error).toMatchObject({
      type: "invalid_request_error",
      code: "unsupported_language",
      param: "session.audio.input.transcription.languages",
      message: expect.stringContaining("klingon"),
    });
    expect((await errorFor(client, "evt_kw")).error).toMatchObject({ code: "invalid_value", param: "session.audio.input.transcription.keywords" });
    expect((await errorFor(client, "evt_beta")).error).toMatchObject({ code: "unsupported_language", param: "session.input_audio_transcription.languages" });
    expect(client.all("session.updated")).toHaveLength(0);
    expect(client.all("transcription_session.updated")).toHaveLength(0);
    await client.close();
  });
});

describe("fields the SDK types define that change no transcript", () => {
  it("answers an unknown field over the socket with an error event, and echoes delay", async () => {
    const client = await RealtimeClient.open(realtimeUrl(server.url));
    update(client, { audio: { input: { transcription: { sparkle: 1 } } } }, "evt_unknown");
    expect((await errorFor(client, "evt_unknown")).error).toMatchObject({ code: "unknown_parameter", param: "session.audio.input.transcription.sparkle" });
    update(client, { audio: { input: { transcription: { delay: "high" }, turn_detection: { type: "server_vad", create_response: true } } } });
    expect((await client.next("session.updated")).session.audio.input.transcription.delay).toBe("high");
    await client.close();
  });
});
