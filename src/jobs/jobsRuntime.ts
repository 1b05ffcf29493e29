// Batch jobs in a server process: the backend (embedded SQLite in the data dir, or BullMQ on Redis with
// EARSHOT_REDIS_URL), the limits of the submit route, the worker that runs jobs through the transcription service,
// the webhooks of the jobs this process finishes, and the retention sweep.
import path from "node:path";
import type { Readable } from "node:stream";

import type { ServerConfig } from "../config.js";
import { ApiError } from "../transcription/apiErrors.js";
import type { TranscriptionService } from "../transcription/TranscriptionService.js";
import { encodeJobAudio, type EncodedJobAudio } from "./jobAudio.js";
import { createJobProcessor, type JobRunnerLog } from "./jobRunner.js";
import { startJobWebhooks, type JobWebhooks } from "./jobWebhooks.js";
import { WebhookTargets } from "./webhookTarget.js";
import { openRedisJobBackend } from "./redis/RedisJobBackend.js";
import { SqliteJobBackend } from "./sqlite/SqliteJobBackend.js";
import type { JobBackend, JobWorker } from "./types.js";

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
  /** Unfinished jobs (queued + running) beyond which a submit is refused. */
  maxQueued: number;
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
      maxQueued: config.jobsMaxQueued,
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

  /** Opens the backend the configuration names (throws when it cannot, e.g. the data dir is another server's). */
  static open(config: ServerConfig, options: JobsRuntimeOptions): JobsRuntime {
    const backend: JobBackend = config.redisUrl
      ? openRedisJobBackend(config, { log: options.log, tempDir: options.tempDir })
      : new SqliteJobBackend({ dataDir: config.dataDir });
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
      throw new ApiError(429, `${this.config.jobsMaxUploads} job uploads are being received already; retry shortly.`, "rate_limit_error", null, "too_many_job_uploads", {
        "Retry-After": "5",
      });
    }
    this.uploads++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.uploads--;
    };
  }

  /** A 429 when the queue holds `jobsMaxQueued` unfinished jobs. */
  async checkQueueRoom(): Promise<void> {
    const { queued, running } = await this.backend.counts();
    if (queued + running >= this.limits.maxQueued) {
      throw new ApiError(
        429,
        `${queued + running} jobs are waiting or running, this server's limit (EARSHOT_JOBS_MAX_QUEUED); retry once some have finished.`,
        "rate_limit_error",
        null,
        "jobs_queue_full",
        { "Retry-After": "60" },
      );
    }
  }

  /** Decodes and validates an upload into the job's FLAC file (see encodeJobAudio). */
  encode(input: Readable, signal: AbortSignal): Promise<EncodedJobAudio> {
    return encodeJobAudio(input, {
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
