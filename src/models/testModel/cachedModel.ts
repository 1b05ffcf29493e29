// The shared cache of generated models (Whisper's and Parakeet's): a file is generated on first use under a unique
// temporary name and renamed into place, so its final name never shows a partial file, across callers and processes.

import { randomBytes } from "node:crypto";
import { promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";

/** The cache directory: `dir` when given, else `$TMPDIR/earshot-test-models`. */
export function testModelCacheDir(dir?: string): string {
  return path.resolve(dir ?? path.join(os.tmpdir(), "earshot-test-models"));
}

const inFlight = new Map<string, Promise<string>>();

/**
 * `file`, written by `generate` (into the temporary path it is given) unless a file of `expectedSize` bytes is
 * already there. One generation per file at a time within this process; across processes the rename decides.
 */
export function cachedModelFile(file: string, expectedSize: () => number, generate: (tmp: string) => Promise<void>): Promise<string> {
  let pending = inFlight.get(file);
  if (!pending) {
    pending = ensureModel(file, expectedSize, generate).finally(() => inFlight.delete(file));
    inFlight.set(file, pending);
  }
  return pending;
}

async function ensureModel(file: string, expectedSize: () => number, generate: (tmp: string) => Promise<void>): Promise<string> {
  const expected = expectedSize();
  const existing = await fs.stat(file).catch(() => undefined);
  if (existing?.isFile() && existing.size === expected) return file;

  await fs.mkdir(path.dirname(file), { recursive: true });
  await removeStaleTempFiles(file);
  const tmp = `${file}.${process.pid}-${randomBytes(4).toString("hex")}.tmp`;
  try {
    await generate(tmp);
    await fs.rename(tmp, file);
  } catch (error) {
    await fs.rm(tmp, { force: true });
    // another process may have won the race on a platform where rename can't replace
    const now = await fs.stat(file).catch(() => undefined);
    if (now?.isFile() && now.size === expected) return file;
    throw error;
  }
  return file;
}

/** Deletes `file`'s temporary siblings left by killed generators (older than an hour). */
async function removeStaleTempFiles(file: string): Promise<void> {
  const dir = path.dirname(file);
  const prefix = `${path.basename(file)}.`;
  const names = await fs.readdir(dir).catch(() => [] as string[]);
  for (const name of names) {
    if (!name.startsWith(prefix) || !name.endsWith(".tmp")) continue;
    const stat = await fs.stat(path.join(dir, name)).catch(() => undefined);
    if (stat && Date.now() - stat.mtimeMs > 3_600_000) await fs.rm(path.join(dir, name), { force: true });
  }
}
