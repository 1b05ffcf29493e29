// The transcription pipeline end to end, through a real server, next to whisper.cpp's own whisper-cli (built
// from the same tree with the same flags), in one run on one machine:
//
//   1. a 5-s clip over HTTP: language auto vs language=en, and whisper-cli -l auto vs -l en
//   2. realtime (ws, server VAD, paced in real time): speech_stopped → transcription.completed, auto vs "en"
//   3. a 10-min recording, ~40% silence (60-s silent lead-in): chunking_strategy=auto vs none vs whisper-cli;
//      every verbose_json segment checked against the known speech placements (±0.5 s). The silences are not
//      digital zeros but the speech's own noise floor (--gap-noise floor, the default; "zero" or a level in dBFS)
//   4. 10 min of continuous speech, chunking auto: parallel jobs × threads configurations (e.g. 2x1 vs 1x2), against
//      one state on all the threads (AxB-unshared: EARSHOT_SLOT_SHARING=0, one job per slot)
//   5. time to first SSE delta (stream=true, chunking auto) for the 10-min WAV uploaded at 2 MB/s
//
//   npm run bench:pipeline
//   npm run bench:pipeline -- --threads 16 --configs 4x4,1x16          (or BENCH_CONFIGS="4x4,1x16")
//   npm run bench:pipeline -- --only 1,3 --repeats 5 --long-seconds 300 --long-repeats 1
//   npm run bench:pipeline -- --speech-dir DIR     (or BENCH_SPEECH_DIR: a manifest.jsonl and its audio, in any
//                                                  format FFmpeg reads, instead of ../shared/data/librispeech)
//
// Medians of --repeats (5) runs for the 5-s clip, --long-repeats (3) for the long cases, --realtime-rounds (2)
// sessions per language. whisper-cli's time is its own printed "total time" minus "load time"; Earshot's is
// the HTTP request's wall time (upload, FFmpeg decode and rendering included). The figures are only honest
// on an otherwise idle machine: each section also reports the CPU that processes outside this bench took.
//
// The servers are `earshot serve` child processes running src/ through tsx (so work in progress in src/ is
// what gets measured; --server-entry dist runs bin/earshot.js, i.e. the last `npm run build`). The model is the
// project's generated tiny-shaped model: real shapes and compute, junk text. Speech is LibriSpeech from
// ../shared/data/librispeech (required).
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

import { getTestModelPath } from "../src/models/testModel/index.js";
import { COMPLETED, RealtimeClient, REALTIME_RATE, realtimeUrl } from "../test/support/realtime.js";
import { encodeWav, runFfmpeg } from "../test/support/speech.js";
import { loadLibriSpeech, type Utterance } from "./librispeech.js";
import { prng } from "./seededRandom.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const sharedDir = path.resolve(root, "..", "shared");
const defaultLibrispeechDir = path.join(sharedDir, "data", "librispeech");
const whisperCli = path.join(root, "build", "native", "cmake", "bin", "whisper-cli");
const RATE = 16_000;

const { values: args } = parseArgs({
  options: {
    threads: { type: "string", default: process.env.BENCH_THREADS ?? "2" },
    repeats: { type: "string", default: "5" },
    "long-repeats": { type: "string", default: "3" },
    "realtime-rounds": { type: "string", default: "2" },
    "long-seconds": { type: "string", default: "600" },
    "lead-in-seconds": { type: "string", default: "60" },
    "silence-fraction": { type: "string", default: "0.4" },
    /** What fills the 10-min recording's silences: "floor" (the utterances' own noise floor), "zero", or dBFS (e.g. -50). */
    "gap-noise": { type: "string", default: "floor" },
    seed: { type: "string", default: "1" },
    configs: { type: "string", default: process.env.BENCH_CONFIGS ?? "2x1,1x2,1x2-unshared" },
    only: { type: "string", default: "1,2,3,4,5" },
    "server-entry": { type: "string", default: "src" },
    "upload-chunk-kb": { type: "string", default: "64" },
    "upload-every-ms": { type: "string", default: "32" },
    /** Use build/native/cmake/bin/whisper-cli as it is (default: build it, a no-op when up to date). */
    "skip-build": { type: "boolean", default: false },
    /** Where the LibriSpeech utterances and their manifest.jsonl are (default ../shared/data/librispeech). */
    "speech-dir": { type: "string", default: process.env.BENCH_SPEECH_DIR ?? defaultLibrispeechDir },
  },
});
const librispeechDir = path.resolve(args["speech-dir"]);
const threads = Number(args.threads);
const repeats = Number(args.repeats);
const longRepeats = Number(args["long-repeats"]);
const realtimeRounds = Number(args["realtime-rounds"]);
const longSeconds = Number(args["long-seconds"]);
const leadInSeconds = Number(args["lead-in-seconds"]);
const silenceFraction = Number(args["silence-fraction"]);
const gapNoise = args["gap-noise"];
if (gapNoise !== "floor" && gapNoise !== "zero" && !Number.isFinite(Number(gapNoise))) throw new Error(`--gap-noise: "${gapNoise}" is not floor, zero or a level in dBFS`);
const seed = Number(args.seed);
const sections = new Set(args.only.split(",").map((s) => s.trim()));
const configs = args.configs.split(",").map((c) => {
  const m = /^\s*(\d+)\s*x\s*(\d+)\s*(-unshared)?\s*$/i.exec(c);
  if (!m) throw new Error(`--configs: "${c}" is not PARALLELxTHREADS[-unshared] (e.g. 2x1, 1x2-unshared)`);
  const shared = m[3] === undefined;
  return { parallel: Number(m[1]), threads: Number(m[2]), shared, label: `${m[1]}x${m[2]}${shared ? "" : "-unshared"}` };
});

// ---------------------------------------------------------------------------------------------
// Small helpers.

function median(values: number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
const sec = (ms: number) => (Number.isFinite(ms) ? `${(ms / 1000).toFixed(2)} s` : "n/a");
const ratio = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : "n/a");
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

interface Row {
  section: string;
  measurement: string;
  value: string;
  target?: string;
  /** true/false when there is a target, undefined otherwise. */
  ok?: boolean;
}
const rows: Row[] = [];
function report(section: string, measurement: string, value: string, target?: { text: string; ok: boolean }): void {
  rows.push({ section, measurement, value, ...(target ? { target: target.text, ok: target.ok } : {}) });
  console.log(`  ${measurement}: ${value}${target ? `   (target ${target.text}: ${target.ok ? "met" : "NOT met"})` : ""}`);
}


// ---------------------------------------------------------------------------------------------
// Children (servers, whisper-cli): all killed when this process exits, however it exits.

const children = new Set<ChildProcess>();
function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.once("exit", () => children.delete(child));
  return child;
}
let tmpDir: string | undefined;
function cleanup(): void {
  for (const child of children) child.kill("SIGKILL");
  if (tmpDir) fs.rmSync(tmpDir, { recursive: true, force: true });
}
process.on("exit", cleanup);
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  process.on(signal, () => {
    console.error(`\n${signal}: stopping`);
    process.exit(130);
  });
}

// ---------------------------------------------------------------------------------------------
// Other processes' CPU use (Linux /proc): the figures are only honest on an otherwise idle machine, so each
// section reports how much CPU processes outside this bench's process tree took while it ran.

class ForeignLoad {
  private readonly ticks = 100; // USER_HZ
  private previous = new Map<number, number>();
  private foreignTicks = 0;
  private timer: NodeJS.Timeout | undefined;
  readonly available = fs.existsSync("/proc/self/stat");

  private sample(): void {
    const parent = new Map<number, number>();
    const cpu = new Map<number, number>();
    for (const name of fs.readdirSync("/proc")) {
      if (!/^\d+$/.test(name)) continue;
      try {
        const stat = fs.readFileSync(`/proc/${name}/stat`, "utf8");
        // Fields after the command (which may hold spaces) in parentheses: state ppid ... utime(14) stime(15).
        const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
        parent.set(Number(name), Number(fields[1]));
        cpu.set(Number(name), Number(fields[11]) + Number(fields[12]));
      } catch {
        // gone
      }
    }
    const ours = (pid: number): boolean => {
      for (let p: number | undefined = pid, hops = 0; p !== undefined && p > 1 && hops < 64; p = parent.get(p), hops++) {
        if (p === process.pid) return true;
      }
      return false;
    };
    for (const [pid, ticks] of cpu) {
      const before = this.previous.get(pid);
      if (before !== undefined && !ours(pid)) this.foreignTicks += Math.max(0, ticks - before);
    }
    this.previous = cpu;
  }

  start(): void {
    if (!this.available) return;
    this.sample();
    this.timer = setInterval(() => this.sample(), 1000);
    this.timer.unref();
  }

  /** CPU-seconds other processes used since the last call. */
  take(): number {
    if (!this.available) return NaN;
    this.sample();
    const seconds = this.foreignTicks / this.ticks;
    this.foreignTicks = 0;
    return seconds;
  }
}
const foreignLoad = new ForeignLoad();

// ---------------------------------------------------------------------------------------------
// Speech: LibriSpeech utterances, decoded once.


function concat(chunks: Float32Array[]): Float32Array {
  const out = new Float32Array(chunks.reduce((n, c) => n + c.length, 0));
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.length;
  }
  return out;
}

function fitTo(samples: Float32Array, seconds: number): Float32Array {
  const out = new Float32Array(Math.round(seconds * RATE));
  out.set(samples.subarray(0, Math.min(samples.length, out.length)));
  return out;
}

interface Recording {
  samples: Float32Array;
  /** Where each utterance is, in seconds. */
  speech: Array<{ start: number; end: number }>;
  utterances: Utterance[];
  /** What the silences hold, in words. */
  silence: string;
}

/**
 * `longSeconds` of audio: a silent lead-in, then shuffled utterances (fixed seed) separated by silences, so that
 * `silenceFraction` of the whole is silence (pauses of 0.5–1.5 units, every 8th a long one of 10 units). The silences
 * hold white noise at `gapNoiseRms` (a real recording's silence is its noise floor, never digital zero).
 */
function recordingWithSilences(utterances: Utterance[], gapNoiseRms: number): Recording {
  const random = prng(seed);
  const order = [...utterances];
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const speechBudget = longSeconds * (1 - silenceFraction);
  const chosen: Utterance[] = [];
  let speechSeconds = 0;
  for (const u of order) {
    if (speechSeconds + u.seconds > speechBudget) continue;
    chosen.push(u);
    speechSeconds += u.seconds;
    if (speechBudget - speechSeconds < 3) break;
  }
  const silenceLeft = longSeconds - leadInSeconds - speechSeconds;
  // One pause after each utterance (the last one is the trailing silence).
  const weights = chosen.map((_, i) => (i % 8 === 7 ? 10 : 0.5 + random()));
  const weightSum = weights.reduce((a, b) => a + b, 0);
  const pauses = weights.map((w) => (w / weightSum) * silenceLeft);
  const samples = new Float32Array(Math.round(longSeconds * RATE));
  if (gapNoiseRms > 0) {
    const noise = prng(seed + 1);
    // Gaussian (Box-Muller) white noise.
    for (let i = 0; i < samples.length; i++) samples[i] = gapNoiseRms * Math.sqrt(-2 * Math.log(Math.max(1e-12, noise()))) * Math.cos(2 * Math.PI * noise());
  }
  const speech: Recording["speech"] = [];
  let at = Math.round(leadInSeconds * RATE);
  chosen.forEach((u, i) => {
    const length = Math.min(u.samples.length, samples.length - at);
    samples.set(u.samples.subarray(0, length), at);
    speech.push({ start: at / RATE, end: (at + length) / RATE });
    at += length + Math.round(pauses[i]! * RATE);
  });
  const silence = gapNoiseRms > 0 ? `noise at ${(20 * Math.log10(gapNoiseRms)).toFixed(1)} dBFS` : "digital zero";
  return { samples, speech, utterances: chosen, silence };
}

/** The utterances' noise floor: the 10th percentile of their 32-ms frames' RMS (LibriSpeech: about -60 dBFS). */
function noiseFloorRms(utterances: Utterance[]): number {
  const levels: number[] = [];
  for (const u of utterances) {
    for (let i = 0; i + 512 <= u.samples.length; i += 512) {
      let sum = 0;
      for (let j = i; j < i + 512; j++) sum += u.samples[j]! * u.samples[j]!;
      levels.push(Math.sqrt(sum / 512));
    }
  }
  levels.sort((a, b) => a - b);
  return levels[Math.floor(levels.length * 0.1)] ?? 0;
}

/** `seconds` of continuous speech: `first`'s utterances, then the others, cut to length. */
function continuousSpeech(first: Utterance[], all: Utterance[], seconds: number): Float32Array {
  const rest = all.filter((u) => !first.includes(u));
  const chunks: Float32Array[] = [];
  let total = 0;
  for (const u of [...first, ...rest, ...first, ...rest]) {
    chunks.push(u.samples);
    total += u.samples.length;
    if (total >= seconds * RATE) break;
  }
  return fitTo(concat(chunks), seconds);
}

/** Float samples at 16 kHz → PCM16 LE at 24 kHz (the realtime API's default input), through FFmpeg. */
async function toPcm24k(samples: Float32Array): Promise<Buffer> {
  const bytes = new Uint8Array(samples.buffer, samples.byteOffset, samples.byteLength);
  const { stdout } = await runFfmpeg(["-loglevel", "error", "-f", "f32le", "-ar", String(RATE), "-ac", "1", "-i", "pipe:0", "-ar", String(REALTIME_RATE), "-f", "s16le", "pipe:1"], bytes);
  return stdout;
}

// ---------------------------------------------------------------------------------------------
// Servers: `earshot serve` children on an OS-assigned port.

interface Server {
  url: string;
  label: string;
  /** Error-level server log lines (pino level >= 50) and anything that is not a log line. */
  problems: string[];
  stop(): Promise<void>;
}
const allProblems: string[] = [];

async function startServer(model: string, parallel: number, threadsPerJob: number, slotSharing = true): Promise<Server> {
  const entry = args["server-entry"] === "dist" ? [path.join(root, "bin", "earshot.js")] : ["--import", "tsx", path.join(root, "src", "cli", "main.ts")];
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith("EARSHOT_")));
  const child = track(
    spawn(
      process.execPath,
      [
        ...entry, "serve",
        "--model", model,
        "--host", "127.0.0.1",
        "--port", "0",
        "--parallel-jobs", String(parallel),
        "--threads-per-job", String(threadsPerJob),
        "--max-upload-mb", "500",
        "--log-level", "warn",
      ],
      { cwd: root, env: { ...env, EARSHOT_SLOT_SHARING: slotSharing ? "1" : "0" }, stdio: ["ignore", "pipe", "pipe"] },
    ),
  );
  const label = `${parallel}x${threadsPerJob}`;
  const problems: string[] = [];
  const onLine = (line: string) => {
    if (!line.trim() || /listening on|self-signed certificate|^\[earshot/.test(line)) return;
    let level = 60;
    try {
      level = (JSON.parse(line) as { level?: number }).level ?? 60;
    } catch {
      // not a log line: keep it
    }
    if (level >= 50 || level === 60) {
      problems.push(line.slice(0, 400));
      allProblems.push(`[server ${label}] ${line.slice(0, 400)}`);
    }
  };
  const lines = (stream: NodeJS.ReadableStream, extra?: (line: string) => void) => {
    let rest = "";
    stream.on("data", (chunk: Buffer) => {
      rest += chunk.toString();
      const parts = rest.split("\n");
      rest = parts.pop()!;
      for (const part of parts) {
        extra?.(part);
        onLine(part);
      }
    });
  };
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server ${label} did not start within 180 s: ${problems.join("\n")}`)), 180_000);
    lines(child.stdout!);
    lines(child.stderr!, (line) => {
      const m = /listening on (\S+) /.exec(line);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`server ${label} exited (${code}) before listening: ${problems.join("\n")}`));
    });
  });
  return {
    url,
    label,
    problems,
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

// ---------------------------------------------------------------------------------------------
// HTTP: multipart uploads by hand (so the body can be throttled), timed with performance.now().

interface Upload {
  status: number;
  body: string;
  /** From the request's start. */
  totalMs: number;
  uploadDoneMs: number;
  firstDeltaMs: number;
  deltas: number;
}

function multipart(fields: Record<string, string>): { boundary: string; head: Buffer; tail: Buffer } {
  const boundary = `----earshot-bench-${Math.random().toString(16).slice(2)}`;
  let head = "";
  for (const [name, value] of Object.entries(fields)) {
    head += `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`;
  }
  head += `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="audio.wav"\r\nContent-Type: audio/wav\r\n\r\n`;
  return { boundary, head: Buffer.from(head), tail: Buffer.from(`\r\n--${boundary}--\r\n`) };
}

/**
 * POST /v1/audio/transcriptions. `throttle`: the body goes out as `chunkBytes` every `everyMs` (a Readable
 * pushing on a clock), else all at once. SSE responses are parsed as they arrive, for the first delta's time.
 */
function transcribe(
  serverUrl: string,
  fields: Record<string, string>,
  wav: Buffer,
  throttle?: { chunkBytes: number; everyMs: number },
): Promise<Upload> {
  const { boundary, head, tail } = multipart(fields);
  const body = Buffer.concat([head, wav, tail]);
  const target = new URL("/v1/audio/transcriptions", serverUrl);
  return new Promise((resolve, reject) => {
    const started = performance.now();
    let uploadDoneMs = NaN;
    let firstDeltaMs = NaN;
    let deltas = 0;
    const request = http.request(
      {
        method: "POST",
        host: target.hostname,
        port: target.port,
        path: target.pathname,
        agent: false,
        headers: { "content-type": `multipart/form-data; boundary=${boundary}`, "content-length": body.length, authorization: "Bearer sk-bench" },
      },
      (response) => {
        let text = "";
        let pending = "";
        response.setEncoding("utf8");
        response.on("data", (chunk: string) => {
          text += chunk;
          pending += chunk;
          // SSE: events end with a blank line.
          let end: number;
          while ((end = pending.indexOf("\n\n")) >= 0) {
            const event = pending.slice(0, end);
            pending = pending.slice(end + 2);
            if (/"type"\s*:\s*"transcript\.text\.delta"/.test(event)) {
              deltas++;
              if (!Number.isFinite(firstDeltaMs)) firstDeltaMs = performance.now() - started;
            }
          }
        });
        response.on("end", () => resolve({ status: response.statusCode ?? 0, body: text, totalMs: performance.now() - started, uploadDoneMs, firstDeltaMs, deltas }));
        response.on("error", reject);
      },
    );
    request.on("error", reject);
    request.on("finish", () => (uploadDoneMs = performance.now() - started));
    if (!throttle) {
      request.end(body);
      return;
    }
    let offset = 0;
    let n = 0;
    const source = new Readable({
      read() {
        if (offset >= body.length) {
          this.push(null);
          return;
        }
        const due = started + n * throttle.everyMs;
        n++;
        setTimeout(() => {
          const chunk = body.subarray(offset, offset + throttle.chunkBytes);
          offset += chunk.length;
          this.push(chunk);
        }, Math.max(0, due - performance.now()));
      },
    });
    source.pipe(request);
  });
}

async function transcribeOk(serverUrl: string, fields: Record<string, string>, wav: Buffer, throttle?: { chunkBytes: number; everyMs: number }): Promise<Upload> {
  const result = await transcribe(serverUrl, fields, wav, throttle);
  if (result.status !== 200) throw new Error(`HTTP ${result.status}: ${result.body.slice(0, 500)}`);
  if (/^event: error/m.test(result.body)) throw new Error(`SSE error event: ${result.body.slice(result.body.indexOf("event: error"), 800)}`);
  return result;
}

// ---------------------------------------------------------------------------------------------
// whisper-cli: its own timings (total - load, both printed by whisper_print_timings) and its wall time.

interface CliRun {
  computeMs: number;
  wallMs: number;
  language: string;
  fallbacks: string;
}

function runWhisperCli(model: string, wav: string, language: string): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = track(spawn(whisperCli, ["-m", model, "-f", wav, "-l", language, "-t", String(threads), "-bs", "1", "-bo", "5"], { stdio: ["ignore", "ignore", "pipe"] }));
    let stderr = "";
    child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => {
      const wallMs = performance.now() - started;
      if (code !== 0) {
        reject(new Error(`whisper-cli exited ${code}: ${stderr.slice(-1500)}`));
        return;
      }
      const number = (label: string) => Number(new RegExp(`${label} =\\s*([0-9.]+) ms`).exec(stderr)?.[1] ?? NaN);
      resolve({
        computeMs: number("total time") - number("load time"),
        wallMs,
        language: /auto-detected language: (\w+)/.exec(stderr)?.[1] ?? language,
        fallbacks: /fallbacks =\s*(\d+ p \/\s*\d+ h)/.exec(stderr)?.[1] ?? "?",
      });
    });
  });
}

async function buildWhisperCli(): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const child = track(spawn(process.execPath, [path.join(root, "scripts", "build-native.mjs"), "--target", "whisper-cli"], { stdio: ["ignore", "ignore", "pipe"] }));
    let stderr = "";
    child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("close", (code) => (code === 0 ? resolve() : reject(new Error(`build-native --target whisper-cli failed (${code}): ${stderr.slice(-2000)}`))));
  });
}

// ---------------------------------------------------------------------------------------------
// The measurements.

interface Context {
  model: string;
  server: Server | undefined;
  utterances: Utterance[];
  clipWav: Buffer;
  clipPath: string;
  recording: Recording;
  recordingWav: Buffer;
  recordingPath: string;
}

async function mainServer(ctx: Context): Promise<Server> {
  if (!ctx.server) {
    ctx.server = await startServer(ctx.model, 1, threads);
    // Warm-up: first request pays for lazy initialisation (FFmpeg, allocations).
    await transcribeOk(ctx.server.url, { model: "whisper-1", language: "en" }, ctx.clipWav);
  }
  return ctx.server;
}

async function shortClip(ctx: Context): Promise<void> {
  const server = await mainServer(ctx);
  console.log(`\n== 1. 5-s clip: HTTP (server 1x${threads}) and whisper-cli -t ${threads}, median of ${repeats} ==`);
  const auto: number[] = [];
  const en: number[] = [];
  const cliAuto: CliRun[] = [];
  const cliEn: CliRun[] = [];
  let detected = "?";
  for (let i = 0; i < repeats; i++) {
    // Alternate the order so neither side always runs first.
    const pair: Array<() => Promise<void>> = [
      async () => {
        const r = await transcribeOk(server.url, { model: "whisper-1", response_format: "verbose_json" }, ctx.clipWav);
        auto.push(r.totalMs);
        detected = (JSON.parse(r.body) as { language?: string }).language ?? "?";
      },
      async () => {
        en.push((await transcribeOk(server.url, { model: "whisper-1", language: "en", response_format: "verbose_json" }, ctx.clipWav)).totalMs);
      },
    ];
    if (i % 2 === 1) pair.reverse();
    for (const run of pair) await run();
  }
  await runWhisperCli(ctx.model, ctx.clipPath, "en"); // warm the page cache
  for (let i = 0; i < repeats; i++) {
    const pair: Array<() => Promise<void>> = [
      async () => void cliAuto.push(await runWhisperCli(ctx.model, ctx.clipPath, "auto")),
      async () => void cliEn.push(await runWhisperCli(ctx.model, ctx.clipPath, "en")),
    ];
    if (i % 2 === 1) pair.reverse();
    for (const run of pair) await run();
  }
  const a = median(auto);
  const e = median(en);
  const ca = median(cliAuto.map((r) => r.computeMs));
  const ce = median(cliEn.map((r) => r.computeMs));
  report("1 · 5-s clip", "earshot HTTP, language auto (request wall time)", `${sec(a)} (detected: ${detected})`);
  report("1 · 5-s clip", "earshot HTTP, language=en (request wall time)", sec(e));
  report("1 · 5-s clip", "earshot auto / given", ratio(a / e), { text: "≤ 1.10", ok: a / e <= 1.1 });
  report("1 · 5-s clip", "whisper-cli -l auto (printed total − load)", `${sec(ca)} (wall incl. load ${sec(median(cliAuto.map((r) => r.wallMs)))}, detected: ${cliAuto[0]?.language ?? "?"})`);
  report("1 · 5-s clip", "whisper-cli -l en (printed total − load)", `${sec(ce)} (wall incl. load ${sec(median(cliEn.map((r) => r.wallMs)))})`);
  report("1 · 5-s clip", "whisper-cli auto / given", ratio(ca / ce));
  report("1 · 5-s clip", "speed-up, language auto: whisper-cli / earshot", `${ratio(ca / a)}×`, { text: "≥ 1.6×", ok: ca / a >= 1.6 });
}

async function realtime(ctx: Context): Promise<void> {
  const server = await mainServer(ctx);
  // Three 3–7 s utterances (not the 5-s clip's), 0.5 s lead-in, 1.5 s of silence after each.
  const picked = ctx.utterances.filter((u) => u.seconds >= 3 && u.seconds <= 7).slice(1, 4);
  const silence = (s: number) => new Float32Array(Math.round(s * RATE));
  const pcm = await toPcm24k(concat([silence(0.5), ...picked.flatMap((u) => [u.samples, silence(1.5)])]));
  const audioSeconds = pcm.length / 2 / REALTIME_RATE;
  console.log(
    `\n== 2. realtime: ${picked.length} utterances (${picked.map((u) => u.seconds.toFixed(1)).join(", ")} s) + 1.5-s silences, ${audioSeconds.toFixed(1)} s paced in real time, ${realtimeRounds} round(s) per language ==`,
  );
  const latencies: Record<"auto" | "en", number[]> = { auto: [], en: [] };
  const turns: Record<"auto" | "en", number[]> = { auto: [], en: [] };
  for (let round = 0; round < realtimeRounds; round++) {
    const order: Array<"auto" | "en"> = round % 2 === 0 ? ["auto", "en"] : ["en", "auto"];
    for (const language of order) {
      const client = await RealtimeClient.open(realtimeUrl(server.url), { headers: { authorization: "Bearer sk-bench" } });
      try {
        if (language === "en") {
          client.send({ type: "session.update", session: { type: "transcription", audio: { input: { transcription: { model: "whisper-1", language: "en" } } } } });
          await client.next("session.updated");
        }
        await client.streamAudio(pcm, { realtime: true, chunkMs: 100 });
        // Every turn that stopped must complete.
        await client.until(
          "every stopped turn completed",
          (events) => {
            const stopped = events.filter((e) => e.type === "input_audio_buffer.speech_stopped").length;
            const completed = events.filter((e) => e.type === COMPLETED).length;
            const failed = events.filter((e) => e.type === "conversation.item.input_audio_transcription.failed" || e.type === "error");
            if (failed.length > 0) throw new Error(`realtime error: ${JSON.stringify(failed[0]).slice(0, 500)}`);
            return stopped > 0 && completed >= stopped;
          },
          120_000,
        );
        const completedAt = new Map(client.all(COMPLETED).map((e) => [e.item_id as string, e.t as number]));
        const stopped = client.all("input_audio_buffer.speech_stopped");
        for (const e of stopped) {
          const done = completedAt.get(e.item_id as string);
          if (done !== undefined) latencies[language].push(done - (e.t as number));
        }
        turns[language].push(stopped.length);
      } finally {
        await client.close();
      }
    }
  }
  const a = median(latencies.auto);
  const e = median(latencies.en);
  const all = (l: "auto" | "en") => latencies[l].map((ms) => Math.round(ms)).join(", ");
  report("2 · realtime", "speech_stopped → completed, language auto (median)", `${sec(a)} (turns per session: ${turns.auto.join(", ")}; ms: ${all("auto")})`);
  report("2 · realtime", 'speech_stopped → completed, language "en" (median)', `${sec(e)} (turns per session: ${turns.en.join(", ")}; ms: ${all("en")})`);
  report("2 · realtime", "auto / given", ratio(a / e), { text: "≤ 1.10", ok: a / e <= 1.1 });
}

interface VerboseJson {
  language?: string;
  duration?: number;
  segments?: Array<{ start: number; end: number; text: string }>;
}

/** Segments not inside any speech region widened by `slack` seconds. */
function segmentsOutsideSpeech(result: VerboseJson, speech: Recording["speech"], slack = 0.5): { outside: number; total: number; examples: string[] } {
  const segments = result.segments ?? [];
  const outside = segments.filter((s) => !speech.some((r) => s.start >= r.start - slack && s.end <= r.end + slack));
  return { outside: outside.length, total: segments.length, examples: outside.slice(0, 3).map((s) => `[${s.start.toFixed(2)}–${s.end.toFixed(2)}]`) };
}

async function longRecording(ctx: Context): Promise<void> {
  const server = await mainServer(ctx);
  const { recording } = ctx;
  const speechSeconds = recording.speech.reduce((n, r) => n + r.end - r.start, 0);
  console.log(
    `\n== 3. ${longSeconds}-s recording: ${recording.utterances.length} utterances, ${((1 - speechSeconds / longSeconds) * 100).toFixed(0)}% silence (${recording.silence}) incl. ${leadInSeconds}-s lead-in (seed ${seed}); median of ${longRepeats} ==`,
  );
  const chunked: number[] = [];
  const plain: number[] = [];
  const cli: CliRun[] = [];
  let chunkedResult: VerboseJson = {};
  let plainResult: VerboseJson = {};
  for (let i = 0; i < longRepeats; i++) {
    const steps: Array<() => Promise<void>> = [
      async () => {
        const r = await transcribeOk(server.url, { model: "whisper-1", response_format: "verbose_json", chunking_strategy: "auto" }, ctx.recordingWav);
        chunked.push(r.totalMs);
        chunkedResult = JSON.parse(r.body) as VerboseJson;
      },
      async () => {
        const r = await transcribeOk(server.url, { model: "whisper-1", response_format: "verbose_json" }, ctx.recordingWav);
        plain.push(r.totalMs);
        plainResult = JSON.parse(r.body) as VerboseJson;
      },
      async () => void cli.push(await runWhisperCli(ctx.model, ctx.recordingPath, "auto")),
    ];
    if (i % 2 === 1) steps.reverse();
    for (const step of steps) await step();
  }
  const c = median(chunked);
  const p = median(plain);
  const w = median(cli.map((r) => r.computeMs));
  report("3 · 10-min, 40% silence", "earshot HTTP, chunking_strategy=auto", sec(c));
  report("3 · 10-min, 40% silence", "earshot HTTP, no chunking_strategy", sec(p));
  report("3 · 10-min, 40% silence", "whisper-cli -l auto (printed total − load)", `${sec(w)} (wall incl. load ${sec(median(cli.map((r) => r.wallMs)))}, fallbacks ${cli[0]?.fallbacks ?? "?"})`);
  report("3 · 10-min, 40% silence", "chunked / unchunked", ratio(c / p), { text: "≤ 0.65", ok: c / p <= 0.65 });
  report("3 · 10-min, 40% silence", "chunked / whisper-cli", ratio(c / w), { text: "≤ 0.65", ok: c / w <= 0.65 });
  const inChunked = segmentsOutsideSpeech(chunkedResult, recording.speech);
  const inPlain = segmentsOutsideSpeech(plainResult, recording.speech);
  report(
    "3 · 10-min, 40% silence",
    "chunked: segments outside speech (±0.5 s)",
    `${inChunked.outside} of ${inChunked.total}${inChunked.examples.length ? ` (e.g. ${inChunked.examples.join(" ")})` : ""}`,
    { text: "0", ok: inChunked.total > 0 && inChunked.outside === 0 },
  );
  report("3 · 10-min, 40% silence", "unchunked: segments outside speech (±0.5 s)", `${inPlain.outside} of ${inPlain.total}`);
  report("3 · 10-min, 40% silence", "detected language (chunked / unchunked / whisper-cli)", `${chunkedResult.language ?? "?"} / ${plainResult.language ?? "?"} / ${cli[0]?.language ?? "?"}`);
}

async function parallelConfigs(ctx: Context): Promise<void> {
  const wav = encodeWav(continuousSpeech(ctx.recording.utterances, ctx.utterances, longSeconds), RATE);
  console.log(`\n== 4. ${longSeconds} s of continuous speech, chunking_strategy=auto, one request per server: ${configs.map((c) => c.label).join(" vs ")} ==`);
  if (ctx.server) {
    // Only one server at a time: the configurations must have the machine to themselves.
    await ctx.server.stop();
    ctx.server = undefined;
  }
  const times = new Map<string, number>();
  for (const config of configs) {
    if (config.parallel * config.threads > os.availableParallelism()) {
      console.log(`  (${config.label} uses ${config.parallel * config.threads} threads on a ${os.availableParallelism()}-thread machine)`);
    }
    const server = await startServer(ctx.model, config.parallel, config.threads, config.shared);
    try {
      await transcribeOk(server.url, { model: "whisper-1", language: "en" }, ctx.clipWav); // warm-up
      const runs: number[] = [];
      for (let i = 0; i < longRepeats; i++) runs.push((await transcribeOk(server.url, { model: "whisper-1", chunking_strategy: "auto" }, wav)).totalMs);
      times.set(config.label, median(runs));
      report("4 · jobs × threads", `server ${config.parallel} jobs × ${config.threads} threads${config.shared ? "" : ", one state per slot (EARSHOT_SLOT_SHARING=0)"}`, sec(median(runs)));
    } finally {
      await server.stop();
    }
  }
  const baseline = configs.find((c) => c.parallel === 1 && !c.shared) ?? configs.find((c) => c.parallel === 1) ?? configs[configs.length - 1]!;
  for (const config of configs) {
    if (config === baseline) continue;
    const speedUp = times.get(baseline.label)! / times.get(config.label)!;
    report("4 · jobs × threads", `speed-up ${config.label} over ${baseline.label}`, `${ratio(speedUp)}×`);
  }
}

async function firstDelta(ctx: Context): Promise<void> {
  const server = await mainServer(ctx);
  const chunkBytes = Number(args["upload-chunk-kb"]) * 1024;
  const everyMs = Number(args["upload-every-ms"]);
  const mbps = chunkBytes / everyMs / 1000;
  console.log(`\n== 5. SSE (stream=true, chunking auto, json) of the ${longSeconds}-s recording (${(ctx.recordingWav.length / 1e6).toFixed(1)} MB) uploaded at ${mbps.toFixed(2)} MB/s ==`);
  const runs: Upload[] = [];
  for (let i = 0; i < longRepeats; i++) {
    runs.push(
      await transcribeOk(server.url, { model: "whisper-1", stream: "true", chunking_strategy: "auto", response_format: "json" }, ctx.recordingWav, { chunkBytes, everyMs }),
    );
  }
  report("5 · SSE, 2 MB/s upload", "upload finished", sec(median(runs.map((r) => r.uploadDoneMs))));
  report("5 · SSE, 2 MB/s upload", "first transcript.text.delta", sec(median(runs.map((r) => r.firstDeltaMs))));
  report("5 · SSE, 2 MB/s upload", "transcript.text.done (response end)", `${sec(median(runs.map((r) => r.totalMs)))} (${runs[0]?.deltas ?? 0} deltas)`);
}

// ---------------------------------------------------------------------------------------------

function printTable(): void {
  console.log("\n## Earshot pipeline bench\n");
  console.log(`machine: ${os.cpus()[0]?.model ?? "?"}, ${os.availableParallelism()} threads; node ${process.version}; generated tiny-shaped model; server = \`earshot serve\` (${args["server-entry"]}), whisper-cli -t ${threads} -bs 1 -bo 5\n`);
  console.log("| # | measurement | value | target |");
  console.log("|---|---|---|---|");
  for (const row of rows) {
    const target = row.target ? `${row.target} ${row.ok ? "✅" : "❌"}` : "";
    console.log(`| ${row.section} | ${row.measurement} | ${row.value.replace(/\|/g, "\\|")} | ${target} |`);
  }
}

async function main(): Promise<void> {
  const started = performance.now();
  foreignLoad.start();
  // whisper-cli runs in sections 1 and 3 only.
  const needsCli = sections.has("1") || sections.has("3");
  console.log(`preparing: ${needsCli ? "whisper-cli, " : ""}test model, LibriSpeech …`);
  if (needsCli && (!args["skip-build"] || !fs.existsSync(whisperCli))) await buildWhisperCli();
  const model = await getTestModelPath("tiny");
  const utterances = await loadLibriSpeech(librispeechDir);
  tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), "earshot-bench-pipeline-"));

  const clipSource = utterances.find((u) => u.seconds >= 5)!;
  const clipWav = encodeWav(fitTo(clipSource.samples, 5), RATE);
  const clipPath = path.join(tmpDir, "clip-5s.wav");
  fs.writeFileSync(clipPath, clipWav);
  const gapNoiseRms = gapNoise === "zero" ? 0 : gapNoise === "floor" ? noiseFloorRms(utterances) : 10 ** (Number(gapNoise) / 20);
  const recording = recordingWithSilences(utterances, gapNoiseRms);
  const recordingWav = encodeWav(recording.samples, RATE);
  const recordingPath = path.join(tmpDir, `recording-${longSeconds}s.wav`);
  fs.writeFileSync(recordingPath, recordingWav);
  console.log(`model ${model}; 5-s clip from ${clipSource.id}; ${utterances.length} utterances loaded; threads ${threads}`);

  const ctx: Context = { model, server: undefined, utterances, clipWav, clipPath, recording, recordingWav, recordingPath };
  const steps: Array<[string, string, (ctx: Context) => Promise<void>]> = [
    ["1", "1 · 5-s clip", shortClip],
    ["2", "2 · realtime", realtime],
    ["3", "3 · 10-min, 40% silence", longRecording],
    ["5", "5 · SSE, 2 MB/s upload", firstDelta],
    ["4", "4 · jobs × threads", parallelConfigs],
  ];
  let failures = 0;
  try {
    for (const [key, name, run] of steps) {
      if (!sections.has(key)) continue;
      const t0 = performance.now();
      foreignLoad.take();
      try {
        await run(ctx);
      } catch (error) {
        failures++;
        console.error(`  ${name} FAILED: ${(error as Error).stack ?? String(error)}`);
        report(name, "FAILED", (error as Error).message.split("\n")[0]!.slice(0, 300));
      }
      const elapsed = performance.now() - t0;
      const foreign = foreignLoad.take();
      if (Number.isFinite(foreign)) {
        const share = foreign / (elapsed / 1000) / os.availableParallelism();
        report(name, "CPU taken by other processes meanwhile", `${foreign.toFixed(1)} CPU-s (${(share * 100).toFixed(0)}% of the machine over ${sec(elapsed)})`, {
          text: "≈ 0 (idle machine)",
          ok: share < 0.05,
        });
      } else {
        console.log(`  (${name}: ${sec(elapsed)})`);
      }
    }
  } finally {
    await ctx.server?.stop();
  }
  printTable();
  if (allProblems.length > 0) {
    console.log(`\nserver error log lines (${allProblems.length}):`);
    for (const line of allProblems.slice(0, 20)) console.log(`  ${line}`);
  }
  console.log(`\ntotal: ${sec(performance.now() - started)}`);
  process.exitCode = failures > 0 ? 1 : 0;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
