import type { Command } from "commander";

import { loadServerConfig } from "../../config.js";
import { closeOnSignals, startOrConfigError } from "../runUntilSignalled.js";
import { addSettingOptions, settingFlags } from "../settingOptions.js";

/** `earshot serve`: the OpenAI-compatible HTTP API. */
export function registerServeCommand(program: Command): void {
  const serve = program.command("serve").description("start the OpenAI-compatible speech-to-text server (default http://127.0.0.1:8000)");
  // A flag for every setting the server reads, from the settings table (src/config/settings.ts).
  addSettingOptions(serve, "serve")
    .action(async (_options: unknown, command: Command) => {
      const flags = settingFlags(command, "serve");
      let drainSeconds = 0;
      const server = await startOrConfigError(async () => {
        const config = loadServerConfig(flags);
        // The whole shutdown: still taking work while the load balancer notices, then the drain.
        drainSeconds = config.drainAcceptSeconds + config.drainTimeoutSeconds;
        // Loaded here, not at the top: the other commands start without the server's modules.
        const { startServer } = await import("../../server/server.js");
        return startServer(config);
      });
      if (!server) return;
      process.stderr.write(`earshot: listening on ${server.url} (OpenAI base URL: ${server.url}/v1)\n`);
      if (server.tls?.selfSigned) {
        process.stderr.write(`earshot: self-signed certificate ${server.tls.certPath} (clients: NODE_EXTRA_CA_CERTS=${server.tls.certPath})\n`);
      }
      // Stop accepting, let in-flight requests finish within the drain deadline, abort the rest, exit. A second
      // signal exits at once; so does a close that hangs well past the deadline.
      const signals = closeOnSignals(server, {
        message: "shutting down: draining in-flight requests",
        fields: { drainSeconds },
        deadlineMs: (drainSeconds + 10) * 1000,
        deadlineMessage: "shutdown did not complete after the drain deadline: exiting",
      });
      // Started by npm (`npx earshot serve`, `npm start`): npm runs the command under a shell, and a SIGTERM sent
      // to npm reaches that shell, which dies without passing it on. Once the parent is gone (this process has been
      // reparented), shut down as if signalled instead of being left running as an orphan.
      if (process.env.npm_command !== undefined || process.env.npm_lifecycle_event !== undefined) {
        const parent = process.ppid;
        const watch = setInterval(() => {
          if (process.ppid === parent) return;
          clearInterval(watch);
          // Not a second signal: a drain already under way goes on.
          if (!signals.closing) signals.shutdown("parent exited");
        }, 250);
        watch.unref();
      }
    });
}
