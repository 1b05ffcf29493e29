// A real redis-server (Debian's, installed by scripts/ensure-test-services.mjs) for the batch-job tests: on a
// free loopback port, its own temp dir, no persistence unless asked; it can be stopped and started again on the
// same port (Redis going away and coming back).
import { type ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";

import { freePort } from "./loopbackPorts.js";

/** Where redis-server is: EARSHOT_REDIS_SERVER, else on PATH or in /usr/bin, /usr/sbin. */
export function findRedisServer(): string {
  const given = process.env.EARSHOT_REDIS_SERVER;
  if (given) return given;
  for (const dir of (process.env.PATH ?? "").split(":").concat(["/usr/bin", "/usr/sbin", "/usr/local/bin"])) {
    const candidate = path.join(dir || ".", "redis-server");
    if (dir && fs.existsSync(candidate)) return candidate;
  }
  throw new Error("redis-server not found: install it (apt-get install redis-server; `npm test` does so through scripts/ensure-test-services.mjs) or set EARSHOT_REDIS_SERVER");
}

export interface TestRedis {
  port: number;
  /** redis://127.0.0.1:port */
  url: string;
  /** Whether the server is running (between start and stop). */
  readonly running: boolean;
  /** Stops the server (SIGTERM, then SIGKILL after 5 s): clients see the connection go. */
  stop(): Promise<void>;
  /** Starts it again on the same port: empty, or with its data when started with `persist`. */
  restart(): Promise<void>;
  /** Stops it and removes its dir. */
  close(): Promise<void>;
  /** The server's output so far (for failure messages). */
  output(): string;
}

export interface TestRedisOptions {
  /** Keep the data across stop/restart (append-only file, fsync at every write); default off. */
  persist?: boolean;
}

/** Starts redis-server on a free loopback port; resolves once it accepts connections. */
export async function startTestRedis(options: TestRedisOptions = {}): Promise<TestRedis> {
  const binary = findRedisServer();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "earshot-redis-"));
  const port = await freePort();
  let child: ChildProcess | undefined;
  let log = "";

  const start = async () => {
    const args = ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--save", "", ...(options.persist ? ["--appendonly", "yes", "--appendfsync", "always"] : ["--appendonly", "no"]), "--protected-mode", "yes", "--daemonize", "no", "--loglevel", "warning"];
    const started = spawn(binary, args, { stdio: ["ignore", "pipe", "pipe"] });
    child = started;
    started.stdout!.on("data", (chunk: Buffer) => (log += chunk.toString()));
    started.stderr!.on("data", (chunk: Buffer) => (log += chunk.toString()));
    const exited = new Promise<never>((_, reject) => started.once("exit", (code) => reject(new Error(`redis-server exited (${code}): ${log}`))));
    exited.catch(() => {});
    const deadline = Date.now() + 10_000;
    for (;;) {
      if (await answersPing(port)) return;
      if (started.exitCode !== null) await exited;
      if (Date.now() > deadline) throw new Error(`redis-server did not answer on port ${port} within 10 s: ${log}`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  };

  const stop = async () => {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null || running.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => running.once("exit", () => resolve()));
    running.kill("SIGTERM");
    const killer = setTimeout(() => running.kill("SIGKILL"), 5_000);
    await exited;
    clearTimeout(killer);
  };

  await start();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    get running() {
      return child !== undefined && child.exitCode === null;
    },
    stop,
    restart: start,
    async close() {
      await stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
    output: () => log,
  };
}

/** Whether something on 127.0.0.1:port answers a Redis PING with +PONG. */
function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1_000, () => done(false));
    socket.once("error", () => done(false));
    socket.once("connect", () => socket.write("PING\r\n"));
    socket.once("data", (data: Buffer) => done(data.toString().startsWith("+PONG")));
  });
}
