// A job's audio at rest: the upload decoded (and validated) by the same decodeAudio as every request, then kept as
// FLAC of the decoded 16 kHz mono audio (audio/flac.ts; about 60-70 MB an hour of speech). Neither side ever holds
// the whole audio in memory: the upload's samples go to the FLAC encoder as they are decoded, and the runner reads
// the FLAC back as a stream it pulls from. Room on disk is asked for before it is taken: for the duration the
// container declares, before any sample is decoded (so an upload that cannot fit is refused before it is written),
// and again, ahead, as the samples pass what was asked for (a container that declares nothing, or less than it
// holds). A disk that fills up anyway (ENOSPC, EDQUOT) is a 507, and the file is removed.
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import type { Readable } from "node:stream";

import { decodeAudio, type DecodedAudio, type FlacError, readFlac, startFlacEncoder } from "../audio/index.js";
import { makeDirectory } from "../makeDirectory.js";
import { insufficientStorage } from "../api/errors.js";
import { flacBytesFor, isDiskFullError } from "./storage.js";
import type { JobAudioFile } from "./types.js";
import { SAMPLE_RATE } from "../engine/sampleRate.js";

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

/**
 * Decodes `input` (any format decodeAudio takes, with its errors: 415 unsupported, 413 too long, ...) and writes
 * its 16 kHz mono audio as a FLAC file in `options.dir`. On failure nothing is left behind.
 */
export async function encodeJobAudio(input: Readable, options: EncodeJobAudioOptions): Promise<EncodedJobAudio> {
  makeDirectory(options.dir);
  const file = path.join(options.dir, `incoming-${process.pid}-${randomBytes(8).toString("hex")}.flac`);
  const stop = new AbortController();
  const signal = AbortSignal.any([options.signal, stop.signal]);
  // The encoder at the decoder's priority: it keeps up with it whatever the load.
  const encoder = await startFlacEncoder(file, { ffmpegPath: options.ffmpegPath, nice: options.ffmpegNice });
  let encoderFailure: Error | undefined;
  const encoderDone = encoder.done.catch((failure: FlacError) => {
    encoderFailure = isDiskFullError(failure) ? insufficientStorage(`the disk of the job's audio is full: ${diskFullReason(failure.ffmpegStderr)}`) : failure;
    stop.abort(encoderFailure);
  });
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
        if (stop.signal.aborted || !encoder.writable) return undefined;
        samplesDecoded += samples.length;
        const needed = flacBytesFor(samplesDecoded / SAMPLE_RATE);
        if (needed > roomAsked) {
          // Ahead by a step, else (near the bound) just what the samples so far need.
          const refused = askRoom(needed + ROOM_STEP_BYTES) && askRoom(needed);
          if (refused) {
            stop.abort(refused);
            return undefined;
          }
        }
        return encoder.write(samples);
      },
    });
    await encoder.end().catch(() => undefined);
    await encoderDone;
    if (encoderFailure) throw encoderFailure;
    // Refused by the room asked for last (the decode may end before it noticed).
    if (stop.signal.aborted) throw stop.signal.reason;
    return { audio: { path: file, bytes: fs.statSync(file).size }, decoded };
  } catch (error) {
    await encoder.abort();
    await encoderDone;
    fs.rmSync(file, { force: true });
    throw encoderFailure ?? (stop.signal.aborted && !options.signal.aborted ? stop.signal.reason : error);
  }
}

/** FFmpeg's words for a full disk, without the file's path. */
function diskFullReason(stderr: string): string {
  return /Disk quota exceeded/i.test(stderr) ? "EDQUOT (disk quota exceeded)" : "ENOSPC (no space left on device)";
}

export interface ReadJobAudioOptions {
  ffmpegPath?: string | undefined;
  signal: AbortSignal;
  ffmpegNice?: number | undefined;
}

/**
 * The samples of a job's FLAC file (16 kHz mono float), as they are decoded (see readFlac: never in memory whole).
 * Aborting `signal` stops the decoder; the iteration then throws the signal's reason.
 */
export function readJobAudio(file: string, options: ReadJobAudioOptions): AsyncGenerator<Float32Array> {
  return readFlac(file, { ffmpegPath: options.ffmpegPath, nice: options.ffmpegNice, signal: options.signal });
}
