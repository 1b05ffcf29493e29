// Directories made without fs.mkdir's `recursive: true`: Node's recursive mkdir never returns for a path the kernel
// refuses with ENOENT under a parent that exists (any path under /proc: mkdir /proc/x is ENOENT, /proc exists, so it
// retries /proc/x forever at 100 % CPU, sync and async alike). Made here one level at a time, an unusable directory
// (the data dir, the models dir, the TLS dir) is an error within milliseconds.
import fs from "node:fs";
import path from "node:path";

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
