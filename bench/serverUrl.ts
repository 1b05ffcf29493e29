// The benchmarks' `earshot serve` children: wait for the line that says where the server listens, and never leave
// one running when the benchmark ends, however it ends.
import type { ChildProcess } from "node:child_process";

const children = new Set<ChildProcess>();
let hooked = false;

/** Kills `child` when this process exits (Ctrl-C and SIGTERM included). */
export function killOnExit(child: ChildProcess): void {
  if (!hooked) {
    hooked = true;
    process.on("exit", () => {
      for (const running of children) running.kill("SIGKILL");
    });
    for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => process.exit(130));
  }
  children.add(child);
  child.once("exit", () => children.delete(child));
}

/** The URL the child's "listening on URL" line names; rejects (with its last output) if it exits first or times out. */
export function serverUrl(child: ChildProcess, timeoutMs = 120_000): Promise<string> {
  let log = "";
  return new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the server did not start within ${timeoutMs / 1000} s: ${log}`)), timeoutMs);
    child.stderr!.on("data", (chunk: Buffer) => {
      log = (log + chunk.toString()).slice(-4000);
      const match = /listening on (\S+) /.exec(log);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`the server exited (${code}) before listening: ${log}`));
    });
  });
}
