// What the `earshot models` subcommands share: where they write, one-line errors with an exit code, and the models
// directory and download server read through src/config.ts.
import { loadConfig, readDotenv } from "../../config.js";
import { ModelDownloadAbortedError } from "../../models/errors.js";

/** Where the command writes; `isTTY` decides between a progress bar and plain lines. */
export interface CommandOutput {
  write(text: string): unknown;
  isTTY?: boolean;
}

/** The command's surroundings, replaceable in tests. */
export interface ModelsCommandIO {
  stdout: CommandOutput;
  stderr: CommandOutput;
  /** The environment the settings are read from. */
  env: NodeJS.ProcessEnv;
  /** Where `.env` is read from. */
  cwd: string;
}

/** `1.5 GiB`, `74.1 MiB`, `512 B`. */
export function formatBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`;
}

export function line(out: CommandOutput, text = ""): void {
  out.write(`${text}\n`);
}

/** Runs an action; any error becomes one line on stderr and a non-zero exit code, never a stack trace. */
export async function guarded(io: ModelsCommandIO, action: () => Promise<void>): Promise<void> {
  try {
    await action();
  } catch (err) {
    fail(io, err);
  }
}

export function fail(io: ModelsCommandIO, err: unknown): void {
  const message = err instanceof Error ? err.message : String(err);
  line(io.stderr, `error: ${message}`);
  process.exitCode = err instanceof ModelDownloadAbortedError ? 130 : 1;
}

/** The models directory and download server: flags > environment > .env > defaults (src/config.ts). */
export function settings(io: ModelsCommandIO, opts: { modelsDir?: string; baseUrl?: string }): { modelsDir: string; modelsBaseUrl: string | undefined } {
  return loadConfig(["modelsDir", "modelsBaseUrl"], { modelsDir: opts.modelsDir, modelsBaseUrl: opts.baseUrl }, io.env, readDotenv(io.cwd));
}
