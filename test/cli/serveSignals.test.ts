// `npx earshot serve`, `npm start` and `node bin/earshot.js serve` all stop on a SIGTERM sent to the process that
// was started: npm runs the command under a shell that does not pass the signal on, so the server notices that its
// parent has gone and drains itself; no server is left running as an orphan. Runs the built CLI (dist/).
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

import { describe, expect, it } from "vitest";

import { getTestModelPath } from "../../src/models/testModel/index.js";
import { portOpen } from "../support/loopbackPorts.js";

const root = path.resolve(import.meta.dirname, "..", "..");

/** Pids of every process under `pid` (from ps). */
function descendants(pid: number): number[] {
  const table = execFileSync("ps", ["-eo", "pid=,ppid="], { encoding: "utf8" })
    .trim()
    .split("\n")
    .map((line) => line.trim().split(/\s+/).map(Number) as [number, number]);
  const found: number[] = [];
  const walk = (parent: number) => {
    for (const [child, ppid] of table) if (ppid === parent) found.push(child), walk(child);
  };
  walk(pid);
  return found;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function startAndTerm(command: string, args: string[]): Promise<void> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith("EARSHOT_") && !key.startsWith("npm_")));
  const child: ChildProcess = spawn(command, args, { cwd: root, env: { ...env, EARSHOT_PORT: "0", EARSHOT_HOST: "127.0.0.1", EARSHOT_LOG_LEVEL: "warn", EARSHOT_MODEL: await getTestModelPath("tiny") }, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  let tree: number[] = [];
  try {
    const port = await new Promise<number>((resolve, reject) => {
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        const match = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(output);
        if (match) resolve(Number(match[1]));
      };
      child.stdout!.on("data", onData);
      child.stderr!.on("data", onData);
      void exited.then(() => reject(new Error(`${command} exited early: ${output}`)));
    });
    tree = descendants(child.pid!);
    child.kill("SIGTERM");
    await exited;
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline && (tree.some(alive) || (await portOpen(port)))) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(tree.filter(alive), `processes left from ${command} ${args.join(" ")}`).toEqual([]);
    expect(await portOpen(port)).toBe(false);
  } finally {
    for (const pid of [child.pid!, ...tree]) if (alive(pid)) process.kill(pid, "SIGKILL");
  }
}

describe("serve stops on SIGTERM, however it was started", () => {
  it("node bin/earshot.js serve, npx earshot serve, npm start", async () => {
    // `npm test` builds dist/ first; run alone, build it (npm run build) before.
    expect(fs.existsSync(path.join(root, "dist", "cli", "main.js")), "dist/ is built (npm run build)").toBe(true);
    await startAndTerm(process.execPath, ["bin/earshot.js", "serve"]);
    await startAndTerm("npx", ["earshot", "serve"]);
    await startAndTerm("npm", ["start", "--silent"]);
  }, 120_000);
});
