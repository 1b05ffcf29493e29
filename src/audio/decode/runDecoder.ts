// One decoder run on the shared FFmpeg runner: the input fed to FFmpeg's stdin, its output into the sample sink
// (holding FFmpeg back while the receiver of the samples asks it to wait), its stderr into the log collector, and
// the duration and channels the input declares handed on as soon as FFmpeg prints them.

import { AudioDecodeError } from "../errors.js";
import type { FfmpegLogCollector } from "../ffmpeg/ffmpegLog.js";
import { type FfmpegExit, startFfmpeg } from "../ffmpeg/runFfmpeg.js";
import { feedStdin } from "./decodeInput.js";
import { type DetectedFormat, FFMPEG_DEMUXER } from "../sniffFormat.js";
import type { InputSpool } from "./inputSpool.js";
import type { SampleSink } from "./sampleSinks.js";
import { type StdinSource } from "./types.js";
import { SAMPLE_RATE } from "../../engine/sampleRate.js";

export interface DecoderRunOptions {
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

/**
 * Runs the decoder to completion. Resolves with the exit status whatever it is (classification is the caller's);
 * rejects with the cancellation reason, a `too_long` error (from the declared duration or the samples), a memory
 * refusal or `ffmpeg_unavailable`, only after the process has exited.
 */
export async function runDecoder(options: DecoderRunOptions): Promise<FfmpegExit> {
  const { stdin, log, sink } = options;
  let durationSeen = false;
  let channelsSeen = false;
  const run = await startFfmpeg({
    ffmpegPath: options.ffmpegPath,
    args: options.args,
    stdin: stdin ? (pipe) => feedStdin(pipe, stdin, options.spool) : "ignore",
    stdout: "pipe",
    nice: options.nice,
    signal: options.signal,
    onSpawn: options.onSpawn,
    onStderr: (text) => {
      log.push(text);
      if (!channelsSeen && log.inputChannels !== undefined) {
        channelsSeen = true;
        options.onInputChannels(log.inputChannels);
      }
      // The header's duration comes before any sample: a too-long input is refused without decoding it.
      if (durationSeen || log.declaredDuration === undefined || run.stopped) return;
      durationSeen = true;
      const refusal = options.onDeclaredDuration(log.declaredDuration);
      if (refusal) run.stop(refusal);
    },
  });
  const stdout = run.stdout!;
  stdout.on("data", (chunk: Buffer) => {
    if (run.stopped) return;
    const pushed = sink.push(chunk);
    if (pushed === "ok") {
      const wait = sink.backPressure?.();
      if (wait) {
        stdout.pause();
        const resume = () => {
          if (!run.stopped) stdout.resume();
        };
        wait.then(resume, resume);
      }
      return;
    }
    if (pushed === "too_long") run.stop(options.tooLong());
    else if (pushed === "over_budget") run.stop(options.overBudget());
    else if (pushed === "too_many_channels") run.stop(options.tooManyChannels(sink.channelCount ?? 0));
    else run.stop(new AudioDecodeError("decode_failed", `The audio could not be decoded: ${pushed.error.message}`, { cause: pushed.error }));
  });
  try {
    return await run.exited;
  } finally {
    log.end();
  }
}

/**
 * ffmpeg's arguments: forced demuxer, first audio stream only, soxr resampling when available; mixed to mono as raw
 * f32le on stdout, or (separate) the input's own channels, interleaved, in a 32-bit float WAV whose header tells
 * their count.
 */
export function decoderArgs(inputUrl: string, format: DetectedFormat, hasSoxr: boolean, separate: boolean): string[] {
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
    "-ar", String(SAMPLE_RATE),
    "-c:a", "pcm_f32le",
    ...(separate ? ["-map_metadata", "-1", "-fflags", "+bitexact", "-flags:a", "+bitexact", "-f", "wav"] : ["-f", "f32le"]),
    "pipe:1",
  ];
}
