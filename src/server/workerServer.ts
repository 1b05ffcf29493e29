// `earshot worker`: a process that only runs batch jobs from the Redis queue (EARSHOT_REDIS_URL) that `earshot serve`
// processes fill: no public API, only GET /health and GET /metrics on its own port (EARSHOT_WORKER_PORT). Jobs run
// through the same TranscriptionService as in a server; a job finished here gets its webhook from here.
// Stopping (SIGTERM) interrupts the running jobs within one encoder pass; they go back to the queue for any worker.
import Fastify, { type FastifyInstance, type FastifyServerOptions } from "fastify";
import { Counter, Gauge } from "prom-client";

import { ConfigError, describeConfig, redactUrl, type ServerConfig } from "../config.js";
import { JobsRuntime } from "../jobs/jobsRuntime.js";
import { RedisJobBackend } from "../jobs/redis/RedisJobBackend.js";
import { withLogRedaction } from "./logRedaction.js";
import { ServerMetrics } from "./metrics.js";
import { ApiKeys, installAuthorization } from "./auth.js";
import { openAiClientErrors, openAiErrors } from "./errorHandling.js";
import { metricsRoute } from "./routes/metrics.js";
import { openModels, startTranscription } from "./transcriptionSetup.js";

export interface RunningWorker {
  app: FastifyInstance;
  /** e.g. http://127.0.0.1:8001 (/health, /metrics) */
  url: string;
  /** Stops taking jobs, interrupts the running ones (queued again), closes Redis and the models. Idempotent. */
  close(): Promise<void>;
}

export interface StartWorkerOptions {
  logger?: FastifyServerOptions["logger"];
  /** Parent directory for decoding temp files and the job audio copies. */
  tempDir?: string;
}

export async function startWorkerServer(config: ServerConfig, options: StartWorkerOptions = {}): Promise<RunningWorker> {
  if (config.redisUrl === undefined) {
    throw new ConfigError("earshot worker runs the jobs of a Redis queue: set EARSHOT_REDIS_URL (or --redis-url) to the Redis the servers use");
  }
  if (config.jobsConcurrency === 0) throw new ConfigError("earshot worker runs at least one job at a time: EARSHOT_JOBS_CONCURRENCY must be 1 or more");
  const models = await openModels(config);
  const { transcription, releaseVad, swept } = await startTranscription(config, models, options.tempDir).catch(async (error: unknown) => {
    await models.close();
    throw error;
  });

  const app = Fastify({ logger: withLogRedaction(options.logger ?? { level: config.logLevel }), ...openAiClientErrors });
  // /health is public; /metrics and anything else need an API key when keys are configured (as on the server).
  installAuthorization(app, new ApiKeys(config.apiKeys));
  // The server's error handling (before any route: every route's context inherits it): OpenAI's shape for anything
  // thrown and for unknown URLs.
  app.register(openAiErrors);
  app.log.info({ config: describeConfig(config) }, "effective configuration");
  if (swept.length > 0) app.log.info({ removed: swept }, "removed the temp dirs of Earshot processes that are gone");

  let jobs: JobsRuntime;
  try {
    jobs = JobsRuntime.open(config, { transcription, log: app.log.child({ component: "jobs" }), tempDir: options.tempDir });
  } catch (error) {
    throw new ConfigError(`could not open the batch jobs queue (EARSHOT_REDIS_URL): ${(error as Error).message}`);
  }
  const backend = jobs.backend as RedisJobBackend;

  const metrics = config.metrics === "off" ? undefined : new ServerMetrics({ engines: () => models.loaded().map(({ model, engine }) => ({ model, stats: engine.stats() })), realtimeSessions: () => 0, diarizationsRunning: () => transcription.voices.running });
  if (metrics) {
    models.observe(metrics);
    transcription.voices.observe(metrics);
    registerWorkerMetrics(metrics, backend);
  }

  // Redis must answer a PING now (within EARSHOT_REDIS_TIMEOUT_SECONDS): a hung Redis keeps its connections open.
  app.get("/health", { config: { access: "public" } }, async (_request, reply) => {
    const redisUp = await backend.ping();
    return reply.code(redisUp ? 200 : 503).send({
      status: redisUp ? "ok" : "degraded",
      role: "worker",
      redis: redisUp ? "up" : "down",
      jobsRunning: backend.runningHere,
      jobsConcurrency: config.jobsConcurrency,
    });
  });
  if (metrics && config.metrics !== "off") app.register(metricsRoute, { exposure: config.metrics, metrics });

  const closeAll = async () => {
    await jobs.close();
    await app.close().catch(() => undefined);
    await models.close();
    await releaseVad();
  };
  try {
    await models.preload();
    for (const { model, engine } of models.loaded()) {
      const { build, threadsPerJob, parallelJobs, kind } = engine.info;
      app.log.info({ model, engine: kind, whisper: build.whisperVersion, threadsPerJob, parallelJobs }, "model loaded");
    }
  } catch (error) {
    await closeAll();
    throw new ConfigError(`could not load the model ${(error as { modelPath?: string }).modelPath ?? models.defaultModel.path}: ${(error as Error).message}`);
  }

  let address: string;
  try {
    address = await app.listen({ host: config.host, port: config.workerPort });
  } catch (error) {
    await closeAll();
    throw error;
  }
  jobs.startWorker();
  app.log.info({ redis: redactUrl(config.redisUrl), concurrency: config.jobsConcurrency }, "worker taking jobs from Redis");
  let closing: Promise<void> | undefined;
  return {
    app,
    url: address.replace("[::1]", "localhost"),
    close() {
      closing ??= closeAll();
      return closing;
    },
  };
}

/** The worker's own metrics: its running jobs and what became of those it ran; the queue's counts at scrape time. */
function registerWorkerMetrics(metrics: ServerMetrics, backend: RedisJobBackend): void {
  const registers = [metrics.registry];
  new Gauge({
    name: "earshot_worker_jobs_running",
    help: "Batch jobs this worker is running.",
    registers,
    collect() {
      this.set(backend.runningHere);
    },
  });
  const processed = new Counter({
    name: "earshot_worker_jobs_total",
    help: "Batch jobs this worker ran, by outcome (succeeded, failed, cancelled, interrupted).",
    labelNames: ["outcome"],
    registers,
  });
  for (const outcome of ["succeeded", "failed", "cancelled", "interrupted"]) processed.inc({ outcome }, 0);
  backend.onProcessed((outcome) => processed.inc({ outcome }));
  new Gauge({
    name: "earshot_jobs_queue",
    help: "Batch jobs in the shared queue by state (queued, running), all owners; absent while Redis is away.",
    labelNames: ["state"],
    registers,
    async collect() {
      this.reset();
      const counts = await backend.counts().catch(() => undefined);
      if (!counts) return;
      this.set({ state: "queued" }, counts.queued);
      this.set({ state: "running" }, counts.running);
    },
  });
}
