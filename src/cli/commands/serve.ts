import type { Command } from "commander";

import { loadServerConfig, type ServerConfigInput } from "../../config.js";
import { closeOnSignals, startOrConfigError } from "../runUntilSignalled.js";

/** `earshot serve`: the OpenAI-compatible HTTP API. */
export function registerServeCommand(program: Command): void {
  program
    .command("serve")
    .description("start the OpenAI-compatible speech-to-text server (default http://127.0.0.1:8000)")
    .option("--host <host>", "interface to listen on (env EARSHOT_HOST)")
    .option("-p, --port <port>", "port (env EARSHOT_PORT)")
    .option("-m, --model <name|path>", "default model, also served as whisper-1 etc. (env EARSHOT_MODEL)")
    .option("--extra-models <list>", "more models to serve, comma-separated (env EARSHOT_EXTRA_MODELS)")
    .option("--aliases <list>", "model ids mapped to models, e.g. whisper-1,gpt-4o-transcribe=small (env EARSHOT_MODEL_ALIASES)")
    .option("--api-keys <list>", "require one of these bearer keys, comma-separated (env EARSHOT_API_KEYS)")
    .option("--cors-origins <list>", "browser origins allowed besides same-origin (env EARSHOT_CORS_ORIGINS)")
    .option("--max-upload-mb <mb>", "upload limit in MB (env EARSHOT_MAX_UPLOAD_MB, default 25)")
    .option("--parallel-jobs <n>", "transcriptions decoded at once (env EARSHOT_PARALLEL_JOBS)")
    .option("--threads-per-job <n>", "CPU threads per transcription (env EARSHOT_THREADS)")
    .option("--max-queued-jobs <n>", "jobs waiting before 429 (env EARSHOT_MAX_QUEUED_JOBS, default 16)")
    .option("--max-decoded-seconds <s>", "longest audio one upload may decode to, refused from the header when it declares more (env EARSHOT_MAX_DECODED_SECONDS, default 7200)")
    .option("--max-decoded-audio-mb <mb>", "decoded audio held in memory by all requests together (env EARSHOT_MAX_DECODED_AUDIO_MB, default 1024)")
    .option("--max-concurrent-decodes <n>", "uploads received and decoded at once (env EARSHOT_MAX_CONCURRENT_DECODES, default job slots + queue)")
    .option("--upload-idle-timeout-seconds <s>", "408 for an upload that sends nothing for this long (env EARSHOT_UPLOAD_IDLE_TIMEOUT_SECONDS, default 30)")
    .option("--upload-timeout-seconds <s>", "408 for an upload not received whole in this long (env EARSHOT_UPLOAD_TIMEOUT_SECONDS, default 600)")
    .option("--drain-timeout-seconds <s>", "at SIGTERM/SIGINT, in-flight requests get this long before they are aborted (env EARSHOT_DRAIN_TIMEOUT_SECONDS, default 30)")
    .option("--drain-accept-seconds <s>", "at SIGTERM/SIGINT, /ready answers 503 but new work is still taken this long before the drain, for a load balancer to notice (env EARSHOT_DRAIN_ACCEPT_SECONDS, default 0)")
    .option("--ffmpeg-path <path>", "FFmpeg binary (env EARSHOT_FFMPEG_PATH)")
    .option(
      "--chunking <mode>",
      "for requests without chunking_strategy: auto = VAD chunks (silence skipped, chunks decoded in parallel), none = one block as OpenAI (env EARSHOT_CHUNKING, default none)",
    )
    .option("--log-level <level>", "fatal|error|warn|info|debug|trace|silent (env EARSHOT_LOG_LEVEL)")
    .option("--tls-cert <file>", "serve HTTPS/WSS with this PEM certificate (env EARSHOT_TLS_CERT)")
    .option("--tls-key <file>", "the certificate's PEM private key (env EARSHOT_TLS_KEY)")
    .option("--tls-self-signed", "serve HTTPS/WSS with a generated self-signed certificate (env EARSHOT_TLS_SELF_SIGNED=1)")
    .option("--realtime-max-session-minutes <n>", "realtime session length limit (env EARSHOT_REALTIME_MAX_SESSION_MINUTES, default 60)")
    .option("--realtime-max-buffer-seconds <n>", "uncommitted realtime audio limit (env EARSHOT_REALTIME_MAX_BUFFER_SECONDS, default 300)")
    .option("--realtime-max-message-mb <n>", "largest realtime client message (env EARSHOT_REALTIME_MAX_MESSAGE_MB, default 15)")
    .option("--realtime-idle-timeout-seconds <n>", "close silent realtime sessions after (env EARSHOT_REALTIME_IDLE_TIMEOUT_SECONDS, default 300)")
    .option("--realtime-max-sessions <n>", "realtime sessions open at once, more are refused with 429 (env EARSHOT_REALTIME_MAX_SESSIONS, default 100)")
    .option("--realtime-max-sessions-per-key <n>", "realtime sessions one API key may hold open, with 2+ keys (env EARSHOT_REALTIME_MAX_SESSIONS_PER_KEY, default 25)")
    .option("--realtime-max-sockets-per-secret <n>", "realtime sockets one client secret may hold open (env EARSHOT_REALTIME_MAX_SOCKETS_PER_SECRET, default 2)")
    .option("--realtime-max-speed <x>", "a realtime session's audio is processed at most this many times faster than real time (env EARSHOT_REALTIME_MAX_SPEED, default 20)")
    .option("--metrics <mode>", "GET /metrics (Prometheus): open, key (behind the API keys) or off (env EARSHOT_METRICS, default key when API keys are set, else open)")
    .option("--secret-key <key>", "signs realtime client secrets so every replica with it accepts them, at least 32 bytes (env EARSHOT_SECRET_KEY, default random per process)")
    .action(async (rawFlags: Record<string, string | boolean | undefined>) => {
      // Commander gives `true` for a bare boolean flag; the configuration takes strings.
      const flags = Object.fromEntries(Object.entries(rawFlags).map(([key, value]) => [key, value === true ? "true" : value])) as ServerConfigInput;
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
