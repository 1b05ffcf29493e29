import type { Command } from "commander";

import { loadServerConfig, redactUrl, type ServerConfigInput } from "../../config.js";
import { closeOnSignals, startOrConfigError } from "../runUntilSignalled.js";

/** `earshot worker`: runs batch jobs from the shared Redis queue; only /health and /metrics on its own port. */
export function registerWorkerCommand(program: Command): void {
  program
    .command("worker")
    .description("run batch jobs from the Redis queue the servers share (EARSHOT_REDIS_URL); serves only /health and /metrics (default port 8001)")
    .option("--redis-url <url>", "the Redis the servers queue jobs in, redis://[user:password@]host:port[/db] (env EARSHOT_REDIS_URL)")
    .option("--host <host>", "interface of /health and /metrics (env EARSHOT_HOST)")
    .option("-p, --port <port>", "port of /health and /metrics (env EARSHOT_WORKER_PORT, default 8001)")
    .option("-m, --model <name|path>", "default model, as the servers' (env EARSHOT_MODEL)")
    .option("--extra-models <list>", "more models, as the servers' (env EARSHOT_EXTRA_MODELS)")
    .option("--aliases <list>", "model ids mapped to models, as the servers' (env EARSHOT_MODEL_ALIASES)")
    .option("--jobs-concurrency <n>", "jobs run at once (env EARSHOT_JOBS_CONCURRENCY, default 1)")
    .option("--parallel-jobs <n>", "engine job slots: chunks transcribed at once (env EARSHOT_PARALLEL_JOBS)")
    .option("--threads-per-job <n>", "CPU threads per engine job (env EARSHOT_THREADS)")
    .option("--ffmpeg-path <path>", "FFmpeg binary (env EARSHOT_FFMPEG_PATH)")
    .option("--data-dir <dir>", "where the webhook key file is kept (env EARSHOT_DATA_DIR)")
    .option("--metrics <mode>", "GET /metrics: open, key (behind EARSHOT_API_KEYS) or off (env EARSHOT_METRICS, default key when API keys are set, else open)")
    .option("--log-level <level>", "fatal|error|warn|info|debug|trace|silent (env EARSHOT_LOG_LEVEL)")
    .action(async (rawFlags: Record<string, string | boolean | undefined>) => {
      const { port, ...rest } = rawFlags;
      const flags = Object.fromEntries(Object.entries({ ...rest, workerPort: port }).map(([key, value]) => [key, value === true ? "true" : value])) as ServerConfigInput;
      const worker = await startOrConfigError(async () => {
        const config = loadServerConfig(flags);
        // Loaded here, not at the top: the other commands start without the worker's modules.
        const { startWorkerServer } = await import("../../server/workerServer.js");
        const started = await startWorkerServer(config);
        process.stderr.write(`earshot: worker listening on ${started.url} (/health, /metrics), running jobs from ${redactUrl(config.redisUrl)}\n`);
        return started;
      });
      if (!worker) return;
      // Stop claiming, interrupt the running jobs (back in the queue for any worker within one encoder pass), exit.
      // A second signal exits at once.
      closeOnSignals(worker, {
        message: "shutting down: running jobs go back to the queue",
        deadlineMs: 60_000,
        deadlineMessage: "shutdown did not complete in 60 s: exiting",
      });
    });
}
