// The data dir (EARSHOT_DATA_DIR) and the directories under it, made with makeDirectory (never Node's recursive
// mkdir, which spins forever under /proc): an unusable dir is an error naming the setting within milliseconds.
import fs from "node:fs";

import { ConfigError } from "../config.js";
import { makeDirectory } from "../makeDirectory.js";

/**
 * The data dir, made when missing and checked writable, or a ConfigError naming EARSHOT_DATA_DIR and why it cannot be
 * used (a path under /proc or under a regular file, a read-only mount, another user's directory).
 */
export function prepareDataDir(dir: string): void {
  try {
    makeDirectory(dir);
    fs.accessSync(dir, fs.constants.R_OK | fs.constants.W_OK | fs.constants.X_OK);
  } catch (error) {
    throw unusableDataDir(dir, error);
  }
}

/** The ConfigError for a data dir (or a directory in it) that cannot be made or written. */
export function unusableDataDir(dir: string, error: unknown): ConfigError {
  const { code, message } = error as NodeJS.ErrnoException;
  return new ConfigError(
    `the data dir ${dir} (EARSHOT_DATA_DIR) cannot be used: ${code ?? message}${code ? ` (${message})` : ""}; set EARSHOT_DATA_DIR to a writable directory`,
  );
}
