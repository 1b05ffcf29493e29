// The benchmarks' LibriSpeech recordings, seeded so every run assembles the same ones, with where their voice is:
//   "40 % silence"  utterances apart by digital-silence gaps of varied lengths; the span of each utterance's voice is
//                   known (its first to its last sample above -40 dBFS, as test/support/speechLayout.ts does), so the
//                   "known silence" is everything outside those spans
//   "continuous"    utterances back to back (the known silence is only each utterance's own quiet lead-in and tail)
import type { Utterance } from "./librispeech.js";
import { prng } from "./seededRandom.js";

const RATE = 16_000;
/** A sample at or above this (-40 dBFS) is voice: as test/support/speechLayout.ts. */
const VOICE_LEVEL = 0.01;

/** The span of voice inside a clip, in samples [from, to): its first to its last sample at -40 dBFS or above. */
export function voiced(clip: Float32Array): [number, number] | undefined {
  let first = 0;
  while (first < clip.length && Math.abs(clip[first]!) < VOICE_LEVEL) first++;
  if (first === clip.length) return undefined;
  let last = clip.length - 1;
  while (last > first && Math.abs(clip[last]!) < VOICE_LEVEL) last--;
  return [first, last + 1];
}

export interface Recording {
  name: string;
  description: string;
  samples: Float32Array;
  /** Where voice is, in seconds, in order: everything else is known silence. */
  voice: Array<[number, number]>;
}

/** `utterances` placed at `offsets` (samples) into `length` samples of digital zero, each cut at the end. */
function place(name: string, description: string, length: number, utterances: Utterance[], offsets: number[]): Recording {
  const samples = new Float32Array(length);
  const voice: Array<[number, number]> = [];
  utterances.forEach((u, i) => {
    const at = offsets[i]!;
    if (at >= length) return;
    const clip = u.samples.subarray(0, Math.min(u.samples.length, length - at));
    samples.set(clip, at);
    const span = voiced(clip);
    if (span) voice.push([(at + span[0]) / RATE, (at + span[1]) / RATE]);
  });
  return { name, description, samples, voice };
}

function shuffled<T>(items: readonly T[], random: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** How the "40 % silence" recording is laid out. */
export interface SilenceLayout {
  seconds: number;
  /** The share of the recording that is digital silence, in (0, 1). */
  silenceFraction: number;
  /** The gaps are drawn between these (seconds), then scaled together to make up the silence fraction. */
  minGap: number;
  maxGap: number;
  seed: number;
}

/** Utterances (shuffled, seeded) apart by digital silence: `silenceFraction` of the whole, gaps of varied lengths. */
export function silenceRecording(utterances: Utterance[], { seconds, silenceFraction, minGap, maxGap, seed }: SilenceLayout): Recording {
  const random = prng(seed);
  const length = Math.round(seconds * RATE);
  const speechBudget = length * (1 - silenceFraction);
  const chosen: Utterance[] = [];
  let speech = 0;
  for (const u of shuffled(utterances, random)) {
    if (speech + u.samples.length > speechBudget) continue;
    chosen.push(u);
    speech += u.samples.length;
    if (speechBudget - speech < 3 * RATE) break;
  }
  // A gap before each utterance and one after the last, drawn in [minGap, maxGap] and scaled to the silence left.
  const raw = Array.from({ length: chosen.length + 1 }, () => minGap + random() * (maxGap - minGap));
  const scale = (length - speech) / raw.reduce((a, b) => a + b, 0);
  const gaps = raw.map((g) => Math.round(g * scale));
  const offsets: number[] = [];
  let at = 0;
  chosen.forEach((u, i) => {
    at += gaps[i]!;
    offsets.push(at);
    at += u.samples.length;
  });
  const gapSeconds = gaps.map((g) => g / RATE);
  return place(
    "40 % silence",
    `${chosen.length} utterances, ${((1 - speech / length) * 100).toFixed(1)} % digital silence in ${gaps.length} gaps of ${Math.min(...gapSeconds).toFixed(1)}–${Math.max(...gapSeconds).toFixed(1)} s (seed ${seed})`,
    length,
    chosen,
    offsets,
  );
}

/** Utterances back to back (manifest order, from the start again if need be), cut to `seconds`. */
export function continuousRecording(utterances: Utterance[], seconds: number): Recording {
  const length = Math.round(seconds * RATE);
  const chosen: Utterance[] = [];
  const offsets: number[] = [];
  for (let at = 0, i = 0; at < length; i++) {
    const u = utterances[i % utterances.length]!;
    chosen.push(u);
    offsets.push(at);
    at += u.samples.length;
  }
  return place("continuous", `${chosen.length} utterances back to back, no gaps`, length, chosen, offsets);
}

/** Seconds of the recording outside its voice spans. */
export function knownSilenceSeconds(r: Recording): number {
  return r.samples.length / RATE - r.voice.reduce((n, [a, b]) => n + b - a, 0);
}
