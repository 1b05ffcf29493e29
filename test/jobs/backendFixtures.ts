// What the backend tests (backendContract.ts and each backend's own tests) submit and run: a job spec, a FLAC-named
// file of random bytes (backends store the bytes as they are), and a processor's result that proves it read them.
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";

import type { TranscriptionResult } from "../../src/engine/types.js";
import type { ClaimedJob, NewJob } from "../../src/jobs/types.js";

export function newJob(owner = "key_a", overrides: Partial<NewJob> = {}): NewJob {
  return {
    owner,
    task: "transcribe",
    model: "whisper-1",
    filename: "clip.wav",
    metadata: { batch: "7" },
    webhookUrl: null,
    settings: { model: "whisper-1", task: "transcribe", chunking: { type: "server_vad", silenceDurationMs: 500 } },
    render: { responseFormat: "json", timestampGranularities: [], includeLogprobs: false, includeLanguages: false },
    audioSeconds: 12.5,
    ...overrides,
  };
}

/** A FLAC-named file of `bytes` random bytes in `dir`. */
export function audioFile(dir: string, bytes = 4096): { path: string; bytes: number; content: Buffer } {
  const content = randomBytes(bytes);
  const file = path.join(dir, `incoming-${randomBytes(4).toString("hex")}.flac`);
  fs.writeFileSync(file, content);
  return { path: file, bytes, content };
}

/** Calls `listener` once `signal` aborts (at once when it already has: a job can be stopped before it starts). */
export function onAbort(signal: AbortSignal, listener: () => void): void {
  if (signal.aborted) listener();
  else signal.addEventListener("abort", listener, { once: true });
}

/** A result whose text names the bytes of audio the processor read and the job. */
export function resultFor(job: ClaimedJob): TranscriptionResult {
  const audio = fs.readFileSync(job.audioPath);
  return {
    task: "transcribe",
    language: "en",
    languageProbability: null,
    duration: job.record.audioSeconds,
    text: `heard ${audio.length} bytes of ${job.record.id}`,
    segments: [],
    timings: {} as TranscriptionResult["timings"],
  };
}
