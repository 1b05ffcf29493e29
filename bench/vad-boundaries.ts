// How well the streaming Silero VAD + server_vad turn detector finds turns in real speech: LibriSpeech utterances
// from ../shared/data/librispeech joined with known silences of varied length (seeded, 0.3-2 s, filled with
// -60 dBFS noise), streamed in 100 ms chunks with OpenAI's defaults (threshold 0.5, prefix 300 ms, silence 500 ms).
//
//   npm run bench:vad
//   npm run bench:vad -- --model path/to/silero_vad.onnx --threshold 0.6 --gap-noise-db off --verbose
//
// Reference turns: one per utterance, from its first to its last speech found by energy (20 ms windows over an
// adaptive threshold: max(utterance peak - 35 dB, its noise floor + 12 dB)), since LibriSpeech files carry pauses
// of their own at both ends; utterances whose joined silence (gap plus those pauses) is shorter than
// silence_duration_ms form one turn, as server_vad must merge them. A detected turn is matched to the reference
// turns it overlaps:
// - missed: a reference turn no detected turn overlaps; false: a detected turn that overlaps none;
// - merged: a detected turn spanning two reference turns (it missed a silence of >= silence_duration_ms);
// - split: a reference turn cut into several detected turns; server_vad rightly cuts at a pause of >=
//   silence_duration_ms inside an utterance, so splits are counted apart when energy also sees such a pause there;
// - start error: detected onset (speech_started's speechStartMs, i.e. audio_start_ms + prefix_padding_ms) minus
//   reference start, over the turn's first piece; end error: speech_stopped's audio_end_ms minus reference end,
//   over its last piece.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

import { decodeAudio } from "../src/audio/index.js";
import { SileroVadModel, TurnDetector, type TurnEvent } from "../src/audio/vad/index.js";
import { SAMPLE_RATE } from "../src/engine/sampleRate.js";
import { prng } from "./seededRandom.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const dataDir = path.resolve(root, "..", "shared", "data", "librispeech");

const { values: args } = parseArgs({
  options: {
    model: { type: "string" },
    threshold: { type: "string", default: "0.5" },
    "prefix-padding-ms": { type: "string", default: "300" },
    "silence-duration-ms": { type: "string", default: "500" },
    "min-speech-ms": { type: "string" },
    "min-gap-ms": { type: "string", default: "300" },
    "max-gap-ms": { type: "string", default: "2000" },
    "gap-noise-db": { type: "string", default: "-60" },
    chunk: { type: "string", default: "1600" },
    limit: { type: "string" },
    seed: { type: "string", default: "1" },
    verbose: { type: "boolean", default: false },
  },
});

const SR = SAMPLE_RATE;
const msToSamples = (ms: number) => Math.round((ms * SR) / 1000);
const detectorOptions = {
  threshold: Number(args.threshold),
  prefixPaddingMs: Number(args["prefix-padding-ms"]),
  silenceDurationMs: Number(args["silence-duration-ms"]),
  ...(args["min-speech-ms"] === undefined ? {} : { minSpeechDurationMs: Number(args["min-speech-ms"]) }),
};


interface Interval {
  start: number;
  end: number;
}

/** Speech intervals (ms, relative to the utterance) by energy; see the header. */
function energySpeech(samples: Float32Array): Interval[] {
  const win = msToSamples(20);
  const hop = msToSamples(10);
  const rms: number[] = [];
  for (let i = 0; i + win <= samples.length; i += hop) {
    let sum = 0;
    for (let j = i; j < i + win; j++) sum += samples[j]! ** 2;
    rms.push(Math.sqrt(sum / win));
  }
  const sorted = [...rms].sort((a, b) => a - b);
  const quantile = (q: number) => sorted[Math.floor(q * (sorted.length - 1))] ?? 0;
  const threshold = Math.max(quantile(0.99) * 10 ** (-35 / 20), quantile(0.1) * 10 ** (12 / 20));
  const intervals: Interval[] = [];
  for (const [k, value] of rms.entries()) {
    if (value < threshold) continue;
    const start = k * 10;
    const end = k * 10 + 20;
    const last = intervals.at(-1);
    if (last && start <= last.end) last.end = end;
    else intervals.push({ start, end });
  }
  return intervals.filter((iv) => iv.end - iv.start >= 40); // clicks are not speech
}

const median = (xs: number[]) => quantileOf(xs, 0.5);
function quantileOf(xs: number[], q: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const pos = q * (s.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo]! + (s[hi]! - s[lo]!) * (pos - lo);
}

async function main(): Promise<void> {
  const manifestPath = path.join(dataDir, "manifest.jsonl");
  if (!fs.existsSync(manifestPath)) {
    console.error(`no LibriSpeech data at ${dataDir} (this bench needs ../shared)`);
    process.exit(1);
  }
  let entries = fs
    .readFileSync(manifestPath, "utf8")
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line) as { audio: string; id: string; seconds: number });
  if (args.limit) entries = entries.slice(0, Number(args.limit));
  const silenceMs = detectorOptions.silenceDurationMs;

  // Join: 1 s lead-in, utterance, gap, utterance, ..., 1 s tail.
  const random = prng(Number(args.seed));
  const minGap = Number(args["min-gap-ms"]);
  const maxGap = Number(args["max-gap-ms"]);
  const noiseRms = args["gap-noise-db"] === "off" ? 0 : 10 ** (Number(args["gap-noise-db"]) / 20);
  const pieces: Float32Array[] = [];
  const utterances: Interval[] = []; // first to last energy speech, stream ms
  const internalPauses: Interval[] = []; // energy pauses >= silence_duration_ms inside an utterance, stream ms
  const gaps: number[] = [];
  let cursor = 0; // samples
  const addGap = (ms: number) => {
    const gap = new Float32Array(msToSamples(ms));
    // Uniform noise with the requested RMS (uniform in [-a, a] has RMS a/sqrt(3)).
    for (let i = 0; i < gap.length; i++) gap[i] = (random() * 2 - 1) * noiseRms * Math.sqrt(3);
    pieces.push(gap);
    cursor += gap.length;
  };
  addGap(1000);
  let leading = 0;
  let trailing = 0;
  for (const [k, entry] of entries.entries()) {
    const { samples } = await decodeAudio(path.join(dataDir, entry.audio));
    const offsetMs = (cursor * 1000) / SR;
    const durationMs = (samples.length * 1000) / SR;
    const inner = energySpeech(samples).map((iv) => ({ start: offsetMs + iv.start, end: offsetMs + Math.min(iv.end, durationMs) }));
    const first = inner[0];
    const last = inner.at(-1);
    if (first && last) {
      utterances.push({ start: first.start, end: last.end });
      leading += first.start - offsetMs;
      trailing += offsetMs + durationMs - last.end;
      for (let i = 1; i < inner.length; i++) {
        if (inner[i]!.start - inner[i - 1]!.end >= silenceMs) internalPauses.push({ start: inner[i - 1]!.end, end: inner[i]!.start });
      }
    }
    pieces.push(samples);
    cursor += samples.length;
    const gapMs = k === entries.length - 1 ? 1000 : Math.round((minGap + random() * (maxGap - minGap)) / 10) * 10;
    if (k < entries.length - 1) gaps.push(gapMs);
    addGap(gapMs);
  }
  const audio = new Float32Array(cursor);
  let at = 0;
  for (const piece of pieces) {
    audio.set(piece, at);
    at += piece.length;
  }

  // Reference turns: utterances joined across silences shorter than silence_duration_ms.
  const reference: Interval[] = [];
  for (const utterance of utterances) {
    const last = reference.at(-1);
    if (last && utterance.start - last.end < silenceMs) last.end = utterance.end;
    else reference.push({ ...utterance });
  }

  // Stream it.
  const model = await SileroVadModel.load(args.model ? { modelPath: path.resolve(args.model) } : {});
  const stream = model.createStream();
  const detector = new TurnDetector(detectorOptions);
  const events: TurnEvent[] = [];
  const probabilities: number[] = [];
  const chunk = Number(args.chunk);
  const t0 = performance.now();
  for (let i = 0; i <= audio.length; i += chunk) {
    const frames = i < audio.length ? await stream.push(audio.subarray(i, i + chunk)) : await stream.flush();
    for (const frame of frames) {
      probabilities.push(frame.probability);
      events.push(...detector.push(frame));
    }
  }
  events.push(...detector.end());
  const elapsed = performance.now() - t0;

  const detected: Interval[] = [];
  for (const event of events) {
    if (event.type === "speech_started") detected.push({ start: event.speechStartMs, end: NaN });
    else detected.at(-1)!.end = event.audioEndMs;
  }

  // Match.
  const overlaps = (a: Interval, b: Interval) => a.start < b.end && b.start < a.end;
  const refHits = reference.map((ref) => detected.filter((d) => overlaps(d, ref)));
  const detHits = detected.map((d) => reference.filter((ref) => overlaps(d, ref)));
  const missed = refHits.filter((hits) => hits.length === 0).length;
  const falseTurns = detHits.filter((hits) => hits.length === 0).length;
  const merged = detHits.reduce((n, hits) => n + Math.max(0, hits.length - 1), 0);
  let splitAtPause = 0;
  let splitElsewhere = 0;
  const startErrors: number[] = [];
  const endErrors: number[] = [];
  const describe = (iv: Interval) => `${(iv.start / 1000).toFixed(2)}-${(iv.end / 1000).toFixed(2)} s`;
  for (const [r, ref] of reference.entries()) {
    const hits = refHits[r]!;
    for (let i = 1; i < hits.length; i++) {
      const cut = { start: hits[i - 1]!.end, end: hits[i]!.start };
      const atPause = internalPauses.some((pause) => overlaps(pause, cut));
      if (atPause) splitAtPause++;
      else splitElsewhere++;
      if (args.verbose) console.log(`split ${describe(ref)} at ${describe(cut)}${atPause ? " (an energy pause)" : ""}`);
    }
    const first = hits[0];
    const last = hits.at(-1);
    // Boundaries only where the turn's pieces belong to this reference turn alone.
    if (!first || !last || detHits[detected.indexOf(first)]!.length !== 1 || detHits[detected.indexOf(last)]!.length !== 1) continue;
    startErrors.push(first.start - ref.start);
    endErrors.push(last.end - ref.end);
  }
  if (args.verbose) {
    for (const [k, d] of detected.entries()) {
      const hits = detHits[k]!;
      if (hits.length === 0) console.log(`false turn ${describe(d)}`);
      if (hits.length > 1) console.log(`merged turn ${describe(d)} spans ${hits.map(describe).join(", ")}`);
    }
    for (const [r, ref] of reference.entries()) if (refHits[r]!.length === 0) console.log(`missed turn ${describe(ref)}`);
  }

  const abs = (xs: number[]) => xs.map(Math.abs);
  const f0 = (x: number) => x.toFixed(0).padStart(5);
  const frames = stream.framesProcessed;
  const audioSeconds = audio.length / SR;
  console.log(`model: ${path.relative(root, model.modelPath)}`);
  console.log(
    `audio: ${entries.length} LibriSpeech utterances, ${(audioSeconds / 60).toFixed(1)} min; gaps ${minGap}-${maxGap} ms ` +
      `(median ${median(gaps)} ms, noise ${noiseRms ? `${args["gap-noise-db"]} dBFS` : "none"}); chunks of ${chunk} samples`,
  );
  console.log(
    `detector: threshold ${detectorOptions.threshold}, prefix_padding_ms ${detectorOptions.prefixPaddingMs}, ` +
      `silence_duration_ms ${silenceMs}, min speech ${detector.minSpeechDurationMs} ms, ` +
      `negative threshold ${detector.negativeThreshold.toFixed(2)}`,
  );
  console.log(
    `reference: ${reference.length} turns from ${utterances.length} utterances (energy speech starts ` +
      `${(leading / utterances.length).toFixed(0)} ms into a file and ends ${(trailing / utterances.length).toFixed(0)} ms ` +
      `before its end, on average; ${internalPauses.length} pauses >= ${silenceMs} ms inside utterances)`,
  );
  console.log(`detected: ${detected.length} turns`);
  console.log(
    `missed turns: ${missed}   false turns: ${falseTurns}   merged turns: ${merged}   ` +
      `split turns: ${splitAtPause + splitElsewhere} (${splitAtPause} at a pause >= ${silenceMs} ms by energy, ${splitElsewhere} elsewhere)`,
  );
  console.log(`boundary error, ms (${startErrors.length} turns)   |err| median   |err| p90   signed median   signed p10..p90`);
  const row = (name: string, errors: number[]) =>
    console.log(
      `  ${name.padEnd(26)}${f0(median(abs(errors)))}        ${f0(quantileOf(abs(errors), 0.9))}        ${f0(median(errors))}` +
        `     ${quantileOf(errors, 0.1).toFixed(0)}..${quantileOf(errors, 0.9).toFixed(0)}`,
    );
  row("start (speech onset)", startErrors);
  row("end (audio_end_ms)", endErrors);
  console.log(
    `cost: ${frames} frames in ${(elapsed / 1000).toFixed(2)} s: ${((elapsed * 1000) / frames).toFixed(0)} µs per 32 ms frame ` +
      `(${(audioSeconds / (elapsed / 1000)).toFixed(0)}x real time, one thread)`,
  );
  await model.release();
}

await main();
