import type { Command } from "commander";

import { ConfigError, loadServerConfig, redactUrl, type ServerConfigInput } from "../../config.js";
import type { startWorkerServer } from "../../server/workerServer.js";

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
    .option("--metrics <mode>", "GET /metrics: open, key (behind EARSHOT_API_KEYS) or off (env EARSHOT_METRICS, default open)")
    .option("--log-level <level>", "fatal|error|warn|info|debug|trace|silent (env EARSHOT_LOG_LEVEL)")
    .action(async (rawFlags: Record<string, string | boolean | undefined>) => {
      const { port, ...rest } = rawFlags;
      const flags = Object.fromEntries(Object.entries({ ...rest, workerPort: port }).map(([key, value]) => [key, value === true ? "true" : value])) as ServerConfigInput;
      let worker: Awaited<ReturnType<typeof startWorkerServer>>;
      try {
        const config = loadServerConfig(flags);
        // Loaded here, not at the top: the other commands start without the worker's modules.
        const { startWorkerServer: start } = await import("../../server/workerServer.js");
        worker = await start(config);
        process.stderr.write(`earshot: worker listening on ${worker.url} (/health, /metrics), running jobs from ${redactUrl(config.redisUrl)}\n`);
      } catch (error) {
        if (error instanceof ConfigError) {
          process.stderr.write(`earshot: ${error.message}\n`);
          process.exitCode = 2;
          return;
        }
        throw error;
      }
      let closing = false;
      // Stop claiming, interrupt the running jobs (back in the queue for any worker within one encoder pass), exit.
      // A second signal exits at once.
      const shutdown = (signal: string) => {
        if (closing) process.exit(1);
        closing = true;
        worker.app.log.info({ signal }, "shutting down: running jobs go back to the queue");
        setTimeout(() => {
          worker.app.log.error("shutdown did not complete in 60 s: exiting");
          process.exit(1);
        }, 60_000).unref();
        worker.close().then(
          () => process.exit(0),
          () => process.exit(1),
        );
      };
      process.on("SIGINT", () => shutdown("SIGINT"));
      process.on("SIGTERM", () => shutdown("SIGTERM"));
    });
}
