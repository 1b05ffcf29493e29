// 16 kHz mono audio as FLAC, 16-bit (lossless for what whisper is given in practice, a third to a half of the raw
// size): written from samples as they come and read back as samples as they are asked for, so neither side holds
// the whole audio in memory. Both run FFmpeg on the shared runner (its own process group, low priority), so a
// Ctrl-C to Earshot's process group does not kill them under the drain. Batch jobs keep their audio so.

import { once } from "node:events";

import { checkFfmpeg } from "./ffmpeg/ffmpegPath.js";
import { type FfmpegExit, type FfmpegRun, startFfmpeg } from "./ffmpeg/runFfmpeg.js";
import { SAMPLE_RATE } from "../engine/sampleRate.js";

export interface FlacOptions {
  /** ffmpeg binary; default the bundled one (callers pass the configured EARSHOT_FFMPEG_PATH). */
  ffmpegPath?: string | undefined;
  /** FFmpeg's nice value; default DEFAULT_FFMPEG_NICE (ffmpeg/runFfmpeg.ts). */
  nice?: number | undefined;
}

/** FFmpeg failed to write or read the FLAC file; the message ends with its last words (e.g. "No space left on device"). */
export class FlacError extends Error {
  override name = "FlacError";
  constructor(
    message: string,
    /** The tail of FFmpeg's stderr. */
    readonly ffmpegStderr: string,
  ) {
    super(message);
  }
}

/** An encoder writing a FLAC file (see {@link startFlacEncoder}). */
export interface FlacEncoder {
  /** Whether samples are still taken (not after {@link end}, {@link abort} or the encoder's exit). */
  readonly writable: boolean;
  /**
   * Sends samples (16 kHz mono) to the encoder. Returns a promise when its input is full: it settles once the encoder
   * takes more (or has exited), so that the sender can wait instead of piling samples up.
   */
  write(samples: Float32Array): Promise<void> | undefined;
  /** No more samples: resolves once the file is complete; rejects with {@link FlacError} when the encoder failed. */
  end(): Promise<void>;
  /** Stops the encoder (the file is incomplete: the caller removes it); resolves once it has exited. */
  abort(): Promise<void>;
  /**
   * Settles once the encoder has exited: resolves when it finished or was aborted, rejects with {@link FlacError} when
   * it failed by itself (e.g. a full disk), so that the sender can stop at once.
   */
  readonly done: Promise<void>;
}

/** Starts an encoder that writes the samples it is sent to `file` as FLAC (the file is created or replaced). */
export async function startFlacEncoder(file: string, options: FlacOptions): Promise<FlacEncoder> {
  const ffmpeg = await checkFfmpeg(options.ffmpegPath ? { ffmpegPath: options.ffmpegPath } : {});
  const run = await startFfmpeg({
    ffmpegPath: ffmpeg.path,
    args: [
      "-hide_banner", "-nostdin", "-nostats", "-loglevel", "error",
      "-protocol_whitelist", "pipe,file",
      "-f", "f32le", "-ar", String(SAMPLE_RATE), "-ac", "1", "-i", "pipe:0",
      "-c:a", "flac", "-sample_fmt", "s16", "-compression_level", "5",
      "-f", "flac", "-y", `file:${file}`,
    ],
    stdin: "pipe",
    stdout: "ignore",
    nice: options.nice,
  });
  const stdin = run.stdin!;
  const done = run.exited.then(
    (exit) => {
      if (exit.exitCode !== 0) throw failure("the FLAC encoder failed", exit, run);
    },
    () => undefined, // aborted
  );
  // Also settles a write's wait when the encoder exits (whatever the outcome).
  const exited = done.catch(() => undefined);
  return {
    get writable() {
      return !stdin.destroyed && !stdin.writableEnded;
    },
    write(samples) {
      if (stdin.destroyed || stdin.writableEnded) return undefined;
      if (stdin.write(Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength))) return undefined;
      return Promise.race([once(stdin, "drain").then(() => undefined), exited]);
    },
    async end() {
      stdin.end();
      await done;
    },
    async abort() {
      run.stop(new Error("the FLAC encoder was stopped"));
      await exited;
    },
    done,
  };
}

/**
 * The samples of a FLAC file (16 kHz mono float), as they are decoded: FFmpeg is paused while the consumer does not
 * ask for more (back-pressure through the pipe), so a long file is never in memory whole. Aborting `signal` stops
 * FFmpeg; the iteration then throws the signal's reason. A failed read throws {@link FlacError}.
 */
export async function* readFlac(file: string, options: FlacOptions & { signal: AbortSignal }): AsyncGenerator<Float32Array> {
  const ffmpeg = await checkFfmpeg(options.ffmpegPath ? { ffmpegPath: options.ffmpegPath } : {});
  const run = await startFfmpeg({
    ffmpegPath: ffmpeg.path,
    args: [
      "-hide_banner", "-nostdin", "-nostats", "-loglevel", "error",
      "-protocol_whitelist", "file",
      "-f", "flac", "-i", `file:${file}`,
      "-ac", "1", "-ar", String(SAMPLE_RATE), "-c:a", "pcm_f32le", "-f", "f32le", "pipe:1",
    ],
    stdin: "ignore",
    stdout: "pipe",
    nice: options.nice,
    signal: options.signal,
  });
  /** Bytes of a sample split across two chunks of FFmpeg's output. */
  let partial = Buffer.alloc(0);
  try {
    for await (const chunk of run.stdout! as AsyncIterable<Buffer>) {
      const bytes = partial.length > 0 ? Buffer.concat([partial, chunk]) : chunk;
      const whole = Math.floor(bytes.length / 4);
      partial = Buffer.from(bytes.subarray(whole * 4));
      if (whole === 0) continue;
      const samples = new Float32Array(whole);
      const view = new DataView(bytes.buffer, bytes.byteOffset, whole * 4);
      for (let i = 0; i < whole; i++) samples[i] = view.getFloat32(i * 4, true);
      yield samples;
    }
    // Rejects with the signal's reason when it aborted.
    const exit = await run.exited;
    options.signal.throwIfAborted();
    if (exit.exitCode !== 0) throw failure("reading the FLAC file failed", exit, run);
  } finally {
    // The consumer stopped early (or the read failed): FFmpeg must not outlive the iteration.
    run.stop(new Error("the FLAC reader was closed"));
    await run.exited.catch(() => undefined);
  }
}

function failure(what: string, exit: FfmpegExit, run: FfmpegRun): FlacError {
  return new FlacError(`${what} (${exit.exitCode ?? exit.signal}): ${run.stderrTail.slice(-500)}`, run.stderrTail);
}
