// Batch jobs on one machine (embedded SQLite): the real server on loopback, the real engine on the generated model,
// a real SQLite database in a temp data dir. A restart loses nothing; the stored result renders every format exactly
// as a synchronous request gives it; a live request during a batch waits at most about one chunk.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

import { afterEach, describe, expect, it } from "vitest";

import type { JobObject } from "../../src/jobs/jobObject.js";
import { speechOfLength } from "../support/engineFixtures.js";
import { encodeWav, encodeWithFfmpeg, writeWav } from "../support/speech.js";
import { speechLayout } from "../support/speechLayout.js";
import { readyStats, sleep, startTestServer, type TestServer } from "../support/server.js";
import { JobsClient } from "./jobsClient.js";

const servers: TestServer[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) await server.close();
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

function tempDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

async function start(flags: Record<string, string>): Promise<TestServer> {
  const server = await startTestServer({ parallelJobs: "2", threadsPerJob: "1", ...flags });
  servers.push(server);
  return server;
}

/** A synchronous transcription of `file` with the chunking every job gets, in `format`. */
async function transcribeNow(server: TestServer, file: Uint8Array, fields: Record<string, string | string[]>): Promise<Response> {
  const form = new FormData();
  form.append("model", "whisper-1");
  form.append("chunking_strategy", "auto");
  for (const [name, value] of Object.entries(fields)) for (const v of [value].flat()) form.append(name, v);
  form.append("file", new Blob([file]), "audio");
  return fetch(`${server.url}/v1/audio/transcriptions`, { method: "POST", body: form });
}

describe("batch jobs, embedded", () => {
  it("loses nothing across a restart mid-run: 10 jobs all succeed, the interrupted ones run again", async () => {
    const dataDir = tempDir("earshot-jobs-restart-");
    const wavPath = path.join(tempDir("earshot-jobs-audio-"), "clip.wav");
    await writeWav(wavPath, await speechOfLength(3), 16_000);
    const mp3 = await encodeWithFfmpeg(wavPath, "mp3");
    let server = await start({ dataDir, jobsConcurrency: "2" });
    let jobs = new JobsClient(server.url);

    const submitted: JobObject[] = [];
    for (let i = 0; i < 10; i++) submitted.push(await jobs.submit(mp3, { "metadata[n]": String(i) }, `clip-${i}.mp3`));
    expect(submitted.every((job) => job.status === "queued" && job.progress.audio_seconds_total > 2.9)).toBe(true);

    // Stop while some have finished and others run.
    let running: JobObject[] = [];
    for (const deadline = Date.now() + 60_000; Date.now() < deadline; await sleep(50)) {
      const { body } = await jobs.list("?limit=100");
      running = body.data.filter((job) => job.status === "running");
      if (running.length > 0 && body.data.some((job) => job.status === "succeeded")) break;
    }
    expect(running.length).toBeGreaterThan(0);
    const stopping = Date.now();
    await server.close();
    servers.splice(servers.indexOf(server), 1);
    // Shutdown does not wait for batch work (a chunk takes about a second here; the drain deadline is 30 s).
    expect(Date.now() - stopping).toBeLessThan(15_000);

    const restarted = Date.now();
    server = await start({ dataDir, jobsConcurrency: "2" });
    jobs = new JobsClient(server.url);
    const { body: listed } = await jobs.list("?limit=100");
    expect(listed.data.map((job) => job.id).sort()).toEqual(submitted.map((job) => job.id).sort());

    const finished: JobObject[] = [];
    for (const job of submitted) finished.push(await jobs.waitFor(job.id, ["succeeded", "failed", "cancelled"], 120_000));
    expect(finished.map((job) => job.status)).toEqual(Array(10).fill("succeeded"));
    for (const job of running) {
      const again = finished.find((f) => f.id === job.id)!;
      // It ran again after the restart, from the start.
      expect(again.started_at! * 1000).toBeGreaterThanOrEqual(Math.floor(restarted / 1000) * 1000);
      expect(again.progress.audio_seconds_done).toBe(again.progress.audio_seconds_total);
    }
    // Every result is the transcription of its file, and the metadata came through.
    const expected = await (await transcribeNow(server, mp3, { response_format: "text" })).text();
    for (const job of finished) {
      const result = await jobs.result(job.id, "text");
      expect(result.status).toBe(200);
      expect(await result.text()).toBe(expected);
      expect(job.metadata).toEqual({ n: String(submitted.findIndex((s) => s.id === job.id)) });
    }
    // The audio of finished jobs is gone from the data dir.
    expect(fs.readdirSync(path.join(dataDir, "jobs", "audio"))).toEqual([]);
  }, 240_000);

  it("renders the stored result in all five formats exactly as a synchronous transcription of the same file", async () => {
    const server = await start({});
    const jobs = new JobsClient(server.url);
    // Speech, a long silence, more speech: the first chunk joins stretches 45 s apart.
    const layout = await speechLayout([1, "long", 45, "short", 3, "long", 2]);
    const wav = encodeWav(layout.samples, 16_000);
    const job = await jobs.submit(wav, { response_format: "verbose_json", "timestamp_granularities[]": ["word", "segment"], temperature: "0" }, "layout.wav");
    expect(job).toMatchObject({ object: "audio.job", status: "queued", task: "transcribe", model: "whisper-1", filename: "layout.wav", metadata: null, webhook_url: null, error: null });
    expect(job.progress.audio_seconds_total).toBeCloseTo(layout.duration, 2);
    const done = await jobs.waitFor(job.id, ["succeeded", "failed"], 120_000);
    expect(done.status).toBe("succeeded");

    // The synchronous requests side by side (two job slots): the same answers as one by one, in half the time.
    const formats = ["json", "text", "srt", "verbose_json", "vtt"];
    const synchronous = formats.map(async (format) => {
      const fields: Record<string, string | string[]> = { response_format: format, temperature: "0" };
      if (format === "verbose_json") fields["timestamp_granularities[]"] = ["word", "segment"];
      const now = await transcribeNow(server, wav, fields);
      return { status: now.status, type: now.headers.get("content-type"), body: await now.text() };
    });
    for (const [i, format] of formats.entries()) {
      const fromJob = await jobs.result(job.id, format);
      const now = await synchronous[i]!;
      expect(fromJob.status).toBe(200);
      expect(now.status).toBe(200);
      expect(fromJob.headers.get("content-type")).toBe(now.type);
      expect(await fromJob.text(), format).toBe(now.body);
    }
    // With no format asked for, the one given at submit.
    const byDefault = (await (await jobs.result(job.id)).json()) as { words?: unknown[]; segments?: Array<{ seek: number }> };
    expect(byDefault.words?.length).toBeGreaterThan(0);
    // Two chunks were decoded (a segment's seek is its chunk's start).
    expect(new Set(byDefault.segments!.map((s) => s.seek)).size).toBe(2);
  }, 240_000);

  it("lets a live request wait at most about one chunk while batch jobs keep every slot busy", async () => {
    const server = await start({ jobsConcurrency: "3" });
    const jobs = new JobsClient(server.url);
    const clip = encodeWav(await speechOfLength(3), 16_000);
    const live = async () => {
      const started = performance.now();
      const response = await transcribeNow(server, clip, { response_format: "text", language: "en" });
      expect(response.status).toBe(200);
      await response.text();
      return performance.now() - started;
    };
    await live();
    const idle = await live();

    const batchStarted = performance.now();
    const long = encodeWav(await speechOfLength(60), 16_000);
    const batch = [];
    for (let i = 0; i < 3; i++) batch.push(await jobs.submit(long, { language: "en" }, `long-${i}.wav`));
    // Every slot busy with batch chunks, and more batch chunks waiting for one.
    let saturatedAt = 0;
    for (const deadline = Date.now() + 60_000; Date.now() < deadline; await sleep(20)) {
      const stats = (await readyStats(server.url)) as unknown as { running: number; batchQueued: number };
      if (stats.running === 2 && stats.batchQueued >= 2) {
        saturatedAt = Date.now();
        break;
      }
    }
    expect(saturatedAt, "batch chunks never waited for a slot").toBeGreaterThan(0);
    const during = await live();
    const finished = [];
    for (const job of batch) finished.push(await jobs.waitFor(job.id, ["succeeded", "failed"], 180_000));
    const batchMs = performance.now() - batchStarted;
    expect(finished.every((job) => job.status === "succeeded")).toBe(true);

    // The time one chunk takes here: the batch's chunks (and the live one) went through two slots.
    let chunks = 1;
    for (const job of batch) {
      const result = (await (await jobs.result(job.id, "verbose_json")).json()) as { segments: Array<{ seek: number }> };
      chunks += new Set(result.segments.map((s) => s.seek)).size;
    }
    const chunkMs = (batchMs * 2) / chunks;
    const delay = during - idle;
    console.log(`live request: ${Math.round(idle)} ms idle, ${Math.round(during)} ms during the batch (delay ${Math.round(delay)} ms); one chunk ${Math.round(chunkMs)} ms (${chunks} chunks)`);
    expect(delay).toBeLessThan(1.5 * chunkMs + 500);
  }, 300_000);
});
