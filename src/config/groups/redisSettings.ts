// Settings table, group "Redis and workers": batch jobs on BullMQ, shared by servers and `earshot worker`s.
import { z } from "zod";

import type { Setting } from "../setting.js";

export const redisSettings = {
  redisUrl: {
    env: "EARSHOT_REDIS_URL",
    flag: "--redis-url <url>",
    commands: ["serve", "worker"],
    schema: z.string().regex(/^rediss?:\/\//, "must be a redis:// or rediss:// URL").optional(),
    doc: "batch jobs on BullMQ in this Redis, shared by every server and worker: redis://[user:password@]host:port[/db], or rediss:// (TLS)",
    note:
      "Its password is masked in logs. Every process on Redis also needs `EARSHOT_WEBHOOK_SECRET` or `EARSHOT_SECRET_KEY`, the " +
      "same everywhere, or it does not start. Give Redis `maxmemory-policy noeviction`; a Redis Cluster is not supported.",
    defaultText: "unset: embedded SQLite in the data dir",
    secret: "credentials",
  },
  workerPort: {
    env: "EARSHOT_WORKER_PORT",
    flag: "-p, --port <port>",
    commands: ["worker"],
    schema: z.coerce.number().int().min(0).max(65535).default(8001),
    doc: "port of earshot worker's /health and /metrics (on EARSHOT_HOST)",
  },
  redisTimeoutSeconds: {
    env: "EARSHOT_REDIS_TIMEOUT_SECONDS",
    flag: "--redis-timeout-seconds <s>",
    commands: ["serve", "worker"],
    schema: z.coerce.number().positive().max(600).default(5),
    doc: "Redis commands of the API (submit, get, list, cancel) fail after this long, answered 503",
    note: "A worker's `/health` needs Redis to answer a `PING` within it.",
  },
  redisMaxJobAudioMb: {
    env: "EARSHOT_REDIS_MAX_JOB_AUDIO_MB",
    flag: "--redis-max-job-audio-mb <mb>",
    commands: ["serve"],
    schema: z.coerce.number().positive().max(512).default(512),
    doc: "largest FLAC audio of one job kept in Redis, MB (at most 512, Redis' string limit); beyond it 413 at submit",
    note: "413 `file_too_large` once the upload is decoded (only then is the FLAC's size known). About 65 MB an hour of speech: 512 MB is about 7.5 hours (noisy audio compresses less).",
  },
  redisMaxStoredAudioMb: {
    env: "EARSHOT_REDIS_MAX_STORED_AUDIO_MB",
    flag: "--redis-max-stored-audio-mb <mb>",
    commands: ["serve"],
    schema: z.coerce.number().positive().max(1_000_000).default(4096),
    doc: "FLAC audio of all unfinished jobs kept in Redis together, MB; beyond it 429 at submit",
    note: "429 `jobs_queue_full` until jobs finish: Redis holds everything in memory.",
  },
  jobsLockSeconds: {
    env: "EARSHOT_JOBS_LOCK_SECONDS",
    flag: "--jobs-lock-seconds <s>",
    commands: ["serve", "worker"],
    schema: z.coerce.number().positive().max(3600).default(30),
    doc: "BullMQ lock of a running job: a worker that stops renewing it (crashed, cut off) loses the job after this long",
  },
  jobsStalledCheckSeconds: {
    env: "EARSHOT_JOBS_STALLED_CHECK_SECONDS",
    flag: "--jobs-stalled-check-seconds <s>",
    commands: ["serve", "worker"],
    schema: z.coerce.number().positive().max(3600).default(30),
    doc: "how often workers look for jobs whose lock has expired, to queue them again",
  },
  jobsMaxRecoveries: {
    env: "EARSHOT_JOBS_MAX_RECOVERIES",
    flag: "--jobs-max-recoveries <n>",
    commands: ["serve", "worker"],
    schema: z.coerce.number().int().min(0).max(1000).default(3),
    doc: "times a job is taken up again after its worker died running it; then it fails",
  },
} as const satisfies Record<string, Setting>;
