// Earshot replicas as a service manager runs them: the built CLI (`node bin/earshot.js serve`, dist/) in its own
// process, configured only through EARSHOT_* environment variables, stopped with SIGTERM.
import { type ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

import { getTestModelPath } from "../../src/models/testModel/index.js";

const root = path.resolve(import.meta.dirname, "..", "..");

export interface Replica {
  name: string;
  port: number;
  url: string;
  pid: number;
  /** Everything the process wrote (stdout and stderr). */
  output(): string;
  /** Resolves with the exit code once the process has exited. */
  exited: Promise<number | null>;
  hasExited(): boolean;
  /** Sends SIGTERM (a rolling restart's stop); resolves at once. */
  term(): void;
  /** Ends the process whatever its state (test cleanup). */
  kill(): Promise<void>;
}

export interface ReplicaOptions {
  /** Every replica started is pushed here, listening or not, for the test's cleanup. */
  started?: Replica[];
  /** Leads a process group of its own (as a terminal's foreground job, or a service under a manager that signals the group). */
  ownProcessGroup?: boolean;
}

/**
 * Starts `node bin/earshot.js serve` on 127.0.0.1:`port` with the generated test model, its own data dir (a
 * machine of its own, as far as state goes) and `env`; resolves once it listens.
 */
export async function startReplica(name: string, port: number, env: Record<string, string>, options: ReplicaOptions = {}): Promise<Replica> {
  if (!fs.existsSync(path.join(root, "dist", "cli", "main.js"))) throw new Error("dist/ is not built: npm run build (npm test builds it first)");
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith("EARSHOT_") && !key.startsWith("npm_")));
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `earshot-replica-${name}-`));
  const child: ChildProcess = spawn(process.execPath, ["bin/earshot.js", "serve"], {
    cwd: root,
    env: { ...inherited, EARSHOT_HOST: "127.0.0.1", EARSHOT_PORT: String(port), EARSHOT_MODEL: await getTestModelPath("tiny"), EARSHOT_DATA_DIR: dataDir, ...env },
    stdio: ["ignore", "pipe", "pipe"],
    detached: options.ownProcessGroup ?? false,
  });
  let output = "";
  let done = false;
  const exited = new Promise<number | null>((resolve) =>
    child.once("exit", (code) => {
      done = true;
      fs.rmSync(dataDir, { recursive: true, force: true });
      resolve(code);
    }),
  );
  const replica: Replica = {
    name,
    port,
    url: `http://127.0.0.1:${port}`,
    pid: child.pid!,
    output: () => output,
    exited,
    hasExited: () => done,
    term: () => void child.kill("SIGTERM"),
    async kill() {
      if (!done) child.kill("SIGKILL");
      await exited;
    },
  };
  options.started?.push(replica);
  await new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes(`listening on http://127.0.0.1:${port}`)) resolve();
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    void exited.then((code) => reject(new Error(`replica ${name} exited (${code}) before listening:\n${output}`)));
  });
  return replica;
}

/** The value of one Prometheus sample (`name{labels} value`) in `text`, summed over the lines whose labels include `labels`. */
export function metricSum(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const labelText = line.slice(name.length).match(/^\{(.*)\}/)?.[1] ?? "";
    if (Object.entries(labels).every(([key, value]) => labelText.includes(`${key}="${value}"`))) sum += Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return sum;
}

/** GET /metrics on the replica directly (not through the proxy), with the API key as a Prometheus scraper sends it. */
export async function scrape(replica: Replica, apiKey: string): Promise<string> {
  const response = await fetch(`${replica.url}/metrics`, { headers: { authorization: `Bearer ${apiKey}` } });
  if (!response.ok) throw new Error(`${replica.name} /metrics: ${response.status}`);
  return response.text();
}
