// Conversations for bench:diarization, assembled from LibriSpeech speakers (../shared/data/librispeech: 14 speakers
// × 8 read utterances) with the truth of who spoke when. Seeded: the same layout gives the same conversation, sample
// for sample, on every run.
//
//   - The speakers of a conversation are drawn from the 14; each turn is one whole utterance of a speaker other than
//     the last one's (each speaker's utterances in a seeded order, from the start again when a long meeting has used
//     them all).
//   - Between turns, a gap drawn in [minGap, maxGap] seconds from the end of the previous voice to the start of the
//     next; a share of the turns (overlapShare) instead starts while the previous voice is still talking, by a time
//     drawn in [minOverlap, maxOverlap] (at most half of the previous stretch of voice), and the two are mixed.
//   - Under it all, a -60 dBFS noise floor (seeded white noise), so that silence is not digital zero.
//   - The truth: each turn's voice, from its first to its last sample at -40 dBFS or above (bench/recordings.ts's
//     `voiced`), split at every pause inside it of `pauseSeconds` or more (10-ms frames with no sample at that level).
//
// Samples are rendered on demand for any range (`render`), so a 2-hour meeting can be fed to a diarizer second by
// second without ever holding its 460 MB of samples.
import type { RttmTurn } from "../src/formats/rttm.js";
import type { Utterance } from "./librispeech.js";
import { voiced } from "./recordings.js";
import { prng } from "./seededRandom.js";

const RATE = 16_000;
const VOICE_LEVEL = 0.01; // -40 dBFS, as bench/recordings.ts
const FRAME = RATE / 100;
const NOISE_AMPLITUDE = 0.001 * Math.sqrt(3); // uniform noise of RMS 0.001: -60 dBFS

export interface ConversationLayout {
  speakers: number;
  /** The conversation's length: the last turn is cut there. */
  seconds: number;
  seed: number;
  minGap?: number;
  maxGap?: number;
  overlapShare?: number;
  minOverlap?: number;
  maxOverlap?: number;
  /** A silence inside an utterance at least this long splits its truth into two turns. */
  pauseSeconds?: number;
}

/** One utterance on the conversation's timeline. */
interface Placement {
  utterance: Utterance;
  /** Its first sample on the timeline. */
  at: number;
}

export interface Conversation {
  name: string;
  description: string;
  /** Length in samples at 16 kHz. */
  length: number;
  seconds: number;
  /** Who spoke when (LibriSpeech speaker ids), in start order. */
  truth: RttmTurn[];
  /** The samples in [from, to), utterances mixed over the noise floor. */
  render(from: number, to: number): Float32Array;
  /** The whole conversation (length × 4 bytes: for the short ones). */
  samples(): Float32Array;
}

/** A LibriSpeech utterance's speaker: its id is speaker-chapter-index. */
export function speakerOf(utterance: Utterance): string {
  return utterance.id.split("-")[0]!;
}

/** The voice of a clip in samples: [first, last) sample at -40 dBFS or above, split at pauses of `pause` samples. */
export function voiceSpans(clip: Float32Array, pause: number): Array<[number, number]> {
  const span = voiced(clip);
  if (!span) return [];
  const spans: Array<[number, number]> = [];
  let start = span[0];
  let quietFrom = -1;
  for (let frame = span[0]; frame < span[1]; frame += FRAME) {
    let loud = false;
    for (let i = frame, end = Math.min(frame + FRAME, span[1]); i < end; i++) {
      if (Math.abs(clip[i]!) >= VOICE_LEVEL) {
        loud = true;
        break;
      }
    }
    if (!loud) {
      if (quietFrom < 0) quietFrom = frame;
    } else {
      if (quietFrom >= 0 && frame - quietFrom >= pause) {
        spans.push([start, quietFrom]);
        start = frame;
      }
      quietFrom = -1;
    }
  }
  spans.push([start, span[1]]);
  return spans;
}

function shuffled<T>(items: readonly T[], random: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** White noise for sample `index`, the same for the same seed and index whatever range it is rendered in. */
function noise(seed: number, index: number): number {
  let h = Math.imul(index ^ seed, 0x9e3779b1);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return ((h >>> 0) / 4294967296 - 0.5) * 2 * NOISE_AMPLITUDE;
}

/** The utterances by speaker, in manifest order. */
export function bySpeaker(utterances: readonly Utterance[]): Map<string, Utterance[]> {
  const out = new Map<string, Utterance[]>();
  for (const u of utterances) out.set(speakerOf(u), [...(out.get(speakerOf(u)) ?? []), u]);
  return out;
}

/** A conversation of `layout.speakers` LibriSpeech speakers (see the header). */
export function conversation(utterances: readonly Utterance[], name: string, layout: ConversationLayout): Conversation {
  const { speakers: count, seconds, seed, minGap = 0.2, maxGap = 1.5, overlapShare = 0.1, minOverlap = 0.2, maxOverlap = 1, pauseSeconds = 0.5 } = layout;
  const random = prng(seed);
  const pool = bySpeaker(utterances);
  if (count < 1 || count > pool.size) throw new Error(`a conversation of ${count} speakers: the data has ${pool.size}`);
  const speakers = shuffled([...pool.keys()].sort(), random).slice(0, count);
  const queues = new Map(speakers.map((s) => [s, { order: shuffled(pool.get(s)!, random), next: 0 }]));
  const length = Math.round(seconds * RATE);
  const pause = Math.round(pauseSeconds * RATE);
  const spansOf = new Map<string, Array<[number, number]>>();
  const spans = (u: Utterance) => spansOf.get(u.id) ?? spansOf.set(u.id, voiceSpans(u.samples, pause)).get(u.id)!;

  const placements: Placement[] = [];
  const truth: RttmTurn[] = [];
  let voiceEnd = 0; // the last sample of voice placed so far, on the timeline
  let lastSpeaker = "";
  let overlaps = 0;
  let repeats = 0;
  for (let turn = 0; voiceEnd < length; turn++) {
    const others = speakers.filter((s) => s !== lastSpeaker);
    const speaker = others[Math.floor(random() * others.length)]!;
    const queue = queues.get(speaker)!;
    if (queue.next >= queue.order.length) {
      queue.next = 0;
      repeats++;
    }
    const utterance = queue.order[queue.next++]!;
    const voice = spans(utterance);
    if (voice.length === 0) continue;
    const lead = voice[0]![0];
    const previous = truth.at(-1);
    let voiceStart: number;
    if (turn > 0 && previous && random() < overlapShare) {
      const wanted = minOverlap + random() * (maxOverlap - minOverlap);
      const longest = (previous.end - previous.start) / 2;
      voiceStart = voiceEnd - Math.round(Math.min(wanted, longest) * RATE);
      overlaps++;
    } else {
      voiceStart = voiceEnd + (turn === 0 ? Math.round(minGap * RATE) : Math.round((minGap + random() * (maxGap - minGap)) * RATE));
    }
    const at = Math.max(0, voiceStart - lead);
    placements.push({ utterance, at });
    for (const [from, to] of voice) {
      if (at + from >= length) break;
      truth.push({ start: (at + from) / RATE, end: Math.min(at + to, length) / RATE, speaker });
    }
    voiceEnd = Math.max(voiceEnd, at + voice.at(-1)![1]);
    lastSpeaker = speaker;
  }
  truth.sort((a, b) => a.start - b.start || a.end - b.end);

  const render = (from: number, to: number): Float32Array => {
    const start = Math.max(0, from);
    const end = Math.min(length, to);
    const out = new Float32Array(Math.max(0, end - start));
    for (let i = 0; i < out.length; i++) out[i] = noise(seed, start + i);
    for (const { utterance, at } of placements) {
      const a = Math.max(start, at);
      const b = Math.min(end, at + utterance.samples.length);
      for (let i = a; i < b; i++) out[i - start]! += utterance.samples[i - at]!;
    }
    return out;
  };
  const speech = truth.reduce((n, t) => n + t.end - t.start, 0);
  return {
    name,
    description: `${count} speakers (${speakers.join(", ")}), ${placements.length} turns, ${overlaps} overlapping the one before, ${((speech / seconds) * 100).toFixed(0)} % speech${repeats > 0 ? `, utterances reused ${repeats}×` : ""} (seed ${seed})`,
    length,
    seconds,
    truth,
    render,
    samples: () => render(0, length),
  };
}

/** `count` conversations of `speakers` speakers and `seconds` each, seeds `seed`, `seed` + 1, …. */
export function conversationSet(utterances: readonly Utterance[], speakers: number, count: number, seconds: number, seed: number): Conversation[] {
  return Array.from({ length: count }, (_, i) => conversation(utterances, `${speakers}spk-${i + 1}`, { speakers, seconds, seed: seed + i }));
}
