// What `earshot serve` and `earshot worker` share around the process they run: a configuration error is one line
// on stderr and exit code 2, and SIGINT/SIGTERM close the process's server once, with a deadline.
import { ConfigError } from "../config.js";

/**
 * Runs `start`; a ConfigError (bad settings, a model or FFmpeg that is not usable) is written to stderr as
 * `earshot: <message>` with exit code 2 and gives undefined. Any other error is thrown.
 */
export async function startOrConfigError<T>(start: () => Promise<T>): Promise<T | undefined> {
  try {
    return await start();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`earshot: ${error.message}\n`);
      process.exitCode = 2;
      return undefined;
    }
    throw error;
  }
}

export interface Closable {
  app: { log: { info(fields: object, message: string): void; error(message: string): void } };
  close(): Promise<void>;
}

export interface SignalShutdown {
  /** Closes the process as SIGINT/SIGTERM do; called again while closing, exits at once with 1. */
  shutdown(reason: string): void;
  /** Whether a shutdown has begun. */
  readonly closing: boolean;
}

/**
 * At SIGINT or SIGTERM: logs `message` (with the signal and `fields`), closes `running`, exits 0 (1 when closing
 * failed). A second signal exits at once with 1; so does a close still going after `deadlineMs` (logging
 * `deadlineMessage`).
 */
export function closeOnSignals(
  running: Closable,
  options: { message: string; fields?: object; deadlineMs: number; deadlineMessage: string },
): SignalShutdown {
  let closing = false;
  const shutdown = (signal: string) => {
    if (closing) process.exit(1);
    closing = true;
    running.app.log.info({ signal, ...options.fields }, options.message);
    setTimeout(() => {
      running.app.log.error(options.deadlineMessage);
      process.exit(1);
    }, options.deadlineMs).unref();
    running.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on("SIGINT", () => shutdown("SIGINT"));
  process.on("SIGTERM", () => shutdown("SIGTERM"));
  return {
    shutdown,
    get closing() {
      return closing;
    },
  };
}
