// Hostile HTTP uploads against one Earshot server, and what they cost everyone else:
//
//   1a. 16 concurrent uploads of 3 h of audio in ~3 MB of ogg/opus (from a pipe, ogg declares no duration: stopped
//       by the decoded-seconds cap or the decoded-audio budget)
//   1b. the same with 3 h in ~2 MB of flac whose header declares it (refused from the header)
//   2.  100 uploads that stall mid-body (64 KiB of the file, then nothing), held until the server answers
//   3.  40 concurrent uploads of 60 s of speech (legitimate files, too many at once), each sent at ~2.5 MB/s (64 KiB
//       every 25 ms, a fast uplink) so that how much had been sent when the 429 came means something
//
//   npm run bench:abuse
//   npm run bench:abuse -- --only 1a,3 --server-arg --upload-idle-timeout-seconds=10
//
// Each scenario runs on a fresh `earshot serve` child with its defaults (src/ through tsx, or bin/earshot.js with
// --server-entry dist) and the generated tiny test model, on loopback. Reported per scenario: every response's
// status, the server's peak RSS (VmRSS sampled every 20 ms, and VmHWM) against the bound in docs/performance.md
// (R0 + 2·B + 1.8·min(B, J·S) + D·1 MB, R0 measured on the idle server after one warm-up transcription), the most
// FFmpeg processes at once and their summed RSS, /health latency p50 / p99 / max probed every 20 ms from a worker
// thread, and whether one legitimate request (the official SDK, its default 2 retries honouring Retry-After, 10 s
// of speech) sent 300 ms into the attack succeeded. Every loop is bounded; nothing leaves loopback.
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { Worker } from "node:worker_threads";

import OpenAI, { toFile } from "openai";

import { getTestModelPath } from "../src/models/testModel/index.js";
import { percentile, rawUpload, silenceFile, type RawUploadResult } from "../test/support/abuse.js";
import { speechOfLength } from "../test/support/engineFixtures.js";
import { killOnExit, serverUrl } from "./serverUrl.js";
import { encodeWav } from "../test/support/speech.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const { values: args } = parseArgs({
  options: {
    only: { type: "string", default: "1a,1b,2,3" },
    stalled: { type: "string", default: "100" },
    concurrent: { type: "string", default: "40" },
    "server-entry": { type: "string", default: "src" },
    "server-arg": { type: "string", multiple: true, default: [] },
  },
});
const ONLY = new Set(args.only.split(",").map((s) => s.trim()));
const PROBE_EVERY_MS = 20;
const MB = 1_048_576;


const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const fmtMs = (value: number) => (Number.isNaN(value) ? "-" : value >= 1000 ? `${(value / 1000).toFixed(2)} s` : `${value.toFixed(0)} ms`);

// ---------------------------------------------------------------------------------------------
// The server.

interface Server {
  url: string;
  pid: number;
  /** The effective limits it logged at start. */
  limits: { maxDecodedSeconds: number; maxDecodedAudioMb: number; maxConcurrentDecodes: number };
  parallelJobs: number;
  stop(): Promise<void>;
}

async function startServer(): Promise<Server> {
  const model = await getTestModelPath("tiny");
  const entry = args["server-entry"] === "dist" ? [path.join(root, "bin", "earshot.js")] : ["--import", "tsx", path.join(root, "src", "cli", "main.ts")];
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith("EARSHOT_")));
  const child = spawn(process.execPath, [...entry, "serve", "--model", model, "--host", "127.0.0.1", "--port", "0", "--log-level", "info", ...args["server-arg"]], {
    cwd: root,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  killOnExit(child);
  let limits: Server["limits"] | undefined;
  let parallelJobs = 1;
  let rest = "";
  child.stdout!.on("data", (chunk: Buffer) => {
    rest += chunk.toString();
    const lines = rest.split("\n");
    rest = lines.pop()!;
    for (const line of lines) {
      try {
        const record = JSON.parse(line) as { msg?: string; level?: number; parallelJobs?: number } & Partial<Server["limits"]>;
        if (record.msg === "upload limits") limits = record as Server["limits"];
        if (record.msg === "model loaded" && record.parallelJobs) parallelJobs = record.parallelJobs;
        if ((record.level ?? 0) >= 50) console.log(`  [server error] ${line.slice(0, 300)}`);
      } catch {
        // not a log line
      }
    }
  });
  const url = await serverUrl(child);
  await sleep(100);
  if (!limits) throw new Error("the server logged no 'upload limits' line");
  return {
    url,
    pid: child.pid!,
    limits,
    parallelJobs,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 45_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

function status(pid: number): string {
  return fs.readFileSync(`/proc/${pid}/status`, "utf8");
}
const kbField = (text: string, name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, "m").exec(text)?.[1] ?? 0);

/** The server's FFmpeg children and their summed RSS (MB). */
function ffmpegChildren(serverPid: number): { count: number; rssMb: number } {
  let count = 0;
  let rssKb = 0;
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
      const close = stat.lastIndexOf(")");
      const [state, ppid] = stat.slice(close + 2).split(" ");
      if (stat.slice(stat.indexOf("(") + 1, close) !== "ffmpeg" || Number(ppid) !== serverPid || state === "Z") continue;
      count++;
      rssKb += kbField(status(Number(entry)), "VmRSS");
    } catch {
      // exited meanwhile
    }
  }
  return { count, rssMb: rssKb / 1024 };
}

/** Samples the server's RSS and FFmpeg children every 20 ms. */
class MemoryWatch {
  maxRssMb = 0;
  maxFfmpeg = 0;
  maxFfmpegRssMb = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly pid: number) {
    this.sample();
    this.timer = setInterval(() => this.sample(), 20);
  }

  private sample(): void {
    try {
      this.maxRssMb = Math.max(this.maxRssMb, kbField(status(this.pid), "VmRSS") / 1024);
      const ffmpeg = ffmpegChildren(this.pid);
      this.maxFfmpeg = Math.max(this.maxFfmpeg, ffmpeg.count);
      this.maxFfmpegRssMb = Math.max(this.maxFfmpegRssMb, ffmpeg.rssMb);
    } catch {
      // the server is gone
    }
  }

  stop(): void {
    clearInterval(this.timer);
    this.sample();
  }
}

// ---------------------------------------------------------------------------------------------
// /health probe in a worker thread, one request at a time over a keep-alive connection.

const PROBE_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const http = require("node:http");
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
let stopped = false;
parentPort.on("message", () => { stopped = true; });
function probe() {
  if (stopped) { agent.destroy(); parentPort.close(); return; }
  const started = performance.now();
  const done = (error) => {
    parentPort.postMessage({ ms: performance.now() - started, error });
    setTimeout(probe, workerData.everyMs);
  };
  http.get(workerData.url + "/health", { agent, timeout: 10000 }, (res) => { res.resume(); res.on("end", () => done(res.statusCode === 200 ? undefined : "status " + res.statusCode)); })
    .on("timeout", function () { this.destroy(new Error("timeout")); })
    .on("error", (e) => done(String(e)));
}
probe();
`;

class HealthProbe {
  readonly samples: Array<{ ms: number; error?: string }> = [];
  private readonly worker: Worker;

  constructor(url: string) {
    this.worker = new Worker(PROBE_SOURCE, { eval: true, workerData: { url, everyMs: PROBE_EVERY_MS } });
    this.worker.on("message", (sample: { ms: number; error?: string }) => this.samples.push(sample));
  }

  async stop(): Promise<string> {
    this.worker.postMessage("stop");
    await new Promise((resolve) => this.worker.once("exit", resolve));
    const ms = this.samples.map((s) => s.ms);
    const errors = this.samples.filter((s) => s.error).length;
    return `/health p50 ${fmtMs(percentile(ms, 50))}, p99 ${fmtMs(percentile(ms, 99))}, max ${fmtMs(Math.max(...ms))} (${ms.length} probes${errors ? `, ${errors} failed` : ""})`;
  }
}

// ---------------------------------------------------------------------------------------------
// The legitimate client: the official SDK as an application would use it (2 retries, honouring Retry-After).

let legitWav: Buffer;

async function legitimateRequest(url: string): Promise<string> {
  const statuses: number[] = [];
  const client = new OpenAI({
    baseURL: `${url}/v1`,
    apiKey: "none",
    timeout: 120_000,
    fetch: async (input, init) => {
      const response = await fetch(input, init);
      // (the SDK also fetches a data: URL once, to probe its FormData support)
      if (String(input instanceof Request ? input.url : input).startsWith("http")) statuses.push(response.status);
      return response;
    },
  });
  const started = performance.now();
  try {
    const result = await client.audio.transcriptions.create({ file: await toFile(legitWav, "legit.wav"), model: "whisper-1", language: "en" });
    return `legitimate request: OK in ${fmtMs(performance.now() - started)} (statuses ${statuses.join(" → ")}; ${result.text.length} chars)`;
  } catch (error) {
    return `legitimate request: FAILED after ${fmtMs(performance.now() - started)} (statuses ${statuses.join(" → ") || "none"}: ${(error as Error).message.slice(0, 120)})`;
  }
}

// ---------------------------------------------------------------------------------------------
// Scenarios.

function tally(results: RawUploadResult[]): string {
  const counts = new Map<string, number>();
  for (const r of results) {
    let key = String(r.status || "no response");
    if (r.status >= 400) {
      try {
        key += ` ${(JSON.parse(r.body) as { error: { code: string } }).error.code}`;
      } catch {
        // not JSON
      }
    }
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts].map(([key, n]) => `${n} x ${key}`).join(", ");
}

function times(results: RawUploadResult[], filter: (r: RawUploadResult) => boolean): string {
  const ms = results.filter(filter).map((r) => r.elapsedMs);
  return ms.length ? `p50 ${fmtMs(percentile(ms, 50))}, max ${fmtMs(Math.max(...ms))}` : "-";
}

interface Scenario {
  id: string;
  title: string;
  attack(server: Server): Promise<string[]>;
}

async function run(scenario: Scenario): Promise<void> {
  console.log(`\n== ${scenario.id}. ${scenario.title}`);
  const server = await startServer();
  try {
    // Warm-up (one transcription creates the job slot's whisper state), then R0: the idle server's RSS.
    console.log(`  warm-up: ${await legitimateRequest(server.url)}`);
    await sleep(500);
    const r0 = kbField(status(server.pid), "VmRSS") / 1024;
    const { maxDecodedSeconds, maxDecodedAudioMb: budget, maxConcurrentDecodes: decodes } = server.limits;
    const perUpload = (maxDecodedSeconds * 64_000) / MB;
    const bound = r0 + 2 * budget + 1.8 * Math.min(budget, server.parallelJobs * perUpload) + decodes * 1;

    const watch = new MemoryWatch(server.pid);
    const probe = new HealthProbe(server.url);
    const started = performance.now();
    const legit = sleep(300).then(() => legitimateRequest(server.url));
    const lines = await scenario.attack(server);
    const legitLine = await legit;
    const elapsed = performance.now() - started;
    watch.stop();
    const health = await probe.stop();
    const hwm = kbField(status(server.pid), "VmHWM") / 1024;

    for (const line of lines) console.log(`  ${line}`);
    console.log(`  attack over in ${fmtMs(elapsed)}`);
    console.log(
      `  server RSS: idle ${r0.toFixed(0)} MB, max ${watch.maxRssMb.toFixed(0)} MB (VmHWM ${hwm.toFixed(0)} MB); ` +
        `bound R0 + 2·${budget} + 1.8·min(${budget}, ${server.parallelJobs}·${perUpload.toFixed(0)}) + ${decodes}·1 = ${bound.toFixed(0)} MB: ${hwm <= bound ? "holds" : "EXCEEDED"}`,
    );
    console.log(`  FFmpeg: at most ${watch.maxFfmpeg} at once, ${watch.maxFfmpegRssMb.toFixed(0)} MB RSS together`);
    console.log(`  ${health}`);
    console.log(`  ${legitLine}`);
    const after = ffmpegChildren(server.pid);
    if (after.count > 0) console.log(`  ${after.count} FFmpeg still running after the attack`);
  } finally {
    await server.stop();
  }
}

const scenarios: Scenario[] = [
  {
    id: "1a",
    title: "16 concurrent uploads of 3 h in ~3 MB of ogg/opus (no declared duration)",
    async attack(server) {
      const ogg = await silenceFile(3 * 3600, "ogg-opus");
      const results = await Promise.all(Array.from({ length: 16 }, () => rawUpload(`${server.url}/v1/audio/transcriptions`, { file: ogg, timeoutMs: 300_000 })));
      return [`${(ogg.length / MB).toFixed(1)} MB each: ${tally(results)}`, `answered after ${times(results, () => true)}`];
    },
  },
  {
    id: "1b",
    title: "16 concurrent uploads of 3 h in ~2 MB of flac (the header declares 3 h)",
    async attack(server) {
      const flac = await silenceFile(3 * 3600, "flac");
      const results = await Promise.all(Array.from({ length: 16 }, () => rawUpload(`${server.url}/v1/audio/transcriptions`, { file: flac, timeoutMs: 300_000 })));
      return [`${(flac.length / MB).toFixed(1)} MB each: ${tally(results)}`, `answered after ${times(results, () => true)}`];
    },
  },
  {
    id: "2",
    title: `${args.stalled} uploads that stall mid-body`,
    async attack(server) {
      const flac = await silenceFile(3 * 3600, "flac-stream");
      const count = Number(args.stalled);
      const results = await Promise.all(
        Array.from({ length: count }, () => rawUpload(`${server.url}/v1/audio/transcriptions`, { file: flac, stallAfterBytes: 64 * 1024, timeoutMs: 120_000 })),
      );
      return [
        tally(results),
        `429 after ${times(results, (r) => r.status === 429)}; 408 after ${times(results, (r) => r.status === 408)}`,
        `body bytes taken before a 429: max ${Math.max(0, ...results.filter((r) => r.status === 429).map((r) => r.writtenAtResponse))}`,
      ];
    },
  },
  {
    id: "3",
    title: `${args.concurrent} concurrent uploads of 60 s of speech`,
    async attack(server) {
      const wav = encodeWav(await speechOfLength(60), 16_000);
      const count = Number(args.concurrent);
      const results = await Promise.all(
        Array.from({ length: count }, () =>
          rawUpload(`${server.url}/v1/audio/transcriptions`, { file: wav, fields: { model: "whisper-1", language: "en" }, chunkBytes: 64 * 1024, pauseMs: 25, timeoutMs: 300_000 }),
        ),
      );
      const refused = results.filter((r) => r.status === 429);
      return [
        `${(wav.length / MB).toFixed(1)} MB each: ${tally(results)}`,
        `429 after ${times(results, (r) => r.status === 429)}, with at most ${refused.length ? Math.max(...refused.map((r) => r.writtenAtResponse)) : 0} of the ${wav.length} body bytes sent; 200 after ${times(results, (r) => r.status === 200)}`,
      ];
    },
  },
];

legitWav = encodeWav(await speechOfLength(10), 16_000);
// The fixtures first (3 h of opus takes ~30 s to encode once; cached in the temp dir).
if (ONLY.has("1a")) await silenceFile(3 * 3600, "ogg-opus");
if (ONLY.has("1b")) await silenceFile(3 * 3600, "flac");
if (ONLY.has("2")) await silenceFile(3 * 3600, "flac-stream");
for (const scenario of scenarios) if (ONLY.has(scenario.id)) await run(scenario);
