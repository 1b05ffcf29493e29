// The one way audio becomes text in Earshot: the HTTP routes, /api/transcribe, realtime turns and the CLI all
// come here. It owns model lookup, the request settings' meaning (language, chunking, the server default),
// decode → VAD chunking → transcribe → merge, and leaves only the wire format to its callers.
import type { Readable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";

import { decodeAudio, type AudioInput, type DecodeAudioOptions, type DecodedAudio } from "../audio/index.js";
import { SileroVadModel } from "../audio/vad/index.js";
import type { Segment, TranscriptionResult } from "../engine/types.js";
import type { JobPriority, TranscriptionEngine, TranscriptionOptions } from "../engine/engine.js";
import { takesPrompt, type ModelFacts } from "../engine/engineFields.js";
import { EngineOverloadedError } from "../engine/errors.js";
import { readModelFactsSync } from "../engine/modelKind.js";
import {
  sameSignalInEveryChannel,
  singleSpeakerChannelError,
  speakerLabels,
  speakerSegment,
  SpeakerMerge,
  type ChannelsTranscription,
  type SpeakerSegment,
} from "./channelTranscription.js";
import { checkModelFields } from "./modelFields.js";
import type { ModelRegistry, ServedModel } from "./ModelRegistry.js";
import { decoderPrompt, type ChunkingMode, type ChunkingStrategy, type TranscriptionSettings } from "./settings.js";
import type { SpeechChunk } from "./speechChunker.js";
import { TranscriptionRun } from "./transcriptionRun.js";
import { DiarizationRun, type SpeakerCount } from "../diarization/index.js";
import { decodeReferenceClips, knownSpeakers } from "./referenceClips.js";
import { VoicesTranscription } from "./voicesTranscription.js";
import { channelsSeparateSpeakers, mixDown, VoiceDiarization } from "./voiceDiarization.js";
import { RunFeed } from "./runFeed.js";
import { SAMPLE_RATE } from "../engine/sampleRate.js";

export interface TranscriptionServiceOptions {
  models: ModelRegistry;
  /** Which ffmpeg, where temp files go. */
  decodeOptions?: Pick<DecodeAudioOptions, "ffmpegPath" | "tempDir"> | undefined;
  /** Chunking for requests that do not choose (OpenAI: none). */
  defaultChunking?: ChunkingMode | undefined;
  /** Silero VAD; default the bundled model, loaded on first use. */
  loadVad?: (() => Promise<SileroVadModel>) | undefined;
  /** The speaker models for diarized_json by voice; default none (by channel only). */
  voices?: VoiceDiarization | undefined;
}

export interface TranscribeHooks {
  signal?: AbortSignal | undefined;
  /** Segments on the original timeline as they are decoded, in order. */
  onSegment?: ((segment: Segment) => void) | undefined;
  /** Decoding progress 0-100 of a transcription decoded as one block (chunked ones report through onSegment). */
  onProgress?: ((percent: number) => void) | undefined;
  /** The engine priority of the work (default live: a batch job's is "batch"). */
  priority?: JobPriority | undefined;
  /**
   * An unchunked transcription whose audio the caller's own VAD found speech in (a realtime turn the server VAD cut):
   * no second VAD pass over it before it is decoded.
   */
  speechKnown?: boolean | undefined;
}

/** What {@link TranscriptionService.transcribePcm} can also be asked for. */
export interface PcmHooks extends TranscribeHooks {
  /**
   * Admission by waiting: while the engine's queue is full the work is retried as slots free up (at the engine's own
   * retry estimate) for up to this long, instead of being refused at once (a realtime turn the client already sent).
   */
  waitForSlotMs?: number | undefined;
}

/** What {@link TranscriptionService.open} can also be asked for (batch jobs). */
export interface OpenHooks extends TranscribeHooks {
  /** Chunked transcriptions: each chunk once it and every one before it are decoded (progress). */
  onChunkDone?: ((chunk: SpeechChunk) => void) | undefined;
  /** false: keep only the samples a chunk still to come may hold; finish() then takes no audio (see TranscriptionRun). */
  keepAudio?: boolean | undefined;
}

export interface FileHooks extends TranscribeHooks {
  onDecoded?: ((audio: DecodedAudio) => void) | undefined;
}

export interface ChannelHooks {
  signal?: AbortSignal | undefined;
  /** The speaker of each channel, in channel order (`known_speaker_names[]`); the others get "A", "B", ... */
  speakerNames?: readonly string[] | undefined;
  /** Every segment with text, in time order, once its place is known (as the channels are decoded). */
  onSegment?: ((segment: SpeakerSegment, index: number) => void) | undefined;
  /** Reference clips of `speakerNames` (16 kHz mono, one a name, in order): by voice, names go to the voices like them. */
  references?: readonly Float32Array[] | undefined;
  /** How many speakers the recording holds, when the client knows (by voice). */
  count?: SpeakerCount | undefined;
}

/** What {@link TranscriptionService.openVoices} can also be asked for (batch jobs). */
export interface VoiceHooks extends ChannelHooks {
  priority?: JobPriority | undefined;
  /** Chunks done (progress), as {@link OpenHooks.onChunkDone}. */
  onChunkDone?: ((chunk: SpeechChunk) => void) | undefined;
  /** false: the transcription keeps only what its chunks to come need (a job's audio streamed in). */
  keepAudio?: boolean | undefined;
}

/** A transcription being fed while its audio is decoded: see {@link TranscriptionService.open}. */
export interface OpenTranscription {
  settings: TranscriptionSettings;
  run: TranscriptionRun;
}

export class TranscriptionService {
  readonly models: ModelRegistry;
  readonly defaultChunking: ChunkingMode;
  readonly voices: VoiceDiarization;
  private readonly decodeOptions: Pick<DecodeAudioOptions, "ffmpegPath" | "tempDir">;
  private readonly loadVad: () => Promise<SileroVadModel>;
  /** What each served model file is (engine kind, languages), read from its header once. */
  private readonly modelFacts = new Map<string, ModelFacts>();

  constructor(options: TranscriptionServiceOptions) {
    this.models = options.models;
    this.defaultChunking = options.defaultChunking ?? "none";
    this.decodeOptions = options.decodeOptions ?? {};
    this.loadVad = options.loadVad ?? (() => SileroVadModel.load());
    this.voices = options.voices ?? new VoiceDiarization({ threads: 2, threshold: 0.5, matchThreshold: 0.5, maxRuns: 2 });
  }

  /** The served model for a client's model id; a 404 naming `param` when nobody serves it. */
  served(model: string): ServedModel {
    const served = this.models.find(model);
    if (!served) throw this.models.notServed(model);
    return served;
  }

  /**
   * The served model for these settings and the settings in its engine's terms, once checked against what the model
   * can do (a 400 naming the field). Context text (earlier turns' words) is dropped for a model that takes no prompt.
   */
  servedFor(settings: TranscriptionSettings): { served: ServedModel; options: TranscriptionOptions } {
    const served = this.served(settings.model);
    let facts = this.modelFacts.get(served.model.path);
    if (!facts) {
      facts = readModelFactsSync(served.model.path);
      this.modelFacts.set(served.model.path, facts);
    }
    const options = engineOptions(takesPrompt(facts) ? settings : { ...settings, context: undefined });
    checkModelFields(facts, settings, options);
    return { served, options };
  }

  engine(model: string): Promise<TranscriptionEngine> {
    return this.models.engine(this.served(model));
  }

  /** The chunking a request gets: its own choice, else the server's default. */
  chunkingOf(settings: TranscriptionSettings): ChunkingStrategy | null {
    if (settings.chunking !== undefined) return settings.chunking;
    return this.defaultChunking === "auto" ? { type: "auto" } : null;
  }

  /** True when two settings give the same transcription (same model file, same decoding, same chunking). */
  sameWork(a: TranscriptionSettings, b: TranscriptionSettings): boolean {
    const key = (s: TranscriptionSettings) =>
      JSON.stringify([this.models.find(s.model)?.model.path, engineOptions(s), this.chunkingOf(s)]);
    return key(a) === key(b);
  }

  /**
   * Starts a transcription whose audio is still arriving: push() decoded samples into `run` as they come, then
   * finish() it with the whole audio. With chunking, chunks are decoded as soon as the VAD has cut them.
   */
  async open(settings: TranscriptionSettings, hooks: OpenHooks = {}): Promise<OpenTranscription> {
    const { served, options } = this.servedFor(settings);
    // The run holds its model until it is over (finished, cancelled, or its request gone): never unloaded under it.
    const lease = await this.models.acquire(served);
    const release = () => {
      hooks.signal?.removeEventListener("abort", release);
      lease.release();
    };
    hooks.signal?.addEventListener("abort", release, { once: true });
    let run: TranscriptionRun;
    try {
      run = this.newRun(lease.engine, settings, options, hooks, release);
    } catch (error) {
      release();
      throw error;
    }
    return { settings, run };
  }

  private newRun(engine: TranscriptionEngine, settings: TranscriptionSettings, options: TranscriptionOptions, hooks: OpenHooks, onEnd: () => void): TranscriptionRun {
    return new TranscriptionRun({
      engine,
      loadVad: this.loadVad,
      options,
      chunking: this.chunkingOf(settings),
      signal: hooks.signal,
      onSegment: hooks.onSegment,
      onProgress: hooks.onProgress,
      priority: hooks.priority,
      speechKnown: hooks.speechKnown,
      onChunkDone: hooks.onChunkDone,
      keepAudio: hooks.keepAudio,
      onEnd,
    });
  }

  /** Decodes audio (any format FFmpeg reads, content-sniffed), handing the samples on as they are decoded. */
  decode(input: AudioInput | Readable, signal: AbortSignal | undefined, onSamples?: (samples: Float32Array) => void): Promise<DecodedAudio> {
    return decodeAudio(input, { ...this.decodeOptions, ...(signal ? { signal } : {}), ...(onSamples ? { onSamples } : {}) });
  }

  /** A whole file (the CLI): decoded and transcribed at once, chunks starting while the rest is still being decoded. */
  async transcribeFile(input: AudioInput, settings: TranscriptionSettings, hooks: FileHooks = {}): Promise<{ audio: DecodedAudio; result: TranscriptionResult }> {
    const { run } = await this.open(settings, hooks);
    try {
      const audio = await this.decode(input, hooks.signal, new RunFeed(run).push);
      hooks.onDecoded?.(audio);
      return { audio, result: await run.finish(audio.samples) };
    } catch (error) {
      run.cancel();
      throw error;
    }
  }

  /**
   * diarized_json: the recording's speakers, by channel or by voice (voiceDiarization.ts says which). By channel: one
   * speaker per channel, every channel transcribed through the pipeline with VAD chunking (the request's `chunking`,
   * else "auto": each party is silent while the other speaks), side by side when the engine has the slots, each
   * segment labelled with its channel's speaker, all merged in time order. By voice: see {@link transcribeVoices}.
   * Fails as a whole: a part that fails stops the others.
   */
  async transcribeChannels(channels: readonly Float32Array[], settings: TranscriptionSettings, hooks: ChannelHooks = {}): Promise<ChannelsTranscription> {
    const byChannel = channels.length >= 2 && (channelsSeparateSpeakers(channels) || (!this.voices.available && !sameSignalInEveryChannel(channels)));
    if (!byChannel) {
      if (!this.voices.available) throw singleSpeakerChannelError(channels.length < 2 ? "mono" : "same_signal");
      return this.transcribeVoices(mixDown(channels), settings, hooks);
    }
    const { served, options } = this.servedFor(settings);
    const lease = await this.models.acquire(served);
    try {
      return await this.channelsOn(lease.engine, channels, settings, options, hooks);
    } finally {
      lease.release();
    }
  }

  /**
   * One recording's speakers told apart by voice (16 kHz mono): transcribed with word times (VAD chunking: the
   * request's, else "auto") while the speaker models diarize the same samples; then every word goes to the speaker
   * speaking at its time and segments are cut at speaker changes. Speakers are "A", "B", ... in order of first
   * appearance, or the name whose reference clip matches their voice. Segments come out (onSegment) once both are done.
   */
  async transcribeVoices(samples: Float32Array, settings: TranscriptionSettings, hooks: ChannelHooks = {}): Promise<ChannelsTranscription> {
    const voices = await this.openVoices(settings, hooks);
    return voices.finish(samples);
  }

  /**
   * Starts a transcription by voice whose audio is pushed (or pulled) into both of its runs, then finished: see
   * {@link transcribeVoices}. Admission first (a diarization slot, the model), then the speaker models and the
   * reference clips' voices.
   */
  async openVoices(settings: TranscriptionSettings, hooks: VoiceHooks = {}): Promise<VoicesTranscription> {
    const { served, options } = this.servedFor({ ...settings, wordTimestamps: true });
    const slot = this.voices.admit();
    let lease: Awaited<ReturnType<ModelRegistry["acquire"]>> | undefined;
    const release = (outcome: "ok" | "failed" | "aborted") => {
      slot.release(outcome);
      lease?.release();
      lease = undefined;
    };
    try {
      const models = await this.voices.load();
      const known = await knownSpeakers(models, hooks.references ?? [], hooks.speakerNames ?? [], hooks.signal);
      lease = await this.models.acquire(served);
      const stop = new AbortController();
      const signal = hooks.signal ? AbortSignal.any([hooks.signal, stop.signal]) : stop.signal;
      const diarization = new DiarizationRun(models, { threshold: this.voices.options.threshold, count: hooks.count, signal });
      const run = this.newRun(lease.engine, { ...settings, chunking: settings.chunking ?? { type: "auto" } }, options, { ...hooks, signal, onSegment: undefined }, () => undefined);
      return new VoicesTranscription({ run, diarization, known, matchThreshold: this.voices.options.matchThreshold, stop, signal: hooks.signal, release, onSegment: hooks.onSegment });
    } catch (error) {
      release(hooks.signal?.aborted ? "aborted" : "failed");
      throw error;
    }
  }

  /** `known_speaker_references[]` decoded to 16 kHz mono: see {@link decodeReferenceClips}. */
  referenceClips(clips: readonly Uint8Array[], signal?: AbortSignal): Promise<Float32Array[]> {
    return decodeReferenceClips(clips, (clip) => this.decode(clip, signal), signal);
  }

  private async channelsOn(
    engine: TranscriptionEngine,
    channels: readonly Float32Array[],
    settings: TranscriptionSettings,
    options: TranscriptionOptions,
    hooks: ChannelHooks,
  ): Promise<ChannelsTranscription> {
    const speakers = speakerLabels(channels.length, hooks.speakerNames);
    const stop = new AbortController();
    const signal = hooks.signal ? AbortSignal.any([hooks.signal, stop.signal]) : stop.signal;
    const merge = new SpeakerMerge(channels.length, hooks.onSegment);
    const live = hooks.onSegment !== undefined;
    let failure: { error: unknown } | undefined;
    const runs = channels.map(async (samples, channel) => {
      const speaker = speakers[channel]!;
      const run = new TranscriptionRun({
        engine,
        loadVad: this.loadVad,
        options,
        chunking: settings.chunking ?? { type: "auto" },
        // The engine's slots shared out between the channels (each at least one).
        concurrency: Math.max(1, Math.ceil(engine.info.parallelJobs / channels.length)),
        // The request was admitted once: its other channels wait for a slot instead of being refused.
        admitted: channel > 0,
        signal,
        onSegment: live ? (segment: Segment) => merge.push(speakerSegment(channel, speaker, segment)) : undefined,
      });
      try {
        const result = await run.finish(samples);
        if (!live) for (const segment of result.segments) merge.push(speakerSegment(channel, speaker, segment));
        merge.end(channel);
        return result;
      } catch (error) {
        failure ??= { error };
        stop.abort(error);
        throw error;
      }
    });
    const settled = await Promise.allSettled(runs);
    if (failure) throw failure.error;
    const results = settled.map((outcome) => (outcome as PromiseFulfilledResult<TranscriptionResult>).value);
    return { duration: (channels[0]?.length ?? 0) / SAMPLE_RATE, segments: merge.segments, results, speakers };
  }

  /** Audio already decoded to 16 kHz mono (a realtime turn). */
  async transcribePcm(samples: Float32Array, settings: TranscriptionSettings, hooks: PcmHooks = {}): Promise<TranscriptionResult> {
    const deadline = Date.now() + (hooks.waitForSlotMs ?? 0);
    for (;;) {
      try {
        const { run } = await this.open(settings, hooks);
        return await run.finish(samples);
      } catch (error) {
        if (!(error instanceof EngineOverloadedError) || Date.now() > deadline || hooks.signal?.aborted) throw error;
        await sleep(Math.min(5000, Math.max(200, error.retryAfterSeconds * 1000)), undefined, hooks.signal ? { signal: hooks.signal } : {});
      }
    }
  }

  /**
   * Whether the model's engine would start a job now (a free slot, nobody queued): best-effort work asks first. A
   * model not loaded has none (best-effort work never loads a model).
   */
  async hasFreeSlot(model: string): Promise<boolean> {
    const stats = this.models.loadedEngine(this.served(model).id)?.stats();
    return stats !== undefined && stats.queued === 0 && stats.running < stats.maxParallel;
  }
}

/** Settings in the engine's terms. */
export function engineOptions(settings: TranscriptionSettings): TranscriptionOptions {
  const prompt = decoderPrompt(settings);
  return {
    task: settings.task,
    wordTimestamps: settings.wordTimestamps ?? false,
    ...(settings.language ? { language: settings.language } : {}),
    ...(settings.languages?.length ? { languages: settings.languages } : {}),
    ...(prompt !== undefined ? { prompt } : {}),
    ...(settings.temperature !== undefined ? { temperature: settings.temperature } : {}),
    ...(settings.beamSize !== undefined ? { beamSize: settings.beamSize } : {}),
    ...(settings.encoderContext ? { encoderContext: settings.encoderContext } : {}),
  };
}
