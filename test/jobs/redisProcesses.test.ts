// Batch jobs on Redis across real processes: a real redis-server, one API-only `earshot serve`
// (EARSHOT_JOBS_CONCURRENCY=0) and two `earshot worker` processes (the built CLI, the generated test model), each
// with its own data dir as on separate machines, and a loopback webhook receiver.
//   - 12 jobs spread over both workers; one worker killed with -9 mid-job: every job succeeds exactly once (one
//     "job finished" log line and one webhook per job), the killed worker's job is taken up by the other;
//   - cancel in the API process stops the job running in a worker process;
//   - Redis stopped: submit answers 503 in OpenAI's error shape; Redis back: submit works again and the job runs.
// BullMQ's lock and stalled check are shortened (2 s, 1 s) so a dead worker's job comes back in seconds.
import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";

import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { builtCli, startEarshot, type EarshotProcess } from "../support/earshotProcess.js";
import { startTestRedis, type TestRedis } from "../support/redis.js";
import { longSpeechWav, waitFor } from "../support/server.js";

interface JobObject {
  id: string;
  object: string;
  status: string;
  metadata: Record<string, string> | null;
  error: unknown;
}

interface ReceivedEvent {
  headers: http.IncomingHttpHeaders;
  body: string;
}

let redis: TestRedis;
let api: EarshotProcess;
let workers: EarshotProcess[] = [];
let dataDirs: string[] = [];
let receiver: http.Server;
let hookUrl: string;
const events: ReceivedEvent[] = [];
let shortClip: Buffer;

async function submit(audio: Buffer, fields: Record<string, string> = {}): Promise<Response> {
  const form = new FormData();
  form.set("file", new Blob([audio], { type: "audio/wav" }), "clip.wav");
  form.set("model", "whisper-1");
  form.set("webhook_url", hookUrl);
  for (const [name, value] of Object.entries(fields)) form.set(name, value);
  return fetch(`${api.url}/v1/audio/jobs`, { method: "POST", body: form });
}

async function getJob(id: string): Promise<JobObject> {
  return (await (await fetch(`${api.url}/v1/audio/jobs/${id}`)).json()) as JobObject;
}

/** Ids of the jobs a process's log says it started / finished (stored an outcome for). */
function jobsLogged(process: EarshotProcess, message: string): string[] {
  return process
    .logs()
    .filter((line) => line.msg === message)
    .map((line) => String(line.job));
}

function eventsFor(id: string, type?: string): Array<{ type: string; headers: http.IncomingHttpHeaders; body: string }> {
  return events
    .map((event) => ({ ...event, type: (JSON.parse(event.body) as { type: string; data: { id: string } }).type, id: (JSON.parse(event.body) as { data: { id: string } }).data.id }))
    .filter((event) => event.id === id && (type === undefined || event.type === type));
}

function newDataDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "earshot-redis-proc-"));
  dataDirs.push(dir);
  return dir;
}

function processEnv(): Record<string, string> {
  return {
    EARSHOT_REDIS_URL: redis.url,
    // Shared by every process: the generated webhook key is kept in Redis sealed with it.
    EARSHOT_SECRET_KEY: "redis-processes-test-secret-key-of-32-bytes",
    EARSHOT_DATA_DIR: newDataDir(),
    EARSHOT_JOBS_LOCK_SECONDS: "2",
    EARSHOT_JOBS_STALLED_CHECK_SECONDS: "1",
    EARSHOT_WEBHOOK_ALLOWLIST: "127.0.0.1",
    EARSHOT_WEBHOOK_RETRY_DELAY_SECONDS: "0.2",
    EARSHOT_REDIS_TIMEOUT_SECONDS: "2",
    EARSHOT_PARALLEL_JOBS: "1",
    EARSHOT_THREADS: "1",
  };
}

beforeAll(async () => {
  // `npm test` builds dist/ first; run alone, build it (npm run build) before.
  expect(builtCli(), "dist/ is built (npm run build)").toBe(true);
  redis = await startTestRedis();
  receiver = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      events.push({ headers: request.headers, body: Buffer.concat(chunks).toString("utf8") });
      response.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`;
  shortClip = await longSpeechWav(4);
  [api, ...workers] = await Promise.all([
    startEarshot("api", ["serve"], { ...processEnv(), EARSHOT_JOBS_CONCURRENCY: "0" }),
    startEarshot("worker-a", ["worker"], processEnv()),
    startEarshot("worker-b", ["worker"], processEnv()),
  ]);
}, 120_000);

afterAll(async () => {
  await Promise.all([api, ...workers].filter(Boolean).map((process) => process.stop(10_000)));
  await new Promise<void>((resolve) => (receiver ? receiver.close(() => resolve()) : resolve()));
  await redis?.close();
  for (const dir of dataDirs) fs.rmSync(dir, { recursive: true, force: true });
});

describe("batch jobs on Redis: one API process, two worker processes", () => {
  it("12 jobs spread over both workers; one killed with -9 mid-job: every job succeeds exactly once", async () => {
    const [workerA, workerB] = workers as [EarshotProcess, EarshotProcess];
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) {
      const response = await submit(shortClip, { [`metadata[n]`]: String(i) });
      expect(response.status, await response.clone().text()).toBe(202);
      const job = (await response.json()) as JobObject;
      expect(job).toMatchObject({ object: "audio.job", status: "queued", metadata: { n: String(i) } });
      ids.push(job.id);
    }

    // Both workers finish some; then worker B is killed the moment it has started a job.
    let victim: string | undefined;
    await waitFor(
      "both workers finished a job and worker B runs another",
      async () => {
        if (jobsLogged(workerA, "job finished").length === 0) return false;
        const finishedB = new Set(jobsLogged(workerB, "job finished"));
        if (finishedB.size === 0) return false;
        victim = jobsLogged(workerB, "job started").find((id) => !finishedB.has(id));
        return victim !== undefined;
      },
      90_000,
      5,
    );
    await workerB.kill9();
    expect(jobsLogged(workerB, "job finished"), "worker B was killed before it finished the job").not.toContain(victim);
    const finishedByB = jobsLogged(workerB, "job finished");

    const finals = await waitFor(
      "all 12 jobs succeeded",
      async () => {
        const jobs = await Promise.all(ids.map(getJob));
        return jobs.every((job) => job.status === "succeeded" || job.status === "failed") ? jobs : undefined;
      },
      120_000,
      250,
    );
    expect(finals.map((job) => [job.id, job.status, job.error])).toEqual(ids.map((id) => [id, "succeeded", null]));

    // Exactly once: one stored outcome per job over both workers, the killed job stored by worker A after it took it up.
    const finishedByA = jobsLogged(workerA, "job finished");
    const all = [...finishedByA, ...finishedByB].sort();
    expect(all).toEqual([...ids].sort());
    expect(finishedByA.length).toBeGreaterThan(0);
    expect(finishedByB.length).toBeGreaterThan(0);
    expect(finishedByA).toContain(victim);
    expect(jobsLogged(workerA, "job taken up again: the worker running it stopped")).toContain(victim);
    expect(workerA.logs().find((line) => line.msg === "job finished" && line.job === victim)).toMatchObject({ attempts: 2 });

    // The same audio, the same transcription, the recovered job's too.
    const texts = await Promise.all(ids.map(async (id) => (await fetch(`${api.url}/v1/audio/jobs/${id}/result?response_format=text`)).text()));
    expect(texts[0]!.trim().length).toBeGreaterThan(0);
    expect(new Set(texts).size).toBe(1);

    // One webhook per job, from the worker that finished it, signed with the one key the processes share through
    // Redis (each wrote it to its own data dir).
    await waitFor("12 webhooks", async () => ids.every((id) => eventsFor(id).length >= 1), 20_000);
    const key = fs.readFileSync(path.join(dataDirs[0]!, "webhook-secret"), "utf8").trim();
    for (const dir of dataDirs.slice(1, 3)) expect(fs.readFileSync(path.join(dir, "webhook-secret"), "utf8").trim()).toBe(key);
    for (const [i, id] of ids.entries()) {
      const received = eventsFor(id);
      expect(received.map((event) => event.type)).toEqual(["audio.job.succeeded"]);
      const payload = new Webhook(key).verify(received[0]!.body, received[0]!.headers as Record<string, string>);
      expect(payload).toMatchObject({ object: "event", type: "audio.job.succeeded", data: { id, status: "succeeded", metadata: { n: String(i) } } });
    }

    // Worker A's own count of what it ran, on its /metrics.
    const metrics = await (await fetch(`${workerA.url}/metrics`)).text();
    expect(metrics).toContain(`earshot_worker_jobs_total{outcome="succeeded"} ${finishedByA.length}`);
    expect(await (await fetch(`${workerA.url}/health`)).json()).toMatchObject({ status: "ok", role: "worker", redis: "up" });
    expect((await fetch(`${workerA.url}/v1/audio/jobs`)).status).toBe(404);
  }, 240_000);

  it("a cancel in the API process stops the job running in a worker process", async () => {
    const worker = workers.find((process) => !process.exited)!;
    const response = await submit(await longSpeechWav(240));
    expect(response.status).toBe(202);
    const { id } = (await response.json()) as JobObject;
    await waitFor("job running in the worker", async () => jobsLogged(worker, "job started").includes(id), 60_000);
    const cancelledAt = Date.now();
    const cancel = await fetch(`${api.url}/v1/audio/jobs/${id}`, { method: "DELETE" });
    expect(cancel.status).toBe(200);
    expect(await cancel.json()).toMatchObject({ id, status: "cancelled" });
    const stopped = await waitFor(
      "the worker stopped the job",
      async () => worker.logs().find((line) => line.msg === "job stopped: cancelled" && line.job === id),
      30_000,
    );
    // (Timings are distorted when other processes load the machine.)
    expect(Number(stopped.time) - cancelledAt).toBeLessThan(10_000);
    await waitFor("worker idle", async () => ((await (await fetch(`${worker.url}/health`)).json()) as { jobsRunning: number }).jobsRunning === 0, 10_000);
    expect(await getJob(id)).toMatchObject({ status: "cancelled" });
    expect(jobsLogged(worker, "job finished")).not.toContain(id);
    const again = await fetch(`${api.url}/v1/audio/jobs/${id}`, { method: "DELETE" });
    expect(again.status).toBe(200);
    expect(await again.json()).toMatchObject({ id, status: "cancelled" });
    const result = await fetch(`${api.url}/v1/audio/jobs/${id}/result`);
    expect(result.status).toBe(409);
    expect(((await result.json()) as { error: { code: string } }).error.code).toBe("job_cancelled");
    // The cancel's webhook comes from the API process, signed with the same shared key.
    await waitFor("cancelled webhook", async () => eventsFor(id, "audio.job.cancelled").length === 1, 10_000);
    const key = fs.readFileSync(path.join(dataDirs[0]!, "webhook-secret"), "utf8").trim();
    const [event] = eventsFor(id, "audio.job.cancelled");
    expect(new Webhook(key).verify(event!.body, event!.headers as Record<string, string>)).toMatchObject({ data: { id, status: "cancelled" } });
    expect(eventsFor(id)).toHaveLength(1);
  }, 120_000);

  it("Redis going away: submit answers 503 with a clear message; once it is back, submit works and the job runs", async () => {
    const worker = workers.find((process) => !process.exited)!;
    await redis.stop();
    const refused = await submit(shortClip);
    expect(refused.status).toBe(503);
    expect(refused.headers.get("retry-after")).toBe("5");
    expect(await refused.json()).toEqual({
      error: {
        message: expect.stringMatching(/^Batch jobs are unavailable: the job queue \(Redis\) cannot be reached .*Retry later\.$/),
        type: "server_error",
        param: null,
        code: "jobs_unavailable",
      },
    });
    expect((await fetch(`${api.url}/v1/audio/jobs`)).status).toBe(503);
    const health = await fetch(`${worker.url}/health`);
    expect(health.status).toBe(503);
    expect(await health.json()).toMatchObject({ status: "degraded", redis: "down" });
    // The API still answers everything else.
    expect((await fetch(`${api.url}/health`)).status).toBe(200);

    await redis.restart();
    const accepted = await waitFor(
      "submit accepted again",
      async () => {
        const response = await submit(shortClip);
        return response.status === 202 ? ((await response.json()) as JobObject) : undefined;
      },
      20_000,
      250,
    );
    const done = await waitFor(
      "the job ran",
      async () => {
        const job = await getJob(accepted.id);
        return job.status === "succeeded" || job.status === "failed" ? job : undefined;
      },
      60_000,
      250,
    );
    expect(done.status).toBe("succeeded");
    expect(api.exited).toBe(false);
    expect(worker.exited).toBe(false);
    expect(api.logs().some((line) => line.msg === "Redis api connection lost: retrying until it is back")).toBe(true);
    expect(api.logs().some((line) => line.msg === "Redis api connection is back")).toBe(true);
  }, 120_000);
});
