// A real HAProxy on loopback, configured from deploy/haproxy.cfg (the example docs/operations.md shows): the lines that
// file marks "filled in by the test" (log target, stats socket, binds, servers) get this run's values, the rest
// is used as written. Its log (option httplog, on stdout) and its stats socket are read by the tests.
import { type ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";

import { resolveTls } from "../../src/server/tls.js";
import { freePort, portOpen } from "./loopbackPorts.js";

const root = path.resolve(import.meta.dirname, "..", "..");
export const HAPROXY_TEMPLATE = path.join(root, "deploy", "haproxy.cfg");

/** The haproxy binary (Debian puts it in /usr/sbin, often not on a user's PATH); fails naming how to get it. */
export function haproxyPath(): string {
  const dirs = (process.env.PATH ?? "").split(":").concat(["/usr/sbin", "/usr/local/sbin", "/usr/bin"]);
  for (const dir of dirs) {
    const candidate = path.join(dir, "haproxy");
    if (dir && fs.existsSync(candidate)) return candidate;
  }
  throw new Error("haproxy not found: apt-get install haproxy (npm test runs scripts/ensure-test-services.mjs, which installs it)");
}

export interface HaproxyBackend {
  /** The server's name in the config (and in the X-Earshot-Replica header). */
  name: string;
  port: number;
}

export interface HaproxySettings {
  httpPort: number;
  httpsPort: number;
  /** Certificate then private key, one PEM file (HAProxy's `crt`). */
  pemPath: string;
  socketPath: string;
  servers: HaproxyBackend[];
}

/**
 * deploy/haproxy.cfg with this run's values: each marked line is replaced, and a template that no longer has one
 * of them is an error (the example and the test cannot drift apart silently).
 */
export function renderHaproxyConfig(template: string, settings: HaproxySettings): string {
  let text = template;
  const replace = (what: string, pattern: RegExp, replacement: string) => {
    if (!pattern.test(text)) throw new Error(`deploy/haproxy.cfg: no ${what} line (${pattern}) to fill in`);
    text = text.replace(pattern, replacement);
  };
  replace("log", /^(\s*)log \/dev\/log local0$/m, "$1log stdout format raw local0 info");
  replace("stats socket", /^(\s*)stats socket \S+/m, `$1stats socket ${settings.socketPath}`);
  replace("plain bind", /^(\s*)bind :80$/m, `$1bind 127.0.0.1:${settings.httpPort}`);
  replace("TLS bind", /^(\s*)bind :443 ssl crt \S+/m, `$1bind 127.0.0.1:${settings.httpsPort} ssl crt ${settings.pemPath}`);
  const serverLines = /^(\s*)server earshot-a \S+\n\s*server earshot-b \S+$/m;
  const indent = serverLines.exec(text)?.[1] ?? "    ";
  replace("server", serverLines, settings.servers.map((server) => `${indent}server ${server.name} 127.0.0.1:${server.port}`).join("\n"));
  return text;
}

/** One line of HAProxy's `option httplog` output, the fields the tests read. */
export interface HaproxyLogLine {
  line: string;
  server: string;
  status: number;
  /** Retries HAProxy made; `redispatched` when one went to another server. */
  retries: number;
  redispatched: boolean;
  method: string;
  path: string;
}

/** Parses `option httplog` lines: `... frontend backend/server Tq/Tw/Tc/Tr/Tt status bytes ... conns retries "METHOD path HTTP/1.1"`. */
export function parseHttpLog(line: string): HaproxyLogLine | undefined {
  const match = /\s\S+\s\S+\/(\S+) -?\d+\/-?\d+\/-?\d+\/-?\d+\/\+?-?\d+ (-?\d+) \+?\d+ \S+ \S+ \S+ \d+\/\d+\/\d+\/\d+\/(\+?)(\d+) \d+\/\d+ "(\S+) (\S+)/.exec(line);
  if (!match) return undefined;
  return { line, server: match[1]!, status: Number(match[2]), redispatched: match[3] === "+", retries: Number(match[4]), method: match[5]!, path: match[6]! };
}

export interface ServerState {
  /** UP, DOWN, MAINT, or a transition such as "UP 1/2". */
  status: string;
  /** Requests (sessions) sent to the server so far. */
  total: number;
}

export interface RunningHaproxy {
  /** http://127.0.0.1:port (plain) */
  httpUrl: string;
  /** https://127.0.0.1:port (TLS ends at HAProxy; the replicas speak plain HTTP) */
  httpsUrl: string;
  /** The certificate HAProxy serves (trust it as `ca`). */
  ca: string;
  config: string;
  /** Every line HAProxy logged so far. */
  logLines(): string[];
  /** The request log, parsed. */
  requests(): HaproxyLogLine[];
  /** `show stat` for the backend's servers. */
  servers(): Promise<Record<string, ServerState>>;
  /** Waits until `server`'s status is `status` (e.g. "UP", "DOWN"). */
  waitForServer(server: string, status: string, timeoutMs?: number): Promise<void>;
  /** A command on the stats socket (e.g. "disable health earshot/earshot-a"); resolves with HAProxy's answer. */
  command(command: string): Promise<string>;
  stop(): Promise<void>;
}

/** Sends one command to HAProxy's stats socket and returns its answer. */
export function statsCommand(socketPath: string, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(socketPath);
    let answer = "";
    socket.on("data", (chunk: Buffer) => (answer += chunk.toString()));
    socket.on("end", () => resolve(answer));
    socket.on("error", reject);
    socket.on("connect", () => socket.write(`${command}\n`));
  });
}

/** Starts HAProxy in the foreground with deploy/haproxy.cfg filled in for `servers`; resolves once it listens. */
export async function startHaproxy(servers: HaproxyBackend[]): Promise<RunningHaproxy> {
  const binary = haproxyPath();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "earshot-haproxy-"));
  const tls = (await resolveTls({ tlsSelfSigned: true, host: "127.0.0.1", dir }))!;
  const pemPath = path.join(dir, "earshot.pem");
  fs.writeFileSync(pemPath, `${tls.cert.trim()}\n${tls.key.trim()}\n`, { mode: 0o600 });
  const settings: HaproxySettings = { httpPort: await freePort(), httpsPort: await freePort(), pemPath, socketPath: path.join(dir, "admin.sock"), servers };
  const config = renderHaproxyConfig(fs.readFileSync(HAPROXY_TEMPLATE, "utf8"), settings);
  const configPath = path.join(dir, "haproxy.cfg");
  fs.writeFileSync(configPath, config);

  const lines: string[] = [];
  let partial = "";
  // -db: stay in the foreground, no daemon.
  const child: ChildProcess = spawn(binary, ["-db", "-f", configPath], { stdio: ["ignore", "pipe", "pipe"] });
  const onData = (chunk: Buffer) => {
    partial += chunk.toString();
    const parts = partial.split("\n");
    partial = parts.pop()!;
    lines.push(...parts.filter((part) => part.length > 0));
  };
  child.stdout!.on("data", onData);
  child.stderr!.on("data", onData);
  let exited = false;
  const exit = new Promise<void>((resolve) => child.once("exit", () => ((exited = true), resolve())));

  const servers_ = async (): Promise<Record<string, ServerState>> => {
    const csv = (await statsCommand(settings.socketPath, "show stat")).trim().split("\n");
    const header = csv[0]!.replace(/^# /, "").split(",");
    const column = (name: string) => header.indexOf(name);
    const states: Record<string, ServerState> = {};
    for (const row of csv.slice(1)) {
      const cells = row.split(",");
      if (cells[column("pxname")] !== "earshot" || ["BACKEND", "FRONTEND"].includes(cells[column("svname")]!)) continue;
      states[cells[column("svname")]!] = { status: cells[column("status")]!, total: Number(cells[column("stot")]) };
    }
    return states;
  };
  const running: RunningHaproxy = {
    httpUrl: `http://127.0.0.1:${settings.httpPort}`,
    httpsUrl: `https://127.0.0.1:${settings.httpsPort}`,
    ca: tls.cert,
    config,
    logLines: () => [...lines],
    requests: () => lines.map(parseHttpLog).filter((line): line is HaproxyLogLine => line !== undefined),
    servers: servers_,
    command: (command) => statsCommand(settings.socketPath, command),
    async waitForServer(server, status, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      let last: ServerState | undefined;
      while (Date.now() < deadline) {
        last = (await servers_().catch(() => ({}) as Record<string, ServerState>))[server];
        if (last?.status === status) return;
        if (exited) break;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      throw new Error(`HAProxy: ${server} did not become ${status} (last: ${last?.status ?? "unknown"}); log:\n${lines.slice(-20).join("\n")}`);
    },
    async stop() {
      if (!exited) child.kill("SIGTERM");
      await exit;
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    const deadline = Date.now() + 10_000;
    while (!fs.existsSync(settings.socketPath) || !(await portOpen(settings.httpPort))) {
      if (exited || Date.now() > deadline) throw new Error(`HAProxy did not start: ${lines.join("\n")}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  } catch (error) {
    await running.stop();
    throw error;
  }
  return running;
}
