// A job's audio at rest and in flight: the upload decoded into FLAC and read back sample for sample (16-bit), bad
// input refused with the decoder's own errors and nothing left behind, and a run that keeps only what its next
// chunks need, so a long job's audio is never in memory whole. Real FFmpeg, Silero VAD and engine.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Readable } from "node:stream";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { AudioDecodeError, decodeAudio } from "../../src/audio/index.js";
import { SileroVadModel } from "../../src/audio/vad/index.js";
import type { WhisperEngine } from "../../src/engine/WhisperEngine.js";
import { encodeJobAudio, readJobAudio } from "../../src/jobs/jobAudio.js";
import { TranscriptionRun } from "../../src/transcription/transcriptionRun.js";
import { loadTestEngine, speechOfLength } from "../support/engineFixtures.js";
import { encodeWav } from "../support/speech.js";

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "earshot-job-audio-"));
});
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

const encodeOptions = (signal = new AbortController().signal) => ({ dir, maxDurationSeconds: 3600, timeoutMs: 60_000, signal });

async function readAll(file: string): Promise<Float32Array> {
  const parts: Float32Array[] = [];
  for await (const samples of readJobAudio(file, { signal: new AbortController().signal })) parts.push(samples);
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

describe("job audio", () => {
  it("keeps the decoded audio as FLAC that reads back to the same samples, within 16-bit precision", async () => {
    const wav = encodeWav(await speechOfLength(20), 22_050);
    const direct = await decodeAudio(wav);
    const { audio, decoded } = await encodeJobAudio(Readable.from([wav]), encodeOptions());
    expect(decoded.samples.length).toBe(0);
    expect(decoded.duration).toBe(direct.duration);
    expect(audio.bytes).toBe(fs.statSync(audio.path).size);
    // Smaller than 16-bit PCM of the same audio.
    expect(audio.bytes).toBeLessThan(direct.samples.length * 2);
    const back = await readAll(audio.path);
    expect(back.length).toBe(direct.samples.length);
    let worst = 0;
    for (let i = 0; i < back.length; i++) worst = Math.max(worst, Math.abs(back[i]! - direct.samples[i]!));
    expect(worst).toBeLessThanOrEqual(1 / 32768 + 1e-7);
    fs.rmSync(audio.path);
  });

  it("holds the decoder back while the receiver of the samples is busy (a slow encoder never lets samples pile up)", async () => {
    const wav = encodeWav(await speechOfLength(120), 16_000);
    let calls = 0;
    let busy = false;
    let samplesWhileBusy = 0;
    const decoded = await decodeAudio(wav, {
      retainSamples: false,
      onSamples: (samples) => {
        calls++;
        if (busy) samplesWhileBusy += samples.length;
        // Every tenth batch the receiver is busy for 100 ms (FFmpeg decodes all 120 s in less than that).
        if (calls % 10 !== 1) return undefined;
        busy = true;
        return new Promise<void>((resolve) =>
          setTimeout(() => {
            busy = false;
            resolve();
          }, 100),
        );
      },
    });
    expect(decoded.duration).toBe(120);
    expect(calls).toBeGreaterThan(10);
    // Nothing arrives while the receiver is busy but, once FFmpeg has exited, what its pipe still held (Node reads
    // a child's output to the end when it exits): a pipe's worth (64 KiB) and what the stream had buffered and read
    // ahead (seen: 164 KiB in all), never the rest of the decode (7.5 MiB here).
    expect(samplesWhileBusy * 4).toBeLessThanOrEqual(256 * 1024);
  });

  it("refuses what is not audio with the decoder's error, and an aborted upload, leaving no file", async () => {
    await expect(encodeJobAudio(Readable.from([Buffer.from("not audio ".repeat(1000))]), encodeOptions())).rejects.toMatchObject({
      constructor: AudioDecodeError,
      code: "unsupported_format",
    });
    const controller = new AbortController();
    const wav = encodeWav(await speechOfLength(30), 16_000);
    // An upload that stops halfway and never ends, then the client goes away.
    const upload = new Readable({ read() {} });
    upload.push(wav.subarray(0, wav.length / 2));
    const encoding = encodeJobAudio(upload, encodeOptions(controller.signal));
    setTimeout(() => controller.abort(), 200);
    await expect(encoding).rejects.toThrow();
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it("a run that does not keep its audio holds only what its next chunks need, over a long recording", async () => {
    let engine: WhisperEngine | undefined;
    let vad: SileroVadModel | undefined;
    try {
      engine = await loadTestEngine({ parallelJobs: 1, threadsPerJob: 2 });
      vad = await SileroVadModel.load();
      const model = vad;
      // 4 minutes: speech, nearly 4 minutes of silence, speech (one chunk across the silence: its first piece must be kept).
      // Each stretch: several segments' worth of the model's text at its place on the timeline.
      const speech = await speechOfLength(8);
      const minutes = 4;
      const audio = new Float32Array(minutes * 60 * 16_000);
      audio.set(speech, 16_000);
      audio.set(speech, audio.length - speech.length - 16_000);
      const run = new TranscriptionRun({ engine, loadVad: async () => model, options: { language: "en" }, chunking: { type: "auto" }, keepAudio: false });
      let mostHeld = 0;
      for (let offset = 0; offset < audio.length; offset += 16_000) {
        run.push(audio.slice(offset, offset + 16_000));
        // As a job does (src/jobs/jobRunner.ts): no more pushed while the VAD is 10 s behind.
        while (run.backlog.vadSamples > 10 * 16_000) await new Promise((resolve) => setTimeout(resolve, 5));
        mostHeld = Math.max(mostHeld, run.heldSamples);
      }
      const result = await run.finish();
      expect(result.duration).toBe(minutes * 60);
      // The same transcription as a run that kept the whole audio.
      const kept = new TranscriptionRun({ engine, loadVad: async () => model, options: { language: "en" }, chunking: { type: "auto" } });
      for (let offset = 0; offset < audio.length; offset += 16_000) kept.push(audio.slice(offset, offset + 16_000));
      const reference = await kept.finish(audio);
      expect(result.segments.length).toBeGreaterThan(0);
      expect({ ...result, timings: undefined }).toEqual({ ...reference, timings: undefined });
      // Held: the first stretch (kept until its chunk is cut), what the VAD has not seen yet and the few seconds before
      // it where speech may start (until they are let go, up to twice that), never the minutes of silence.
      console.log(`held at most ${(mostHeld / 16_000).toFixed(1)} s of ${minutes * 60} s`);
      expect(mostHeld).toBeLessThan(60 * 16_000);
    } finally {
      await engine?.close();
      await vad?.release();
    }
  }, 180_000);
});
