// Processes sharing a data dir name themselves by pid in the rows they hold (running jobs, places); a row whose
// process no longer exists was left by one that died (killed, crashed) and is taken back by the next process.

/** Whether a process with this pid exists on this machine (never true for 0 or a non-integer: no group signal). */
export function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
