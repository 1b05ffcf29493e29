// The jobs API's answers on one machine: bad input refused at submit (415, 413, 400 naming the param) with nothing
// left behind, unknown ids 404, results of unfinished jobs 409 naming their status, cancel idempotent and quick on a
// running job, pagination, visibility per API key, and the signed webhook of a job this server finishes.
import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";

import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import type { JobObject } from "../../src/jobs/jobObject.js";
import { readSecretFile, WEBHOOK_SECRET_FILE } from "../../src/jobs/webhookSecret.js";
import { speechOfLength } from "../support/engineFixtures.js";
import { encodeWav, encodeWithFfmpeg, writeWav } from "../support/speech.js";
import { expectNoTempFiles, readyStats, sleep, startTestServer, waitFor, type TestServer } from "../support/server.js";
import { JobsClient, type ErrorBody } from "./jobsClient.js";

interface Received {
  headers: http.IncomingHttpHeaders;
  body: string;
}

let server: TestServer;
let dataDir: string;
let audioDir: string;
let receiver: http.Server;
let hookUrl: string;
const received: Received[] = [];
const alice = () => new JobsClient(server.url, "sk-alice-jobs-test-key");
const bob = () => new JobsClient(server.url, "sk-bob-jobs-test-key-0");
let clip: Buffer;

beforeAll(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "earshot-jobs-api-"));
  audioDir = fs.mkdtempSync(path.join(os.tmpdir(), "earshot-jobs-api-audio-"));
  receiver = http.createServer((request, response) => {
    let body = "";
    request.setEncoding("utf8");
    request.on("data", (chunk: string) => (body += chunk));
    request.on("end", () => {
      received.push({ headers: request.headers, body });
      response.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
  // The webhook receiver is on loopback: the operator allows it by name (internal targets are refused by default).
  server = await startTestServer({ dataDir, apiKeys: "sk-alice-jobs-test-key,sk-bob-jobs-test-key-0", parallelJobs: "1", threadsPerJob: "2", jobsMaxUploadMb: "2", jobsConcurrency: "1", webhookAllowlist: "127.0.0.1" });
  clip = encodeWav(await speechOfLength(3), 16_000);
});

afterAll(async () => {
  await server?.close();
  await new Promise((resolve) => receiver?.close(resolve));
  for (const dir of [dataDir, audioDir]) if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

async function expectError(response: Response, status: number, expected: Partial<ErrorBody["error"]>): Promise<ErrorBody["error"]> {
  const body = (await response.json()) as ErrorBody;
  expect(response.status, JSON.stringify(body)).toBe(status);
  expect(body.error).toMatchObject(expected);
  expect(typeof body.error.message).toBe("string");
  return body.error;
}

describe("jobs API", () => {
  it("refuses bad submissions at once, creating no job and leaving no file", async () => {
    const jobs = alice();
    await expectError(await jobs.submitRaw(Buffer.from("this is not audio at all, just text ".repeat(200))), 415, { param: "file", code: "unsupported_format" });
    // Over the jobs' upload limit (2 MB here): refused as the bytes arrive.
    const big = encodeWav(await speechOfLength(80), 16_000);
    await expectError(await jobs.submitRaw(big), 413, { param: "file", code: "file_too_large" });
    await expectError(await jobs.submitRaw(undefined), 400, { param: "file", code: "missing_required_parameter" });
    await expectError(await jobs.submitRaw(clip, { task: "summarize" }), 400, { param: "task" });
    await expectError(await jobs.submitRaw(clip, { webhook_url: "ftp://example.com/hook" }), 400, { param: "webhook_url", code: "invalid_webhook_url" });
    await expectError(await jobs.submitRaw(clip, { stream: "true" }), 400, { param: "stream" });
    await expectError(await jobs.submitRaw(clip, { response_format: "diarized_json" }), 400, { param: "response_format" });
    await expectError(await jobs.submitRaw(clip, { temperature: "7" }), 400, { param: "temperature" });
    await expectError(await jobs.submitRaw(clip, { colour: "blue" }), 400, { param: "colour", code: "unknown_parameter" });
    const seventeen = Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`metadata[k${i}]`, "v"]));
    await expectError(await jobs.submitRaw(clip, seventeen), 400, { param: "metadata" });
    await expectError(await jobs.submitRaw(clip, { "metadata[note]": "x".repeat(513) }), 400, { param: "metadata" });
    await expectError(await jobs.submitRaw(clip, { model: "no-such-model" }), 404, { param: "model", code: "model_not_found" });
    const noKey = await fetch(`${server.url}/v1/audio/jobs`);
    expect(noKey.status).toBe(401);

    expect((await jobs.list()).body.data).toEqual([]);
    expect(fs.readdirSync(path.join(dataDir, "jobs", "incoming"))).toEqual([]);
    expect(fs.readdirSync(path.join(dataDir, "jobs", "audio"))).toEqual([]);
    await expectNoTempFiles(server.tempDir);
  });

  it("answers 404 for unknown ids and for another key's jobs; lists only the key's own jobs", async () => {
    const a = alice();
    const b = bob();
    const job = await a.submit(clip, { "metadata[owner]": "alice" }, "mine.wav");
    for (const client of [a, b]) {
      const unknown = "job_000000000000000000000000";
      await expectError((await fetch(`${server.url}/v1/audio/jobs/${unknown}`, { headers: { authorization: `Bearer ${client === a ? "sk-alice-jobs-test-key" : "sk-bob-jobs-test-key-0"}` } })) as Response, 404, { code: "job_not_found" });
    }
    const bobGet = await b.get(job.id);
    expect(bobGet.status).toBe(404);
    expect((bobGet.body as ErrorBody).error.code).toBe("job_not_found");
    await expectError(await b.result(job.id), 404, { code: "job_not_found" });
    expect((await b.cancel(job.id)).status).toBe(404);
    expect((await b.list()).body.data).toEqual([]);
    expect((await a.list()).body.data.map((j) => j.id)).toEqual([job.id]);
    expect((await a.waitFor(job.id, ["succeeded", "failed"], 120_000)).status).toBe("succeeded");
    // Still Alice's only after it finished.
    expect((await b.get(job.id)).status).toBe(404);
  }, 180_000);

  it("reports progress, stops a running job quickly on cancel, cancels queued ones, and is idempotent; results of unfinished jobs are 409", async () => {
    const jobs = alice();
    const wavPath = path.join(audioDir, "long.wav");
    await writeWav(wavPath, await speechOfLength(150), 16_000);
    const long = await encodeWithFfmpeg(wavPath, "mp3");
    const running = await jobs.submit(long, { webhook_url: hookUrl, "metadata[kind]": "long" }, "long.mp3");
    const queued = await jobs.submit(clip, { webhook_url: hookUrl }, "short.wav");

    const started = await jobs.waitFor(running.id, ["running"], 60_000);
    expect(started.started_at).toBeGreaterThanOrEqual(started.created_at);
    await expectError(await jobs.result(running.id), 409, { code: "job_not_finished", message: expect.stringContaining("running") as unknown as string });
    await expectError(await jobs.result(queued.id, "srt"), 409, { code: "job_not_finished", message: expect.stringContaining("queued") as unknown as string });
    // Progress moves as chunks finish.
    const progressed = await waitFor("progress", async () => {
      const job = await jobs.job(running.id);
      return job.progress.audio_seconds_done > 0 && job;
    }, 120_000, 100);
    expect(progressed.progress.audio_seconds_done).toBeLessThan(progressed.progress.audio_seconds_total);

    // The queued one: cancelled at once, twice the same answer.
    const first = await jobs.cancel(queued.id);
    expect(first.status).toBe(200);
    expect((first.body as JobObject).status).toBe("cancelled");
    const second = await jobs.cancel(queued.id);
    expect(second.status).toBe(200);
    expect(second.body).toEqual(first.body);
    await expectError(await jobs.result(queued.id), 409, { code: "job_cancelled" });

    // The running one stops within a chunk: the engine's slot is free soon after.
    const cancelledAt = Date.now();
    const cancelled = await jobs.cancel(running.id);
    expect(cancelled.status).toBe(200);
    expect((cancelled.body as JobObject).status).toBe("cancelled");
    await waitFor("the engine to be idle", async () => (await readyStats(server.url)).running === 0, 30_000, 20);
    const stoppedMs = Date.now() - cancelledAt;
    expect((await jobs.cancel(running.id)).body).toEqual(cancelled.body);
    await sleep(300);
    const after = await jobs.job(running.id);
    expect(after.status).toBe("cancelled");
    expect(after.completed_at).not.toBeNull();
    await expectError(await jobs.result(running.id), 409, { code: "job_cancelled" });
    console.log(`running job cancelled: engine idle ${stoppedMs} ms later`);
    expect(fs.readdirSync(path.join(dataDir, "jobs", "audio"))).toEqual([]);

    // Both cancellations went out as signed webhooks.
    const secret = readSecretFile(path.join(dataDir, WEBHOOK_SECRET_FILE))!;
    const events = await waitFor("two webhook events", async () => received.length >= 2 && received, 30_000, 50);
    const verifier = new Webhook(secret);
    const payloads = events.map((event) => verifier.verify(event.body, event.headers as Record<string, string>) as { type: string; data: { id: string; status: string; metadata: unknown } });
    expect(payloads.map((p) => p.data.id).sort()).toEqual([queued.id, running.id].sort());
    for (const payload of payloads) expect(payload).toMatchObject({ object: "event", type: "audio.job.cancelled", data: { status: "cancelled" } });
    expect(payloads.find((p) => p.data.id === running.id)!.data.metadata).toEqual({ kind: "long" });
    // A tampered body fails verification.
    expect(() => verifier.verify(events[0]!.body.replace("cancelled", "succeeded"), events[0]!.headers as Record<string, string>)).toThrow();
  }, 240_000);

  it("pages the list newest first with after/limit and filters by status", async () => {
    const jobs = alice();
    const { body: all } = await jobs.list("?limit=100");
    expect(all.data.length).toBeGreaterThanOrEqual(3);
    const created = all.data.map((j) => j.created_at);
    expect([...created].sort((x, y) => y - x)).toEqual(created);
    const page1 = (await jobs.list("?limit=1")).body;
    expect(page1).toMatchObject({ object: "list", has_more: true, first_id: all.data[0]!.id, last_id: all.data[0]!.id });
    const page2 = (await jobs.list(`?limit=2&after=${page1.last_id}`)).body;
    expect(page2.data.map((j) => j.id)).toEqual(all.data.slice(1, 3).map((j) => j.id));
    const cancelled = (await jobs.list("?status=cancelled")).body;
    expect(cancelled.data.length).toBe(2);
    expect(cancelled.data.every((j) => j.status === "cancelled")).toBe(true);
    const bad = async (query: string, param: string) => {
      const { status, body } = await jobs.list(query);
      expect(status).toBe(400);
      expect(body.error).toMatchObject({ param });
    };
    await bad("?limit=0", "limit");
    await bad("?limit=101", "limit");
    await bad("?status=done", "status");
    await bad("?after=job_ffffffffffffffffffffffff", "after");
  });
});
