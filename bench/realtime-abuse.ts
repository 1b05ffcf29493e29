// Hostile realtime clients against one Earshot server, and what they cost everyone else:
//
//   1. one session sends one 14-MB input_audio_buffer.append (~220 s of 24 kHz PCM16), then a clear that marks
//      when the server is through with it; the client closes once it is (or after --wait-seconds)
//   2. 20 sessions each send one such append; the clients close --hold-seconds after their messages are handed to
//      the socket (with the default speed limit of 20x a message takes ~11 s to be let in, then ~2 s of CPU to decode)
//   3. 500 idle sessions opened at once (how many are accepted), held --hold-seconds
//
//   npm run bench:realtime-abuse
//   npm run bench:realtime-abuse -- --sessions 20 --mb 14 --idle 500 --hold-seconds 15 --server-arg=--realtime-max-speed=40
//
// Each scenario runs on a fresh `earshot serve` child (src/ through tsx, or bin/earshot.js with --server-entry dist)
// with the generated tiny test model. Reported per scenario: the server's peak RSS (VmHWM) and its RSS 3 s after the
// clients closed; /health latency p50 / p99 / max while attacked and after the clients closed, probed every 20 ms
// over a keep-alive connection from a worker thread (so this process's own work, e.g. masking 14-MB frames, does
// not delay the probe); the server's CPU in the 3 s after the clients closed (100 % = one core busy).
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { Worker } from "node:worker_threads";

import { WebSocket } from "ws";

import { killOnExit, serverUrl } from "./serverUrl.js";
import { getTestModelPath } from "../src/models/testModel/index.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const { values: args } = parseArgs({
  options: {
    sessions: { type: "string", default: "20" },
    mb: { type: "string", default: "14" },
    idle: { type: "string", default: "500" },
    "hold-seconds": { type: "string", default: "15" },
    "wait-seconds": { type: "string", default: "60" },
    only: { type: "string", default: "1,2,3" },
    "server-entry": { type: "string", default: "src" },
    "server-arg": { type: "string", multiple: true, default: [] },
  },
});
const SESSIONS = Number(args.sessions);
const MESSAGE_BYTES = Math.floor(Number(args.mb) * 1_048_576);
const IDLE = Number(args.idle);
const HOLD_MS = Number(args["hold-seconds"]) * 1000;
const WAIT_MS = Number(args["wait-seconds"]) * 1000;
const ONLY = new Set(args.only.split(",").map((s) => s.trim()));
const AFTER_MS = 3000;
const PROBE_EVERY_MS = 20;


const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------------------------------------
// The server: an `earshot serve` child on an OS-assigned port.

interface Server {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

async function startServer(): Promise<Server> {
  const model = await getTestModelPath("tiny");
  const entry = args["server-entry"] === "dist" ? [path.join(root, "bin", "earshot.js")] : ["--import", "tsx", path.join(root, "src", "cli", "main.ts")];
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith("EARSHOT_")));
  const child = spawn(
    process.execPath,
    [...entry, "serve", "--model", model, "--host", "127.0.0.1", "--port", "0", "--log-level", "warn", ...args["server-arg"]],
    { cwd: root, env, stdio: ["ignore", "ignore", "pipe"] },
  );
  killOnExit(child);
  const url = await serverUrl(child);
  return {
    url,
    pid: child.pid!,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** VmRSS and VmHWM (peak) of a process, in MB. */
function memory(pid: number): { rss: number; peak: number } {
  const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, "m").exec(status)?.[1] ?? 0);
  return { rss: kb("VmRSS") / 1024, peak: kb("VmHWM") / 1024 };
}

/** CPU seconds (user + system) a process has used. */
function cpuSeconds(pid: number): number {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
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
    parentPort.postMessage({ at: Date.now(), ms: performance.now() - started, error });
    setTimeout(probe, workerData.everyMs);
  };
  http.get(workerData.url + "/health", { agent }, (res) => { res.resume(); res.on("end", () => done(res.statusCode === 200 ? undefined : "status " + res.statusCode)); })
    .on("error", (e) => done(String(e)));
}
probe();
`;

class HealthProbe {
  readonly samples: Array<{ at: number; ms: number; error?: string }> = [];
  private readonly worker: Worker;

  constructor(url: string) {
    this.worker = new Worker(PROBE_SOURCE, { eval: true, workerData: { url, everyMs: PROBE_EVERY_MS } });
    this.worker.on("message", (sample: { at: number; ms: number; error?: string }) => this.samples.push(sample));
  }

  /** Latencies of the probes that ended in [from, to). */
  between(from: number, to: number): number[] {
    return this.samples.filter((s) => s.at >= from && s.at < to).map((s) => s.ms);
  }

  errors(): number {
    return this.samples.filter((s) => s.error).length;
  }

  async stop(): Promise<void> {
    this.worker.postMessage("stop");
    await new Promise((resolve) => this.worker.once("exit", resolve));
  }
}

function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

const ms = (value: number) => (Number.isNaN(value) ? "-" : value >= 1000 ? `${(value / 1000).toFixed(2)} s` : `${value.toFixed(0)} ms`);

// ---------------------------------------------------------------------------------------------
// Realtime clients.

function realtimeUrl(url: string): string {
  return `${url.replace(/^http/, "ws")}/v1/realtime?intent=transcription`;
}

interface Client {
  socket: WebSocket;
  /** When `type` first arrived, if it did. */
  seen: Map<string, number>;
}

/** Opens a realtime socket; resolves with the client, or with the HTTP status of a refusal. */
function connect(url: string): Promise<Client | { refused: number }> {
  return new Promise((resolve) => {
    const socket = new WebSocket(realtimeUrl(url), { maxPayload: 1 << 20 });
    const client: Client = { socket, seen: new Map() };
    socket.on("message", (data) => {
      const type = (JSON.parse(data.toString()) as { type: string }).type;
      if (!client.seen.has(type)) client.seen.set(type, Date.now());
    });
    socket.once("open", () => resolve(client));
    socket.once("unexpected-response", (_request, response) => {
      response.resume();
      resolve({ refused: response.statusCode ?? 0 });
      socket.terminate();
    });
    socket.once("error", () => resolve({ refused: -1 }));
  });
}

async function closeAll(clients: Client[]): Promise<void> {
  await Promise.all(
    clients.map(
      (client) =>
        new Promise<void>((resolve) => {
          if (client.socket.readyState === WebSocket.CLOSED) return resolve();
          const timer = setTimeout(() => {
            client.socket.terminate();
            resolve();
          }, 2000);
          client.socket.once("close", () => {
            clearTimeout(timer);
            resolve();
          });
          client.socket.close();
        }),
    ),
  );
}

/** One JSON input_audio_buffer.append of `bytes` bytes in all: base64 of quiet PCM16 noise. */
function bigAppend(bytes: number): { message: Buffer; audioSeconds: number } {
  const prefix = '{"type":"input_audio_buffer.append","audio":"';
  const suffix = '"}';
  const base64Chars = Math.floor((bytes - prefix.length - suffix.length) / 8) * 8;
  const pcm = Buffer.alloc((base64Chars / 4) * 3);
  let seed = 12345;
  for (let i = 0; i < pcm.length; i += 2) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    pcm.writeInt16LE((seed >>> 16) % 600 - 300, i);
  }
  const message = Buffer.from(prefix + pcm.toString("base64") + suffix);
  return { message, audioSeconds: pcm.length / 2 / 24_000 };
}

// ---------------------------------------------------------------------------------------------
// Scenarios.

interface Result {
  scenario: string;
  sessions: string;
  processed: string;
  peakRss: number;
  rssAfter: number;
  during: number[];
  after: number[];
  cpuAfter: number;
  probeErrors: number;
}

async function measure(
  scenario: string,
  attack: (server: Server) => Promise<{ sessions: string; processed: string; close: () => Promise<void> }>,
): Promise<Result> {
  const server = await startServer();
  await sleep(500);
  const probe = new HealthProbe(server.url);
  let peakRss = 0;
  const rssTimer = setInterval(() => {
    try {
      peakRss = Math.max(peakRss, memory(server.pid).rss);
    } catch {
      // exited
    }
  }, 50);
  try {
    const started = Date.now();
    const { sessions, processed, close } = await attack(server);
    await close();
    const closed = Date.now();
    const cpuBefore = cpuSeconds(server.pid);
    await sleep(AFTER_MS);
    const cpuAfter = (cpuSeconds(server.pid) - cpuBefore) / (AFTER_MS / 1000);
    const mem = memory(server.pid);
    return {
      scenario,
      sessions,
      processed,
      peakRss: Math.max(peakRss, mem.peak),
      rssAfter: mem.rss,
      during: probe.between(started, closed),
      after: probe.between(closed, Date.now()),
      cpuAfter,
      probeErrors: probe.errors(),
    };
  } finally {
    clearInterval(rssTimer);
    await probe.stop();
    await server.stop();
  }
}

/** `count` sessions each send one big append then a clear; they close once every clear is answered, or after `holdMs`. */
function bigAppends(count: number, holdMs: number, waitForAll: boolean) {
  return async (server: Server) => {
    const { message, audioSeconds } = bigAppend(MESSAGE_BYTES);
    const opened = await Promise.all(Array.from({ length: count }, () => connect(server.url)));
    const clients = opened.filter((c): c is Client => "socket" in c);
    const sentAt = Date.now();
    await Promise.all(
      clients.map(
        (client) =>
          new Promise<void>((resolve) => {
            client.socket.send(message, { binary: false });
            client.socket.send(JSON.stringify({ type: "input_audio_buffer.clear" }), () => resolve());
          }),
      ),
    );
    const deadline = Date.now() + (waitForAll ? WAIT_MS : holdMs);
    while (Date.now() < deadline && !(waitForAll && clients.every((c) => c.seen.has("input_audio_buffer.cleared")))) await sleep(50);
    const done = clients.map((c) => c.seen.get("input_audio_buffer.cleared")).filter((t): t is number => t !== undefined);
    const processed = `${done.length}/${clients.length} in ${done.length ? ms(Math.max(...done) - sentAt) : "-"}`;
    return {
      sessions: `${clients.length} of ${count} accepted, ${(MESSAGE_BYTES / 1_048_576).toFixed(1)} MB = ${audioSeconds.toFixed(0)} s audio each`,
      processed,
      close: () => closeAll(clients),
    };
  };
}

function idleSessions(count: number, holdMs: number) {
  return async (server: Server) => {
    const results: Array<Client | { refused: number }> = [];
    for (let i = 0; i < count; i += 50) {
      results.push(...(await Promise.all(Array.from({ length: Math.min(50, count - i) }, () => connect(server.url)))));
    }
    const clients = results.filter((c): c is Client => "socket" in c);
    const refused = new Map<number, number>();
    for (const r of results) if ("refused" in r) refused.set(r.refused, (refused.get(r.refused) ?? 0) + 1);
    await sleep(holdMs);
    const refusedText = [...refused].map(([status, n]) => `${n} refused (${status === -1 ? "error" : status})`).join(", ");
    return {
      sessions: `${clients.length} of ${count} accepted${refusedText ? `, ${refusedText}` : ""}`,
      processed: "-",
      close: () => closeAll(clients),
    };
  };
}

const results: Result[] = [];
if (ONLY.has("1")) results.push(await measure(`1 x ${args.mb} MB append`, bigAppends(1, HOLD_MS, true)));
if (ONLY.has("2")) results.push(await measure(`${SESSIONS} x ${args.mb} MB append`, bigAppends(SESSIONS, HOLD_MS, false)));
if (ONLY.has("3")) results.push(await measure(`${IDLE} idle sessions`, idleSessions(IDLE, HOLD_MS)));

console.log(`\nrealtime abuse (server args: ${args["server-arg"].join(" ") || "defaults"}; /health probed every ${PROBE_EVERY_MS} ms)`);
for (const r of results) {
  console.log(`\n${r.scenario}: ${r.sessions}`);
  if (r.processed !== "-") console.log(`  appends processed (clear answered): ${r.processed}`);
  console.log(`  server RSS: peak ${r.peakRss.toFixed(0)} MB, ${AFTER_MS / 1000} s after the clients closed ${r.rssAfter.toFixed(0)} MB`);
  console.log(`  /health while attacked: p50 ${ms(percentile(r.during, 50))}, p99 ${ms(percentile(r.during, 99))}, max ${ms(Math.max(...r.during))} (${r.during.length} probes)`);
  console.log(`  /health after the clients closed: p50 ${ms(percentile(r.after, 50))}, p99 ${ms(percentile(r.after, 99))}, max ${ms(Math.max(...r.after))} (${r.after.length} probes)`);
  console.log(`  server CPU in the ${AFTER_MS / 1000} s after the clients closed: ${(r.cpuAfter * 100).toFixed(0)} % of a core${r.probeErrors ? `; ${r.probeErrors} probe errors` : ""}`);
}
process.exit(0);
