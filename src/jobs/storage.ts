// Room for job audio at rest: how large a job's FLAC can get, the disk's free space, and the answers when there is
// no room (429 for a budget the operator set, which frees up as jobs finish; 507 for a disk that is (nearly) full).
import fs from "node:fs";


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
