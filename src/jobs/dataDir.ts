// The data dir (EARSHOT_DATA_DIR) and the directories under it, made without fs.mkdirSync's `recursive: true`:
// Node's recursive mkdir never returns for a path the kernel refuses with ENOENT under a parent that exists (any path
// under /proc: mkdir /proc/x is ENOENT, /proc exists, so it retries /proc/x forever at 100 % CPU). Made here one level
// at a time, an unusable dir is an error naming the setting within milliseconds.
import fs from "node:fs";
import path from "node:path";

import { ConfigError } from "../config.js";

/** The directory `dir` (and its missing parents), mode `mode` for those it makes; throws the fs error otherwise. */
export function makeDirectory(dir: string, mode = 0o700): void {
  const absolute = path.resolve(dir);
  try {
    fs.mkdirSync(absolute, { mode });
    return;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "EEXIST") {
      if (fs.statSync(absolute).isDirectory()) return;
      throw Object.assign(new Error(`${absolute} exists and is not a directory`), { code: "ENOTDIR" });
    }
    const parent = path.dirname(absolute);
    if (code !== "ENOENT" || parent === absolute) throw error;
    makeDirectory(parent, mode);
  }
  // Once: a second ENOENT with the parent there is the kernel's final answer (/proc, a dead mount).
  try {
    fs.mkdirSync(absolute, { mode });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST" || !fs.statSync(absolute).isDirectory()) throw error;
  }
}

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
