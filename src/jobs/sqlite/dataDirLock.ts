// One process at a time owns an embedded jobs store: at startup it requeues the jobs that were running, which is
// only right when no other process runs them. The owner holds a lock file with its pid; a lock whose process is
// gone (killed, crashed) is taken over.
import fs from "node:fs";

/** Lock files held by this process (a second store on the same directory in one process is refused too). */
const heldHere = new Set<string>();

export class DataDirInUseError extends Error {
  override name = "DataDirInUseError";
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Takes the lock at `file`; returns its release. Throws DataDirInUseError when a live process holds it. */
export function lockDataDir(file: string): () => void {
  if (heldHere.has(file)) throw new DataDirInUseError(`${file} is already open in this process`);
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      fs.writeFileSync(file, `${process.pid}\n`, { flag: "wx", mode: 0o600 });
      heldHere.add(file);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        heldHere.delete(file);
        try {
          if (fs.readFileSync(file, "utf8").trim() === String(process.pid)) fs.rmSync(file, { force: true });
        } catch {
          // already gone
        }
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    const holder = Number.parseInt(fs.readFileSync(file, "utf8").trim(), 10);
    if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && processAlive(holder)) {
      throw new DataDirInUseError(`the jobs store ${file} is in use by another Earshot process (pid ${holder}); give each server its own EARSHOT_DATA_DIR, or use EARSHOT_REDIS_URL to share jobs`);
    }
    // The holder is gone (or it was this pid, from a process before this one): take over.
    fs.rmSync(file, { force: true });
  }
  throw new DataDirInUseError(`could not take the lock ${file}`);
}
