// The embedded backend's database (jobs.db in the data dir): its tables, and the migration of a database an older
// Earshot made. `PRAGMA user_version` holds the schema version; opening a database of a newer Earshot is an error.
//   jobs         one row per job (records.ts maps it), its worker (pid, token) and heartbeat while it runs
//   job_results  the result of each succeeded job (resultCodec.ts)
//   job_places   the places of uploads in flight (places.ts), each with the room it reserved for its FLAC
import fs from "node:fs";
import path from "node:path";

import Database from "better-sqlite3";

import { UNFINISHED } from "./records.js";

/** Bumped when the schema changes; an older database is migrated on open. */
const SCHEMA_VERSION = 2;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS jobs (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  owner TEXT NOT NULL,
  status TEXT NOT NULL,
  spec TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  started_at INTEGER,
  completed_at INTEGER,
  done_seconds REAL NOT NULL DEFAULT 0,
  error TEXT,
  attempts INTEGER NOT NULL DEFAULT 0,
  worker_pid INTEGER,
  worker_token TEXT,
  heartbeat_at INTEGER,
  audio_bytes INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS jobs_owner ON jobs (owner, seq);
CREATE INDEX IF NOT EXISTS jobs_status ON jobs (status, seq);
CREATE INDEX IF NOT EXISTS jobs_owner_status ON jobs (owner, status);
CREATE INDEX IF NOT EXISTS jobs_completed ON jobs (completed_at) WHERE completed_at IS NOT NULL;
CREATE TABLE IF NOT EXISTS job_results (
  job_id TEXT PRIMARY KEY REFERENCES jobs (id) ON DELETE CASCADE,
  result BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS job_places (
  id TEXT PRIMARY KEY,
  owner TEXT NOT NULL,
  audio_bytes INTEGER NOT NULL DEFAULT 0,
  holder_pid INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS job_places_owner ON job_places (owner);
`;

/** Schema 1 → 2: each job's audio size (the stored-audio budget), and the places of uploads in flight. */
const MIGRATE_FROM_1 = "ALTER TABLE jobs ADD COLUMN audio_bytes INTEGER NOT NULL DEFAULT 0";

/**
 * Opens (creating or migrating) the jobs database of `dataDir`; `audioPath` names a job's FLAC file (the audio sizes
 * of schema 2 are measured from them). Throws, the database closed, when it cannot be used.
 */
export function openJobsDatabase(dataDir: string, audioPath: (id: string) => string): Database.Database {
  const db = new Database(path.join(dataDir, "jobs.db"));
  try {
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = NORMAL");
    db.pragma("foreign_keys = ON");
    db.pragma("busy_timeout = 5000");
    const version = db.pragma("user_version", { simple: true }) as number;
    if (version > SCHEMA_VERSION) throw new Error(`the jobs database ${dataDir}/jobs.db is from a newer Earshot (schema ${version})`);
    db.transaction(() => {
      if (version === 1) db.exec(MIGRATE_FROM_1);
      db.exec(SCHEMA);
      if (version === 1) measureStoredAudio(db, audioPath);
      if (version < SCHEMA_VERSION) db.pragma(`user_version = ${SCHEMA_VERSION}`);
    }).immediate();
  } catch (error) {
    db.close();
    throw error;
  }
  return db;
}

/** Schema 2's audio sizes for the jobs of an older database that are still to run (their files' sizes). */
function measureStoredAudio(db: Database.Database, audioPath: (id: string) => string): void {
  const ids = db.prepare(`SELECT id FROM jobs WHERE ${UNFINISHED}`).pluck().all() as string[];
  const set = db.prepare("UPDATE jobs SET audio_bytes = ? WHERE id = ?");
  for (const id of ids) {
    let bytes = 0;
    try {
      bytes = fs.statSync(audioPath(id)).size;
    } catch {
      // No audio (it went with a crash): the job fails when it runs.
    }
    set.run(bytes, id);
  }
}
