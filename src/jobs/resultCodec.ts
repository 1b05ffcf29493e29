// A job's transcription result at rest: JSON (token bytes as base64, which JSON cannot hold as Uint8Array),
// gzip-compressed. One stored result renders every response format, so nothing is re-run.
import { gunzipSync, gzipSync } from "node:zlib";

import type { TranscriptionResult } from "../engine/types.js";

const BYTES = "$bytes";

/** The result as stored bytes. */
export function encodeResult(result: TranscriptionResult): Buffer {
  const json = JSON.stringify(result, (_key, value: unknown) => (value instanceof Uint8Array ? { [BYTES]: Buffer.from(value).toString("base64") } : value));
  return gzipSync(json);
}

/** The result stored by {@link encodeResult}. */
export function decodeResult(stored: Uint8Array): TranscriptionResult {
  return JSON.parse(gunzipSync(stored).toString("utf8"), (_key, value: unknown) => {
    if (value !== null && typeof value === "object" && BYTES in value) return new Uint8Array(Buffer.from((value as Record<string, string>)[BYTES]!, "base64"));
    return value;
  }) as TranscriptionResult;
}
