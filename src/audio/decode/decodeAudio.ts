// Decode any audio/video upload to 16 kHz mono float PCM with an ffmpeg child process: the input is opened and
// sniffed (decodeInput.ts), ffmpeg runs on the shared runner (runDecoder.ts), the samples go to a sink
// (sampleSinks.ts), and the input may be kept for a second decode (inputSpool.ts).

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { AudioDecodeError, AudioMemoryError } from "../errors.js";
import { FfmpegLogCollector, classifyFfmpegOutcome, formatLogLine } from "../ffmpeg/ffmpegLog.js";
import { checkFfmpeg } from "../ffmpeg/ffmpegPath.js";
import { DEFAULT_FFMPEG_NICE } from "../ffmpeg/runFfmpeg.js";
import { needsSeekableInput, sniffFormat } from "../sniffFormat.js";
import { tempDirPrefix } from "../tempDirs.js";
import { createCancellation } from "./cancellation.js";
import { ChannelSplitter } from "./channelSplitter.js";
import { isReadable, openInput, watchInputStream, writeInputFile } from "./decodeInput.js";
import { InputSpool } from "./inputSpool.js";
import { PcmAccumulator } from "./pcmAccumulator.js";
import { decoderArgs, runDecoder } from "./runDecoder.js";
import { MixSink, PassOnSink, type SampleSink, SeparateSink } from "./sampleSinks.js";
import {
  type AudioInput,
  DEFAULT_DECODE_TIMEOUT_MS,
  DEFAULT_MAX_DURATION_SECONDS,
  type DecodeAudioOptions,
  type DecodedAudio,
  type KeptAudioInput,
  type StdinSource,
} from "./types.js";
import { SAMPLE_RATE } from "../../engine/sampleRate.js";

/**
 * A declared duration up to this much over the limit is not refused from the header alone (containers round, and
 * count padding): the decoded samples are still held to the limit exactly.
 */
const DECLARED_DURATION_TOLERANCE_SECONDS = 1;
/** Warnings ffmpeg prints for perfectly good files. */
const BENIGN_WARNING = /^Guessed Channel Layout|^Estimating duration from bitrate|^Cannot check for SPDIF/;

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
    const maxSamples = Math.ceil(maxSeconds * SAMPLE_RATE);
    const sink: SampleSink = separate
      ? new SeparateSink(new ChannelSplitter(maxSamples, options.memory, options.maxChannels))
      : retain
        ? new MixSink(new PcmAccumulator(maxSamples, options.onSamples, options.memory))
        : new PassOnSink(maxSamples, options.onSamples!);
    const tooLong = () => new AudioDecodeError("too_long", `The audio is longer than the ${maxSeconds} s limit`);
    const run = await runDecoder({
      ffmpegPath: ffmpeg.path,
      args: decoderArgs(inputUrl, format, ffmpeg.hasSoxr, separate),
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
        const samples = Math.ceil(seconds * SAMPLE_RATE) + SAMPLE_RATE;
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
      sampleRate: SAMPLE_RATE,
      duration: sink.sampleCount / SAMPLE_RATE,
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
