// Real earshot processes for the multi-process tests: the built CLI (dist/, `npm run build`) started with a clean
// environment (no EARSHOT_* of the caller), its JSON log lines collected, killed on close (SIGKILL for what is
// left). `earshot serve` and `earshot worker` print "listening on <url>" once they take requests.
import { type ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

import { getTestModelPath } from "../../src/models/testModel/index.js";

const root = path.resolve(import.meta.dirname, "..", "..");

export interface LogLine {
  level: number;
  msg: string;
  [field: string]: unknown;
}

export interface EarshotProcess {
  name: string;
  child: ChildProcess;
  /** The URL it listens on (the API for serve; /health and /metrics for worker). */
  url: string;
  /** Everything it wrote so far, stdout and stderr. */
  output(): string;
  /** Its JSON log lines so far. */
  logs(): LogLine[];
  /** Whether it has exited. */
  readonly exited: boolean;
  /** SIGKILL, then resolves once it is gone. */
  kill9(): Promise<void>;
  /** SIGTERM, then resolves with its exit code once it is gone (SIGKILL after `ms`). */
  stop(ms?: number): Promise<number | null>;
}

/** Whether dist/ is built (the multi-process tests run the built CLI). */
export function builtCli(): boolean {
  return fs.existsSync(path.join(root, "dist", "cli", "main.js"));
}

/**
 * Starts `earshot <args>` with the generated test model on 127.0.0.1 (ports 0) plus `env`, and resolves once it
 * listens (rejects with its output if it exits first or takes more than `timeoutMs`).
 */
export async function startEarshot(name: string, args: string[], env: Record<string, string>, timeoutMs = 60_000): Promise<EarshotProcess> {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith("EARSHOT_") && !key.startsWith("npm_")));
  const child = spawn(process.execPath, [path.join(root, "bin", "earshot.js"), ...args], {
    cwd: root,
    env: {
      ...clean,
      EARSHOT_HOST: "127.0.0.1",
      EARSHOT_PORT: "0",
      EARSHOT_WORKER_PORT: "0",
      EARSHOT_LOG_LEVEL: "info",
      EARSHOT_MODEL: await getTestModelPath("tiny"),
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  let exited = false;
  const exit = new Promise<number | null>((resolve) =>
    child.once("exit", (code) => {
      exited = true;
      resolve(code);
    }),
  );
  child.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not listen within ${timeoutMs} ms: ${output}`)), timeoutMs);
    const check = () => {
      const match = /listening on (https?:\/\/[\w.:[\]-]+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    };
    child.stdout!.on("data", check);
    child.stderr!.on("data", check);
    void exit.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited (${code}) before listening: ${output}`));
    });
  });
  return {
    name,
    child,
    url,
    output: () => output,
    logs: () =>
      output
        .split("\n")
        .filter((line) => line.startsWith("{"))
        .flatMap((line) => {
          try {
            return [JSON.parse(line) as LogLine];
          } catch {
            return [];
          }
        }),
    get exited() {
      return exited;
    },
    async kill9() {
      if (!exited) child.kill("SIGKILL");
      await exit;
    },
    async stop(ms = 20_000) {
      if (exited) return exit;
      child.kill("SIGTERM");
      const killer = setTimeout(() => child.kill("SIGKILL"), ms);
      const code = await exit;
      clearTimeout(killer);
      return code;
    },
  };
}
