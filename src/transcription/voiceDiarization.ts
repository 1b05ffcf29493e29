// diarized_json by voice: the speaker models (loaded on first use, kept) and how a recording is split into speakers.
//
// Which mode a recording gets (docs/http-api.md "Speakers"):
// - by channel, when it has two or more channels that are separated: in most moments with sound, one channel is at
//   least 10 dB louder than every other (each party of a call on its own channel);
// - by voice otherwise (mono, mono copied to several channels, a stereo room recording): the channels mixed down,
//   the speech segmented by speaker, turns embedded and clustered, and the transcript's words given to the speakers.
//   That needs the speaker models (EARSHOT_SEGMENTATION_MODEL, EARSHOT_SPEAKER_EMBEDDING_MODEL); without them, a
//   recording that cannot be split by channel is a 400 naming `response_format`.
import { DiarizationOverloadedError, SpeakerModels, type ModelPaths } from "../diarization/index.js";
import { SAMPLE_RATE } from "../engine/sampleRate.js";
import { singleSpeakerChannelError } from "./channelTranscription.js";

export interface VoiceDiarizationOptions {
  /** The speaker models' files; undefined: none configured (by-channel only). */
  paths?: ModelPaths | undefined;
  /** onnxruntime threads of each model. */
  threads: number;
  /** Cosine distance under which two groups of turns are one speaker. */
  threshold: number;
  /** Cosine similarity from which a reference clip names a speaker. */
  matchThreshold: number;
  /** Diarizations running at once; more are refused (503) before any work. */
  maxRuns: number;
}

/** How a diarization by voice ended (metrics). */
export const DIARIZATION_OUTCOMES = ["ok", "failed", "aborted", "refused"] as const;
export type DiarizationOutcome = (typeof DIARIZATION_OUTCOMES)[number];

/** Told of every diarization by voice (metrics). */
export interface DiarizationObserver {
  diarized(outcome: DiarizationOutcome, seconds: number): void;
}

/** The speaker models of a server: loaded on the first recording that needs them, then kept until close. */
export class VoiceDiarization {
  private models: Promise<SpeakerModels> | undefined;
  private runs = 0;
  private observer: DiarizationObserver | undefined;

  constructor(readonly options: VoiceDiarizationOptions) {}

  /** Diarizations holding a slot now. */
  get running(): number {
    return this.runs;
  }

  get available(): boolean {
    return this.options.paths !== undefined;
  }

  observe(observer: DiarizationObserver): void {
    this.observer = observer;
  }

  /**
   * Admission: a slot for one recording's diarization, held until `release` says how it ended; a 429 when all are
   * taken.
   */
  admit(): { release: (outcome: Exclude<DiarizationOutcome, "refused">) => void } {
    if (this.runs >= this.options.maxRuns) {
      this.observer?.diarized("refused", 0);
      throw new DiarizationOverloadedError(5);
    }
    this.runs++;
    const started = performance.now();
    let released = false;
    return {
      release: (outcome) => {
        if (released) return;
        released = true;
        this.runs--;
        this.observer?.diarized(outcome, (performance.now() - started) / 1000);
      },
    };
  }

  /** The loaded models (the first call loads them; a load that fails is tried again by the next call). */
  load(): Promise<SpeakerModels> {
    const paths = this.options.paths;
    if (!paths) return Promise.reject(singleSpeakerChannelError("mono"));
    this.models ??= SpeakerModels.load(paths, { threads: this.options.threads }).catch((error: unknown) => {
      this.models = undefined;
      throw error;
    });
    return this.models;
  }

  async close(): Promise<void> {
    const models = await this.models?.catch(() => undefined);
    this.models = undefined;
    await models?.close();
  }
}

/** Loudness frames of the channel test, and the dominance that makes a frame "one channel's". */
const FRAME_SAMPLES = SAMPLE_RATE / 10;
const DOMINANCE = 10; // 10 dB in power
/** Frames quieter than this (−50 dBFS mean power) are not sound. */
const SOUND_POWER = 1e-5;

/**
 * True when the channels carry different speakers: in most frames with sound, one channel is at least 10 dB louder
 * than every other. Mono copies, and room recordings where every microphone hears everybody, are not.
 */
export function channelsSeparateSpeakers(channels: readonly Float32Array[]): boolean {
  if (channels.length < 2) return false;
  const length = Math.min(...channels.map((channel) => channel.length));
  let sound = 0;
  let dominated = 0;
  const powers = new Float64Array(channels.length);
  for (let at = 0; at + FRAME_SAMPLES <= length; at += FRAME_SAMPLES) {
    channels.forEach((channel, c) => {
      let power = 0;
      for (let i = at; i < at + FRAME_SAMPLES; i++) power += channel[i]! * channel[i]!;
      powers[c] = power / FRAME_SAMPLES;
    });
    const sorted = [...powers].sort((a, b) => b - a);
    if (sorted[0]! < SOUND_POWER) continue;
    sound++;
    if (sorted[0]! >= DOMINANCE * sorted[1]!) dominated++;
  }
  return sound > 0 && dominated / sound >= 0.5;
}

/** The channels mixed down to one (their mean). */
export function mixDown(channels: readonly Float32Array[]): Float32Array {
  if (channels.length === 1) return channels[0]!;
  const length = Math.max(...channels.map((channel) => channel.length));
  const mono = new Float32Array(length);
  for (const channel of channels) for (let i = 0; i < channel.length; i++) mono[i]! += channel[i]! / channels.length;
  return mono;
}
