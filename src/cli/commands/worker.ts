import type { Command } from "commander";

import { loadServerConfig, redactUrl } from "../../config.js";
import { closeOnSignals, startOrConfigError } from "../runUntilSignalled.js";
import { addSettingOptions, settingFlags } from "../settingOptions.js";

/** `earshot worker`: runs batch jobs from the shared Redis queue; only /health and /metrics on its own port. */
export function registerWorkerCommand(program: Command): void {
  const workerCommand = program
    .command("worker")
    .description("run batch jobs from the Redis queue the servers share (EARSHOT_REDIS_URL); serves only /health and /metrics (default port 8001)");
  // A flag for every setting the worker reads (its --port is EARSHOT_WORKER_PORT), from the settings table.
  addSettingOptions(workerCommand, "worker")
    .action(async (_options: unknown, command: Command) => {
      const flags = settingFlags(command, "worker");
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
