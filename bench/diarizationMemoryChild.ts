// bench:diarization's memory part, in a fresh process so that its RSS is one diarization's alone: a long 3-speaker
// meeting (bench/diarizationConversations.ts, rendered a second at a time, never held whole) fed to one run, the
// process's resident memory read every minute of audio pushed, and prints one JSON line (MemoryReport) on stdout.
// Before the run: the LibriSpeech utterances decoded (the source of the meeting's samples, ~90 MB) and the speaker
// models loaded; both are in every figure after them, so growth is what counts.
//
//   node --expose-gc --import tsx bench/diarizationMemoryChild.ts '<MemoryRequest as JSON>'
import fs from "node:fs";

import { DiarizationRun, SpeakerModels } from "../src/diarization/index.js";
import { conversation } from "./diarizationConversations.js";
import { feedConversation, observeModels } from "./diarizationFeed.js";
import { loadLibriSpeech } from "./librispeech.js";

export interface MemoryRequest {
  segmentation: string;
  embedding: string;
  threads: number;
  threshold: number;
  speechDir: string;
  seconds: number;
  seed: number;
}

export interface MemoryReport {
  description: string;
  /** Bytes: resident with the utterances decoded, then with the models loaded too. */
  rssBefore: number;
  rssLoaded: number;
  /** Resident memory after each minute of audio pushed (index 0: after the first minute). */
  perMinute: number[];
  /** The V8 heap in use (after a full GC where --expose-gc allows) and the ArrayBuffers' bytes, at the same minutes. */
  heapPerMinute: number[];
  buffersPerMinute: number[];
  /** Peak (VmHWM) when the last sample was pushed, and at the end, after finish() (clustering included). */
  peakPushed: number;
  peak: number;
  wallMs: number;
  speakers: number;
  spans: number;
  /** Pieces embedded (what the run keeps one embedding each of, and clusters). */
  embeds: number;
}

/** A field of /proc/self/status in bytes; process.memoryUsage().rss off Linux. */
export function statusBytes(field: "VmRSS" | "VmHWM"): number {
  try {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(fs.readFileSync("/proc/self/status", "utf8"));
    if (match) return Number(match[1]) * 1024;
  } catch {
    // not Linux
  }
  return process.memoryUsage().rss;
}

async function main(request: MemoryRequest): Promise<MemoryReport> {
  const utterances = await loadLibriSpeech(request.speechDir);
  const meeting = conversation(utterances, "long meeting", { speakers: 3, seconds: request.seconds, seed: request.seed });
  const rssBefore = statusBytes("VmRSS");
  const models = await SpeakerModels.load({ segmentation: request.segmentation, embedding: request.embedding }, { threads: request.threads });
  try {
    const rssLoaded = statusBytes("VmRSS");
    const observed = observeModels(models);
    const perMinute: number[] = [];
    const heapPerMinute: number[] = [];
    const buffersPerMinute: number[] = [];
    let peakPushed = 0;
    const run = new DiarizationRun(models, { threshold: request.threshold });
    const { diarization, wallMs } = await feedConversation(run, meeting, (seconds) => {
      if (seconds >= meeting.seconds) peakPushed = statusBytes("VmHWM");
      if (seconds >= (perMinute.length + 1) * 60) {
        perMinute.push(statusBytes("VmRSS"));
        // After the RSS is read: what the JS heap retains, not the garbage it has yet to collect.
        (globalThis as { gc?: () => void }).gc?.();
        const usage = process.memoryUsage();
        heapPerMinute.push(usage.heapUsed);
        buffersPerMinute.push(usage.arrayBuffers);
        if (perMinute.length % 15 === 0) process.stderr.write(`  ${perMinute.length} min pushed: RSS ${(perMinute.at(-1)! / 1048576).toFixed(0)} MB\n`);
      }
    });
    return {
      description: meeting.description,
      rssBefore,
      rssLoaded,
      perMinute,
      heapPerMinute,
      buffersPerMinute,
      peakPushed,
      peak: statusBytes("VmHWM"),
      wallMs,
      speakers: diarization.speakers,
      spans: diarization.spans.length,
      embeds: observed.times.embeds,
    };
  } finally {
    await models.close();
  }
}

main(JSON.parse(process.argv[2]!) as MemoryRequest).then(
  (report) => {
    process.stdout.write(`${JSON.stringify(report)}\n`);
    process.exit(0);
  },
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
