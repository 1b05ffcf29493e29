// Mono conversations the tests make themselves: turns of different eSpeak-NG voices (this WebAssembly build has no
// voice variants, so voices differ by language and pitch) laid end to end with pauses, resampled to 16 kHz by the
// real decoder, with the truth: who speaks when. Nothing outside the repository is needed.
import { decodeAudio } from "../../src/audio/index.js";
import { SAMPLE_RATE } from "../../src/engine/sampleRate.js";
import { encodeWav, synthesizeSpeech, type SynthesizeOptions } from "./speech.js";

/** Voices far enough apart for the generated speaker embedding model (see test/models/diarizationTestModels). */
export const CONVERSATION_VOICES: readonly SynthesizeOptions[] = [
  { voice: "en", pitch: 20, range: 30 },
  { voice: "en-us", pitch: 85, range: 70 },
  { voice: "en", pitch: 99, range: 99 },
];

export const TURN_TEXTS: readonly string[] = [
  "Good morning, shall we look at the numbers for the last quarter before lunch?",
  "Yes, the sales went up in the north, but the costs of shipping grew even faster.",
  "Then we should talk to the carriers again and ask for a better price next month.",
  "I will write to them today and send you both the answers by Friday afternoon.",
  "Fine, and please put the figures in a table so that everybody can read them quickly.",
  "One more thing: the new office opens in April, so plan the move early this time.",
];

export interface ConversationTurn {
  /** Index into CONVERSATION_VOICES. */
  speaker: number;
  text: string;
}

export interface Conversation {
  /** 16 kHz mono. */
  samples: Float32Array;
  /** Who speaks when, seconds, in time order. */
  truth: Array<{ start: number; end: number; speaker: number }>;
}

const turnCache = new Map<string, Promise<Float32Array>>();

/** One voice saying `text`, at 16 kHz, without its leading and trailing silence. */
export function voiceSamples(speaker: number, text: string): Promise<Float32Array> {
  const key = `${speaker}\u0000${text}`;
  let cached = turnCache.get(key);
  if (!cached) {
    cached = synthesizeSpeech(text, CONVERSATION_VOICES[speaker]).then(async (speech) => trimSilence((await decodeAudio(encodeWav(speech.samples, speech.sampleRate))).samples));
    turnCache.set(key, cached);
  }
  return cached;
}

/** The turns one after the other, `gapSeconds` of digital silence between them (and before the first and after the last). */
export async function makeConversation(turns: readonly ConversationTurn[], gapSeconds = 0.6): Promise<Conversation> {
  const voices = await Promise.all(turns.map((turn) => voiceSamples(turn.speaker, turn.text)));
  const gap = Math.round(gapSeconds * SAMPLE_RATE);
  const samples = new Float32Array(voices.reduce((sum, voice) => sum + voice.length + gap, gap));
  const truth: Conversation["truth"] = [];
  let at = gap;
  voices.forEach((voice, i) => {
    samples.set(voice, at);
    truth.push({ start: at / SAMPLE_RATE, end: (at + voice.length) / SAMPLE_RATE, speaker: turns[i]!.speaker });
    at += voice.length + gap;
  });
  return { samples, truth };
}

/** Two or three voices taking turns through TURN_TEXTS (speaker i % voices). */
export function alternatingTurns(voices: number, count = TURN_TEXTS.length): ConversationTurn[] {
  return Array.from({ length: count }, (_, i) => ({ speaker: i % voices, text: TURN_TEXTS[i % TURN_TEXTS.length]! }));
}

/** `samples` without the quiet (below −50 dBFS over 10 ms) at either end. */
function trimSilence(samples: Float32Array): Float32Array {
  const frame = SAMPLE_RATE / 100;
  const loud = (at: number) => {
    let power = 0;
    for (let i = at; i < Math.min(samples.length, at + frame); i++) power += samples[i]! * samples[i]!;
    return power / frame > 1e-5;
  };
  let start = 0;
  while (start < samples.length && !loud(start)) start += frame;
  let end = samples.length;
  while (end > start && !loud(end - frame)) end -= frame;
  return samples.slice(start, end);
}
