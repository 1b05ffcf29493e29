// Rolling restarts lose nothing: once shutdown begins, /ready answers 503 "draining", new uploads get 503 with
// Retry-After, realtime sessions stop taking audio, commit the VAD turn in progress, deliver every committed
// turn's `completed` and only then close with 1001; the server closes once all of that is done. Uploads in flight
// finish within the drain deadline and the rest (a stalled upload) is aborted then, in process and when SIGTERM
// reaches `earshot serve`; with nothing in flight the server closes at once.
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

import { toFile } from "openai";
import { afterEach, describe, expect, it } from "vitest";

import { getTestModelPath } from "../../src/models/testModel/index.js";
import { childProcesses, mp3Looking, rawUpload } from "../support/abuse.js";
import { COMPLETED, RealtimeClient, realtimeUrl, spokenTurns } from "../support/realtime.js";
import { speechOfLength } from "../support/engineFixtures.js";
import { encodeWav } from "../support/speech.js";
import { expectNoTempFiles, longSpeechWav, readyStats, startTestServer, type TestServer, waitFor, WINDOW_TEXT } from "../support/server.js";

const MB = 1_048_576;

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function expectNoFfmpeg(): Promise<void> {
  await waitFor("no FFmpeg child process", async () => childProcesses().length === 0, 5_000);
}

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

describe("shutdown", () => {
  it("finishes what is in flight within the drain deadline, then aborts the rest (a stalled upload) and closes", async () => {
    const tempDir = fs.mkdtempSync(path.join(os.tmpdir(), "earshot-drain-test-"));
    try {
      // 8 s: room for the legitimate job on a loaded two-core machine; the stalled upload holds on to the end
      const server = await startTestServer({ drainTimeoutSeconds: "8", uploadIdleTimeoutSeconds: "60", parallelJobs: "1", threadsPerJob: "2" }, { tempDir });
      const stalled = rawUpload(`${server.url}/v1/audio/transcriptions`, { file: mp3Looking(4 * MB), stallAfterBytes: 256 * 1024, timeoutMs: 20_000 });
      await waitFor("the stalled upload's temp dir", async () => fs.readdirSync(tempDir).length > 0);
      const legit = server.client().audio.transcriptions.create({ file: await toFile(await longSpeechWav(10), "ten.wav"), model: "whisper-1", language: "en" });
      await waitFor("the legitimate job to run", async () => (await readyStats(server.url)).running === 1, 10_000, 5);

      const closing = performance.now();
      await server.close();
      const closedAfter = performance.now() - closing;
      expect((await legit).text).toBe(WINDOW_TEXT);
      const aborted = await stalled;
      expect(aborted.status).toBe(0); // the connection was cut, no response
      expect(closedAfter, `closed after ${closedAfter.toFixed(0)} ms`).toBeGreaterThan(7_500);
      expect(closedAfter).toBeLessThan(11_000);
      await expectNoFfmpeg();
      await expectNoTempFiles(tempDir);
    } finally {
      fs.rmSync(tempDir, { recursive: true, force: true });
    }
  });

  it("SIGTERM: `earshot serve` drains (/ready 503), aborts a stalled upload at the drain deadline, and exits 0", async () => {
    const tempDir = fs.mkdtempSync(path.join(os.tmpdir(), "earshot-sigterm-test-"));
    const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith("EARSHOT_")));
    const args = ["--import", "tsx", path.resolve("src", "cli", "main.ts"), "serve", "--model", await getTestModelPath("tiny")];
    const child = spawn(process.execPath, [...args, "--host", "127.0.0.1", "--port", "0", "--drain-timeout-seconds", "2", "--log-level", "warn"], {
      env: { ...env, TMPDIR: tempDir },
      stdio: ["ignore", "ignore", "pipe"],
    });
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    try {
      let stderr = "";
      const url = await new Promise<string>((resolve, reject) => {
        child.stderr!.on("data", (chunk: Buffer) => {
          stderr += chunk.toString();
          const match = /listening on (\S+) /.exec(stderr);
          if (match) resolve(match[1]!);
        });
        void exited.then((code) => reject(new Error(`earshot serve exited (${code}): ${stderr}`)));
      });
      const stalled = rawUpload(`${url}/v1/audio/transcriptions`, { file: mp3Looking(4 * MB), stallAfterBytes: 256 * 1024, timeoutMs: 20_000 });
      await waitFor("the stalled upload's temp dir", async () => fs.readdirSync(tempDir).some((name) => name.startsWith("earshot-audio-")));

      const signalled = performance.now();
      child.kill("SIGTERM");
      await new Promise((resolve) => setTimeout(resolve, 300));
      // Draining: still listening, but /ready says so (and new uploads would get 503)
      const ready = await fetch(`${url}/ready`);
      expect(ready.status).toBe(503);
      expect(await ready.json()).toMatchObject({ status: "draining" });
      expect(await exited).toBe(0);
      const exitedAfter = performance.now() - signalled;
      expect(exitedAfter, `exited after ${exitedAfter.toFixed(0)} ms`).toBeGreaterThan(1_500);
      expect(exitedAfter).toBeLessThan(6_000);
      expect((await stalled).status).toBe(0);
      expect(fs.readdirSync(tempDir).filter((name) => name.startsWith("earshot-audio-"))).toEqual([]);
    } finally {
      child.kill("SIGKILL");
      fs.rmSync(tempDir, { recursive: true, force: true });
    }
  });

  it("closes at once when nothing is in flight", async () => {
    const server = await startTestServer({ drainTimeoutSeconds: "30" });
    await fetch(`${server.url}/health`);
    const started = performance.now();
    await server.close();
    expect(performance.now() - started).toBeLessThan(2_000);
  });
});
