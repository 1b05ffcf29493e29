// A job's FLAC file into Redis and back, in 8 MiB parts (SET then APPEND; GETRANGE): neither the API nor the
// worker holds the whole file in memory, and no command is larger than a part. The value is one Redis string, so
// a job's audio is bounded by Redis's largest string (proto-max-bulk-len, 512 MB by default).
import { open } from "node:fs/promises";

import type { Redis } from "ioredis";

export const AUDIO_PART_BYTES = 8 * 1_048_576;

/** The file has more bytes than allowed (the key is deleted). */
export class AudioTooLargeError extends Error {
  constructor(readonly bytes: number) {
    super(`the audio has more than ${bytes} bytes`);
  }
}

/**
 * Stores `file` under `key` with an expiry (`ttlSeconds`: the submit script makes it permanent once the job is
 * recorded). Returns the bytes stored. Throws AudioTooLargeError past `maxBytes` (having deleted the key).
 */
export async function uploadAudio(redis: Redis, key: string, file: string, maxBytes: number, ttlSeconds: number): Promise<number> {
  const handle = await open(file, "r");
  let total = 0;
  try {
    const part = Buffer.allocUnsafe(AUDIO_PART_BYTES);
    for (;;) {
      const { bytesRead } = await handle.read(part, 0, AUDIO_PART_BYTES, null);
      if (bytesRead === 0 && total > 0) return total;
      total += bytesRead;
      if (total > maxBytes) {
        await redis.del(key);
        throw new AudioTooLargeError(total);
      }
      const chunk = part.subarray(0, bytesRead);
      if (total === bytesRead) await redis.set(key, chunk, "EX", ttlSeconds);
      else await redis.append(key, chunk);
      if (bytesRead === 0) return 0;
    }
  } finally {
    await handle.close();
  }
}

/**
 * Writes the audio under `key` to `file`. Returns false when there is none, or when it went away meanwhile (the
 * job was cancelled: its audio is deleted with the cancel).
 */
export async function downloadAudio(redis: Redis, key: string, file: string): Promise<boolean> {
  const size = await redis.strlen(key);
  if (size === 0) return false;
  const handle = await open(file, "w");
  try {
    for (let start = 0; start < size; start += AUDIO_PART_BYTES) {
      const end = Math.min(size, start + AUDIO_PART_BYTES) - 1;
      const part = await redis.getrangeBuffer(key, start, end);
      if (part.length !== end - start + 1) return false;
      await handle.write(part);
    }
    return true;
  } finally {
    await handle.close();
  }
}
