// Speakers told apart by channel: a recording with one speaker per channel (a phone call recorded one party per
// channel) is transcribed channel by channel through the one pipeline, each segment labelled with its channel's
// speaker, and the segments merged in time order. Audio in which every channel carries the same signal (mono, or
// mono copied into several channels) cannot be told apart this way: voiceDiarization.ts tells speakers apart by voice.
import type { Segment, TranscriptionResult } from "../engine/types.js";
import { InvalidSettingError } from "./errors.js";

/** At most this many channels are transcribed as speakers. */
export const MAX_SPEAKER_CHANNELS = 8;
/** `known_speaker_names[]` and `known_speaker_references[]`: at most this many entries (OpenAI's limit). */
export const MAX_KNOWN_SPEAKERS = 4;
/** A known speaker's name: at most this many characters. */
export const MAX_SPEAKER_NAME_LENGTH = 64;

/** One channel's segment, labelled with its speaker (on the recording's timeline, whisper's text as is). */
export interface SpeakerSegment {
  channel: number;
  speaker: string;
  start: number;
  end: number;
  text: string;
}

/** The transcription of every channel, its segments merged in time order. */
export interface ChannelsTranscription {
  /** Seconds of the recording. */
  duration: number;
  /** Every channel's segments with text, in time order (a tie: the lower channel first). */
  segments: SpeakerSegment[];
  /** Each channel's own transcription, in channel order. */
  results: TranscriptionResult[];
  /** The label of each channel, in channel order (by voice: each speaker with words, in order of first appearance). */
  speakers: string[];
  /** By voice: who spoke when, as the speaker models found it (the RTTM output's turns). */
  spans?: Array<{ start: number; end: number; speaker: string }> | undefined;
}

/**
 * The speaker of each channel: `names` in channel order (extra names unused); channels without a name get "A", "B",
 * ... in order, skipping letters that are names already.
 */
export function speakerLabels(channelCount: number, names: readonly string[] = []): string[] {
  const labels = names.slice(0, channelCount);
  let letter = 0;
  while (labels.length < channelCount) {
    const label = letterLabel(letter++);
    if (!names.includes(label)) labels.push(label);
  }
  return labels;
}

/**
 * The label of each of `count` speakers found by voice: its name where a reference clip matched it, else "A", "B",
 * ... in order, skipping letters that are names already.
 */
export function speakerLabelsWithNames(count: number, names: ReadonlyArray<string | undefined>): string[] {
  const taken = new Set(names.filter((name): name is string => name !== undefined));
  let letter = 0;
  return Array.from({ length: count }, (_, speaker) => {
    const name = names[speaker];
    if (name !== undefined) return name;
    let label = letterLabel(letter++);
    while (taken.has(label)) label = letterLabel(letter++);
    return label;
  });
}

/** "A" ... "Z", "AA", "AB", ... */
function letterLabel(index: number): string {
  let label = "";
  for (let n = index + 1; n > 0; n = Math.floor((n - 1) / 26)) label = String.fromCharCode(65 + ((n - 1) % 26)) + label;
  return label;
}

/** Why a recording cannot be diarized by channel (a 400 naming `response_format`). */
export function singleSpeakerChannelError(reason: "mono" | "same_signal"): InvalidSettingError {
  const what =
    reason === "mono"
      ? "The audio has a single channel"
      : "Every channel of the audio carries the same signal (mono audio in several channels)";
  return new InvalidSettingError(
    "response_format",
    `${what}: separating the speakers of mono audio needs a speaker model this server does not have ` +
      "(EARSHOT_SEGMENTATION_MODEL and EARSHOT_SPEAKER_EMBEDDING_MODEL; `earshot models pull pyannote-segmentation-3.0 wespeaker-voxceleb-resnet34-lm`). " +
      "Without them, diarized_json tells speakers apart by channel: record one speaker per channel (e.g. each party of a call on its own channel).",
    "unsupported_audio_for_diarization",
  );
}

/** Normalized correlation at or above which two channels are taken for the same signal. */
const SAME_SIGNAL_CORRELATION = 0.98;

/**
 * True when every channel carries (a scaled copy of) the first one's signal: a mono recording stored in several
 * channels. Channels that are all silence say nothing either way: false.
 */
export function sameSignalInEveryChannel(channels: readonly Float32Array[]): boolean {
  const first = channels[0];
  if (!first || channels.length < 2) return true;
  for (const other of channels.slice(1)) {
    const length = Math.min(first.length, other.length);
    let xy = 0;
    let xx = 0;
    let yy = 0;
    for (let i = 0; i < length; i++) {
      const x = first[i]!;
      const y = other[i]!;
      xy += x * y;
      xx += x * x;
      yy += y * y;
    }
    if (xx === 0 || yy === 0) return false;
    if (Math.abs(xy) / Math.sqrt(xx * yy) < SAME_SIGNAL_CORRELATION) return false;
  }
  return true;
}

/**
 * Merges the channels' segments in time order as they come (each channel's in its own time order): a segment is
 * handed on once every channel still running has a later one waiting, or has ended. Segments without text are left
 * out.
 */
export class SpeakerMerge {
  readonly segments: SpeakerSegment[] = [];
  private readonly queues: SpeakerSegment[][];
  private readonly ended: boolean[];

  constructor(
    channelCount: number,
    /** Each segment once its place is known, with its index in time order. */
    private readonly onSegment?: (segment: SpeakerSegment, index: number) => void,
  ) {
    this.queues = Array.from({ length: channelCount }, () => []);
    this.ended = Array.from({ length: channelCount }, () => false);
  }

  push(segment: SpeakerSegment): void {
    if (segment.text.trim() === "" || this.ended[segment.channel]) return;
    this.queues[segment.channel]!.push(segment);
    this.drain();
  }

  /** The channel has no more segments. */
  end(channel: number): void {
    this.ended[channel] = true;
    this.drain();
  }

  private drain(): void {
    for (;;) {
      let next = -1;
      for (let channel = 0; channel < this.queues.length; channel++) {
        const head = this.queues[channel]![0];
        if (!head) {
          if (!this.ended[channel]) return; // it may still bring an earlier segment
          continue;
        }
        if (next < 0 || head.start < this.queues[next]![0]!.start) next = channel;
      }
      if (next < 0) return;
      const segment = this.queues[next]!.shift()!;
      this.segments.push(segment);
      this.onSegment?.(segment, this.segments.length - 1);
    }
  }
}

/** A channel's segment with its speaker. */
export function speakerSegment(channel: number, speaker: string, segment: Segment): SpeakerSegment {
  return { channel, speaker, start: segment.start, end: segment.end, text: segment.text };
}
