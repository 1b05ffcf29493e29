// Decode any audio/video upload to 16 kHz mono float PCM with an ffmpeg child process.

import { type ChildProcess, spawn } from "node:child_process";
import { createWriteStream, type WriteStream } from "node:fs";
import { mkdtemp, open, rm, writeFile } from "node:fs/promises";
import { setPriority, tmpdir } from "node:os";
import { join } from "node:path";
import type { Readable, Writable } from "node:stream";

import { ChannelSplitter } from "./channelSplitter.js";
import { AudioDecodeAbortedError, AudioDecodeError, AudioMemoryError } from "./errors.js";
import { FfmpegLogCollector, classifyFfmpegOutcome, formatLogLine } from "./ffmpegLog.js";
import { checkFfmpeg } from "./ffmpegPath.js";
import type { AudioMemoryGrant } from "./memoryBudget.js";
import { PcmAccumulator } from "./pcmAccumulator.js";
import { tempDirPrefix } from "./tempDirs.js";
import { type DetectedFormat, FFMPEG_DEMUXER, SNIFF_BYTES, needsSeekableInput, sniffFormat } from "./sniffFormat.js";

/** The only output rate: what whisper wants. */
export const TARGET_SAMPLE_RATE = 16_000;
/** Default cap on decoded audio: 2 hours (460 MB of float samples). */
export const DEFAULT_MAX_DURATION_SECONDS = 2 * 60 * 60;
/** Default safety timeout for a whole decode, including reading a streamed upload: 10 minutes. */
export const DEFAULT_DECODE_TIMEOUT_MS = 10 * 60 * 1000;
/** How long ffmpeg gets to exit after SIGTERM before SIGKILL. */
const KILL_GRACE_MS = 500;
/** Default nice value of ffmpeg: decoding yields the CPU to the process's event loop and to transcription. */
export const DEFAULT_FFMPEG_NICE = 10;
/**
 * A declared duration up to this much over the limit is not refused from the header alone (containers round, and
 * count padding): the decoded samples are still held to the limit exactly.
 */
const DECLARED_DURATION_TOLERANCE_SECONDS = 1;

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
   * Scheduling priority of the ffmpeg process (a nice value, 0 = as this process); default {@link DEFAULT_FFMPEG_NICE},
   * so that many decodes at once do not starve the event loop and whisper's threads.
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
  sampleRate: typeof TARGET_SAMPLE_RATE;
  /** Seconds: `samples.length / 16000`. */
  duration: number;
  /** The container, detected from the content. */
  format: DetectedFormat;
  /** ffmpeg's non-fatal complaints (e.g. about a truncated file that still decoded), for logs. */
  warnings: string[];
}

/**
 * Decodes audio in any container ffmpeg can read that {@link sniffFormat} recognises (wav, flac, mp3, ogg, webm,
 * mp4/m4a, ...) to 16 kHz mono Float32 PCM. The format comes from the content, never a name or MIME type.
 * A truncated file decodes up to the damage; rejects with {@link AudioDecodeError} (stable `code`) for bad input
 * and {@link AudioDecodeAbortedError} when `signal` aborts; a stream input's own error (e.g. the client went away)
 * rejects as is, and so do fs errors for a path (ENOENT). In every outcome ffmpeg has exited and the temp files are
 * gone by the time the promise settles. A stream input is never destroyed: on failure it is left paused/unpiped for
 * the caller to dispose of.
 */
export async function decodeAudio(input: AudioInput, options: DecodeAudioOptions = {}): Promise<DecodedAudio> {
  const maxSeconds = options.maxDurationSeconds ?? DEFAULT_MAX_DURATION_SECONDS;
  if (!(maxSeconds > 0)) throw new RangeError(`decodeAudio: maxDurationSeconds must be > 0 (got ${maxSeconds})`);
  const separate = options.channels === "separate";
  if (separate && options.onSamples) throw new RangeError("decodeAudio: onSamples needs channels: \"mix\"");
  const retain = options.retainSamples ?? true;
  if (!retain && (separate || !options.onSamples)) throw new RangeError("decodeAudio: retainSamples: false needs onSamples and channels: \"mix\"");
  const cancel = createCancellation(options.signal, options.timeoutMs ?? DEFAULT_DECODE_TIMEOUT_MS);
  const stream = isReadable(input) ? input : undefined;
  const stopWatchingStream = stream ? watchInputStream(stream, (err) => cancel.fail(err)) : undefined;
  let tempDir: string | undefined;
  let spool: InputSpool | undefined;
  let kept: KeptAudioInput | undefined;
  try {
    cancel.throwIfFailed();
    const ffmpeg = await checkFfmpeg({ ffmpegPath: options.ffmpegPath });
    cancel.throwIfFailed();

    const source = await openInput(input, cancel.signal);
    cancel.throwIfFailed();
    if (source.head.length === 0) throw new AudioDecodeError("empty_file", "The audio file is empty");
    const format = sniffFormat(source.head);
    if (!format) {
      throw new AudioDecodeError("unsupported_format", "The file is not in a supported audio or video format (unrecognised content)");
    }

    let inputUrl: string;
    let stdinSource: StdinSource | undefined;
    if (source.kind === "path") {
      inputUrl = `file:${source.path}`;
    } else if (needsSeekableInput(format)) {
      // mp4's index (moov) may sit at the end, and mp3's gapless trimming needs the file size: both need a
      // seekable input, so the bytes go to a private temp file first.
      // The owner's pid in the name: a later process can sweep the dirs of one that was killed (sweepStaleTempDirs).
      tempDir = await mkdtemp(join(options.tempDir ?? tmpdir(), tempDirPrefix()));
      const file = join(tempDir, "input");
      await writeInputFile(file, source, cancel.signal);
      cancel.throwIfFailed();
      inputUrl = `file:${file}`;
    } else {
      inputUrl = "pipe:0";
      stdinSource = source;
      // A stream is gone once fed to ffmpeg: keep a copy for a second decode (bytes are still there).
      if (options.keepInput && !separate && source.kind === "stream") spool = await InputSpool.open(options.tempDir ?? tmpdir());
    }

    const log = new FfmpegLogCollector(inputUrl);
    const maxSamples = Math.ceil(maxSeconds * TARGET_SAMPLE_RATE);
    const sink: SampleSink = separate
      ? new SeparateSink(new ChannelSplitter(maxSamples, options.memory, options.maxChannels))
      : retain
        ? new MixSink(new PcmAccumulator(maxSamples, options.onSamples, options.memory))
        : new PassOnSink(maxSamples, options.onSamples!);
    const tooLong = () => new AudioDecodeError("too_long", `The audio is longer than the ${maxSeconds} s limit`);
    // Starting a process blocks the event loop for a fork of this one (~15 ms at 300 MB): one start per turn of
    // the loop, so a burst of uploads cannot hold it for hundreds of milliseconds.
    await takeSpawnTurn();
    cancel.throwIfFailed();
    const run = await runFfmpeg({
      ffmpegPath: ffmpeg.path,
      args: ffmpegArgs(inputUrl, format, ffmpeg.hasSoxr, separate),
      stdin: stdinSource,
      spool,
      log,
      sink,
      tooLong,
      overBudget: () => new AudioMemoryError(sink.allocatedBytes),
      tooManyChannels: (count) =>
        new AudioDecodeError("too_many_channels", `The audio has ${count} channels; at most ${options.maxChannels} are supported`),
      onDeclaredDuration: (seconds) => {
        // An estimate from the bitrate may be far off: only the decoded samples count then.
        if (log.durationEstimated) return undefined;
        if (seconds > maxSeconds + DECLARED_DURATION_TOLERANCE_SECONDS) return tooLong();
        const refused = options.onDeclaredDuration?.(seconds);
        if (refused) return refused;
        const samples = Math.ceil(seconds * TARGET_SAMPLE_RATE) + TARGET_SAMPLE_RATE;
        return sink.reserve(samples) ? undefined : new AudioMemoryError(Math.min(samples, maxSamples) * 4 * (sink.channelCount ?? 1));
      },
      // A mono input needs no copy for a second decode: stop copying at once.
      onInputChannels: (count) => {
        if (count === 1) spool?.drop();
      },
      signal: cancel.signal,
      nice: options.ffmpegNice ?? DEFAULT_FFMPEG_NICE,
      onSpawn: options.onFfmpegSpawn,
    });
    const failure = classifyFfmpegOutcome(log, { ...run, sampleCount: sink.sampleCount, format });
    if (failure) throw failure;
    const channels = sink.finish();
    if (channels === "over_budget") throw new AudioMemoryError(sink.allocatedBytes + sink.sampleCount * 4 * (sink.channelCount ?? 1));
    const samples = channels[0]!;

    if (options.keepInput && !separate && log.inputChannels !== 1) {
      const again = keptDecodeOptions(options);
      if (source.kind === "path") kept = keptInput(() => undefined, (o) => decodeAudio(source.path, { ...again, ...o }));
      else if (tempDir !== undefined) {
        const dir = tempDir;
        const file = join(dir, "input");
        tempDir = undefined; // handed over: removed by release()
        kept = keptInput(() => rm(dir, { recursive: true, force: true }), (o) => decodeAudio(file, { ...again, ...o }));
      } else if (source.kind === "bytes") kept = keptInput(() => undefined, (o) => decodeAudio(source.bytes, { ...again, ...o }));
      else if (spool && (await spool.close())) {
        const held = spool;
        spool = undefined; // handed over: removed by release()
        kept = keptInput(() => held.remove(), (o) => decodeAudio(held.file, { ...again, ...o }));
      }
    }
    const decoded: DecodedAudio = {
      samples,
      channels,
      inputChannels: log.inputChannels,
      sampleRate: TARGET_SAMPLE_RATE,
      duration: sink.sampleCount / TARGET_SAMPLE_RATE,
      format,
      warnings: log.lines.filter((line) => !BENIGN_WARNING.test(line.message)).map(formatLogLine),
    };
    if (kept) decoded.keptInput = kept;
    kept = undefined;
    return decoded;
  } catch (err) {
    // Whatever step noticed the cancellation (fs calls throw their own AbortError), report why it happened.
    throw cancel.signal.aborted ? cancel.signal.reason : err;
  } finally {
    cancel.dispose();
    stopWatchingStream?.();
    if (tempDir) await rm(tempDir, { recursive: true, force: true }).catch(() => undefined);
    if (spool) {
      spool.drop();
      await spool.remove();
    }
    await kept?.release();
  }
}

/** What a second decode of a kept input inherits from the first. */
function keptDecodeOptions(options: DecodeAudioOptions): DecodeAudioOptions {
  const { ffmpegPath, tempDir, ffmpegNice, maxDurationSeconds, timeoutMs } = options;
  return {
    ...(ffmpegPath !== undefined ? { ffmpegPath } : {}),
    ...(tempDir !== undefined ? { tempDir } : {}),
    ...(ffmpegNice !== undefined ? { ffmpegNice } : {}),
    ...(maxDurationSeconds !== undefined ? { maxDurationSeconds } : {}),
    ...(timeoutMs !== undefined ? { timeoutMs } : {}),
  };
}

function keptInput(remove: () => Promise<void> | undefined, decode: KeptAudioInput["decode"]): KeptAudioInput {
  let released: Promise<void> | undefined;
  return {
    decode: (options = {}) => (released ? Promise.reject(new Error("decodeAudio: the kept input was released")) : decode(options)),
    release: () => (released ??= Promise.resolve(remove()).catch(() => undefined)),
  };
}

/** Where ffmpeg's stdout goes: the mono mix, or the channels separated. */
interface SampleSink {
  push(chunk: Uint8Array): "ok" | "too_long" | "over_budget" | "too_many_channels" | { error: Error };
  reserve(samples: number): boolean;
  /** Samples (per channel) so far. */
  readonly sampleCount: number;
  readonly allocatedBytes: number;
  /** Undefined until known (separated output). */
  readonly channelCount: number | undefined;
  finish(): Float32Array[] | "over_budget";
  /** What the receiver of the samples asks the decoder to wait for (then ffmpeg's output is not read), if anything. */
  backPressure?(): Promise<void> | undefined;
}

class MixSink implements SampleSink {
  readonly channelCount = 1;
  constructor(private readonly pcm: PcmAccumulator) {}
  push(chunk: Uint8Array) {
    return this.pcm.push(chunk);
  }
  reserve(samples: number): boolean {
    return this.pcm.reserve(samples);
  }
  get sampleCount(): number {
    return this.pcm.sampleCount;
  }
  get allocatedBytes(): number {
    return this.pcm.allocatedBytes;
  }
  finish(): Float32Array[] | "over_budget" {
    const samples = this.pcm.finish();
    return samples === "over_budget" ? samples : [samples];
  }
}

/** Hands the samples on as they come and keeps none (`retainSamples: false`). */
class PassOnSink implements SampleSink {
  readonly channelCount = 1;
  readonly allocatedBytes = 0;
  private count = 0;
  /** Bytes of a sample split across two chunks of ffmpeg's output. */
  private partial = new Uint8Array(0);
  private waiting: Promise<void> | undefined;

  constructor(
    private readonly maxSamples: number,
    private readonly onSamples: (samples: Float32Array) => unknown,
  ) {}

  backPressure(): Promise<void> | undefined {
    const waiting = this.waiting;
    this.waiting = undefined;
    return waiting;
  }

  get sampleCount(): number {
    return this.count;
  }

  push(chunk: Uint8Array) {
    const bytes = this.partial.length > 0 ? Buffer.concat([this.partial, chunk]) : chunk;
    const whole = Math.floor(bytes.length / 4);
    if (this.count + whole > this.maxSamples) return "too_long" as const;
    this.partial = bytes.slice(whole * 4);
    if (whole === 0) return "ok" as const;
    const samples = new Float32Array(whole);
    const view = new DataView(bytes.buffer, bytes.byteOffset, whole * 4);
    for (let i = 0; i < whole; i++) samples[i] = view.getFloat32(i * 4, true);
    this.count += whole;
    const wait = this.onSamples(samples);
    if (wait instanceof Promise) this.waiting = wait.then(() => undefined);
    return "ok" as const;
  }

  reserve(): boolean {
    return true;
  }

  finish(): Float32Array[] {
    return [new Float32Array(0)];
  }
}

class SeparateSink implements SampleSink {
  constructor(private readonly splitter: ChannelSplitter) {}
  push(chunk: Uint8Array) {
    return this.splitter.push(chunk);
  }
  reserve(samples: number): boolean {
    return this.splitter.reserve(samples);
  }
  get sampleCount(): number {
    return this.splitter.sampleCount;
  }
  get allocatedBytes(): number {
    return this.splitter.allocatedBytes;
  }
  get channelCount(): number | undefined {
    return this.splitter.channelCount;
  }
  finish(): Float32Array[] | "over_budget" {
    return this.splitter.finish();
  }
}

/** Warnings ffmpeg prints for perfectly good files. */
const BENIGN_WARNING = /^Guessed Channel Layout|^Estimating duration from bitrate|^Cannot check for SPDIF/;

/**
 * ffmpeg's arguments: forced demuxer, first audio stream only, soxr resampling when available; mixed to mono as raw
 * f32le on stdout, or (separate) the input's own channels, interleaved, in a 32-bit float WAV whose header tells
 * their count.
 */
function ffmpegArgs(inputUrl: string, format: DetectedFormat, hasSoxr: boolean, separate: boolean): string[] {
  return [
    "-hide_banner", "-nostdin", "-nostats",
    "-loglevel", "level+info", // info: to learn the input's streams
    // Only the one protocol we need: a crafted container cannot make ffmpeg open URLs or other files.
    "-protocol_whitelist", inputUrl === "pipe:0" ? "pipe" : "file",
    "-f", FFMPEG_DEMUXER[format],
    "-i", inputUrl,
    "-map", "0:a:0",
    ...(hasSoxr ? ["-af", "aresample=resampler=soxr"] : []),
    ...(separate ? [] : ["-ac", "1"]),
    "-ar", String(TARGET_SAMPLE_RATE),
    "-c:a", "pcm_f32le",
    ...(separate ? ["-map_metadata", "-1", "-fflags", "+bitexact", "-flags:a", "+bitexact", "-f", "wav"] : ["-f", "f32le"]),
    "pipe:1",
  ];
}

// ---------------------------------------------------------------------------------------------------------------
// Cancellation: the caller's signal, the timeout and input stream errors all funnel into one internal signal,
// whose reason is the error decodeAudio rejects with.

interface Cancellation {
  signal: AbortSignal;
  fail(reason: unknown): void;
  throwIfFailed(): void;
  dispose(): void;
}

function createCancellation(external: AbortSignal | undefined, timeoutMs: number): Cancellation {
  const controller = new AbortController();
  const fail = (reason: unknown) => {
    if (!controller.signal.aborted) controller.abort(reason);
  };
  const onExternalAbort = () => fail(new AudioDecodeAbortedError(external?.reason));
  if (external?.aborted) onExternalAbort();
  else external?.addEventListener("abort", onExternalAbort, { once: true });
  const timer =
    timeoutMs > 0 && Number.isFinite(timeoutMs)
      ? setTimeout(() => fail(new AudioDecodeError("timeout", `Decoding did not finish within ${timeoutMs} ms`)), timeoutMs)
      : undefined;
  return {
    signal: controller.signal,
    fail,
    throwIfFailed: () => {
      if (controller.signal.aborted) throw controller.signal.reason;
    },
    dispose: () => {
      clearTimeout(timer);
      external?.removeEventListener("abort", onExternalAbort);
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Input: read the first bytes for sniffing, keeping them for ffmpeg.

type OpenedInput =
  | { kind: "bytes"; head: Uint8Array; bytes: Uint8Array }
  | { kind: "path"; head: Uint8Array; path: string }
  | { kind: "stream"; head: Uint8Array; chunks: Buffer[]; stream: Readable; ended: boolean };

type StdinSource = Exclude<OpenedInput, { kind: "path" }>;

function isReadable(input: AudioInput): input is Readable {
  return typeof input === "object" && !(input instanceof Uint8Array) && typeof (input as Readable).pipe === "function";
}

async function openInput(input: AudioInput, signal: AbortSignal): Promise<OpenedInput> {
  if (typeof input === "string") {
    const file = await open(input, "r");
    try {
      const head = new Uint8Array(SNIFF_BYTES);
      const { bytesRead } = await file.read(head, 0, SNIFF_BYTES, 0);
      return { kind: "path", head: head.subarray(0, bytesRead), path: input };
    } finally {
      await file.close();
    }
  }
  if (input instanceof Uint8Array) return { kind: "bytes", head: input.subarray(0, SNIFF_BYTES), bytes: input };
  if (isReadable(input)) {
    const { chunks, ended } = await readStreamHead(input, signal);
    const head = Buffer.concat(chunks);
    return { kind: "stream", head: head.subarray(0, SNIFF_BYTES), chunks, stream: input, ended };
  }
  throw new TypeError("decodeAudio: input must be a Buffer/Uint8Array, a Readable stream or a file path");
}

/** Keeps an error listener on the caller's stream for the whole decode (an unhandled 'error' would crash the process). */
function watchInputStream(stream: Readable, onError: (err: unknown) => void): () => void {
  const onStreamError = (err: unknown) => onError(err);
  const onClose = () => {
    if (!stream.readableEnded) onError(prematureClose());
  };
  if (stream.errored) onError(stream.errored);
  stream.on("error", onStreamError);
  stream.on("close", onClose);
  return () => {
    stream.off("error", onStreamError);
    stream.off("close", onClose);
  };
}

function prematureClose(): Error {
  return Object.assign(new Error("The input stream closed before it ended"), { code: "ERR_STREAM_PREMATURE_CLOSE" });
}

/** Reads until SNIFF_BYTES have arrived or the stream ends, then pauses it. Errors arrive via the cancellation signal. */
function readStreamHead(stream: Readable, signal: AbortSignal): Promise<{ chunks: Buffer[]; ended: boolean }> {
  if (stream.readableEnded) return Promise.resolve({ chunks: [], ended: true });
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = () => {
      stream.off("data", onData);
      stream.off("end", onEnd);
      signal.removeEventListener("abort", onAbort);
    };
    const onData = (chunk: Buffer | string) => {
      const buffer = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
      chunks.push(buffer);
      size += buffer.length;
      if (size >= SNIFF_BYTES) {
        stream.pause();
        cleanup();
        resolve({ chunks, ended: false });
      }
    };
    const onEnd = () => {
      cleanup();
      resolve({ chunks, ended: true });
    };
    const onAbort = () => {
      stream.pause();
      cleanup();
      reject(signal.reason);
    };
    if (signal.aborted) return onAbort();
    signal.addEventListener("abort", onAbort, { once: true });
    stream.on("data", onData);
    stream.on("end", onEnd);
  });
}

/** Writes the whole input to `file` (mode 0600, must not exist). */
async function writeInputFile(file: string, source: StdinSource, signal: AbortSignal): Promise<void> {
  if (source.kind === "bytes") {
    await writeFile(file, source.bytes, { mode: 0o600, flag: "wx", signal });
    return;
  }
  const out = createWriteStream(file, { mode: 0o600, flags: "wx" });
  await new Promise<void>((resolve, reject) => {
    let failure: unknown;
    const onAbort = () => {
      failure ??= signal.reason;
      source.stream.unpipe(out);
      out.destroy();
    };
    out.on("error", (err) => {
      failure ??= err;
      source.stream.unpipe(out);
    });
    out.on("close", () => {
      signal.removeEventListener("abort", onAbort);
      if (failure === undefined && out.writableFinished) resolve();
      else reject(failure ?? new Error(`Could not write ${file}`));
    });
    if (signal.aborted) return onAbort();
    signal.addEventListener("abort", onAbort, { once: true });
    for (const chunk of source.chunks) out.write(chunk);
    if (source.ended) out.end();
    else source.stream.pipe(out);
  });
}

// ---------------------------------------------------------------------------------------------------------------
// The ffmpeg process.

interface FfmpegRunOptions {
  ffmpegPath: string;
  args: string[];
  stdin: StdinSource | undefined;
  /** A copy of what is fed to stdin, kept for a second decode. */
  spool: InputSpool | undefined;
  log: FfmpegLogCollector;
  sink: SampleSink;
  tooLong: () => Error;
  overBudget: () => Error;
  tooManyChannels: (count: number) => Error;
  /** Called once, when ffmpeg has printed the duration the input declares; an error returned stops the run. */
  onDeclaredDuration: (seconds: number) => Error | undefined;
  /** Called once, when ffmpeg has described the input's audio stream with a channel count it names. */
  onInputChannels: (count: number) => void;
  signal: AbortSignal;
  nice: number;
  onSpawn: ((pid: number) => void) | undefined;
}

let spawnTurns: Promise<void> = Promise.resolve();

/** Resolves in a later turn of the event loop than the previous caller's: process starts are spaced out. */
function takeSpawnTurn(): Promise<void> {
  const turn = spawnTurns.then(() => new Promise<void>((resolve) => setImmediate(resolve)));
  spawnTurns = turn;
  return turn;
}

interface FfmpegRunResult {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
}

/**
 * Runs ffmpeg to completion. Resolves with the exit status whatever it is (classification is the caller's);
 * rejects with the cancellation reason, a `too_long` error (from the declared duration or the samples), a memory
 * refusal or `ffmpeg_unavailable`, only after the process has exited.
 */
function runFfmpeg(options: FfmpegRunOptions): Promise<FfmpegRunResult> {
  const { ffmpegPath, args, stdin, log, sink, signal } = options;
  return new Promise((resolve, reject) => {
    let child: ChildProcess;
    try {
      // In a process group of its own: a signal sent to Earshot's group (Ctrl-C in a terminal, `kill -TERM -<pgid>`)
      // must not kill the decoders of uploads that the drain it starts lets finish. Earshot stops them itself; one
      // left behind by a killed Earshot ends on its closed pipes.
      child = spawn(ffmpegPath, args, { stdio: [stdin ? "pipe" : "ignore", "pipe", "pipe"], windowsHide: true, detached: true });
    } catch (err) {
      reject(new AudioDecodeError("ffmpeg_unavailable", `Could not start ffmpeg (${ffmpegPath}): ${String(err)}`, { cause: err }));
      return;
    }
    let failure: unknown;
    let killTimer: NodeJS.Timeout | undefined;
    let detachStdin = () => {};

    const stop = (reason: unknown) => {
      if (failure !== undefined) return;
      failure = reason;
      detachStdin();
      if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
        child.kill("SIGTERM");
        killTimer = setTimeout(() => child.kill("SIGKILL"), KILL_GRACE_MS);
      }
    };
    const onAbort = () => stop(signal.reason);

    child.on("error", (err) => {
      // Spawn failures (ENOENT, EACCES); 'close' follows.
      if (child.pid === undefined) {
        stop(new AudioDecodeError("ffmpeg_unavailable", `Could not start ffmpeg (${ffmpegPath}): ${err.message}`, { cause: err }));
      }
    });
    child.on("spawn", () => {
      if (child.pid === undefined) return;
      if (options.nice !== 0) {
        try {
          setPriority(child.pid, options.nice);
        } catch {
          // not permitted here (e.g. a container without CAP_SYS_NICE lowering below the parent): run as is
        }
      }
      options.onSpawn?.(child.pid);
    });
    child.stdout?.on("data", (chunk: Buffer) => {
      if (failure !== undefined) return;
      const pushed = sink.push(chunk);
      if (pushed === "ok") {
        const wait = sink.backPressure?.();
        if (wait) {
          child.stdout?.pause();
          const resume = () => {
            if (failure === undefined) child.stdout?.resume();
          };
          wait.then(resume, resume);
        }
        return;
      }
      if (pushed === "too_long") stop(options.tooLong());
      else if (pushed === "over_budget") stop(options.overBudget());
      else if (pushed === "too_many_channels") stop(options.tooManyChannels(sink.channelCount ?? 0));
      else stop(new AudioDecodeError("decode_failed", `The audio could not be decoded: ${pushed.error.message}`, { cause: pushed.error }));
    });
    let durationSeen = false;
    let channelsSeen = false;
    child.stderr?.setEncoding("utf8");
    child.stderr?.on("data", (text: string) => {
      log.push(text);
      if (!channelsSeen && log.inputChannels !== undefined) {
        channelsSeen = true;
        options.onInputChannels(log.inputChannels);
      }
      // The header's duration comes before any sample: a too-long input is refused without decoding it.
      if (durationSeen || log.declaredDuration === undefined || failure !== undefined) return;
      durationSeen = true;
      const refusal = options.onDeclaredDuration(log.declaredDuration);
      if (refusal) stop(refusal);
    });
    child.on("close", (exitCode, exitSignal) => {
      clearTimeout(killTimer);
      signal.removeEventListener("abort", onAbort);
      detachStdin();
      log.end();
      if (failure !== undefined) reject(failure);
      else resolve({ exitCode, signal: exitSignal });
    });

    if (child.stdin && stdin) detachStdin = feedStdin(child.stdin, stdin, options.spool);
    if (signal.aborted) onAbort();
    else signal.addEventListener("abort", onAbort, { once: true });
  });
}

/** Sends the input to ffmpeg's stdin (and to the spool, when there is one); returns a function that stops feeding stdin. */
function feedStdin(stdin: Writable, source: StdinSource, spool: InputSpool | undefined): () => void {
  // EPIPE when ffmpeg exits before reading everything (it found an error, or the container ended early):
  // expected, and its exit status and stderr tell the real story.
  stdin.on("error", () => undefined);
  if (source.kind === "bytes") {
    stdin.end(source.bytes);
    return () => stdin.destroy();
  }
  spool?.attach(source);
  for (const chunk of source.chunks) stdin.write(chunk);
  if (source.ended) stdin.end();
  else source.stream.pipe(stdin);
  return () => {
    source.stream.unpipe(stdin);
    stdin.destroy();
  };
}

/**
 * A private temp file that a streamed input is copied to as it is fed to ffmpeg (with the same back-pressure), for a
 * second decode of it. {@link drop} stops the copy; {@link remove} deletes it.
 */
class InputSpool {
  private out: WriteStream | undefined;
  private source: Readable | undefined;
  private failed = false;

  private constructor(
    readonly dir: string,
    readonly file: string,
  ) {}

  static async open(parent: string): Promise<InputSpool> {
    const dir = await mkdtemp(join(parent, tempDirPrefix()));
    return new InputSpool(dir, join(dir, "input"));
  }

  /** Starts copying: what was already read, then the rest of the stream. */
  attach(source: Extract<StdinSource, { kind: "stream" }>): void {
    if (this.failed) return;
    const out = createWriteStream(this.file, { mode: 0o600, flags: "wx" });
    this.out = out;
    this.source = source.stream;
    out.on("error", () => this.drop());
    for (const chunk of source.chunks) out.write(chunk);
    if (source.ended) out.end();
    else source.stream.pipe(out);
  }

  /** Stops copying for good (the copy will not be used). */
  drop(): void {
    this.failed = true;
    if (this.out) {
      this.source?.unpipe(this.out);
      this.out.destroy();
    }
  }

  /** The input has been fed: resolves true once the copy is complete on disk, false when it failed or was dropped. */
  async close(): Promise<boolean> {
    const out = this.out;
    if (this.failed || !out) return false;
    this.source?.unpipe(out);
    if (!out.closed) {
      await new Promise<void>((resolve) => {
        out.once("close", resolve);
        if (!out.writableEnded) out.end();
      });
    }
    return !this.failed && out.writableFinished;
  }

  async remove(): Promise<void> {
    this.drop();
    if (this.out && !this.out.closed) await new Promise<void>((resolve) => this.out!.once("close", resolve));
    await rm(this.dir, { recursive: true, force: true }).catch(() => undefined);
  }
}
