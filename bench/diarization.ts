// Diarization (issue 23), in three parts, on LibriSpeech speakers from ../shared/data/librispeech, 2 threads by default:
//
//   quality  DER (bench/der.ts: collar 0.25 s, overlapped speech scored, speakers mapped one to one) over sets of 2-,
//            3- and 4-speaker conversations (bench/diarizationConversations.ts: seeded, whole utterances, gaps, 10 % of
//            turns overlapping), each diarized with the clustering threshold and again with the true speaker count
//            given (so a poor threshold and poor embeddings can be told apart). The models: --segmentation and
//            --embedding (a path, a catalog name in the models directory, or generated:<shape>); by default the
//            catalog's defaults where they are installed, else the generated tiny ones. Every figure names its models.
//   cost     a 10-minute 3-speaker meeting: diarization's wall time against the transcription of the same audio by the
//            Whisper-base-shaped generated model (the default model's shape), both on --threads: through the engine
//            (whisper's own compute, unchunked) and through the service with chunking_strategy auto (what a request
//            runs), the latter in a fresh process (bench/modelRunChild.ts). Diarization with the real-shaped generated
//            models (pyannote segmentation-3.0 and WeSpeaker ResNet34 shapes, seeded weights: real compute, no sense)
//            unless --time-segmentation / --time-embedding say otherwise; as random weights find no real turns, the
//            figure is put together from two measured runs (bench/diarizationCost.ts). Target: ≤ 25 % of transcription.
//   memory   a 2-hour 3-speaker meeting fed a second at a time to one run in a fresh process
//            (bench/diarizationMemoryChild.ts): resident memory at 15, 30, 60 and 120 min of audio pushed, and the
//            peak. Target: flat (no growth with the audio's length). The models: --memory-segmentation (default the
//            generated tiny one, which finds every stretch of speech, so that the run holds the pieces, embeddings and
//            clustering a real one would; the random real-shaped one finds none) and --time-embedding.
//
//   npm run bench:diarization                                           everything
//   npm run bench:diarization -- --only quality --segmentation pyannote-segmentation-3.0 --embedding ./wespeaker.onnx
//   npm run bench:diarization -- --only cost,memory --long-seconds 1800
//   npm run bench:diarization -- --only quality --sweep 0.1,0.2,0.3,0.5                 DER by clustering threshold
//
// Times are only honest on an idle machine: each measured run first waits (up to --idle-wait s) for the rest of the
// machine to go idle, and the CPU others took during it is printed beside it.
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

import { speakerSettings } from "../src/config/groups/speakerSettings.js";
import { DiarizationRun, SpeakerModels } from "../src/diarization/index.js";
import { renderRttm } from "../src/formats/rttm.js";
import { getTestModelPath, type TestModelShape } from "../src/models/testModel/index.js";
import { encodeWav } from "../test/support/speech.js";
import { cpuPhase, waitForIdle } from "./cpuLoad.js";
import { DEFAULT_COLLAR, derOf, diarizationErrorRate, sumCounts, type DerCounts } from "./der.js";
import { conversation, conversationSet, type Conversation } from "./diarizationConversations.js";
import { costLine, diarizationCost } from "./diarizationCost.js";
import { diarizationTurns, feedConversation } from "./diarizationFeed.js";
import type { MemoryReport, MemoryRequest } from "./diarizationMemoryChild.js";
import { resolveSpeakerModel, type SpeakerModelChoice } from "./diarizationModels.js";
import { loadLibriSpeech, type Utterance } from "./librispeech.js";
import type { ChildReport, ChildRequest } from "./modelRunChild.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const RATE = 16_000;
const COST_TARGET = 0.25;
const MEMORY_MARKS_MINUTES = [15, 30, 60, 120];

const { values: args } = parseArgs({
  options: {
    /** Which parts: quality, cost, memory. */
    only: { type: "string", default: "quality,cost,memory" },
    threads: { type: "string", default: "2" },
    /** quality: the models scored (a path, a catalog name, or generated:<shape>); default: the catalog's if installed. */
    segmentation: { type: "string" },
    embedding: { type: "string" },
    /** cost, memory: the models timed. */
    "time-segmentation": { type: "string", default: "generated:pyannote-3.0" },
    "time-embedding": { type: "string", default: "generated:resnet34" },
    /** memory: the segmentation model (the embedding is --time-embedding). */
    "memory-segmentation": { type: "string", default: "generated:tiny" },
    "models-dir": { type: "string" },
    /** Cosine distance under which two groups of turns are one speaker. */
    threshold: { type: "string" },
    /** quality: also the DER of every set at each of these thresholds (comma-separated). */
    sweep: { type: "string", default: "" },
    collar: { type: "string", default: String(DEFAULT_COLLAR) },
    /** quality: conversations per speaker count, and their length (s). */
    conversations: { type: "string", default: "5" },
    "conversation-seconds": { type: "string", default: "180" },
    seed: { type: "string", default: "1" },
    /** quality: write each conversation's truth and hypotheses as RTTM here (for md-eval, dscore, pyannote.metrics). */
    "rttm-dir": { type: "string" },
    "meeting-seconds": { type: "string", default: "600" },
    "long-seconds": { type: "string", default: "7200" },
    "whisper-shape": { type: "string", default: "base" },
    /** cost: runs of each side (the best is kept). */
    repeats: { type: "string", default: "1" },
    "idle-wait": { type: "string", default: "60" },
    "speech-dir": { type: "string", default: process.env.BENCH_SPEECH_DIR ?? path.resolve(root, "..", "shared", "data", "librispeech") },
  },
});
const parts = new Set(args.only.split(",").map((s) => s.trim()));
for (const part of parts) if (!["quality", "cost", "memory"].includes(part)) throw new Error(`--only: "${part}" is not quality, cost or memory`);
const threads = Number(args.threads);
const collar = Number(args.collar);
const conversationCount = Number(args.conversations);
const conversationSeconds = Number(args["conversation-seconds"]);
const seed = Number(args.seed);
const meetingSeconds = Number(args["meeting-seconds"]);
const longSeconds = Number(args["long-seconds"]);
const repeats = Number(args.repeats);
const idleWait = Number(args["idle-wait"]);
const whisperShape = args["whisper-shape"] as TestModelShape;
for (const n of [threads, conversationCount, conversationSeconds, meetingSeconds, longSeconds, repeats]) {
  if (!(n > 0)) throw new Error("--threads, --conversations, --repeats and every length must be positive");
}
if (!(collar >= 0)) throw new Error("--collar: 0 or more seconds");
const sweep = args.sweep === "" ? [] : args.sweep.split(",").map(Number);
if (sweep.some((t) => !(t > 0 && t < 2))) throw new Error("--sweep: cosine distances in (0, 2), comma-separated");

const sec = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const mb = (bytes: number) => `${(bytes / 1048576).toFixed(0)} MB`;
const pct = (r: number) => (Number.isFinite(r) ? `${(r * 100).toFixed(1)} %` : "n/a");
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "earshot-bench-diarization-"));
const results: string[] = [];

function modelsLine(segmentation: SpeakerModelChoice, embedding: SpeakerModelChoice): string {
  return `segmentation: ${segmentation.label}\n  embedding: ${embedding.label}`;
}

// ---------------------------------------------------------------------------------------------
// Part 1: quality.

interface SetScore {
  speakers: number;
  threshold: DerCounts;
  known: DerCounts;
  /** The truth's own speech all given to one speaker: what a diarizer that finds no speakers scores. */
  oneSpeaker: DerCounts;
  found: number[];
  audioSeconds: number;
  wallMs: number;
}

async function diarize(models: SpeakerModels, c: Conversation, threshold: number, known?: number) {
  const run = new DiarizationRun(models, { threshold, count: known === undefined ? undefined : { exact: known } });
  return feedConversation(run, c);
}

async function quality(utterances: Utterance[], threshold: number): Promise<void> {
  const segmentation = await resolveSpeakerModel("segmentation", args.segmentation, args["models-dir"]);
  const embedding = await resolveSpeakerModel("speaker-embedding", args.embedding, args["models-dir"]);
  console.log(`\n== quality: DER, collar ${collar} s, ${conversationCount} conversations of ${conversationSeconds} s per speaker count, threshold ${threshold} ==\n  ${modelsLine(segmentation, embedding)}`);
  const models = await SpeakerModels.load({ segmentation: segmentation.path, embedding: embedding.path }, { threads });
  const header = "conversation | speakers (found / count given) | DER      | missed   | false alarm | confusion | DER, count given | time (× real time)";
  const sets: SetScore[] = [];
  let sweepTable: string | undefined;
  try {
    for (const speakers of [2, 3, 4]) {
      const set: SetScore = { speakers, threshold: sumCounts([]), known: sumCounts([]), oneSpeaker: sumCounts([]), found: [], audioSeconds: 0, wallMs: 0 };
      console.log(header);
      for (const c of conversationSet(utterances, speakers, conversationCount, conversationSeconds, seed + speakers * 1000)) {
        const free = await diarize(models, c, threshold);
        const given = await diarize(models, c, threshold, speakers);
        const score = diarizationErrorRate(c.truth, diarizationTurns(free.diarization), collar);
        const knownScore = diarizationErrorRate(c.truth, diarizationTurns(given.diarization), collar);
        set.threshold = sumCounts([set.threshold, score]);
        set.known = sumCounts([set.known, knownScore]);
        set.oneSpeaker = sumCounts([set.oneSpeaker, diarizationErrorRate(c.truth, c.truth.map((turn) => ({ ...turn, speaker: "one" })), collar)]);
        set.found.push(free.diarization.speakers);
        set.audioSeconds += c.seconds;
        set.wallMs += free.wallMs;
        if (args["rttm-dir"]) {
          fs.mkdirSync(args["rttm-dir"], { recursive: true });
          fs.writeFileSync(path.join(args["rttm-dir"], `${c.name}.ref.rttm`), renderRttm(c.name, c.truth));
          fs.writeFileSync(path.join(args["rttm-dir"], `${c.name}.hyp.rttm`), renderRttm(c.name, diarizationTurns(free.diarization)));
          fs.writeFileSync(path.join(args["rttm-dir"], `${c.name}.hyp-count.rttm`), renderRttm(c.name, diarizationTurns(given.diarization)));
        }
        const of = (n: number) => pct(n / score.reference);
        console.log(
          `${c.name.padEnd(12)} | ${`${free.diarization.speakers} / ${given.diarization.speakers}`.padEnd(29)} | ${pct(score.der).padEnd(8)} | ${of(score.missed).padEnd(8)} | ${of(score.falseAlarm).padEnd(11)} | ${of(score.confusion).padEnd(9)} | ${pct(knownScore.der).padEnd(16)} | ${sec(free.wallMs)} (${((c.seconds * 1000) / free.wallMs).toFixed(0)}×)`,
        );
        console.log(`             ${c.description}`);
      }
      sets.push(set);
    }
    if (sweep.length > 0) sweepTable = await thresholdSweep(models, utterances, modelsLine(segmentation, embedding));
  } finally {
    await models.close();
  }
  const rows = sets.map((s) => {
    const of = (n: number) => pct(n / s.threshold.reference);
    return `${`${s.speakers} speakers`.padEnd(10)} | ${s.found.join(", ").padEnd(20)} | ${pct(derOf(s.threshold)).padEnd(8)} | ${of(s.threshold.missed).padEnd(8)} | ${of(s.threshold.falseAlarm).padEnd(11)} | ${of(s.threshold.confusion).padEnd(9)} | ${pct(derOf(s.known)).padEnd(16)} | ${pct(derOf(s.oneSpeaker)).padEnd(19)} | ${((s.audioSeconds * 1000) / s.wallMs).toFixed(0)}× real time`;
  });
  const reproduce = `npm run bench:diarization -- --only quality --segmentation ${segmentation.argument} --embedding ${embedding.argument} --conversations ${conversationCount} --conversation-seconds ${conversationSeconds} --seed ${seed} --threshold ${threshold} --collar ${collar}`;
  const table = `set        | speakers found       | DER      | missed   | false alarm | confusion | DER, count given | all one speaker (*) | speed (${threads} threads)\n${rows.join("\n")}\n  (*) the truth's own speech given to one speaker: the DER of finding no speakers at all\n  reproduce: ${reproduce}`;
  console.log(`\n${table}`);
  results.push(`DER (collar ${collar} s; each set ${conversationCount} × ${conversationSeconds} s, seed ${seed}; threshold ${threshold})\n  ${modelsLine(segmentation, embedding)}\n${table}`);
  if (sweepTable) results.push(sweepTable);
}

/** DER per set at each threshold of --sweep: where the threshold that fits these models lies. */
async function thresholdSweep(models: SpeakerModels, utterances: Utterance[], modelsText: string): Promise<string> {
  const sets = [2, 3, 4].map((speakers) => ({ speakers, conversations: conversationSet(utterances, speakers, conversationCount, conversationSeconds, seed + speakers * 1000) }));
  const rows: string[] = [];
  for (const threshold of sweep) {
    const cells: string[] = [];
    for (const { conversations } of sets) {
      const scores: DerCounts[] = [];
      const found: number[] = [];
      for (const c of conversations) {
        const { diarization } = await diarize(models, c, threshold);
        scores.push(diarizationErrorRate(c.truth, diarizationTurns(diarization), collar));
        found.push(diarization.speakers);
      }
      cells.push(`${pct(derOf(sumCounts(scores))).padEnd(8)} (${found.join(", ")})`.padEnd(26));
    }
    rows.push(`${String(threshold).padEnd(9)} | ${cells.join(" | ")}`);
    console.log(rows.at(-1));
  }
  return `DER by threshold (collar ${collar} s; the sets above)\n  ${modelsText}\nthreshold | ${sets.map((s) => `${s.speakers} speakers: DER (found)`.padEnd(26)).join(" | ")}\n${rows.join("\n")}\n  reproduce: npm run bench:diarization -- --only quality --segmentation ${args.segmentation ?? "<default>"} --embedding ${args.embedding ?? "<default>"} --conversations ${conversationCount} --conversation-seconds ${conversationSeconds} --seed ${seed} --sweep ${sweep.join(",")}`;
}

// ---------------------------------------------------------------------------------------------
// Part 2: cost against transcription; part 3: memory. Both in fresh processes where memory or a cold start matters.

function runJsonChild<T>(script: string, request: object, nodeFlags: string[] = []): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...nodeFlags, ...process.execArgv, path.join(root, "bench", script), JSON.stringify(request)], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.on("error", reject);
    child.on("exit", (code) => {
      const line = out.trim().split("\n").at(-1) ?? "";
      if (code === 0 && line.startsWith("{")) resolve(JSON.parse(line) as T);
      else reject(new Error(`${script} exited ${code}`));
    });
  });
}

async function cost(utterances: Utterance[], threshold: number): Promise<void> {
  const segmentation = await resolveSpeakerModel("segmentation", args["time-segmentation"], args["models-dir"]);
  const embedding = await resolveSpeakerModel("speaker-embedding", args["time-embedding"], args["models-dir"]);
  const pieces = await resolveSpeakerModel("segmentation", "generated:tiny");
  const meeting = conversation(utterances, "meeting", { speakers: 3, seconds: meetingSeconds, seed });
  const samples = meeting.samples();
  const wav = path.join(tmp, "meeting.wav");
  fs.writeFileSync(wav, encodeWav(samples, RATE));
  const first = path.join(tmp, "first.wav");
  fs.writeFileSync(first, encodeWav(samples.subarray(0, 5 * RATE), RATE));
  const minutes = `${meetingSeconds / 60}-min`;
  console.log(`\n== cost: the ${minutes} 3-speaker meeting (${meeting.description}), ${threads} threads, best of ${repeats} ==\n  ${modelsLine(segmentation, embedding)}\n  transcription: the generated Whisper ${whisperShape}-shaped model`);

  const request: ChildRequest = { model: await getTestModelPath(whisperShape), threads, firstWav: first, recordings: [{ name: minutes, wav, modes: ["engine", "auto"] }], repeats, idleWait };
  const transcription = await runJsonChild<ChildReport>("modelRunChild.ts", request);
  const [engineRun, serviceRun] = transcription.runs;

  const warmUp = conversation(utterances, "warm-up", { speakers: 2, seconds: 30, seed });
  const measured = await diarizationCost(meeting, { segmentation, embedding, pieces, threads, threshold, repeats, idleWait, warmUp });
  const engineMs = Math.min(...engineRun!.walls);
  const serviceMs = Math.min(...serviceRun!.walls);
  const verdict = (r: number) => `${pct(r)}${r <= COST_TARGET ? "" : " ← above 25 %"}`;
  const lines = [`diarization, the timed models as they are: ${costLine(measured.direct)}`];
  if (measured.functional) {
    lines.push(
      `  (their seeded random weights find no real speaker turns: the pieces embedded are not a real model's)`,
      `the same embedding model behind the generated tiny segmentation (every stretch of speech a piece, cut at 10 s): ${costLine(measured.functional)}`,
      `diarization estimate (second run − its segmentation + the first's segmentation): ${sec(measured.estimateMs)}`,
    );
  }
  lines.push(
    `transcription, engine unchunked: ${sec(engineMs)} (others took ${Math.min(...engineRun!.others).toFixed(1)} CPU-s) → diarization / transcription ${verdict(measured.estimateMs / engineMs)}`,
    `transcription, service, chunking auto (${serviceRun!.calls} chunks): ${sec(serviceMs)} (others took ${Math.min(...serviceRun!.others).toFixed(1)} CPU-s) → ${verdict(measured.estimateMs / serviceMs)}`,
    `  reproduce: npm run bench:diarization -- --only cost --time-segmentation ${segmentation.argument} --time-embedding ${embedding.argument} --meeting-seconds ${meetingSeconds} --whisper-shape ${whisperShape} --threads ${threads} --repeats ${repeats} --seed ${seed}`,
  );
  const table = lines.join("\n");
  console.log(table);
  results.push(`Cost on the ${minutes} 3-speaker meeting (${threads} threads, best of ${repeats}; target ≤ 25 % of transcription)\n  ${modelsLine(segmentation, embedding)}\n  transcription: generated Whisper ${whisperShape} shape\n${table}`);
}

async function memory(threshold: number): Promise<void> {
  const segmentation = await resolveSpeakerModel("segmentation", args["memory-segmentation"], args["models-dir"]);
  const embedding = await resolveSpeakerModel("speaker-embedding", args["time-embedding"], args["models-dir"]);
  console.log(`\n== memory: a ${longSeconds / 60}-min 3-speaker meeting, one run, ${threads} threads ==\n  ${modelsLine(segmentation, embedding)}`);
  const request: MemoryRequest = { segmentation: segmentation.path, embedding: embedding.path, threads, threshold, speechDir: args["speech-dir"], seconds: longSeconds, seed };
  const report = await runJsonChild<MemoryReport>("diarizationMemoryChild.ts", request, ["--expose-gc"]);
  const marks = MEMORY_MARKS_MINUTES.filter((m) => m <= report.perMinute.length).map(
    (m) => `${m} min ${mb(report.perMinute[m - 1]!)} (JS heap ${mb(report.heapPerMinute[m - 1]!)}, buffers ${mb(report.buffersPerMinute[m - 1]!)})`,
  );
  const firstQuarter = report.perMinute.slice(0, Math.max(1, Math.floor(report.perMinute.length / 4)));
  const lastQuarter = report.perMinute.slice(-firstQuarter.length);
  const table = [
    `${report.description}`,
    `RSS before the models ${mb(report.rssBefore)} (LibriSpeech decoded), with them ${mb(report.rssLoaded)}; while pushing: ${marks.join(", ")}`,
    `highest RSS in the first quarter of the audio ${mb(Math.max(...firstQuarter))}, in the last ${mb(Math.max(...lastQuarter))}; peak ${mb(report.peakPushed)} when the last sample was in, ${mb(report.peak)} after finish (clustering)`,
    `${sec(report.wallMs)} (${((longSeconds * 1000) / report.wallMs).toFixed(0)}× real time), ${report.embeds} pieces embedded, ${report.speakers} speakers, ${report.spans} spans`,
    `  reproduce: npm run bench:diarization -- --only memory --memory-segmentation ${segmentation.argument} --time-embedding ${embedding.argument} --long-seconds ${longSeconds} --threads ${threads} --seed ${seed}`,
  ].join("\n");
  console.log(table);
  results.push(`Memory (target: flat)\n  ${modelsLine(segmentation, embedding)}\n${table}`);
}

// ---------------------------------------------------------------------------------------------

/** The server's default (EARSHOT_DIARIZATION_THRESHOLD) unless --threshold says otherwise. */
const clusterThreshold = args.threshold === undefined ? speakerSettings.diarizationThreshold.schema.parse(undefined) : Number(args.threshold);

async function main(): Promise<void> {
  console.log(`machine: ${os.cpus()[0]?.model ?? "?"}, ${os.availableParallelism()} hardware threads; load average ${os.loadavg().map((l) => l.toFixed(1)).join(" ")}`);
  const utterances = await loadLibriSpeech(args["speech-dir"]);
  console.log(`speech: ${utterances.length} LibriSpeech utterances from ${args["speech-dir"]}`);
  try {
    if (parts.has("quality")) await quality(utterances, clusterThreshold);
    if (parts.has("cost")) await cost(utterances, clusterThreshold);
    if (parts.has("memory")) await memory(clusterThreshold);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  console.log(`\n== summary ==\n${results.join("\n\n")}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
