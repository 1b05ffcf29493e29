// A job record as a Redis hash: what never changes (the NewJob) as one JSON field `spec`, what changes as plain
// fields the Lua scripts (scripts.ts) can update: status, startedAt, completedAt ('' for none, else Unix ms),
// done/total (audio seconds), error (JSON or ''), attempts, recoveries, token (the BullMQ lock token of the claim
// in force), seq (submission sequence), owner, audioBytes.
import { isJobStatus, type JobRecord, type NewJob } from "../types.js";

/** The hash as HGETALL answers it, or the flat [field, value, ...] array a script returns. */
export function hashFromReply(reply: unknown): Record<string, string> {
  if (Array.isArray(reply)) {
    const hash: Record<string, string> = {};
    for (let i = 0; i + 1 < reply.length; i += 2) hash[String(reply[i])] = String(reply[i + 1]);
    return hash;
  }
  return (reply ?? {}) as Record<string, string>;
}

/** The record a hash holds; undefined for an empty hash (no such job). */
export function recordFromHash(hash: Record<string, string>): JobRecord | undefined {
  if (hash.spec === undefined || hash.id === undefined) return undefined;
  const spec = JSON.parse(hash.spec) as NewJob;
  const status = hash.status;
  if (!isJobStatus(status)) throw new Error(`job ${hash.id} has an unknown status '${status}' in Redis`);
  return {
    ...spec,
    id: hash.id,
    status,
    createdAt: Number(hash.createdAt),
    startedAt: optionalNumber(hash.startedAt),
    completedAt: optionalNumber(hash.completedAt),
    progress: { audioSecondsDone: Number(hash.done ?? 0), audioSecondsTotal: Number(hash.total ?? spec.audioSeconds) },
    error: hash.error ? (JSON.parse(hash.error) as JobRecord["error"]) : null,
    attempts: Number(hash.attempts ?? 0),
  };
}

/** The spec stored for a new job (everything the record has that never changes). */
export function specJson(job: NewJob): string {
  return JSON.stringify(job);
}

function optionalNumber(value: string | undefined): number | null {
  return value === undefined || value === "" ? null : Number(value);
}
