// Whether a process is still there, by pid: files and rows a process leaves behind name it (the decoders' temp dirs,
// the embedded job store's running jobs and places), and the next process takes back those whose owner is gone.

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
