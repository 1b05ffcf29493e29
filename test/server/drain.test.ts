// Rolling restarts lose nothing: once shutdown begins, /ready answers 503 "draining", new uploads get 503 with
// Retry-After, realtime sessions stop taking audio, commit the VAD turn in progress, deliver every committed
// turn's `completed` and only then close with 1001; the server closes once all of that is done.
import { afterEach, describe, expect, it } from "vitest";

import { COMPLETED, RealtimeClient, realtimeUrl, spokenTurns } from "../support/realtime.js";
import { speechOfLength } from "../support/engineFixtures.js";
import { encodeWav } from "../support/speech.js";
import { startTestServer, type TestServer, WINDOW_TEXT } from "../support/server.js";

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** Float samples as PCM16 little-endian. */
function pcm16(samples: Float32Array): Buffer {
  const out = Buffer.alloc(samples.length * 2);
  for (let i = 0; i < samples.length; i++) out.writeInt16LE(Math.max(-32768, Math.min(32767, Math.round(samples[i]! * 32767))), i * 2);
  return out;
}

describe("drain on shutdown", () => {
  it("realtime sessions get their committed turns' `completed` before the 1001 close; /ready and new uploads answer 503 meanwhile", async () => {
    server = await startTestServer({ drainTimeoutSeconds: "30", parallelJobs: "1", threadsPerJob: "2" });
    const url = server.url;

    // A: manual commit mode, one long committed turn (~27 s) being transcribed when shutdown starts.
    const manual = await RealtimeClient.open(realtimeUrl(url));
    manual.send({ type: "session.update", session: { type: "transcription", audio: { input: { turn_detection: null } } } });
    await manual.next("session.updated");
    await manual.streamAudio(pcm16(await speechOfLength(40)));
    manual.send({ type: "input_audio_buffer.commit" });
    const committed = await manual.next("input_audio_buffer.committed");

    // B: server VAD, in the middle of a turn (speech started, not stopped) when shutdown starts.
    const vad = await RealtimeClient.open(realtimeUrl(url));
    const spoken = await spokenTurns(["The quick brown fox jumps over the lazy dog."], { gapMs: 0, leadMs: 500 });
    const halfway = Math.round(((spoken.sentences[0]!.startMs + spoken.sentences[0]!.endMs) / 2 / 1000) * 24_000) * 2;
    await vad.streamAudio(spoken.pcm.subarray(0, halfway));
    await vad.next("input_audio_buffer.speech_started");
    // Give the VAD time to see all of it.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(vad.all("input_audio_buffer.speech_stopped")).toHaveLength(0);

    expect(manual.all(COMPLETED), "the turn must still be in flight when shutdown starts").toHaveLength(0);
    const closing = server.server.close();
    let closed = false;
    void closing.then(() => (closed = true));

    const ready = await fetch(`${url}/ready`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({ status: "draining" });

    const form = new FormData();
    form.append("model", "whisper-1");
    form.append("file", new Blob([encodeWav(await speechOfLength(2), 16_000)]), "two.wav");
    const upload = await fetch(`${url}/v1/audio/transcriptions`, { method: "POST", body: form });
    expect(upload.status).toBe(503);
    expect(upload.headers.get("retry-after")).toBe("5");
    expect(await upload.json()).toMatchObject({ error: { type: "server_error", code: "server_shutting_down" } });

    // Audio sent during the drain is refused (one error event), the rest of the session goes on.
    manual.send({ type: "input_audio_buffer.append", audio: Buffer.alloc(4800).toString("base64") });
    expect((await manual.next("error")).error.code).toBe("server_shutting_down");
    expect(closed).toBe(false);

    const completed = await manual.next(COMPLETED, 0, 60_000);
    expect(completed.item_id).toBe(committed.item_id);
    expect(completed.transcript).toBe(WINDOW_TEXT);
    const vadCompleted = await vad.next(COMPLETED, 0, 60_000);
    expect(vad.all("input_audio_buffer.committed")[0]?.item_id).toBe(vadCompleted.item_id);

    await closing;
    for (const client of [manual, vad]) {
      await client.until("the close", () => client.closed, 10_000).catch(() => undefined);
      expect(client.closed?.code).toBe(1001);
      // `completed` (and the GA item.done) come before the close frame.
      expect(client.events.at(-1)?.type).toBe("conversation.item.done");
    }
    await expect(fetch(`${url}/health`)).rejects.toThrow();
  }, 120_000);
});
