// What word timestamps cost, and where their words land (issue 24): one request's wall time with DTW words, without
// words and with whisper.cpp's heuristic word times, on two LibriSpeech recordings of the same length, 2 threads:
//
//   a. "40 % silence": utterances apart by digital-silence gaps of varied lengths (seeded), the span of each
//      utterance's voice known (its first to its last sample above -40 dBFS, as test/support/speechLayout.ts does), so
//      the "known silence" is everything outside those spans
//   b. "continuous": utterances back to back (the known silence is only each utterance's own quiet lead-in and tail)
//
// Each through the path a request takes: TranscriptionService.open → FFmpeg decode of the WAV feeding the run
// (RunFeed) → TranscriptionRun.finish, unchunked and with chunking_strategy auto, on an engine of 1 job × 2 threads
// (slot sharing off, so nothing splits the threads). Methods:
//   none       words off (the engine loaded for DTW, the default, as a server runs it)
//   dtw        timestamp_granularities[]=word, wordAlignment "dtw" (the default)
//   heuristic  timestamp_granularities[]=word, wordAlignment "heuristic" (an engine loaded with EARSHOT_WORD_ALIGNMENT)
//   none-noheads (only with --methods): words off on the engine loaded without alignment heads (the heuristic one)
// Target: dtw ≤ 1.15× none.
//
// Then whisper-cli (built from the same patched tree: scripts/build-native.mjs --target whisper-cli) on a shorter
// clip, with and without `-dtw <preset>`, flash attention on (its default) in both: its printed encode time shows DTW
// no longer turns flash attention off (upstream whisper.cpp did, and the encoder got slower). `-nfa` is shown too,
// for what the encoder costs without flash attention.
//
// Last, for every method, the words whose start (and end) lies inside the known silence by more than a tolerance,
// as the request returns them (snapped out of the silences the VAD heard) and as the engine made them (before
// snapping: the engine's own result, on the recording's timeline; chunked runs' chunks mapped back as the run maps
// them, before its snapping).
//
//   npm run bench:words                              base-shaped model, 600-s recordings, 2 rounds (about 15 min)
//   npm run bench:words -- --quick                   120-s recordings, 60-s whisper-cli clip, 3 rounds (about 5 min)
//   npm run bench:words -- --shape tiny --repeats 3 --only silence,cli --chunking auto
//
// The model is the project's generated test model (real shapes and compute, junk text: it says a fixed transcript
// whatever the audio, so its word times tell nothing of a real model's accuracy; they do show where the pipeline lets
// a word land). Speech is LibriSpeech from ../shared/data/librispeech (required). Times are only honest on an idle
// machine: each run waits for the rest of the machine to go idle (--idle-wait), a run during which others took more
// than 5 % of it is run again (--retries), and each section reports the CPU the rest of the machine took (other
// processes, the hypervisor's steal). Compare ratios within one run only (the same machine, the same minutes).
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs, promisify } from "node:util";

import { SileroVadModel } from "../src/audio/vad/index.js";
import { presetForShape, readModelHparams } from "../src/engine/alignmentHeads.js";
import type { Segment, TranscriptionResult, Word } from "../src/engine/types.js";
import type { TranscriptionEngine } from "../src/engine/engine.js";
import type { WhisperEngine, WordAlignment } from "../src/engine/WhisperEngine.js";
import { getTestModelPath, type TestModelShape } from "../src/models/testModel/index.js";
import { ChunkTimeline, mapSegment } from "../src/transcription/chunkTimeline.js";
import { ModelRegistry } from "../src/transcription/ModelRegistry.js";
import { RunFeed } from "../src/transcription/runFeed.js";
import type { TranscriptionSettings } from "../src/transcription/settings.js";
import type { SpeechChunk } from "../src/transcription/speechChunker.js";
import { TranscriptionService } from "../src/transcription/TranscriptionService.js";
import { encodeWav } from "../test/support/speech.js";
import { loadLibriSpeech, type Utterance } from "./librispeech.js";
import { continuousRecording, knownSilenceSeconds, type Recording, silenceRecording } from "./recordings.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const defaultLibrispeechDir = path.resolve(root, "..", "shared", "data", "librispeech");
const whisperCli = path.join(root, "build", "native", "cmake", "bin", "whisper-cli");
const RATE = 16_000;
const TARGET = 1.15;

const { values: args } = parseArgs({
  options: {
    /** 120-s recordings and a 60-s whisper-cli clip instead of 600 s and 120 s. */
    quick: { type: "boolean", default: false },
    shape: { type: "string", default: "base" },
    threads: { type: "string", default: "2" },
    seconds: { type: "string" },
    repeats: { type: "string" },
    "cli-seconds": { type: "string" },
    "cli-repeats": { type: "string" },
    "silence-fraction": { type: "string", default: "0.4" },
    /** The gaps are drawn between these (seconds), then scaled together to make up the silence fraction. */
    "min-gap": { type: "string", default: "1" },
    "max-gap": { type: "string", default: "8" },
    seed: { type: "string", default: "1" },
    /** "en" (default) or "auto" (the language detected, one more encoder pass in every method alike). */
    language: { type: "string", default: "en" },
    /** Which parts: silence (recording a), continuous (recording b), cli. */
    only: { type: "string", default: "silence,continuous,cli" },
    /** none, auto or both (comma-separated). */
    chunking: { type: "string", default: "none,auto" },
    /**
     * none, dtw, heuristic (default all three), and none-noheads: words off on the engine loaded without alignment
     * heads (the heuristic one), to see whether loading for DTW costs the requests without words anything.
     */
    methods: { type: "string", default: "none,dtw,heuristic" },
    /** A folder to write the recordings (WAV), their voice spans and every run's words into (results.json), to look into. */
    dump: { type: "string" },
    /** Use build/native/cmake/bin/whisper-cli as it is (default: build it, a no-op when up to date). */
    "skip-build": { type: "boolean", default: false },
    /** Before each measured run, wait up to this long (s) for the rest of the machine to go idle; 0: never wait. */
    "idle-wait": { type: "string", default: "120" },
    /** A run during which others took over 5 % of the machine is run again, up to this many times. */
    retries: { type: "string", default: "2" },
    "speech-dir": { type: "string", default: process.env.BENCH_SPEECH_DIR ?? defaultLibrispeechDir },
  },
});
const quick = args.quick;
const shape = args.shape as TestModelShape;
const threads = Number(args.threads);
const seconds = Number(args.seconds ?? (quick ? 120 : 600));
const repeats = Number(args.repeats ?? (quick ? 3 : 2));
const cliSeconds = Number(args["cli-seconds"] ?? (quick ? 60 : 120));
const cliRepeats = Number(args["cli-repeats"] ?? (quick ? 3 : 2));
const silenceFraction = Number(args["silence-fraction"]);
const minGap = Number(args["min-gap"]);
const maxGap = Number(args["max-gap"]);
const seed = Number(args.seed);
const idleWaitSeconds = Number(args["idle-wait"]);
const retries = Number(args.retries);
const language = args.language === "auto" ? undefined : args.language;
const parts = new Set(args.only.split(",").map((s) => s.trim()));
for (const part of parts) if (!["silence", "continuous", "cli"].includes(part)) throw new Error(`--only: "${part}" is not silence, continuous or cli`);
if (!(silenceFraction > 0 && silenceFraction < 1) || !(minGap > 0 && maxGap >= minGap)) throw new Error("--silence-fraction must be in (0, 1), --min-gap > 0 and --max-gap ≥ --min-gap");
const chunkings = args.chunking.split(",").map((s) => s.trim()) as Array<"none" | "auto">;
for (const c of chunkings) if (c !== "none" && c !== "auto") throw new Error(`--chunking: "${c}" is not none or auto`);
if (!["tiny", "tiny.en", "base", "base.en"].includes(shape)) throw new Error(`--shape: "${shape}" is not tiny, tiny.en, base or base.en`);
if (!(repeats >= 1) || !(cliRepeats >= 1) || !(seconds > 0) || !(cliSeconds > 0)) throw new Error("--repeats, --cli-repeats, --seconds and --cli-seconds must be positive");

// ---------------------------------------------------------------------------------------------
// Small helpers.

const median = (values: number[]) => {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const min = (values: number[]) => (values.length ? Math.min(...values) : NaN);
const sec = (ms: number) => (Number.isFinite(ms) ? `${(ms / 1000).toFixed(2)} s` : "n/a");
const msf = (ms: number) => (Number.isFinite(ms) ? `${ms.toFixed(0)} ms` : "n/a");
const x = (r: number) => (Number.isFinite(r) ? `${r.toFixed(3)}×` : "n/a");


/**
 * CPU the rest of the machine took (Linux): all CPUs' busy time (/proc/stat, steal included: a hypervisor's other
 * guests) less this process's own and its waited-for children's (whisper-cli, FFmpeg).
 */
interface CpuReading {
  busy: number;
  steal: number;
  ours: number;
}
const cpuAvailable = fs.existsSync("/proc/stat") && fs.existsSync("/proc/self/stat");

function readCpu(): CpuReading {
  if (!cpuAvailable) return { busy: 0, steal: 0, ours: 0 };
  const cpu = fs.readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal guest guest_nice (guest time is in user already)
  const busy = cpu[0]! + cpu[1]! + cpu[2]! + cpu[5]! + cpu[6]! + cpu[7]!;
  const self = fs.readFileSync("/proc/self/stat", "utf8");
  const fields = self.slice(self.lastIndexOf(")") + 2).split(" ");
  // utime(14) stime(15) cutime(16) cstime(17), counted from the state (field 3) on
  const ours = Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]);
  return { busy, steal: cpu[7]!, ours };
}

/** CPU-seconds the rest of the machine took since `from` (steal: of which the hypervisor's). */
function foreignSince(from: CpuReading): { seconds: number; steal: number } {
  const now = readCpu();
  return { seconds: Math.max(0, now.busy - from.busy - (now.ours - from.ours)) / 100, steal: (now.steal - from.steal) / 100 };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Waits (up to --idle-wait seconds) for a second in which the rest of the machine took under 5 % of one CPU, so a
 * measurement does not start while someone else's work holds a core (ggml's threads then wait on each other and a
 * run takes several times as long). Returns the seconds waited.
 */
async function waitIdle(): Promise<number> {
  if (!cpuAvailable || idleWaitSeconds <= 0) return 0;
  const started = performance.now();
  while (performance.now() - started < idleWaitSeconds * 1000) {
    const from = readCpu();
    await sleep(1000);
    if (foreignSince(from).seconds < 0.05) break;
  }
  return (performance.now() - started) / 1000 - 1;
}

const loadNotes: string[] = [];
/** A section's measurements: the CPU others took while they ran (not while waiting for idle), and the wait. */
class SectionLoad {
  cpu = 0;
  steal = 0;
  measuredMs = 0;
  waited = 0;
  /** Runs thrown away because others took more than DISTURBED of the machine meanwhile. */
  discarded = 0;
  /**
   * Waits for idle, then runs `work`, counting what others took meanwhile; a run others disturbed is run again (up to
   * --retries times; the last one is kept whatever happened).
   */
  async measure<T>(label: string, work: () => Promise<T>): Promise<{ value: T; foreign: number }> {
    for (let attempt = 0; ; attempt++) {
      this.waited += await waitIdle();
      const from = readCpu();
      const started = performance.now();
      const value = await work();
      const elapsed = performance.now() - started;
      const { seconds, steal } = foreignSince(from);
      const share = seconds / (elapsed / 1000) / os.availableParallelism();
      if (share > DISTURBED && attempt < retries) {
        this.discarded++;
        console.log(`  (${label}: ${sec(elapsed)}, but others took ${seconds.toFixed(1)} CPU-s meanwhile: run again)`);
        continue;
      }
      this.measuredMs += elapsed;
      this.cpu += seconds;
      this.steal += steal;
      return { value, foreign: seconds };
    }
  }
}

/** Others' share of the machine above which a run is measured again. */
const DISTURBED = 0.05;

function noteLoad(part: string, load: SectionLoad): void {
  if (!cpuAvailable) return;
  const { cpu, steal, measuredMs: elapsedMs, waited: waitedSeconds } = load;
  const share = cpu / (elapsedMs / 1000) / os.availableParallelism();
  const line = `${part}: other processes took ${cpu.toFixed(1)} CPU-s during the runs kept (${(share * 100).toFixed(1)} % of the machine over ${sec(elapsedMs)}; steal ${steal.toFixed(1)} s); waited ${waitedSeconds.toFixed(0)} s for idle; ${load.discarded} disturbed run(s) thrown away${share > 0.05 ? "  ← NOT an idle machine: times are inflated" : ""}`;
  loadNotes.push(line);
  console.log(`  [load] ${line}`);
}

// ---------------------------------------------------------------------------------------------
// Where a word lands against the known silence of a recording (bench/recordings.ts).


/** How far `t` lies inside the known silence (0 when it is in a voice span). */
function depthInSilence(voice: Array<[number, number]>, t: number, duration: number): number {
  // The first span ending at or after t.
  let lo = 0;
  let hi = voice.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (voice[mid]![1] < t) lo = mid + 1;
    else hi = mid;
  }
  const next = voice[lo];
  if (next && t >= next[0]) return 0;
  const before = voice[lo - 1];
  // Toward the speech on either side (the recording's own ends are no speech).
  const fromBefore = before ? t - before[1] : Infinity;
  const toNext = next ? next[0] - t : Infinity;
  const depth = Math.min(fromBefore, toNext);
  return Number.isFinite(depth) ? depth : Math.min(t, duration - t);
}

const TOLERANCES = [0.1, 0] as const;

interface SilenceCounts {
  words: number;
  /** Per tolerance: words whose start / end lies deeper than it inside the known silence. */
  starts: number[];
  ends: number[];
  segments: number;
  /** Segments (with text) starting deeper than the first tolerance inside silence. */
  segmentStarts: number;
  /** How deep in the known silence the deepest word start / end lies (seconds). */
  deepestStart: number;
  deepestEnd: number;
}

function countInSilence(segments: readonly Segment[], recording: Recording): SilenceCounts {
  const duration = recording.samples.length / RATE;
  const words: Word[] = segments.flatMap((s) => s.words ?? []);
  const depth = (t: number) => depthInSilence(recording.voice, t, duration);
  const withText = segments.filter((s) => s.text.trim() !== "");
  return {
    words: words.length,
    starts: TOLERANCES.map((tol) => words.filter((w) => depth(w.start) > tol).length),
    ends: TOLERANCES.map((tol) => words.filter((w) => depth(w.end) > tol).length),
    segments: withText.length,
    segmentStarts: withText.filter((s) => depth(s.start) > TOLERANCES[0]).length,
    deepestStart: Math.max(0, ...words.map((w) => depth(w.start))),
    deepestEnd: Math.max(0, ...words.map((w) => depth(w.end))),
  };
}

// ---------------------------------------------------------------------------------------------
// The request path: TranscriptionService over an engine, the engine's own result kept beside the request's.

type Method = "none" | "dtw" | "heuristic" | "none-noheads";
const ALL_METHODS: readonly Method[] = ["none", "dtw", "heuristic", "none-noheads"];
const METHODS = args.methods.split(",").map((m) => m.trim()) as Method[];
for (const m of METHODS) if (!ALL_METHODS.includes(m)) throw new Error(`--methods: "${m}" is not one of ${ALL_METHODS.join(", ")}`);
if (!METHODS.includes("none")) throw new Error("--methods must include none (the ratios' baseline)");
const wantsWords = (method: Method) => method === "dtw" || method === "heuristic";

interface Served {
  alignment: WordAlignment;
  models: ModelRegistry;
  service: TranscriptionService;
  engine: TranscriptionEngine;
  /** Set while a run is measured: every engine.transcribe result, in call order, with its input length. */
  capture: Array<{ samples: number; result: TranscriptionResult }> | undefined;
  /** Seconds the engine's jobs ran (on their slot), summed, since reset. */
  engineSeconds: number;
}

async function serve(model: string, alignment: WordAlignment, vad: Promise<SileroVadModel>): Promise<Served> {
  const models = new ModelRegistry({ model, extraModels: [], aliases: [] }, { parallelJobs: 1, threadsPerJob: threads, slotSharing: false, wordAlignment: alignment });
  const service = new TranscriptionService({ models, loadVad: () => vad });
  const served: Served = { alignment, models, service, engine: undefined as unknown as TranscriptionEngine, capture: undefined, engineSeconds: 0 };
  models.observe({ modelLoaded: () => undefined, job: (_model, job) => void (served.engineSeconds += job.processingSeconds) });
  const engine = await service.engine(models.defaultModel.name);
  // Observe (not replace) the engine's results: the run's own result is snapped, this one is what the engine made.
  const transcribe = engine.transcribe.bind(engine);
  engine.transcribe = async (pcm, options, hooks) => {
    const result = await transcribe(pcm, options, hooks);
    served.capture?.push({ samples: pcm.length, result });
    return result;
  };
  served.engine = engine;
  return served;
}

interface RunOutcome {
  wallMs: number;
  engineMs: number;
  result: TranscriptionResult;
  /** The engine's segments on the recording's timeline, before the run snapped their words. */
  engineSegments: Segment[];
  chunks: number;
}

async function runOnce(served: Served, method: Method, chunking: "none" | "auto", wav: Buffer): Promise<RunOutcome> {
  const settings: TranscriptionSettings = {
    model: served.models.defaultModel.name,
    task: "transcribe",
    ...(language ? { language } : {}),
    wordTimestamps: wantsWords(method),
    chunking: chunking === "auto" ? { type: "auto" } : null,
  };
  const chunks: SpeechChunk[] = [];
  served.capture = [];
  served.engineSeconds = 0;
  const started = performance.now();
  // TranscriptionService.transcribeFile, with onChunkDone (the chunks' pieces map the engine's results back).
  const { run } = await served.service.open(settings, { onChunkDone: (chunk) => chunks.push(chunk) });
  let result: TranscriptionResult;
  try {
    const audio = await served.service.decode(wav, undefined, new RunFeed(run).push);
    result = await run.finish(audio.samples);
  } catch (error) {
    run.cancel();
    throw error;
  }
  const wallMs = performance.now() - started;
  const captured = served.capture;
  served.capture = undefined;
  let engineSegments: Segment[];
  if (chunking === "none") {
    engineSegments = captured[0]?.result.segments ?? [];
  } else {
    // One slot, no sharing: the chunks run one at a time in order, so the k-th engine call is chunk k.
    chunks.sort((a, b) => a.index - b.index);
    if (chunks.length !== captured.length || chunks.some((c, k) => c.length !== captured[k]!.samples)) {
      throw new Error(`chunked run: ${captured.length} engine calls for ${chunks.length} chunks, not one each in order`);
    }
    engineSegments = captured.flatMap(({ result: r }, k) => r.segments.flatMap((s) => mapSegment(s, new ChunkTimeline(chunks[k]!.pieces), wantsWords(method))));
  }
  return { wallMs, engineMs: served.engineSeconds * 1000, result, engineSegments, chunks: chunks.length };
}

interface Row {
  recording: Recording;
  chunking: "none" | "auto";
  method: Method;
  walls: number[];
  engines: number[];
  last: RunOutcome;
}

async function measureRecording(recording: Recording, byMethod: Record<Method, Served>): Promise<Row[]> {
  const wav = encodeWav(recording.samples, RATE);
  const rows: Row[] = [];
  for (const chunking of chunkings) {
    console.log(`\n== ${recording.name}, chunking ${chunking}: ${repeats} round(s) of ${METHODS.join(", ")} (order rotated each round) ==`);
    const byRow = new Map<Method, Row>();
    const load = new SectionLoad();
    for (let round = 0; round < repeats; round++) {
      const order = METHODS.map((_, i) => METHODS[(i + round) % METHODS.length]!);
      for (const method of order) {
        const { value: outcome, foreign } = await load.measure(`${method} round ${round + 1}`, () => runOnce(byMethod[method], method, chunking, wav));
        let row = byRow.get(method);
        if (!row) byRow.set(method, (row = { recording, chunking, method, walls: [], engines: [], last: outcome }));
        row.walls.push(outcome.wallMs);
        row.engines.push(outcome.engineMs);
        row.last = outcome;
        const words = outcome.result.segments.reduce((n, s) => n + (s.words?.length ?? 0), 0);
        console.log(
          `  round ${round + 1} ${method.padEnd(9)} ${sec(outcome.wallMs)} (engine jobs ${sec(outcome.engineMs)}, ${outcome.result.timings.windows} windows, ${outcome.result.timings.fallbacks} fallbacks, ${outcome.chunks || "no"} chunks, ${outcome.result.segments.length} segments, ${words} words; others took ${foreign.toFixed(1)} CPU-s meanwhile)`,
        );
      }
    }
    noteLoad(`${recording.name}, chunking ${chunking}`, load);
    rows.push(...METHODS.map((m) => byRow.get(m)!));
  }
  return rows;
}

// ---------------------------------------------------------------------------------------------
// whisper-cli: its printed encode time with and without DTW, flash attention on.

interface CliRun {
  flashAttn: string;
  dtw: string;
  loadMs: number;
  encodeMs: number;
  encodeRuns: number;
  /** decode + batchd + prompt: the decoder's share (the alignment pass is a batched decoder pass). */
  decoderMs: number;
  totalMs: number;
}

async function buildWhisperCli(): Promise<void> {
  await promisify(execFile)(process.execPath, [path.join(root, "scripts", "build-native.mjs"), "--target", "whisper-cli"], { maxBuffer: 64 << 20 });
}

async function runCli(model: string, wav: string, extra: string[]): Promise<CliRun> {
  const { stderr } = await promisify(execFile)(whisperCli, ["-m", model, "-f", wav, "-t", String(threads), "-l", language ?? "auto", "-bs", "1", "-bo", "5", ...extra], {
    maxBuffer: 64 << 20,
  }).catch((error: { stderr?: string; message: string }) => {
    throw new Error(`whisper-cli ${extra.join(" ")} failed: ${error.message}\n${(error.stderr ?? "").slice(-1500)}`);
  });
  const time = (label: string) => Number(new RegExp(`${label} time =\\s*([0-9.]+) ms`).exec(stderr)?.[1] ?? NaN);
  return {
    flashAttn: /flash attn\s*=\s*(\d)/.exec(stderr)?.[1] ?? "?",
    dtw: /dtw\s*=\s*(\d)/.exec(stderr)?.[1] ?? "?",
    loadMs: time("load"),
    encodeMs: time("encode"),
    encodeRuns: Number(/encode time =\s*[0-9.]+ ms \/\s*(\d+) runs/.exec(stderr)?.[1] ?? NaN),
    decoderMs: time("decode") + time("batchd") + time("prompt"),
    totalMs: time("total"),
  };
}

async function cliComparison(model: string, preset: string, clip: Float32Array, tmp: string): Promise<string[]> {
  const wav = path.join(tmp, `clip-${cliSeconds}s.wav`);
  fs.writeFileSync(wav, encodeWav(clip, RATE));
  const variants: Array<{ label: string; extra: string[] }> = [
    { label: "flash attention, no DTW", extra: [] },
    { label: `flash attention, -dtw ${preset}`, extra: ["-dtw", preset] },
    { label: "-nfa (flash attention off), no DTW", extra: ["-nfa"] },
  ];
  console.log(`\n== whisper-cli -t ${threads} on a ${cliSeconds}-s clip (the continuous recording's start): ${variants.map((v) => v.label).join(" / ")}, ${cliRepeats} round(s) ==`);
  const load = new SectionLoad();
  await runCli(model, wav, []); // warm the page cache
  const runs = new Map<string, CliRun[]>(variants.map((v) => [v.label, []]));
  for (let round = 0; round < cliRepeats; round++) {
    const order = variants.map((_, i) => variants[(i + round) % variants.length]!);
    for (const v of order) {
      const { value: r, foreign } = await load.measure(`${v.label} round ${round + 1}`, () => runCli(model, wav, v.extra));
      runs.get(v.label)!.push(r);
      console.log(
        `  round ${round + 1} ${v.label.padEnd(36)} flash attn = ${r.flashAttn}, dtw = ${r.dtw}: encode ${msf(r.encodeMs)} / ${r.encodeRuns} runs, decoder ${msf(r.decoderMs)}, total ${msf(r.totalMs)}; others took ${foreign.toFixed(1)} CPU-s meanwhile`,
      );
    }
  }
  noteLoad("whisper-cli", load);
  const base = runs.get(variants[0]!.label)!;
  const lines = [
    `| whisper-cli (${shape}-shaped model, -t ${threads}, ${cliSeconds}-s clip) | flash attn | dtw | encode time (median / best) | encoder runs | decoder (decode+batchd+prompt), median | total − load, median | encode vs no DTW (median) |`,
    "|---|---|---|---|---|---|---|---|",
  ];
  for (const v of variants) {
    const rs = runs.get(v.label)!;
    const enc = rs.map((r) => r.encodeMs);
    lines.push(
      `| ${v.label} | ${rs[0]!.flashAttn} | ${rs[0]!.dtw} | ${msf(median(enc))} / ${msf(min(enc))} | ${rs[0]!.encodeRuns} | ${msf(median(rs.map((r) => r.decoderMs)))} | ${msf(median(rs.map((r) => r.totalMs - r.loadMs)))} | ${x(median(enc) / median(base.map((r) => r.encodeMs)))} |`,
    );
  }
  return lines;
}

// ---------------------------------------------------------------------------------------------

function timingTable(rows: Row[]): string[] {
  const lines = [
    `| recording | chunking | method | wall, best of ${repeats} | wall, median | × none (best) | × none (median) | engine jobs, best | engine × none (best) | dtw target ≤ ${TARGET}× (best wall) |`,
    "|---|---|---|---|---|---|---|---|---|---|",
  ];
  for (const row of rows) {
    const none = rows.find((r) => r.recording === row.recording && r.chunking === row.chunking && r.method === "none")!;
    const best = min(row.walls) / min(none.walls);
    const mid = median(row.walls) / median(none.walls);
    const engine = min(row.engines) / min(none.engines);
    const target = row.method === "dtw" ? (best <= TARGET ? "met ✅" : "NOT met ❌") : "";
    const ratio = (r: number) => (row.method === "none" ? "1" : x(r));
    lines.push(
      `| ${row.recording.name} | ${row.chunking} | ${row.method} | ${sec(min(row.walls))} | ${sec(median(row.walls))} | ${ratio(best)} | ${ratio(mid)} | ${sec(min(row.engines))} | ${ratio(engine)} | ${target} |`,
    );
  }
  return lines;
}

function silenceTable(rows: Row[]): string[] {
  const t = TOLERANCES;
  const lines = [
    `| recording | chunking | method | words | starts in silence > ${t[0]} s: engine → returned | > ${t[1]} s: engine → returned | ends in silence > ${t[0]} s: engine → returned | > ${t[1]} s: engine → returned | deepest returned start / end in silence | segments starting in silence > ${t[0]} s (returned) |`,
    "|---|---|---|---|---|---|---|---|---|---|",
  ];
  for (const row of rows) {
    const engine = countInSilence(row.last.engineSegments, row.recording);
    const returned = countInSilence(row.last.result.segments, row.recording);
    const words = wantsWords(row.method);
    const pair = (a: number, b: number) => (words ? `${a} → ${b}` : "—");
    const deepest = words ? `${returned.deepestStart.toFixed(3)} / ${returned.deepestEnd.toFixed(3)} s` : "—";
    if (words && engine.words !== returned.words) console.log(`  (note: ${row.recording.name} ${row.chunking} ${row.method}: ${engine.words} words from the engine, ${returned.words} returned)`);
    lines.push(
      `| ${row.recording.name} | ${row.chunking} | ${row.method} | ${returned.words} | ${pair(engine.starts[0]!, returned.starts[0]!)} | ${pair(engine.starts[1]!, returned.starts[1]!)} | ${pair(engine.ends[0]!, returned.ends[0]!)} | ${pair(engine.ends[1]!, returned.ends[1]!)} | ${deepest} | ${returned.segmentStarts} of ${returned.segments} |`,
    );
  }
  return lines;
}

function dumpRows(dir: string, recordings: Recording[], rows: Row[]): void {
  fs.mkdirSync(dir, { recursive: true });
  const file = (r: Recording) => `${r.name.replace(/[^a-z0-9]+/gi, "-")}.wav`;
  for (const r of recordings) fs.writeFileSync(path.join(dir, file(r)), encodeWav(r.samples, RATE));
  const words = (segments: Segment[]) => segments.flatMap((s) => (s.words ?? []).map((w) => [w.word, w.start, w.end] as const));
  const out = {
    recordings: recordings.map((r) => ({ name: r.name, wav: file(r), voice: r.voice })),
    runs: rows.map((row) => ({
      recording: row.recording.name,
      chunking: row.chunking,
      method: row.method,
      walls: row.walls,
      segments: row.last.result.segments.map((s) => [s.start, s.end, s.text] as const),
      returnedWords: words(row.last.result.segments),
      engineWords: words(row.last.engineSegments),
    })),
  };
  fs.writeFileSync(path.join(dir, "results.json"), JSON.stringify(out));
  console.log(`dumped to ${dir}`);
}

async function main(): Promise<void> {
  const started = performance.now();
  const wantCli = parts.has("cli");
  console.log(`preparing: ${wantCli ? "whisper-cli, " : ""}${shape}-shaped test model, LibriSpeech …`);
  if (wantCli && (!args["skip-build"] || !fs.existsSync(whisperCli))) await buildWhisperCli();
  const model = await getTestModelPath(shape);
  const preset = presetForShape(await readModelHparams(model), path.basename(model));
  if (!preset) throw new Error(`${model}: no alignment-heads preset for its shape`);
  const utterances = await loadLibriSpeech(path.resolve(args["speech-dir"]));
  const recordings: Recording[] = [];
  if (parts.has("silence")) recordings.push(silenceRecording(utterances, { seconds, silenceFraction, minGap, maxGap, seed }));
  const continuous = continuousRecording(utterances, seconds);
  if (parts.has("continuous")) recordings.push(continuous);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "earshot-bench-words-"));
  process.on("exit", () => fs.rmSync(tmp, { recursive: true, force: true }));
  const build = (await import("../src/engine/loadAddon.js")).loadAddon().buildInfo();
  console.log(`whisper.cpp ${build.whisperVersion}; ${build.systemInfo.trim()}`);
  console.log(`machine: ${os.cpus()[0]?.model ?? "?"}, ${os.availableParallelism()} threads; model ${model} (${shape}-shaped, alignment heads preset "${preset}")`);
  for (const r of recordings) {
    console.log(`recording "${r.name}": ${seconds} s, ${r.description}; known silence (outside voice at -40 dBFS) ${knownSilenceSeconds(r).toFixed(1)} s = ${((knownSilenceSeconds(r) / seconds) * 100).toFixed(1)} %`);
  }

  const tables: string[][] = [];
  const cliSamples = continuous.samples.subarray(0, Math.min(continuous.samples.length, Math.round(cliSeconds * RATE)));
  if (wantCli) tables.push(await cliComparison(model, preset, cliSamples, tmp));

  let rows: Row[] = [];
  if (recordings.length > 0) {
    const vad = SileroVadModel.load();
    const dtw = await serve(model, "dtw", vad);
    const heuristic = await serve(model, "heuristic", vad);
    try {
      const dtwInfo = (dtw.engine as WhisperEngine).info;
      if (dtwInfo.wordAlignment !== "dtw" || !dtwInfo.alignmentHeads) throw new Error("the dtw engine was not loaded with alignment heads");
      console.log(`engines: 1 job × ${threads} threads, slot sharing off; dtw engine heads ${JSON.stringify(dtwInfo.alignmentHeads)}; heuristic engine without`);
      // Warm-up: the first job on each engine pays for its allocations.
      const warm = encodeWav(continuous.samples.subarray(0, 10 * RATE), RATE);
      for (const [served, method] of [[dtw, "dtw"], [dtw, "none"], [heuristic, "heuristic"]] as const) await runOnce(served, method, "none", warm);
      const byMethod: Record<Method, Served> = { none: dtw, dtw, heuristic, "none-noheads": heuristic };
      for (const recording of recordings) rows.push(...(await measureRecording(recording, byMethod)));
    } finally {
      await dtw.models.close();
      await heuristic.models.close();
    }
    if (args.dump) dumpRows(path.resolve(args.dump), recordings, rows);
    tables.unshift(silenceTable(rows));
    tables.unshift(timingTable(rows));
  }

  console.log(`\n## Word timestamps: DTW vs none vs heuristic (issue 24)\n`);
  console.log(
    `machine: ${os.cpus()[0]?.model ?? "?"}, ${os.availableParallelism()} threads; node ${process.version}; model: generated **${shape}**-shaped test model (real shapes and compute, junk text), DTW heads preset "${preset}"; ` +
      `${threads} threads (1 job × ${threads}, slot sharing off); language ${language ?? "auto"}; ${seconds}-s recordings`,
  );
  console.log(`command: npm run bench:words -- ${process.argv.slice(2).join(" ")}`.trimEnd());
  for (const r of recordings) console.log(`- ${r.name}: ${r.description}; known silence ${((knownSilenceSeconds(r) / seconds) * 100).toFixed(1)} %`);
  console.log(
    "\nwall = one request: FFmpeg decode of the WAV + the run's VAD (unchunked: the speech check, and with words the speech map of the whole file; chunked: the chunker's pass) + the engine; engine jobs = the engine's jobs on their slot. " +
      "Silence counts: engine = the engine's result (chunks mapped back to the recording), returned = what the request returns (words snapped out of the VAD's silences).\n",
  );
  for (const table of tables) console.log(`${table.join("\n")}\n`);
  if (loadNotes.length) console.log(`machine load while measuring:\n${loadNotes.map((l) => `- ${l}`).join("\n")}`);
  console.log(`\ntotal: ${sec(performance.now() - started)}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
