// Recordings with a known silence layout: synthesized sentences placed at set times between stretches of digital
// silence, with the exact span of each sentence's voice, to check where chunks fall and where times map back to.
import { decodeAudio } from "../../src/audio/index.js";
import { encodeWav, longSpeech, shortSpeech } from "./speech.js";

export const RATE = 16_000;

export interface SpeechLayout {
  samples: Float32Array;
  /** Where voice is, in seconds: from the first to the last sample above -40 dBFS of each sentence placed. */
  speech: Array<[number, number]>;
  duration: number;
}

async function at16k(speech: Promise<{ samples: Float32Array; sampleRate: number }>): Promise<Float32Array> {
  const { samples, sampleRate } = await speech;
  return (await decodeAudio(encodeWav(samples, sampleRate))).samples;
}

/** The span of voice inside a clip (first to last sample above −40 dBFS), in samples. */
export function voiced(clip: Float32Array): [number, number] {
  let first = 0;
  while (first < clip.length && Math.abs(clip[first]!) < 0.01) first++;
  let last = clip.length - 1;
  while (last > first && Math.abs(clip[last]!) < 0.01) last--;
  return [first, last + 1];
}

/**
 * `plan`: seconds of silence (numbers) and sentences ("short": ~4.4 s, "long": ~15 s, several sentences) in order.
 */
export async function speechLayout(plan: Array<number | "short" | "long">): Promise<SpeechLayout> {
  const clips = { short: await at16k(shortSpeech()), long: await at16k(longSpeech()) };
  const length = plan.reduce<number>((sum, step) => sum + (typeof step === "number" ? Math.round(step * RATE) : clips[step].length), 0);
  const samples = new Float32Array(length);
  const speech: Array<[number, number]> = [];
  let offset = 0;
  for (const step of plan) {
    if (typeof step === "number") {
      offset += Math.round(step * RATE);
      continue;
    }
    const clip = clips[step];
    samples.set(clip, offset);
    const [from, to] = voiced(clip);
    speech.push([(offset + from) / RATE, (offset + to) / RATE]);
    offset += clip.length;
  }
  return { samples, speech, duration: length / RATE };
}

/** The layout most chunking tests use: a silent lead-in, then ~44 s of speech in four stretches (two chunks). */
export const STANDARD_LAYOUT: Array<number | "short" | "long"> = [8, "short", 3, "long", 6, "long", 2, "short", 4];

/** True when [start, end] lies within a speech span widened by `slack` seconds on each side. */
export function insideSpeech(layout: SpeechLayout, start: number, end: number, slack = 0.5): boolean {
  return layout.speech.some(([from, to]) => start >= from - slack && end <= to + slack);
}
