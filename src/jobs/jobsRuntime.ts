// Batch jobs in a server process: the backend (embedded SQLite in the data dir, or BullMQ on Redis with
// EARSHOT_REDIS_URL), the limits of the submit route, the worker that runs jobs through the transcription service,
// the webhooks of the jobs this process finishes, and the retention sweep.
import path from "node:path";
import type { Readable } from "node:stream";

import { ConfigError, type ServerConfig } from "../config.js";
import { tooManyJobUploads } from "../api/errors.js";
import type { TranscriptionService } from "../transcription/TranscriptionService.js";
import { makeDirectory } from "../makeDirectory.js";
import { prepareDataDir, unusableDataDir } from "./dataDir.js";
import { encodeJobAudio, type EncodedJobAudio } from "./jobAudio.js";
import { createJobProcessor, type JobRunnerLog } from "./jobRunner.js";
import { startJobWebhooks, type JobWebhooks } from "./jobWebhooks.js";
import { WebhookTargets } from "./webhookTarget.js";
import { openRedisJobBackend } from "./redis/RedisJobBackend.js";
import { SqliteJobBackend } from "./sqlite/SqliteJobBackend.js";
import type { JobBackend, JobPlace, JobWorker } from "./types.js";

export interface JobsLog extends JobRunnerLog {
  warn(fields: Record<string, unknown>, message: string): void;
}

export interface JobsRuntimeOptions {
  transcription: TranscriptionService;
  log: JobsLog;
  /** The decoder's temp dir parent (tests watch it). */
  tempDir?: string | undefined;
}

export interface JobLimits {
  maxUploadBytes: number;
  maxAudioSeconds: number;
  uploadTimeoutMs: number;
}

/** How often finished jobs past their retention are looked for, at most. */
const MAX_SWEEP_INTERVAL_MS = 15 * 60_000;

export class JobsRuntime {
  readonly limits: JobLimits;
  readonly webhookAllowlist: readonly string[];
  /** The address check of webhook URLs at submit (the sender checks again at each delivery). */
  readonly webhookTargets: WebhookTargets;
  private readonly incomingDir: string;
  private readonly webhooks: JobWebhooks;
  private readonly sweepTimer: NodeJS.Timeout;
  private worker: JobWorker | undefined;
  private uploads = 0;
  private closing: Promise<void> | undefined;

  private constructor(
    readonly backend: JobBackend,
    private readonly config: ServerConfig,
    private readonly options: JobsRuntimeOptions,
  ) {
    this.limits = {
      maxUploadBytes: Math.round(config.jobsMaxUploadMb * 1_048_576),
      maxAudioSeconds: config.jobsMaxAudioHours * 3600,
      uploadTimeoutMs: config.jobsUploadTimeoutSeconds * 1000,
    };
    this.webhookAllowlist = config.webhookAllowlist;
    this.webhookTargets = WebhookTargets.fromConfig(config);
    this.incomingDir = backend instanceof SqliteJobBackend ? backend.incomingDir : path.join(config.dataDir, "jobs", "incoming");
    this.webhooks = startJobWebhooks(backend, config, options.log);
    const retentionMs = config.jobsRetentionHours * 3_600_000;
    const sweep = () => {
      backend.sweepExpired(Date.now() - retentionMs).then(
        (deleted) => {
          if (deleted > 0) options.log.info({ deleted, retentionHours: config.jobsRetentionHours }, "deleted finished jobs past their retention");
        },
        (error: unknown) => options.log.warn({ error: (error as Error).message }, "the jobs retention sweep failed"),
      );
    };
    sweep();
    this.sweepTimer = setInterval(sweep, Math.min(MAX_SWEEP_INTERVAL_MS, Math.max(1_000, retentionMs / 4)));
    this.sweepTimer.unref();
  }

  /**
   * Opens the backend the configuration names (throws when it cannot, e.g. the data dir is another server's; a
   * ConfigError naming the setting for an unusable data dir, or Redis without a way to keep the webhook key secret).
   */
  static open(config: ServerConfig, options: JobsRuntimeOptions): JobsRuntime {
    if (config.redisUrl !== undefined && config.webhookSecret === undefined && config.secretKey === undefined) {
      throw new ConfigError(
        "batch jobs on Redis (EARSHOT_REDIS_URL) keep the webhook signing key out of Redis's readable data: set EARSHOT_WEBHOOK_SECRET " +
          "(the key itself, the same on every process), or EARSHOT_SECRET_KEY (the same on every process: the generated webhook key is stored in Redis sealed with it)",
      );
    }
    // The data dir holds the uploads being decoded (either backend), the webhook key file and the embedded store.
    prepareDataDir(config.dataDir);
    try {
      makeDirectory(path.join(config.dataDir, "jobs", "incoming"));
    } catch (error) {
      throw unusableDataDir(config.dataDir, error);
    }
    // One key, or none (one owner): the server's bound is its share, as with realtime sessions.
    const jobsMaxQueuedPerKey = config.apiKeys.length >= 2 ? config.jobsMaxQueuedPerKey : config.jobsMaxQueued;
    const backend: JobBackend = config.redisUrl
      ? openRedisJobBackend({ ...config, jobsMaxQueuedPerKey }, { log: options.log, tempDir: options.tempDir })
      : new SqliteJobBackend({
          dataDir: config.dataDir,
          maxQueued: config.jobsMaxQueued,
          maxQueuedPerOwner: jobsMaxQueuedPerKey,
          maxStoredAudioBytes: Math.floor(config.jobsMaxStoredAudioMb * 1_048_576),
          minFreeDiskBytes: Math.floor(config.jobsMinFreeDiskMb * 1_048_576),
        });
    try {
      return new JobsRuntime(backend, config, options);
    } catch (error) {
      void backend.close();
      throw error;
    }
  }

  /** Starts running jobs in this process (`jobsConcurrency` at once, each on all the engine's free slots). */
  startWorker(): void {
    // 0: an API-only server on Redis (workers run the jobs).
    if (this.worker || this.closing || this.config.jobsConcurrency === 0) return;
    const processor = createJobProcessor({ transcription: this.options.transcription, ffmpegPath: this.config.ffmpegPath, log: this.options.log });
    this.worker = this.backend.startWorker(processor, { concurrency: this.config.jobsConcurrency });
  }

  /**
   * A place for one job upload, or a 429 when `jobsMaxUploads` are being received; call the release it returns once
   * the upload is over.
   */
  admitUpload(): () => void {
    if (this.uploads >= this.config.jobsMaxUploads) {
      throw tooManyJobUploads(this.config.jobsMaxUploads);
    }
    this.uploads++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.uploads--;
    };
  }

  /**
   * A place in the queue for one job of `owner` before its upload is read, or a 429 when the unfinished jobs of all
   * keys (`jobsMaxQueued`) or of this one (`jobsMaxQueuedPerKey`) reach their bound, uploads in flight included.
   */
  reserve(owner: string): Promise<JobPlace> {
    return this.backend.reserve(owner);
  }

  /**
   * Decodes and validates an upload into the job's FLAC file (see encodeJobAudio); the room it takes at rest is
   * asked of `place` as it grows (a 429 or 507 stops it).
   */
  encode(input: Readable, signal: AbortSignal, place: JobPlace): Promise<EncodedJobAudio> {
    return encodeJobAudio(input, {
      room: (bytes) => place.reserveAudio(bytes),
      dir: this.incomingDir,
      ffmpegPath: this.config.ffmpegPath,
      tempDir: this.options.tempDir,
      maxDurationSeconds: this.limits.maxAudioSeconds,
      // The decode takes the upload's time too.
      timeoutMs: this.limits.uploadTimeoutMs + 10 * 60_000,
      signal,
    });
  }

  /**
   * Stops the worker (a running job is interrupted within one encoder pass and left queued, to run again at the next
   * start: shutdown never waits for batch work), then the webhooks, the sweep and the backend.
   */
  stopWorker(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    return worker ? worker.stop() : Promise.resolve();
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      clearInterval(this.sweepTimer);
      await this.stopWorker();
      this.webhooks.close();
      await this.backend.close();
    })();
    return this.closing;
  }
}
