// Parakeet (issue 25), in two parts, on LibriSpeech speech from ../shared/data/librispeech, 2 threads by default:
//
//   cli      Earshot's Parakeet engine next to whisper.cpp's own parakeet-cli (built from the same tree with the same
//            flags: test/support/parakeetCli.ts), same model, same threads, same 16-kHz WAV, best of --repeats:
//            parakeet-cli's whole run (wall, its model load included) and its compute (its printed total time less
//            its printed load time: reading the WAV, mel, encoder, TDT decoding) against the wall time of
//            engine.transcribe on the same samples (its model loaded once before). Target: compute / engine ≥ 0.95.
//            Up to 60 s both run one pass over the whole input (the like-for-like figure); past 60 s the engine
//            decodes in blocks of at most 60 s (src/engine/parakeetBlocks.ts) while parakeet-cli runs one pass with
//            full attention over the whole file: that row compares blocks against one pass.
//   whisper  the Parakeet-0.6B-shaped model against the Whisper-large-v3-turbo-shaped one (both generated at real
//            shapes, f16), each in a fresh child process (bench/modelRunChild.ts): load on demand and a first short
//            request through the transcription service; then 5 min of continuous speech through the engine (each
//            model's own compute over all of it) and through the service with chunking_strategy auto (what a server
//            does with it: Silero VAD cuts the speech, each chunk goes to the model), and the 10-min recording with
//            40 % digital silence (bench/recordings.ts, as bench:words builds it) with chunking auto only (unchunked,
//            the engine would spend Whisper windows and Parakeet blocks on the silence); the child's peak RSS (VmHWM).
//            Target: Parakeet ≥ 3× faster.
//
//   npm run bench:parakeet                                    everything (about half an hour on two idle cores)
//   npm run bench:parakeet -- --only cli --seconds 60 --repeats 3
//   npm run bench:parakeet -- --only whisper --speech-seconds 60 --silence-seconds 120 --whisper-shape base
//
// The models are the project's generated ones (real shapes and compute, junk text); the Parakeet one emits ~4 pieces
// a second through speech, as a real model does, so its decoding loop costs what a real model's would. Times are
// only honest on an idle machine: each measured run first waits (up to --idle-wait s) for the rest of the machine to
// go idle, and the CPU others took during it is printed beside it.
import { execFile, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs, promisify } from "node:util";

import { decodeAudio } from "../src/audio/index.js";
import { loadEngine } from "../src/engine/loadEngine.js";
import { getTestModelPath, type TestModelShape } from "../src/models/testModel/index.js";
import { getParakeetTestModelPath, PARAKEET_TEST_SHAPES, type ParakeetTestShape } from "../src/models/testModel/parakeet/index.js";
import { parakeetCliPath } from "../test/support/parakeetCli.js";
import { encodeWav } from "../test/support/speech.js";
import { cpuPhase, waitForIdle } from "./cpuLoad.js";
import { loadLibriSpeech, type Utterance } from "./librispeech.js";
import type { ChildReport, ChildRequest } from "./modelRunChild.js";
import { continuousRecording, silenceRecording } from "./recordings.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const RATE = 16_000;
const CLI_TARGET = 0.95;
const SPEED_TARGET = 3;
const WHISPER_SHAPES: readonly TestModelShape[] = ["tiny", "tiny.en", "base", "base.en", "large-v3-turbo"];

const { values: args } = parseArgs({
  options: {
    /** Which parts: cli, whisper. */
    only: { type: "string", default: "cli,whisper" },
    threads: { type: "string", default: "2" },
    /** cli: best of this many runs of each side. */
    repeats: { type: "string", default: "3" },
    /** cli: input lengths (s). */
    seconds: { type: "string", default: "60,300" },
    /** whisper: runs of each model on each recording (the best is kept). */
    "whisper-repeats": { type: "string", default: "1" },
    "speech-seconds": { type: "string", default: "300" },
    "silence-seconds": { type: "string", default: "600" },
    /** whisper: the first request's length (s). */
    "first-seconds": { type: "string", default: "5" },
    "parakeet-shape": { type: "string", default: "0.6b" },
    "whisper-shape": { type: "string", default: "large-v3-turbo" },
    /** Before each measured run, wait up to this long (s) for the rest of the machine to go idle; 0: never wait. */
    "idle-wait": { type: "string", default: "60" },
    "speech-dir": { type: "string", default: process.env.BENCH_SPEECH_DIR ?? path.resolve(root, "..", "shared", "data", "librispeech") },
  },
});
const parts = new Set(args.only.split(",").map((s) => s.trim()));
for (const part of parts) if (part !== "cli" && part !== "whisper") throw new Error(`--only: "${part}" is not cli or whisper`);
const threads = Number(args.threads);
const repeats = Number(args.repeats);
const whisperRepeats = Number(args["whisper-repeats"]);
const cliSeconds = args.seconds.split(",").map(Number);
const speechSeconds = Number(args["speech-seconds"]);
const silenceSeconds = Number(args["silence-seconds"]);
const firstSeconds = Number(args["first-seconds"]);
const idleWait = Number(args["idle-wait"]);
const parakeetShape = args["parakeet-shape"] as ParakeetTestShape;
const whisperShape = args["whisper-shape"] as TestModelShape;
if (!PARAKEET_TEST_SHAPES.includes(parakeetShape)) throw new Error(`--parakeet-shape: one of ${PARAKEET_TEST_SHAPES.join(", ")}`);
if (!WHISPER_SHAPES.includes(whisperShape)) throw new Error(`--whisper-shape: one of ${WHISPER_SHAPES.join(", ")}`);
for (const n of [threads, repeats, whisperRepeats, speechSeconds, silenceSeconds, firstSeconds, ...cliSeconds]) {
  if (!(n > 0)) throw new Error("--threads, --repeats, --whisper-repeats and every length must be positive");
}

const best = (values: number[]) => Math.min(...values);
const sec = (ms: number) => (Number.isFinite(ms) ? `${(ms / 1000).toFixed(2)} s` : "n/a");
const mb = (bytes: number) => `${(bytes / 1048576).toFixed(0)} MB`;
const x = (r: number) => (Number.isFinite(r) ? `${r.toFixed(2)}×` : "n/a");
const normalized = (text: string) => text.replace(/\s+/g, " ").trim();
/** The command line that reproduces a figure (the shapes and threads as this run had them). */
const reproduce = (flags: string) => `npm run bench:parakeet -- ${flags} --threads ${threads} --parakeet-shape ${parakeetShape}`;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "earshot-bench-parakeet-"));

function writeWav(name: string, samples: Float32Array): string {
  const file = path.join(tmp, `${name}.wav`);
  fs.writeFileSync(file, encodeWav(samples, RATE));
  return file;
}

// ---------------------------------------------------------------------------------------------
// Part 1: the engine against parakeet-cli.

interface CliRun {
  wallMs: number;
  loadMs: number;
  computeMs: number;
  encodeMs: number;
  /** TDT decoding: the joint (decode) and the prediction network (predict). */
  decodeMs: number;
  text: string;
}

async function runParakeetCli(cli: string, model: string, wav: string): Promise<CliRun> {
  const started = performance.now();
  const { stdout, stderr } = await promisify(execFile)(cli, ["-m", model, "-f", wav, "-t", String(threads)], { maxBuffer: 64 << 20 });
  const wallMs = performance.now() - started;
  const number = (label: string) => Number(new RegExp(`${label} =\\s*([0-9.]+) ms`).exec(stderr)?.[1] ?? NaN);
  return {
    wallMs,
    loadMs: number("load time"),
    computeMs: number("total time") - number("load time"),
    encodeMs: number("encode time"),
    decodeMs: number("decode time") + number("predict time"),
    text: stdout,
  };
}

async function cliComparison(model: string, utterances: Utterance[]): Promise<void> {
  const cli = await parakeetCliPath();
  const engine = await loadEngine(model, { parallelJobs: 1, threadsPerJob: threads });
  console.log(`\n== Earshot's Parakeet engine vs parakeet-cli: ${parakeetShape}-shaped model, ${threads} threads, best of ${repeats} ==`);
  const header = "input  | cli whole run | cli load | cli compute (encode / TDT decode) | earshot engine | compute/engine | whole/engine | engine blocks | same text | others' CPU";
  const rows: string[] = [];
  try {
    for (const seconds of cliSeconds) {
      const wav = writeWav(`speech-${seconds}s`, continuousRecording(utterances, seconds).samples);
      // parakeet-cli reads the 16-bit WAV; the engine gets the very same samples.
      const samples = (await decodeAudio(wav)).samples;
      await engine.transcribe(samples.subarray(0, RATE * 5), { language: "en" }); // warm-up
      const cliRuns: CliRun[] = [];
      const ours: number[] = [];
      let blocks = 0;
      let text = "";
      let others = 0;
      for (let i = 0; i < repeats; i++) {
        const runCli = async () => {
          await waitForIdle(idleWait);
          const phase = cpuPhase();
          cliRuns.push(await runParakeetCli(cli, model, wav));
          others += phase.stop().others;
        };
        const runOurs = async () => {
          await waitForIdle(idleWait);
          const phase = cpuPhase();
          const started = performance.now();
          const result = await engine.transcribe(samples, { language: "en" });
          ours.push(performance.now() - started);
          others += phase.stop().others;
          blocks = result.timings.windows;
          text = result.text;
        };
        // Alternate the order so neither side always runs on a warmer machine.
        if (i % 2 === 0) {
          await runCli();
          await runOurs();
        } else {
          await runOurs();
          await runCli();
        }
      }
      const fastest = cliRuns.reduce((a, b) => (b.computeMs < a.computeMs ? b : a));
      const engineMs = best(ours);
      const same = normalized(fastest.text) === normalized(text) ? "yes" : blocks > 1 ? "no (blocks)" : "NO";
      const row = [
        `${seconds} s`.padEnd(6),
        sec(best(cliRuns.map((r) => r.wallMs))).padEnd(13),
        sec(fastest.loadMs).padEnd(8),
        `${sec(fastest.computeMs)} (${sec(fastest.encodeMs)} / ${sec(fastest.decodeMs)})`.padEnd(33),
        sec(engineMs).padEnd(14),
        `${x(fastest.computeMs / engineMs)}${fastest.computeMs / engineMs >= CLI_TARGET ? "" : " ← below 0.95"}`.padEnd(14),
        x(best(cliRuns.map((r) => r.wallMs)) / engineMs).padEnd(12),
        String(blocks).padEnd(13),
        same.padEnd(9),
        `${others.toFixed(1)} CPU-s`,
      ].join(" | ");
      rows.push(`${row}\n       reproduce: ${reproduce(`--only cli --seconds ${seconds} --repeats ${repeats}`)}`);
      console.log(`${header}\n${rows.at(-1)}`);
    }
  } finally {
    await engine.close();
  }
  results.push(`Earshot's Parakeet engine vs parakeet-cli (${parakeetShape}, ${threads} threads, best of ${repeats}; compute = cli total − cli load; ≥ ${CLI_TARGET} is the target; past 60 s the engine decodes in 60-s blocks, parakeet-cli in one pass)\n${header}\n${rows.join("\n")}`);
}

// ---------------------------------------------------------------------------------------------
// Part 2: Parakeet against Whisper large-v3-turbo, each model in its own process.

function runChild(request: ChildRequest): Promise<ChildReport> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...process.execArgv, path.join(root, "bench", "modelRunChild.ts"), JSON.stringify(request)], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.on("error", reject);
    child.on("exit", (code) => {
      const line = out.trim().split("\n").at(-1) ?? "";
      if (code === 0 && line.startsWith("{")) resolve(JSON.parse(line) as ChildReport);
      else reject(new Error(`model child exited ${code}`));
    });
  });
}

async function whisperComparison(parakeetModel: string, utterances: Utterance[]): Promise<void> {
  const whisperModel = await getTestModelPath(whisperShape);
  const speech = continuousRecording(utterances, speechSeconds);
  const silence = silenceRecording(utterances, { seconds: silenceSeconds, silenceFraction: 0.4, minGap: 1, maxGap: 8, seed: 1 });
  const speechName = `${speechSeconds / 60} min speech`;
  const silenceName = `${silenceSeconds / 60} min, 40 % silence`;
  const base: Omit<ChildRequest, "model"> = {
    threads,
    firstWav: writeWav("first", speech.samples.subarray(0, firstSeconds * RATE)),
    recordings: [
      { name: speechName, wav: writeWav("speech", speech.samples), modes: ["engine", "auto"] },
      { name: silenceName, wav: writeWav("silence", silence.samples), modes: ["auto"] },
    ],
    repeats: whisperRepeats,
    idleWait,
  };
  console.log(`\n== Parakeet ${parakeetShape} vs Whisper ${whisperShape}, f16, ${threads} threads, best of ${whisperRepeats} ==`);
  console.log(`recordings: "${speechName}" (${speech.description}); "${silenceName}" (${silence.description})`);
  const parakeet = await runChild({ ...base, model: parakeetModel });
  const whisper = await runChild({ ...base, model: whisperModel });

  const header = "recording              | path                   | parakeet | whisper  | whisper/parakeet | calls (p / w) | others' CPU (p / w)";
  const rows = parakeet.runs.map((p, i) => {
    const w = whisper.runs[i]!;
    const ratio = best(w.walls) / best(p.walls);
    const pathName = p.mode === "engine" ? "engine, unchunked" : "service, chunking auto";
    const flags = `--only whisper --speech-seconds ${speechSeconds} --silence-seconds ${silenceSeconds} --whisper-repeats ${whisperRepeats} --whisper-shape ${whisperShape}`;
    return `${p.recording.padEnd(22)} | ${pathName.padEnd(22)} | ${sec(best(p.walls)).padEnd(8)} | ${sec(best(w.walls)).padEnd(8)} | ${`${x(ratio)}${ratio >= SPEED_TARGET ? "" : " ← below 3"}`.padEnd(16)} | ${`${p.calls} / ${w.calls}`.padEnd(13)} | ${best(p.others).toFixed(1)} / ${best(w.others).toFixed(1)} CPU-s\n${" ".repeat(25)}reproduce: ${reproduce(flags)}`;
  });
  const memory = [
    `model                | file     | load     | load + first ${firstSeconds}-s request | RSS after first | peak RSS (VmHWM)`,
    ...[["parakeet " + parakeetShape, parakeetModel, parakeet] as const, ["whisper " + whisperShape, whisperModel, whisper] as const].map(
      ([name, file, r]) =>
        `${name.padEnd(20)} | ${mb(fs.statSync(file).size).padEnd(8)} | ${sec(r.loadMs).padEnd(8)} | ${sec(r.firstRequestMs).padEnd(28)} | ${mb(r.rssAfterFirst).padEnd(15)} | ${mb(r.peak)} (before the load ${mb(r.rssBefore)})`,
    ),
  ];
  const table = `${header}\n${rows.join("\n")}\n\n${memory.join("\n")}`;
  console.log(table);
  results.push(`Parakeet ${parakeetShape} vs Whisper ${whisperShape} (f16, ${threads} threads, best of ${whisperRepeats}; target: whisper/parakeet ≥ ${SPEED_TARGET})\n${table}`);
}

// ---------------------------------------------------------------------------------------------

const results: string[] = [];

async function main(): Promise<void> {
  const parakeetModel = await getParakeetTestModelPath(parakeetShape);
  const utterances = await loadLibriSpeech(args["speech-dir"]);
  const build = (await import("../src/engine/loadAddon.js")).loadAddon().buildInfo();
  console.log(`whisper.cpp ${build.whisperVersion}; ${build.systemInfo.trim()}`);
  console.log(`machine: ${os.cpus()[0]?.model ?? "?"}, ${os.availableParallelism()} hardware threads; load average ${os.loadavg().map((l) => l.toFixed(1)).join(" ")}`);
  console.log(`speech: ${utterances.length} LibriSpeech utterances from ${args["speech-dir"]}`);
  try {
    if (parts.has("cli")) await cliComparison(parakeetModel, utterances);
    if (parts.has("whisper")) await whisperComparison(parakeetModel, utterances);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  console.log(`\n== summary ==\n${results.join("\n\n")}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
