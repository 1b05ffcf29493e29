// One model in a fresh process, for bench/parakeet.ts: so that its peak memory (VmHWM) is that model's alone, and its
// first request finds nothing loaded. In order:
//   1. first request: the model loaded on demand by the transcription service (as the server does on a model's first
//      request), then one short WAV transcribed through the service (FFmpeg decode, run, unchunked); both timed
//   2. each recording (a WAV) through the engine (engine.transcribe on the decoded samples: the model's own compute,
//      Parakeet in blocks of at most 60 s, Whisper in its 30-s windows) and/or through the service with
//      chunking_strategy auto (Silero VAD cuts the speech into chunks, silence never reaches the model), `repeats`
//      times each, each run after a wait for an idle machine, with the CPU others took meanwhile
// and prints one JSON line (ChildReport) on stdout.
//
//   node --import tsx bench/modelRunChild.ts '<ChildRequest as JSON>'
import fs from "node:fs";

import type { TranscriptionEngine } from "../src/engine/engine.js";
import type { TranscriptionResult } from "../src/engine/types.js";
import { ModelRegistry } from "../src/transcription/ModelRegistry.js";
import { RunFeed } from "../src/transcription/runFeed.js";
import type { TranscriptionSettings } from "../src/transcription/settings.js";
import { TranscriptionService } from "../src/transcription/TranscriptionService.js";
import { cpuPhase, waitForIdle } from "./cpuLoad.js";

export type RunMode = "engine" | "auto";

export interface ChildRequest {
  model: string;
  threads: number;
  firstWav: string;
  recordings: Array<{ name: string; wav: string; modes: RunMode[] }>;
  repeats: number;
  idleWait: number;
}

export interface ModeRun {
  recording: string;
  mode: RunMode;
  /** Wall time of each repeat (ms). */
  walls: number[];
  /** CPU-seconds the rest of the machine took during each repeat. */
  others: number[];
  /** Engine calls (chunks) of the last repeat, and its windows or blocks summed. */
  calls: number;
  windows: number;
  words: number;
}

export interface ChildReport {
  kind: string;
  loadMs: number;
  firstRequestMs: number;
  /** Bytes: resident before the load, after load and first request, and the process's peak (VmHWM) at the end. */
  rssBefore: number;
  rssAfterFirst: number;
  peakAfterFirst: number;
  peak: number;
  runs: ModeRun[];
}

/** A field of /proc/self/status in bytes (VmRSS, VmHWM); process.memoryUsage().rss off Linux. */
function statusBytes(field: "VmRSS" | "VmHWM"): number {
  try {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(fs.readFileSync("/proc/self/status", "utf8"));
    if (match) return Number(match[1]) * 1024;
  } catch {
    // not Linux
  }
  return process.memoryUsage().rss;
}

const words = (result: TranscriptionResult) => result.segments.reduce((n, s) => n + s.text.split(/\s+/).filter(Boolean).length, 0);

async function main(request: ChildRequest): Promise<ChildReport> {
  const rssBefore = statusBytes("VmRSS");
  const models = new ModelRegistry({ model: request.model, extraModels: [], aliases: [] }, { parallelJobs: 1, threadsPerJob: request.threads, slotSharing: false });
  const service = new TranscriptionService({ models });
  const name = models.defaultModel.name;
  const settings = (chunking: TranscriptionSettings["chunking"]): TranscriptionSettings => ({ model: name, task: "transcribe", language: "en", chunking });

  // Every engine call of a service run, counted (the chunks of a chunked run).
  let calls = 0;
  let windows = 0;
  const observe = (engine: TranscriptionEngine) => {
    const transcribe = engine.transcribe.bind(engine);
    engine.transcribe = async (pcm, options, hooks) => {
      const result = await transcribe(pcm, options, hooks);
      calls++;
      windows += result.timings.windows;
      return result;
    };
  };

  /** One request through the service, as the server runs it: decode feeding the run, then finish. */
  const request1 = async (wav: Buffer, chunking: TranscriptionSettings["chunking"]) => {
    const { run } = await service.open(settings(chunking));
    try {
      const audio = await service.decode(wav, undefined, new RunFeed(run).push);
      return await run.finish(audio.samples);
    } catch (error) {
      run.cancel();
      throw error;
    }
  };

  await waitForIdle(request.idleWait);
  let started = performance.now();
  const engine = await service.engine(name);
  const loadMs = performance.now() - started;
  await request1(fs.readFileSync(request.firstWav), null);
  const firstRequestMs = performance.now() - started;
  const rssAfterFirst = statusBytes("VmRSS");
  const peakAfterFirst = statusBytes("VmHWM");
  observe(engine);

  const runs: ModeRun[] = [];
  for (const recording of request.recordings) {
    const wav = fs.readFileSync(recording.wav);
    const samples = (await service.decode(wav, undefined)).samples;
    for (const mode of recording.modes) {
      const run: ModeRun = { recording: recording.name, mode, walls: [], others: [], calls: 0, windows: 0, words: 0 };
      for (let i = 0; i < request.repeats; i++) {
        await waitForIdle(request.idleWait);
        calls = 0;
        windows = 0;
        const phase = cpuPhase();
        started = performance.now();
        const result = mode === "engine" ? await engine.transcribe(samples, { language: "en" }) : await request1(wav, { type: "auto" });
        run.walls.push(performance.now() - started);
        run.others.push(phase.stop().others);
        Object.assign(run, { calls, windows, words: words(result) });
      }
      runs.push(run);
      process.stderr.write(`  ${engine.info.kind} ${recording.name} ${mode}: ${run.walls.map((ms) => `${(ms / 1000).toFixed(1)} s`).join(", ")}\n`);
    }
  }
  const report: ChildReport = { kind: engine.info.kind, loadMs, firstRequestMs, rssBefore, rssAfterFirst, peakAfterFirst, peak: statusBytes("VmHWM"), runs };
  await engine.close();
  return report;
}

main(JSON.parse(process.argv[2]!) as ChildRequest).then(
  (report) => {
    process.stdout.write(`${JSON.stringify(report)}\n`);
    process.exit(0);
  },
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
