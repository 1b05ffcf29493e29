// The SHA-256 checks of a model download: the hash the server announces (Hugging Face's X-Linked-ETag / ETag for LFS
// files), the pinned one (the catalog's, or the caller's), and the hash of the bytes on disk.
import { createHash } from "node:crypto";
import fs from "node:fs";

import { type ChecksumSource, describeChecksumSource } from "./errors.js";

export const SHA256_HEX = /^[0-9a-f]{64}$/;

/** A SHA-256 comparison that passed. */
export interface ChecksumCheck {
  expected: string;
  source: ChecksumSource;
}

/** Human words for the checks of a result: `verified (from ...; from ...)`, or `NOT verified: ...` when there were none. */
export function describeChecks(checks: readonly ChecksumCheck[]): string {
  if (checks.length === 0) return "NOT verified: no reference SHA-256 was available";
  return `verified (${checks.map((c) => describeChecksumSource(c.source)).join("; ")})`;
}

/** Lower-case 64-hex SHA-256 from an ETag-like header value (`"abc…"`, `W/"abc…"`), else undefined. */
export function sha256FromEtag(value: string | string[] | undefined): string | undefined {
  const raw = Array.isArray(value) ? value[0] : value;
  if (!raw) return undefined;
  const hex = raw.trim().replace(/^W\//i, "").replace(/^"|"$/g, "").toLowerCase();
  return SHA256_HEX.test(hex) ? hex : undefined;
}

/** The SHA-256 of a file, streamed. */
export async function sha256File(file: string, signal?: AbortSignal): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of fs.createReadStream(file, { highWaterMark: 1 << 20, signal })) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

/** The hashes the file must match: the server's announcement, and the pinned (catalog or option) value. */
export function expectations(serverSha256: string | undefined, pinned: string | null | undefined, pinnedSource: ChecksumSource): ChecksumCheck[] {
  const checks: ChecksumCheck[] = [];
  if (serverSha256) checks.push({ expected: serverSha256, source: "server" });
  if (pinned) checks.push({ expected: pinned, source: pinnedSource });
  return checks;
}
