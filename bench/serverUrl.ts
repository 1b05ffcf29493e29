// The benchmarks' `earshot serve` children: wait for the line that says where the server listens.
import type { ChildProcess } from "node:child_process";

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
