// A job record as a row of the `jobs` table (schema.ts): what never changes (the NewJob but its owner) as one JSON
// column `spec`, what changes as plain columns the claim, cancel and settle transactions update.
import type Database from "better-sqlite3";

import type { JobError, JobRecord, JobStatus, NewJob } from "../types.js";

/** The rows of jobs that count against the bounds and the stored-audio budget. */
export const UNFINISHED = "status IN ('queued', 'running')";

export interface JobRow {
  seq: number;
  id: string;
  owner: string;
  status: JobStatus;
  spec: string;
  created_at: number;
  started_at: number | null;
  completed_at: number | null;
  done_seconds: number;
  error: string | null;
  attempts: number;
  worker_pid: number | null;
  worker_token: string | null;
  heartbeat_at: number | null;
}

export function toRecord(row: JobRow): JobRecord {
  const spec = JSON.parse(row.spec) as Omit<NewJob, "owner">;
  return {
    ...spec,
    owner: row.owner,
    id: row.id,
    status: row.status,
    createdAt: row.created_at,
    startedAt: row.started_at,
    completedAt: row.completed_at,
    progress: { audioSecondsDone: row.done_seconds, audioSecondsTotal: spec.audioSeconds },
    error: row.error ? (JSON.parse(row.error) as JobError) : null,
    attempts: row.attempts,
  };
}

/** The record of job `id`, whoever owns it; undefined when there is none. */
export function readRecord(db: Database.Database, id: string): JobRecord | undefined {
  const row = db.prepare("SELECT * FROM jobs WHERE id = ?").get(id) as JobRow | undefined;
  return row && toRecord(row);
}
