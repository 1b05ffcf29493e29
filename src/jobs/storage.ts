// Room for job audio at rest: how large a job's FLAC can get, the disk's free space, and the answers when there is
// no room (429 for a budget the operator set, which frees up as jobs finish; 507 for a disk that is (nearly) full).
import fs from "node:fs";

import { ApiError } from "../transcription/apiErrors.js";

/**
 * The most a second of job audio takes as FLAC (16 kHz mono, 16-bit): FLAC never stores a frame larger than its raw
 * samples (a verbatim subframe, 32 000 bytes a second) plus frame headers; 32 KiB a second covers both. Speech takes
 * about a sixth of it, white noise about two thirds.
 */
export const FLAC_MAX_BYTES_PER_SECOND = 32_768;
/** The FLAC file's own header (STREAMINFO, seek table, padding), generously. */
export const FLAC_HEADER_BYTES = 64 * 1024;

/** The largest FLAC file `seconds` of audio can make. */
export function flacBytesFor(seconds: number): number {
  return FLAC_HEADER_BYTES + Math.ceil(Math.max(0, seconds) * FLAC_MAX_BYTES_PER_SECOND);
}

/** Bytes free to this process on the file system of `dir` (undefined where the platform cannot tell). */
export function freeDiskBytes(dir: string): number | undefined {
  try {
    const stats = fs.statfsSync(dir);
    return Number(stats.bavail) * Number(stats.bsize);
  } catch {
    return undefined;
  }
}

/** Errors of a write that found no room: the disk is full, or the user's quota is used up (fs, FFmpeg's, SQLite's). */
export function isDiskFullError(error: unknown): boolean {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  if (code === "ENOSPC" || code === "EDQUOT" || code === "SQLITE_FULL") return true;
  return typeof message === "string" && /No space left on device|Disk quota exceeded|database or disk is full/i.test(message);
}

/** How long a client waits before retrying a submit refused for want of room. */
const STORAGE_RETRY_AFTER_SECONDS = "60";

/** 507 in OpenAI's shape: the disk the job's audio or record goes to has no room (nothing of the job is kept). */
export function insufficientStorage(why: string): ApiError {
  return new ApiError(
    507,
    `The server has no room to store the job (${why}); nothing was kept. Retry later.`,
    "server_error",
    null,
    "insufficient_storage",
    { "Retry-After": STORAGE_RETRY_AFTER_SECONDS },
  );
}

/** 429: the audio of unfinished jobs would pass the budget `setting` names (it frees up as jobs finish). */
export function storedAudioBudgetFull(usedBytes: number, neededBytes: number, budgetBytes: number, setting: string): ApiError {
  const mb = (bytes: number) => Math.ceil(bytes / 1_048_576);
  return new ApiError(
    429,
    `The job queue holds ${mb(usedBytes)} MB of audio waiting to be transcribed; this job needs up to ${mb(neededBytes)} MB more, ` +
      `past its limit of ${mb(budgetBytes)} MB (${setting}). Retry once some jobs have finished.`,
    "rate_limit_error",
    null,
    "jobs_queue_full",
    { "Retry-After": STORAGE_RETRY_AFTER_SECONDS },
  );
}

/** 429: `count` unfinished jobs (with uploads in flight) reach the bound of all keys together. */
export function jobsQueueFull(count: number): ApiError {
  return new ApiError(
    429,
    `${count} jobs are waiting, running or being uploaded, this server's limit (EARSHOT_JOBS_MAX_QUEUED); retry once some have finished.`,
    "rate_limit_error",
    null,
    "jobs_queue_full",
    { "Retry-After": "60" },
  );
}

/** 429: this API key's own bound of unfinished jobs (other keys are not held back by it). */
export function ownerQueueFull(count: number, limit: number): ApiError {
  return new ApiError(
    429,
    `This API key has ${count} jobs waiting, running or being uploaded, its limit of ${limit} (EARSHOT_JOBS_MAX_QUEUED_PER_KEY); ` +
      "retry once some of them have finished.",
    "rate_limit_error",
    null,
    "rate_limit_exceeded",
    { "Retry-After": "60" },
  );
}
