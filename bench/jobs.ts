// Batch jobs throughput: N one-minute recordings of real speech (LibriSpeech from ../shared, concatenated) as
//
//   1. jobs on one `earshot serve` with the embedded SQLite queue (POST /v1/audio/jobs, all submitted at once,
//      followed until every one has succeeded)
//   2. the same files as synchronous POST /v1/audio/transcriptions on the same server, as many in flight as its job
//      slots + queue places allow (what saturates it without 429s; a 429 is retried after its Retry-After, counted),
//      with chunking_strategy auto as jobs always have (--sync-chunking none: one block, the server's default)
//   3. with Redis (redis-server found, or --redis): jobs on one API process (`earshot serve` with EARSHOT_REDIS_URL and
//      EARSHOT_JOBS_CONCURRENCY=0: it runs no job itself) and two `earshot worker` processes, all on this machine,
//      sharing a redis-server the bench starts
//
// Reported per scenario: audio hours transcribed per wall-clock hour (= × real time), the wall time from the first
// upload to the last result, job latency (submit → done) p50/p95, and the CPU the rest of the machine took
// meanwhile (the figures only mean something on an otherwise idle machine).
//
//   npm run bench:jobs
//   npm run bench:jobs -- --jobs 6                       a quick check
//   npm run bench:jobs -- --only embedded,sync --seconds 120 --server-arg --parallel-jobs=2
//   npm run bench:jobs -- --redis                        fail (rather than skip) when Redis cannot be run
//
// The processes are `earshot serve` / `earshot worker` children running src/ through tsx (--server-entry dist: the
// last `npm run build`), with the generated tiny-shaped test model (real shapes and compute, junk text), their own
// temp data dir, on loopback; all are killed when the bench ends, however it ends.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

import OpenAI, { toFile } from "openai";

import { decodeAudio } from "../src/audio/index.js";
import { type Job, JobsApi } from "../src/cli/jobsApi.js";
import { getTestModelPath } from "../src/models/testModel/index.js";
import { freePort } from "../test/support/loopbackPorts.js";
import { encodeWav } from "../test/support/speech.js";
import { cpuPhase } from "./cpuLoad.js";
import { killOnExit, serverUrl } from "./serverUrl.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const librispeechDir = path.resolve(root, "..", "shared", "data", "librispeech");
const RATE = 16_000;

const { values: args } = parseArgs({
  options: {
    jobs: { type: "string", default: "50" },
    seconds: { type: "string", default: "60" },
    only: { type: "string", default: "embedded,sync,redis" },
    redis: { type: "boolean", default: false },
    "redis-server": { type: "string", default: process.env.REDIS_SERVER ?? "redis-server" },
    workers: { type: "string", default: "2" },
    /** In-flight synchronous requests; default the server's job slots + queue places (from /ready). */
    "sync-concurrency": { type: "string" },
    /** chunking_strategy of the synchronous requests: auto, as jobs always run (VAD chunks), or none (one block). */
    "sync-chunking": { type: "string", default: "auto" },
    /** Uploads of jobs at once. */
    "submit-concurrency": { type: "string", default: "2" },
    "server-entry": { type: "string", default: "src" },
    /** Extra `earshot serve`/`earshot worker` flags, e.g. --server-arg --parallel-jobs=2 (repeatable). */
    "server-arg": { type: "string", multiple: true, default: [] },
    "keep-files": { type: "boolean", default: false },
  },
});
const jobCount = positiveInt("jobs", args.jobs);
const fileSeconds = positiveInt("seconds", args.seconds);
const workerCount = positiveInt("workers", args.workers);
const submitConcurrency = positiveInt("submit-concurrency", args["submit-concurrency"]);
const only = new Set(args.only.split(",").map((s) => s.trim()));

function positiveInt(name: string, raw: string): number {
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) throw new Error(`--${name}: expected a positive integer, got "${raw}"`);
  return value;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const minutes = (seconds: number) => `${(seconds / 60).toFixed(1)} min`;

function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

const tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), "earshot-bench-jobs-"));
process.on("exit", () => {
  if (!args["keep-files"]) fs.rmSync(tmpDir, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------
// The recordings: LibriSpeech utterances one after another (0.4 s apart), each file starting at another utterance.

async function makeRecordings(): Promise<string[]> {
  const manifest = path.join(librispeechDir, "manifest.jsonl");
  if (!fs.existsSync(manifest)) throw new Error(`${manifest} not found: this bench needs ../shared (see ../shared/README.md)`);
  const entries = fs.readFileSync(manifest, "utf8").trim().split("\n").map((line) => JSON.parse(line) as { audio: string });
  const utterances: Float32Array[] = new Array(entries.length);
  let next = 0;
  await Promise.all(
    [0, 1].map(async () => {
      while (next < entries.length) {
        const i = next++;
        utterances[i] = (await decodeAudio(path.join(librispeechDir, entries[i]!.audio))).samples;
      }
    }),
  );
  const gap = Math.round(0.4 * RATE);
  const length = fileSeconds * RATE;
  const files: string[] = [];
  for (let n = 0; n < jobCount; n++) {
    const samples = new Float32Array(length);
    let at = 0;
    // A different start for each file (a prime stride through the utterances), so no two files are the same.
    for (let u = (n * 7) % utterances.length; at < length; u = (u + 1) % utterances.length) {
      const piece = utterances[u]!.subarray(0, length - at);
      samples.set(piece, at);
      at += piece.length + gap;
    }
    const file = path.join(tmpDir, `speech-${String(n + 1).padStart(3, "0")}.wav`);
    fs.writeFileSync(file, encodeWav(samples, RATE));
    files.push(file);
  }
  return files;
}

// ---------------------------------------------------------------------------------------------
// Processes: servers, workers, redis-server.

interface Child {
  url: string;
  stop(): Promise<void>;
}

function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith("EARSHOT_")));
  return { ...env, ...extra };
}

const entry = args["server-entry"] === "dist" ? [path.join(root, "bin", "earshot.js")] : ["--import", "tsx", path.join(root, "src", "cli", "main.ts")];

/** Prints the child's error-level log lines (and anything that is not a log line) as they come. */
function watchLog(child: ChildProcess, label: string): void {
  let rest = "";
  child.stdout!.on("data", (chunk: Buffer) => {
    rest += chunk.toString();
    const lines = rest.split("\n");
    rest = lines.pop()!;
    for (const line of lines) {
      if (!line.trim()) continue;
      try {
        if (((JSON.parse(line) as { level?: number }).level ?? 0) < 50) continue;
      } catch {
        // not a log line: show it
      }
      console.log(`  [${label}] ${line.slice(0, 300)}`);
    }
  });
}

function stopper(child: ChildProcess): () => Promise<void> {
  return async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 45_000);
    await exited;
    clearTimeout(timer);
  };
}

/** `earshot <command>` (serve or worker) with the test model, its data dir and `env`; resolves once it listens. */
async function startEarshot(command: "serve" | "worker", label: string, env: Record<string, string>): Promise<Child> {
  const model = await getTestModelPath("tiny");
  const child = spawn(process.execPath, [...entry, command, "--log-level", "warn", ...args["server-arg"]], {
    cwd: root,
    env: childEnv({ EARSHOT_MODEL: model, EARSHOT_HOST: "127.0.0.1", EARSHOT_PORT: "0", EARSHOT_WORKER_PORT: "0", ...env }),
    stdio: ["ignore", "pipe", "pipe"],
  });
  killOnExit(child);
  watchLog(child, label);
  return { url: await serverUrl(child, 180_000), stop: stopper(child) };
}

/** Whether this checkout has `earshot worker` (the Redis backend's worker-only process). */
function hasWorkerCommand(): boolean {
  const probe = spawnSync(process.execPath, [...entry, "worker", "--help"], { cwd: root, encoding: "utf8", timeout: 60_000 });
  return probe.status === 0 && /worker/.test(probe.stdout);
}

function findRedisServer(): string | undefined {
  const probe = spawnSync(args["redis-server"], ["--version"], { encoding: "utf8" });
  return probe.status === 0 ? args["redis-server"] : undefined;
}

/** A throwaway redis-server on loopback (no persistence), ready when PING answers. */
async function startRedis(binary: string): Promise<Child> {
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(tmpDir, "redis-"));
  const child = spawn(binary, ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir], { stdio: ["ignore", "pipe", "pipe"] });
  killOnExit(child);
  const url = `redis://127.0.0.1:${port}`;
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`redis-server exited (${child.exitCode})`);
    const pong = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, "127.0.0.1", () => socket.write("PING\r\n"));
      socket.once("data", (data) => {
        socket.destroy();
        resolve(data.toString().startsWith("+PONG"));
      });
      socket.once("error", () => resolve(false));
    });
    if (pong) return { url, stop: stopper(child) };
    if (Date.now() > deadline) throw new Error("redis-server did not answer PING within 20 s");
    await sleep(100);
  }
}

// ---------------------------------------------------------------------------------------------
// The scenarios.

interface Outcome {
  scenario: string;
  audioSeconds: number;
  wallSeconds: number;
  /** Per file: from its submission (or request) to its result. */
  latencies: number[];
  failures: number;
  /** Retried 429s (synchronous requests). */
  retries: number;
  cpuOthers: number;
  cpuOurs: number;
  note?: string;
}

/** Submits every file as a job (`submitConcurrency` uploads at once) and polls the list until all have finished. */
async function runJobs(scenario: string, url: string, files: string[]): Promise<Outcome> {
  const api = new JobsApi({ url, timeoutMs: 60_000, uploadTimeoutMs: 600_000 });
  const cpu = cpuPhase();
  const started = performance.now();
  const submittedAt = new Map<string, number>();
  const finishedAt = new Map<string, number>();
  const jobs: Job[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: submitConcurrency }, async () => {
      while (next < files.length) {
        const file = files[next++]!;
        const at = performance.now();
        const job = await api.submit(file, { model: "whisper-1", language: "en" });
        submittedAt.set(job.id, at);
        jobs.push(job);
      }
    }),
  );
  const uploadSeconds = (performance.now() - started) / 1000;
  let last: Job[] = jobs;
  while (finishedAt.size < jobs.length) {
    await sleep(250);
    last = await listAll(api, jobs.length);
    const now = performance.now();
    for (const job of last) {
      if (submittedAt.has(job.id) && !finishedAt.has(job.id) && ["succeeded", "failed", "cancelled"].includes(job.status)) finishedAt.set(job.id, now);
    }
  }
  const wallSeconds = (performance.now() - started) / 1000;
  const { ours, others } = cpu.stop();
  const mine = last.filter((job) => submittedAt.has(job.id));
  const failed = mine.filter((job) => job.status !== "succeeded");
  for (const job of failed.slice(0, 3)) console.log(`  ${job.id} ${job.filename}: ${job.status} ${job.error?.message ?? ""}`);
  return {
    scenario,
    audioSeconds: mine.reduce((sum, job) => sum + job.progress.audio_seconds_total, 0),
    wallSeconds,
    latencies: mine.map((job) => (finishedAt.get(job.id)! - submittedAt.get(job.id)!) / 1000),
    failures: failed.length,
    retries: 0,
    cpuOthers: others,
    cpuOurs: ours,
    note: `uploads done after ${uploadSeconds.toFixed(1)} s`,
  };
}

/** Every job of this (fresh) server, newest first, through the list's pages. */
async function listAll(api: JobsApi, atLeast: number): Promise<Job[]> {
  const all: Job[] = [];
  let after: string | undefined;
  for (;;) {
    const page = await api.list({ limit: 100, ...(after ? { after } : {}) });
    all.push(...page.data);
    if (!page.has_more || all.length >= atLeast || !page.last_id) return all;
    after = page.last_id;
  }
}

/** The same files as synchronous transcriptions, `concurrency` in flight, through the official SDK. */
async function runSync(scenario: string, url: string, files: string[], concurrency: number): Promise<Outcome> {
  const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: "none", maxRetries: 0, timeout: 3_600_000 });
  const cpu = cpuPhase();
  const started = performance.now();
  const latencies: number[] = [];
  let audioSeconds = 0;
  let failures = 0;
  let retries = 0;
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < files.length) {
        const file = files[next++]!;
        const at = performance.now();
        for (;;) {
          try {
            const result = await client.audio.transcriptions.create({
              file: await toFile(fs.createReadStream(file), path.basename(file)),
              model: "whisper-1",
              language: "en",
              response_format: "verbose_json",
              ...(args["sync-chunking"] === "auto" ? { chunking_strategy: "auto" as const } : {}),
            });
            audioSeconds += result.duration;
            latencies.push((performance.now() - at) / 1000);
            break;
          } catch (error) {
            if (error instanceof OpenAI.APIError && error.status === 429) {
              retries++;
              await sleep(1000 * Number(error.headers?.get("retry-after") ?? 1));
              continue;
            }
            failures++;
            console.log(`  ${path.basename(file)}: ${(error as Error).message}`);
            break;
          }
        }
      }
    }),
  );
  const wallSeconds = (performance.now() - started) / 1000;
  const { ours, others } = cpu.stop();
  return { scenario, audioSeconds, wallSeconds, latencies, failures, retries, cpuOthers: others, cpuOurs: ours, note: `${concurrency} in flight, chunking ${args["sync-chunking"]}` };
}

interface ReadyBody {
  maxParallel: number;
  maxQueued: number;
}

/** One short transcription, so that the model is loaded and warm before anything is timed. */
async function warmUp(url: string, file: string): Promise<void> {
  const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: "none", maxRetries: 2, timeout: 600_000 });
  await client.audio.transcriptions.create({ file: await toFile(fs.createReadStream(file), "warmup.wav"), model: "whisper-1", language: "en" });
}

// ---------------------------------------------------------------------------------------------
// Report.

function printTable(outcomes: Outcome[], skipped: string[]): void {
  const header = ["scenario", "jobs", "audio", "wall", "audio h/h", "latency p50", "p95", "failed", "429s", "CPU bench", "audio s/CPU s", "CPU others", "note"];
  const rows = outcomes.map((o) => [
    o.scenario,
    String(o.latencies.length + o.failures),
    minutes(o.audioSeconds),
    `${o.wallSeconds.toFixed(1)} s`,
    (o.audioSeconds / o.wallSeconds).toFixed(2),
    `${percentile(o.latencies, 50).toFixed(1)} s`,
    `${percentile(o.latencies, 95).toFixed(1)} s`,
    String(o.failures),
    String(o.retries),
    Number.isNaN(o.cpuOurs) ? "n/a" : `${o.cpuOurs.toFixed(0)} s`,
    Number.isNaN(o.cpuOurs) ? "n/a" : (o.audioSeconds / o.cpuOurs).toFixed(1),
    Number.isNaN(o.cpuOthers) ? "n/a" : `${o.cpuOthers.toFixed(0)} s`,
    o.note ?? "",
  ]);
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => row[i]!.length)));
  const format = (row: string[]) => row.map((cell, i) => (i === 0 || i === row.length - 1 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join("  ");
  console.log();
  console.log(format(header));
  console.log(widths.map((w) => "-".repeat(w)).join("  "));
  for (const row of rows) console.log(format(row));
  for (const line of skipped) console.log(`skipped: ${line}`);
  console.log();
  console.log("audio h/h: hours of audio transcribed per hour of wall time (= × real time), first upload to last result.");
  console.log(`CPU: CPU-seconds of the bench's processes, and of everything else on this ${os.availableParallelism()}-thread machine meanwhile (distorts the figures when large).`);
  console.log("audio s/CPU s: audio seconds per CPU-second the bench's processes used (servers, workers, FFmpeg, redis-server, the bench): the cost, less moved by other load.");
}

async function main(): Promise<void> {
  console.log(`${jobCount} files of ${fileSeconds} s of LibriSpeech speech; model: generated tiny-shaped test model; ${os.availableParallelism()} hardware threads`);
  const files = await makeRecordings();
  console.log(`recordings ready in ${tmpDir}`);
  const outcomes: Outcome[] = [];
  const skipped: string[] = [];

  if (only.has("embedded") || only.has("sync")) {
    const dataDir = fs.mkdtempSync(path.join(tmpDir, "data-"));
    const server = await startEarshot("serve", "serve", { EARSHOT_DATA_DIR: dataDir });
    const ready = (await (await fetch(`${server.url}/ready`)).json()) as ReadyBody;
    console.log(`server ${server.url}: ${ready.maxParallel} job slots, ${ready.maxQueued} queue places`);
    await warmUp(server.url, files[0]!);
    if (only.has("embedded")) {
      console.log("1. jobs, embedded SQLite ...");
      outcomes.push(await runJobs("jobs, embedded SQLite (1 server)", server.url, files));
    }
    if (only.has("sync")) {
      const concurrency = args["sync-concurrency"] ? positiveInt("sync-concurrency", args["sync-concurrency"]) : ready.maxParallel + ready.maxQueued;
      console.log(`2. synchronous requests, ${concurrency} in flight ...`);
      outcomes.push(await runSync("synchronous /v1/audio/transcriptions", server.url, files, concurrency));
    }
    await server.stop();
  }

  if (only.has("redis")) {
    const redisBinary = findRedisServer();
    const workerCommand = hasWorkerCommand();
    const missing = !redisBinary ? `redis-server not found (${args["redis-server"]}; apt-get install redis-server, or --redis-server PATH)` : !workerCommand ? "this checkout has no `earshot worker` command yet" : undefined;
    if (missing) {
      if (args.redis) throw new Error(`--redis: ${missing}`);
      skipped.push(`Redis scenario: ${missing}`);
    } else {
      const redis = await startRedis(redisBinary!);
      const dataDir = fs.mkdtempSync(path.join(tmpDir, "data-redis-"));
      const shared = { EARSHOT_REDIS_URL: redis.url, EARSHOT_DATA_DIR: dataDir };
      // API only (EARSHOT_JOBS_CONCURRENCY=0): every job runs on a worker.
      const api = await startEarshot("serve", "api", { ...shared, EARSHOT_JOBS_CONCURRENCY: "0" });
      const workers: Child[] = [];
      for (let i = 0; i < workerCount; i++) workers.push(await startEarshot("worker", `worker ${i + 1}`, { ...shared, EARSHOT_DATA_DIR: fs.mkdtempSync(path.join(tmpDir, `data-worker-${i + 1}-`)) }));
      console.log(`3. jobs, Redis: API ${api.url}, ${workerCount} workers ...`);
      await warmUp(api.url, files[0]!);
      outcomes.push(await runJobs(`jobs, Redis (1 API + ${workerCount} workers)`, api.url, files));
      await Promise.all([...workers.map((worker) => worker.stop()), api.stop()]);
      await redis.stop();
    }
  }
  printTable(outcomes, skipped);
  if (outcomes.some((o) => o.failures > 0)) process.exitCode = 1;
}

main().then(
  () => process.exit(),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
