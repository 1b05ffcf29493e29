// Settings table, group "Batch jobs": POST /v1/audio/jobs, on either backend (embedded SQLite or Redis).
import { z } from "zod";

import type { Setting } from "../setting.js";

export const jobSettings = {
  dataDir: {
    env: "EARSHOT_DATA_DIR",
    flag: "--data-dir <dir>",
    commands: ["serve", "worker"],
    schema: z.string().min(1).optional(),
    doc: "where batch jobs, their audio and the generated webhook key are kept",
    note:
      "Embedded: the jobs database (`jobs.db`) and each job's audio until it finishes; with Redis too: uploads being decoded and " +
      "the webhook key file. `~` is expanded. One that cannot be made or written stops startup, naming it. Several servers on one " +
      "machine may share it (it must be local: across machines, use Redis).",
    defaultText: "`$XDG_DATA_HOME/earshot`, else `~/.local/share/earshot`",
  },
  jobsConcurrency: {
    env: "EARSHOT_JOBS_CONCURRENCY",
    flag: "--jobs-concurrency <n>",
    commands: ["serve", "worker"],
    schema: z.coerce.number().int().min(0).max(64).default(1),
    doc: "jobs one server (or worker) runs at once, each on all the engine's free slots",
    note: "`0` (with `EARSHOT_REDIS_URL` only): the server runs no jobs (API only), `earshot worker` processes do.",
  },
  jobsMaxUploadMb: {
    env: "EARSHOT_JOBS_MAX_UPLOAD_MB",
    flag: "--jobs-max-upload-mb <mb>",
    commands: ["serve"],
    schema: z.coerce.number().positive().max(1_000_000).default(2048),
    doc: "largest job upload, MB; 413 as the bytes pass it",
  },
  jobsMaxAudioHours: {
    env: "EARSHOT_JOBS_MAX_AUDIO_HOURS",
    flag: "--jobs-max-audio-hours <h>",
    commands: ["serve"],
    schema: z.coerce.number().positive().max(48).default(6),
    doc: "longest audio of one job, hours; 413 beyond (from the header when the container declares it)",
  },
  jobsUploadTimeoutSeconds: {
    env: "EARSHOT_JOBS_UPLOAD_TIMEOUT_SECONDS",
    flag: "--jobs-upload-timeout-seconds <s>",
    commands: ["serve"],
    schema: z.coerce.number().positive().max(86_400).default(3600),
    doc: "a job upload still arriving this long after it started gets 408",
    note: "The idle timeout is `EARSHOT_UPLOAD_IDLE_TIMEOUT_SECONDS`.",
  },
  jobsMaxUploads: {
    env: "EARSHOT_JOBS_MAX_UPLOADS",
    flag: "--jobs-max-uploads <n>",
    commands: ["serve"],
    schema: z.coerce.number().int().positive().max(1000).default(4),
    doc: "job uploads received (and decoded to FLAC) at once; the next gets 429",
    note: "With `Retry-After`.",
  },
  jobsMaxQueued: {
    env: "EARSHOT_JOBS_MAX_QUEUED",
    flag: "--jobs-max-queued <n>",
    commands: ["serve"],
    schema: z.coerce.number().int().positive().max(10_000_000).default(1000),
    doc: "unfinished jobs (queued, running, uploads in flight), all keys together; the next gets 429",
    note:
      "429 `jobs_queue_full` with `Retry-After`. A place is taken before a byte of the body is read, and counted atomically across every " +
      "process sharing the store (also on Redis); an upload that fails gives its place back.",
  },
  jobsMaxQueuedPerKey: {
    env: "EARSHOT_JOBS_MAX_QUEUED_PER_KEY",
    flag: "--jobs-max-queued-per-key <n>",
    commands: ["serve"],
    schema: z.coerce.number().int().positive().max(10_000_000).default(100),
    doc: "unfinished jobs of one API key (uploads in flight included); the next gets 429, other keys unaffected",
    note: "429 `rate_limit_exceeded` with `Retry-After`. Applies when two or more keys are configured; also on Redis.",
  },
  jobsMaxStoredAudioMb: {
    env: "EARSHOT_JOBS_MAX_STORED_AUDIO_MB",
    flag: "--jobs-max-stored-audio-mb <mb>",
    commands: ["serve"],
    schema: z.coerce.number().positive().max(100_000_000).default(10_240),
    doc: "embedded: FLAC audio of all unfinished jobs and uploads in flight together in the data dir, MB; beyond it 429",
    note:
      "429 `jobs_queue_full`. An upload reserves the most its FLAC can take (32 KiB a second of audio) from the length its container declares, or " +
      "ahead as it is decoded. On Redis the bound is `EARSHOT_REDIS_MAX_STORED_AUDIO_MB`.",
  },
  jobsMinFreeDiskMb: {
    env: "EARSHOT_JOBS_MIN_FREE_DISK_MB",
    flag: "--jobs-min-free-disk-mb <mb>",
    commands: ["serve"],
    schema: z.coerce.number().min(0).max(100_000_000).default(1024),
    doc: "embedded: free space the data dir's disk keeps, MB; an upload that would take it lower gets 507",
    note: "507 `insufficient_storage` with `Retry-After`, as for a disk that fills up anyway while a job is written: nothing of the job is kept.",
  },
  jobsRetentionHours: {
    env: "EARSHOT_JOBS_RETENTION_HOURS",
    flag: "--jobs-retention-hours <h>",
    commands: ["serve", "worker"],
    schema: z.coerce.number().positive().max(87_600).default(168),
    doc: "finished jobs and their results are deleted this long after they finished",
    note: "168 hours is a week; checked every 15 minutes at most.",
  },
} as const satisfies Record<string, Setting>;
