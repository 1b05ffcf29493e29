// Earshot's engine next to whisper.cpp's own whisper-cli, built from the same source tree with the
// same flags (scripts/build-native.mjs --target whisper-cli), same model, same threads, same
// decoding settings, in one run on one machine. Then the process RSS with 1 and with 4 concurrent
// jobs, each measured in a fresh child process.
//
//   npm run bench                       tiny-shaped model, 2 threads, 30 s and 5 min inputs
//   npm run bench -- --shape base --threads 4 --repeats 5
//
// Speech comes from ../shared/data/librispeech when it is there (real utterances joined), else
// from synthesized speech. The model is the project's generated whisper-shaped model: real
// shapes and compute, junk text (no real weights exist here).
import { execFile, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs, promisify } from "node:util";

import { decodeAudio } from "../src/audio/index.js";
import { WhisperEngine } from "../src/engine/WhisperEngine.js";
import { getTestModelPath, type TestModelShape } from "../src/models/testModel/index.js";
import { speechPcm } from "../test/support/engineFixtures.js";
import { encodeWav } from "../test/support/speech.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const sharedDir = path.resolve(root, "..", "shared");
const whisperCli = path.join(root, "build", "native", "cmake", "bin", "whisper-cli");
const SAMPLE_RATE = 16_000;

const { values: args } = parseArgs({
  options: {
    shape: { type: "string", default: "tiny" },
    threads: { type: "string", default: String(Math.min(4, os.availableParallelism())) },
    repeats: { type: "string", default: "3" },
    "memory-child": { type: "string" },
    model: { type: "string" },
  },
});
const threads = Number(args.threads);
const repeats = Number(args.repeats);

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const fmt = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

/** Decoding settings shared by both sides: greedy, whisper's temperature fallback, no text context (whisper-cli's default). */
const engineOptions = { language: "en", beamSize: 1, bestOf: 5, conditionOnPreviousText: false } as const;
const cliOptions = ["-l", "en", "-bs", "1", "-bo", "5", "-t", String(threads)];

async function speechSource(): Promise<Float32Array> {
  const manifest = path.join(sharedDir, "data", "librispeech", "manifest.jsonl");
  if (fs.existsSync(manifest)) {
    const chunks: Float32Array[] = [];
    let total = 0;
    for (const line of fs.readFileSync(manifest, "utf8").trim().split("\n")) {
      const { audio } = JSON.parse(line) as { audio: string };
      const decoded = await decodeAudio(path.join(sharedDir, "data", "librispeech", audio));
      chunks.push(decoded.samples);
      total += decoded.samples.length;
      if (total > SAMPLE_RATE * 310) break;
    }
    console.log(`speech: ${chunks.length} LibriSpeech utterances from ../shared`);
    return concat(chunks);
  }
  console.log("speech: synthesized (../shared not found)");
  return speechPcm();
}

function concat(chunks: Float32Array[]): Float32Array {
  const out = new Float32Array(chunks.reduce((n, c) => n + c.length, 0));
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.length;
  }
  return out;
}

function ofLength(source: Float32Array, seconds: number): Float32Array {
  const out = new Float32Array(seconds * SAMPLE_RATE);
  for (let offset = 0; offset < out.length; offset += source.length) out.set(source.subarray(0, Math.min(source.length, out.length - offset)), offset);
  return out;
}

/** whisper-cli's own timings: compute = total - load (both printed by whisper_print_timings). */
async function runWhisperCli(model: string, wav: string): Promise<{ computeMs: number; wallMs: number; fallbacks: string }> {
  const started = performance.now();
  const { stderr } = await promisify(execFile)(whisperCli, ["-m", model, "-f", wav, ...cliOptions], { maxBuffer: 64 << 20 });
  const wallMs = performance.now() - started;
  const number = (label: string) => Number(new RegExp(`${label} =\\s*([0-9.]+) ms`).exec(stderr)?.[1] ?? NaN);
  const fallbacks = /fallbacks =\s*(\d+ p \/\s*\d+ h)/.exec(stderr)?.[1] ?? "?";
  return { computeMs: number("total time") - number("load time"), wallMs, fallbacks };
}

async function speedComparison(model: string, source: Float32Array): Promise<void> {
  const engine = await WhisperEngine.load(model, { parallelJobs: 1, threadsPerJob: threads });
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "earshot-bench-"));
  console.log(`\n== speed: ${args.shape}-shaped model, ${threads} threads, greedy, median of ${repeats} ==`);
  console.log("input   | whisper-cli compute | earshot engine | ratio (cli/earshot, >= 0.95 is the target) | windows | fallbacks (cli / earshot)");
  try {
    for (const seconds of [30, 300]) {
      const pcm = ofLength(source, seconds);
      const wav = path.join(tmp, `${seconds}s.wav`);
      fs.writeFileSync(wav, encodeWav(pcm, SAMPLE_RATE));
      // whisper-cli reads the 16-bit WAV; give the engine the very same samples.
      const samples = (await decodeAudio(wav)).samples;
      const cli: number[] = [];
      const ours: number[] = [];
      let cliFallbacks = "";
      let windows = 0;
      let fallbacks = 0;
      await engine.transcribe(samples.subarray(0, SAMPLE_RATE * 5), engineOptions); // warm-up
      for (let i = 0; i < repeats; i++) {
        // Alternate the order so neither side always runs on a warmer machine.
        const runCli = async () => {
          const r = await runWhisperCli(model, wav);
          cli.push(r.computeMs);
          cliFallbacks = r.fallbacks;
        };
        const runOurs = async () => {
          const started = performance.now();
          const result = await engine.transcribe(samples, engineOptions);
          ours.push(performance.now() - started);
          windows = result.timings.windows;
          fallbacks = result.timings.fallbacks;
        };
        if (i % 2 === 0) {
          await runCli();
          await runOurs();
        } else {
          await runOurs();
          await runCli();
        }
      }
      const ratio = median(cli) / median(ours);
      console.log(
        `${`${seconds} s`.padEnd(7)} | ${fmt(median(cli)).padEnd(19)} | ${fmt(median(ours)).padEnd(14)} | ${ratio.toFixed(3).padEnd(45)} | ${String(windows).padEnd(7)} | ${cliFallbacks} / ${fallbacks}`,
      );
    }
  } finally {
    await engine.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** In a fresh child: RSS after load, and peak RSS while `jobs` jobs run at once. */
async function memoryChild(model: string, jobs: number): Promise<void> {
  const source = ofLength(await speechSource(), 60);
  const afterStart = process.memoryUsage().rss;
  const engine = await WhisperEngine.load(model, { parallelJobs: jobs, threadsPerJob: Math.max(1, Math.floor(threads / jobs)) });
  const afterLoad = process.memoryUsage().rss;
  let peak = afterLoad;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
  await Promise.all(Array.from({ length: jobs }, () => engine.transcribe(source, engineOptions)));
  clearInterval(timer);
  peak = Math.max(peak, process.memoryUsage().rss);
  await engine.close();
  process.stdout.write(JSON.stringify({ jobs, afterStart, afterLoad, peak }));
}

async function memoryComparison(model: string): Promise<void> {
  const modelBytes = fs.statSync(model).size;
  const run = (jobs: number) =>
    new Promise<{ jobs: number; afterStart: number; afterLoad: number; peak: number }>((resolve, reject) => {
      const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), "--memory-child", String(jobs), "--threads", String(threads), "--model", model], {
        stdio: ["ignore", "pipe", "inherit"],
      });
      let out = "";
      child.stdout.on("data", (d: Buffer) => (out += d.toString()));
      child.on("exit", (code) => (code === 0 ? resolve(JSON.parse(out.slice(out.indexOf("{")))) : reject(new Error(`memory child exited ${code}`))));
    });
  const one = await run(1);
  const four = await run(4);
  const mb = (n: number) => `${(n / 1048576).toFixed(0)} MB`;
  console.log(`\n== memory: model file ${mb(modelBytes)} ==`);
  console.log(`before load: ${mb(one.afterStart)}`);
  console.log(`1 job : RSS after load ${mb(one.afterLoad)}, peak ${mb(one.peak)} (weights+state: +${mb(one.peak - one.afterStart)})`);
  console.log(`4 jobs: RSS after load ${mb(four.afterLoad)}, peak ${mb(four.peak)} (weights+4 states: +${mb(four.peak - four.afterStart)})`);
  const perJobOne = one.peak - one.afterLoad;
  const perJobFour = (four.peak - four.afterLoad) / 4;
  console.log(`per job: ${mb(perJobOne)} with 1 job, ${mb(perJobFour)} each with 4 (a whisper_state: KV caches and compute buffers)`);
  console.log(
    `weights: ${
      perJobFour < modelBytes && Math.abs(four.afterLoad - one.afterLoad) < modelBytes / 2
        ? "held once (each extra job costs less than one copy of the model)"
        : "DUPLICATED per job"
    }`,
  );
}

async function main(): Promise<void> {
  if (args["memory-child"]) {
    await memoryChild(args.model!, Number(args["memory-child"]));
    return;
  }
  await promisify(execFile)(process.execPath, [path.join(root, "scripts", "build-native.mjs"), "--target", "whisper-cli"], { maxBuffer: 64 << 20 });
  const shape = args.shape as TestModelShape;
  const model = args.model ?? (await getTestModelPath(shape));
  const source = await speechSource();
  const build = (await import("../src/engine/loadAddon.js")).loadAddon().buildInfo();
  console.log(`whisper.cpp ${build.whisperVersion}; ${build.systemInfo.trim()}`);
  console.log(`machine: ${os.cpus()[0]?.model ?? "?"}, ${os.availableParallelism()} threads; model ${model}`);
  await speedComparison(model, source);
  await memoryComparison(model);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
