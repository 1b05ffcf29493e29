// What decodeAudio takes and gives: its input, its options, and the decoded audio.

import type { Readable } from "node:stream";

import type { AudioMemoryGrant } from "../memoryBudget.js";
import type { DetectedFormat } from "../sniffFormat.js";
import { SAMPLE_RATE } from "../../engine/sampleRate.js";

/** Default cap on decoded audio: 2 hours (460 MB of float samples). */
export const DEFAULT_MAX_DURATION_SECONDS = 2 * 60 * 60;
/** Default safety timeout for a whole decode, including reading a streamed upload: 10 minutes. */
export const DEFAULT_DECODE_TIMEOUT_MS = 10 * 60 * 1000;

/**
 * What to decode: the file's bytes, a stream of them (e.g. a multipart upload, consumed from its current
 * position), or a path on disk (the CLI's own argument; still sniffed, and passed to ffmpeg as `file:<path>`).
 */
export type AudioInput = Uint8Array | Readable | string;

export interface DecodeAudioOptions {
  /** Cancels decoding: ffmpeg is killed, temp files removed, and the promise rejects with {@link AudioDecodeAbortedError}. */
  signal?: AbortSignal;
  /** Safety timeout in ms for the whole decode (`timeout` error); default {@link DEFAULT_DECODE_TIMEOUT_MS}, 0 = none. */
  timeoutMs?: number;
  /**
   * Longest audio accepted, in seconds (`too_long` error, ffmpeg killed); default {@link DEFAULT_MAX_DURATION_SECONDS}.
   * Enforced as early as the input allows: when the container's header declares a longer duration (ffmpeg prints it
   * before decoding anything) at once, otherwise as soon as the decoded samples pass it.
   */
  maxDurationSeconds?: number;
  /**
   * Memory for the decoded samples: asked before every allocation, for all the sample memory allocated so far (the
   * blocks samples are decoded into, and the array they are joined into at the end); a refusal stops ffmpeg and
   * rejects with {@link AudioMemoryError}. When the header declares the duration, the memory for all of it is asked
   * for at once, before decoding (one block: nothing to join). Default: none (bounded by `maxDurationSeconds` only).
   */
  memory?: AudioMemoryGrant;
  /** ffmpeg binary (a bare name such as "ffmpeg" is looked up in PATH); default the bundled one (callers pass the configured EARSHOT_FFMPEG_PATH). */
  ffmpegPath?: string;
  /** Parent directory for the private temp directory that mp4/m4a/mp3 inputs are written to; default `os.tmpdir()`. */
  tempDir?: string;
  /**
   * Scheduling priority of the ffmpeg process (a nice value, 0 = as this process); default `DEFAULT_FFMPEG_NICE`
   * (ffmpeg/runFfmpeg.ts), so that many decodes at once do not starve the event loop and whisper's threads.
   */
  ffmpegNice?: number;
  /** Diagnostics hook: called with ffmpeg's pid once it has started. */
  onFfmpegSpawn?: (pid: number) => void;
  /**
   * Called with the samples as they are decoded, in order (each call a new array the receiver may keep), so work can
   * start before the whole file is decoded. The promise still resolves with all of them.
   */
  onSamples?: (samples: Float32Array) => unknown;
  /**
   * Called once with the duration the container's header declares (never an estimate from the bitrate), before any
   * sample is decoded, unless it is already refused as too long; an error returned stops the decode with that error
   * (e.g. batch jobs reserving room for the audio they will store).
   */
  onDeclaredDuration?: (seconds: number) => Error | undefined;
  /**
   * false: the samples are only handed to `onSamples` (needed), never kept: the result's `samples` is empty, its
   * `duration` still counts every sample decoded; no memory is held for them (`memory` is not asked). `onSamples`
   * may then return a promise: ffmpeg's output is not read (so it stops decoding) until it settles, so a slower
   * receiver holds the decoder back instead of samples piling up. For audio longer than would fit in memory (batch
   * jobs). Mix only. Default true.
   */
  retainSamples?: boolean;
  /**
   * "mix" (the default): one mono mix of every channel (ffmpeg's own downmix). "separate": the input's own channels,
   * each its own array (`channels`), each held to `maxDurationSeconds` and all of them together to `memory`; not
   * with `onSamples`.
   */
  channels?: "mix" | "separate";
  /** With "separate": more channels than this is a `too_many_channels` error, before any sample is kept. */
  maxChannels?: number;
  /**
   * Keep the input for a second decode (`keptInput`) unless it turns out to be mono: a multi-channel input read from
   * a stream is copied to a private temp file as it is fed to ffmpeg (the copy stops and is removed as soon as ffmpeg
   * describes the input as mono). The caller must `release()` what it is handed.
   */
  keepInput?: boolean;
}

/** The input of a decode, kept for another decode of it (see `keepInput`). */
export interface KeptAudioInput {
  /** Decodes it again: the first decode's ffmpeg, temp dir, nice value, timeout and duration cap, with `options` over them. */
  decode(options?: Pick<DecodeAudioOptions, "signal" | "memory" | "channels" | "maxChannels" | "onFfmpegSpawn">): Promise<DecodedAudio>;
  /** Removes the kept copy (idempotent). */
  release(): Promise<void>;
}

/** Decoded audio: float samples in [-1, 1] at 16 kHz. */
export interface DecodedAudio {
  /** The mono mix; with `channels: "separate"`, the first channel. */
  samples: Float32Array;
  /** One array per channel: `[samples]` for a mix, the input's own channels in its order when separated. */
  channels: Float32Array[];
  /** How many channels the input's audio stream has, as ffmpeg describes it; undefined when not recognised. */
  inputChannels: number | undefined;
  /** The input, kept for another decode (`keepInput`, and it is not mono). */
  keptInput?: KeptAudioInput;
  sampleRate: typeof SAMPLE_RATE;
  /** Seconds: `samples.length / 16000`. */
  duration: number;
  /** The container, detected from the content. */
  format: DetectedFormat;
  /** ffmpeg's non-fatal complaints (e.g. about a truncated file that still decoded), for logs. */
  warnings: string[];
}

/** An input opened for decoding: its first bytes (for sniffing) and where the rest is. */
export type OpenedInput =
  | { kind: "bytes"; head: Uint8Array; bytes: Uint8Array }
  | { kind: "path"; head: Uint8Array; path: string }
  | { kind: "stream"; head: Uint8Array; chunks: Buffer[]; stream: Readable; ended: boolean };

/** An input FFmpeg reads from its stdin (anything but a file on disk). */
export type StdinSource = Exclude<OpenedInput, { kind: "path" }>;
