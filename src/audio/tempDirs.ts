// The decoder's private temp directories (for inputs that need a seekable file) are named after the process that
// made them, `earshot-audio-<pid>-XXXXXX`, so that a later process can remove those a killed one left behind.
import { lstat, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { processAlive } from "../processAlive.js";

const TEMP_DIR_NAME = /^earshot-audio-(\d+)-[A-Za-z0-9]{6}$/;

/** The mkdtemp prefix of this process's decoding temp dirs. */
export function tempDirPrefix(pid: number = process.pid): string {
  return `earshot-audio-${pid}-`;
}

/**
 * Removes the decoding temp dirs under `parent` (default the OS temp dir) whose owner process is gone: only dirs
 * named by {@link tempDirPrefix}, owned by this user, not symlinks, whose pid is not a live process. Returns the
 * paths removed. Never throws: a dir it cannot read or remove is left alone.
 */
export async function sweepStaleTempDirs(parent: string = tmpdir()): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(parent);
  } catch {
    return [];
  }
  const uid = process.getuid?.();
  const removed: string[] = [];
  for (const name of names) {
    const match = TEMP_DIR_NAME.exec(name);
    if (!match) continue;
    const pid = Number(match[1]);
    if (pid === process.pid || processAlive(pid)) continue;
    const path = join(parent, name);
    try {
      const stat = await lstat(path);
      if (!stat.isDirectory() || (uid !== undefined && stat.uid !== uid)) continue;
      await rm(path, { recursive: true, force: true });
      removed.push(path);
    } catch {
      // gone meanwhile, or not ours to remove
    }
  }
  return removed;
}
