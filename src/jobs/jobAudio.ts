// A job's audio at rest: the upload decoded (and validated) by the same decodeAudio as every request, then kept as
// FLAC of the decoded 16 kHz mono audio, 16-bit (lossless for what whisper is given in practice, a third to a half
// of the raw size; about 60-70 MB an hour of speech). Neither side ever holds the whole audio in memory: the upload's
// samples go to the FLAC encoder as they are decoded, and the runner reads the FLAC back as a stream it pulls from.
// Room on disk is asked for before it is taken: for the duration the container declares, before any sample is
// decoded (so an upload that cannot fit is refused before it is written), and again, ahead, as the samples pass
// what was asked for (a container that declares nothing, or less than it holds). A disk that fills up anyway
// (ENOSPC, EDQUOT) is a 507, and the file is removed.
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import fs from "node:fs";
import { setPriority } from "node:os";
import path from "node:path";
import type { Readable } from "node:stream";

import { DEFAULT_FFMPEG_NICE } from "../audio/decodeAudio.js";
import { checkFfmpeg, decodeAudio, TARGET_SAMPLE_RATE, type DecodedAudio } from "../audio/index.js";
import { makeDirectory } from "../makeDirectory.js";
import { flacBytesFor, insufficientStorage, isDiskFullError } from "./storage.js";
import type { JobAudioFile } from "./types.js";

/** Room is asked for this far ahead of the samples decoded (about 8.5 minutes of the densest audio). */
const ROOM_STEP_BYTES = 16 * 1_048_576;

export interface EncodeJobAudioOptions {
  /** Where the FLAC file is written (a directory on the same file system as the jobs' store). */
  dir: string;
  ffmpegPath?: string | undefined;
  /** The decoder's temp dir parent (mp4/mp3 inputs go through a temp file). */
  tempDir?: string | undefined;
  maxDurationSeconds: number;
  /** The whole decode, reading the upload included. */
  timeoutMs: number;
  signal: AbortSignal;
  /** FFmpeg's nice value for the decoder and the encoder. */
  ffmpegNice?: number | undefined;
  /**
   * Asks for room for the FLAC file, `bytes` in all (the most it can take so far; called with growing totals);
   * throws (an ApiError: 429, 507) when there is none, which stops the decode with that error.
   */
  room?: ((bytes: number) => void) | undefined;
}

export interface EncodedJobAudio {
  audio: JobAudioFile;
  /** The decode (samples empty: they went to the encoder). */
  decoded: DecodedAudio;
}

/** The encoder's failure, named for the logs (the API answers 500). */
export class JobAudioEncodeError extends Error {
  override name = "JobAudioEncodeError";
}

/**
 * Decodes `input` (any format decodeAudio takes, with its errors: 415 unsupported, 413 too long, ...) and writes
 * its 16 kHz mono audio as a FLAC file in `options.dir`. On failure nothing is left behind.
 */
export async function encodeJobAudio(input: Readable, options: EncodeJobAudioOptions): Promise<EncodedJobAudio> {
  const ffmpeg = await checkFfmpeg(options.ffmpegPath ? { ffmpegPath: options.ffmpegPath } : {});
  makeDirectory(options.dir);
  const file = path.join(options.dir, `incoming-${process.pid}-${randomBytes(8).toString("hex")}.flac`);
  const stop = new AbortController();
  const signal = AbortSignal.any([options.signal, stop.signal]);
  // The encoder at the decoder's priority: it keeps up with it whatever the load.
  const encoder = spawnEncoder(ffmpeg.path, file, options.ffmpegNice ?? DEFAULT_FFMPEG_NICE);
  let encoderFailure: Error | undefined;
  let stopping = false;
  const encoderDone = waitForExit(encoder).then((outcome) => {
    if (outcome.code !== 0 && !stopping) {
      const failure = new JobAudioEncodeError(`the FLAC encoder failed (${outcome.code ?? outcome.signal}): ${outcome.stderr.slice(-500)}`);
      encoderFailure = isDiskFullError(failure) ? insufficientStorage(`the disk of the job's audio is full: ${diskFullReason(outcome.stderr)}`) : failure;
      stop.abort(encoderFailure);
    }
  });
  encoder.stdin!.on("error", () => undefined);
  // Room asked for so far, bytes of FLAC at most, and samples decoded.
  let roomAsked = 0;
  let samplesDecoded = 0;
  const askRoom = (bytes: number): Error | undefined => {
    if (!options.room || bytes <= roomAsked) return undefined;
    try {
      options.room(bytes);
      roomAsked = bytes;
      return undefined;
    } catch (error) {
      return error as Error;
    }
  };
  try {
    const decoded = await decodeAudio(input, {
      ...(options.ffmpegPath ? { ffmpegPath: options.ffmpegPath } : {}),
      ...(options.tempDir ? { tempDir: options.tempDir } : {}),
      ...(options.ffmpegNice !== undefined ? { ffmpegNice: options.ffmpegNice } : {}),
      maxDurationSeconds: options.maxDurationSeconds,
      timeoutMs: options.timeoutMs,
      signal,
      retainSamples: false,
      onDeclaredDuration: (seconds) => askRoom(flacBytesFor(seconds)),
      // Back-pressure: while the encoder's input is full, the decoder waits (and so does the upload).
      onSamples: (samples) => {
        if (stop.signal.aborted || encoder.stdin!.destroyed) return undefined;
        samplesDecoded += samples.length;
        const needed = flacBytesFor(samplesDecoded / TARGET_SAMPLE_RATE);
        if (needed > roomAsked) {
          // Ahead by a step, else (near the bound) just what the samples so far need.
          const refused = askRoom(needed + ROOM_STEP_BYTES) && askRoom(needed);
          if (refused) {
            stop.abort(refused);
            return undefined;
          }
        }
        if (encoder.stdin!.write(Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength))) return undefined;
        return Promise.race([once(encoder.stdin!, "drain").then(() => undefined), encoderDone]);
      },
    });
    encoder.stdin!.end();
    await encoderDone;
    if (encoderFailure) throw encoderFailure;
    // Refused by the room asked for last (the decode may end before it noticed).
    if (stop.signal.aborted) throw stop.signal.reason;
    return { audio: { path: file, bytes: fs.statSync(file).size }, decoded };
  } catch (error) {
    stopping = true;
    encoder.stdin!.destroy();
    if (encoder.exitCode === null && encoder.signalCode === null) encoder.kill("SIGKILL");
    await encoderDone;
    fs.rmSync(file, { force: true });
    throw encoderFailure ?? (stop.signal.aborted && !options.signal.aborted ? stop.signal.reason : error);
  }
}

/** FFmpeg's words for a full disk, without the file's path. */
function diskFullReason(stderr: string): string {
  return /Disk quota exceeded/i.test(stderr) ? "EDQUOT (disk quota exceeded)" : "ENOSPC (no space left on device)";
}

function spawnEncoder(ffmpegPath: string, file: string, nice: number | undefined): ChildProcess {
  const child = spawn(
    ffmpegPath,
    [
      "-hide_banner", "-nostdin", "-nostats", "-loglevel", "error",
      "-protocol_whitelist", "pipe,file",
      "-f", "f32le", "-ar", String(TARGET_SAMPLE_RATE), "-ac", "1", "-i", "pipe:0",
      "-c:a", "flac", "-sample_fmt", "s16", "-compression_level", "5",
      "-f", "flac", "-y", `file:${file}`,
    ],
    { stdio: ["pipe", "ignore", "pipe"], windowsHide: true },
  );
  setNice(child, nice);
  return child;
}

/** Runs the child at `nice` (as decodeAudio runs its decoder); where that is not permitted, as it is. */
function setNice(child: ChildProcess, nice: number | undefined): void {
  if (!nice) return;
  child.once("spawn", () => {
    try {
      if (child.pid !== undefined) setPriority(child.pid, nice);
    } catch {
      // not permitted here (a container without CAP_SYS_NICE): run as is
    }
  });
}

interface ExitOutcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
}

function waitForExit(child: ChildProcess): Promise<ExitOutcome> {
  let stderr = "";
  child.stderr?.setEncoding("utf8");
  child.stderr?.on("data", (text: string) => {
    if (stderr.length < 64 * 1024) stderr += text;
  });
  return new Promise((resolve) => {
    child.on("error", (error) => {
      stderr += String(error);
    });
    child.on("close", (code, signal) => resolve({ code, signal, stderr }));
  });
}

export interface ReadJobAudioOptions {
  ffmpegPath?: string | undefined;
  signal: AbortSignal;
  ffmpegNice?: number | undefined;
}

/**
 * The samples of a job's FLAC file (16 kHz mono float), as they are decoded: the decoder is paused while the
 * consumer does not ask for more (back-pressure through the pipe), so a long file is never in memory whole.
 * Aborting `signal` kills the decoder; the iteration then throws the signal's reason.
 */
export async function* readJobAudio(file: string, options: ReadJobAudioOptions): AsyncGenerator<Float32Array> {
  const ffmpeg = await checkFfmpeg(options.ffmpegPath ? { ffmpegPath: options.ffmpegPath } : {});
  options.signal.throwIfAborted();
  const child = spawn(
    ffmpeg.path,
    [
      "-hide_banner", "-nostdin", "-nostats", "-loglevel", "error",
      "-protocol_whitelist", "file",
      "-f", "flac", "-i", `file:${file}`,
      "-ac", "1", "-ar", String(TARGET_SAMPLE_RATE), "-c:a", "pcm_f32le", "-f", "f32le", "pipe:1",
    ],
    { stdio: ["ignore", "pipe", "pipe"], windowsHide: true },
  );
  setNice(child, options.ffmpegNice);
  const exited = waitForExit(child);
  const onAbort = () => child.kill("SIGKILL");
  options.signal.addEventListener("abort", onAbort, { once: true });
  let partial = Buffer.alloc(0);
  try {
    for await (const chunk of child.stdout! as AsyncIterable<Buffer>) {
      const bytes = partial.length > 0 ? Buffer.concat([partial, chunk]) : chunk;
      const whole = Math.floor(bytes.length / 4);
      partial = Buffer.from(bytes.subarray(whole * 4));
      if (whole === 0) continue;
      const samples = new Float32Array(whole);
      const view = new DataView(bytes.buffer, bytes.byteOffset, whole * 4);
      for (let i = 0; i < whole; i++) samples[i] = view.getFloat32(i * 4, true);
      yield samples;
    }
    const outcome = await exited;
    options.signal.throwIfAborted();
    if (outcome.code !== 0) throw new JobAudioEncodeError(`decoding the job's audio failed (${outcome.code ?? outcome.signal}): ${outcome.stderr.slice(-500)}`);
  } finally {
    options.signal.removeEventListener("abort", onAbort);
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await exited;
  }
}
