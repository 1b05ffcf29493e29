// Batch jobs on a Redis that is protected, and on one that hangs, against a real redis-server:
//   - an ACL user from the URL (redis://user:password@host) runs the whole queue (API, BullMQ worker, cancel
//     channel) within `~earshot:*`; a wrong password or none gets 503, never a crash;
//   - rediss:// is TLS with the server's certificate checked: refused when not trusted, working when it is
//     (NODE_EXTRA_CA_CERTS, in a process of its own);
//   - the webhook signing key is never readable in Redis: sealed with a key derived from EARSHOT_SECRET_KEY (the same
//     key on every process opens it, another does not); one an older Earshot stored in the clear is sealed in place;
//     a server on Redis with neither EARSHOT_WEBHOOK_SECRET nor EARSHOT_SECRET_KEY does not start;
//   - `earshot worker`'s /health pings Redis: a Redis that accepts connections and answers nothing (SIGSTOP) is
//     reported 503 "degraded" within the command timeout, and "ok" again once it answers.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { ConfigError, loadServerConfig } from "../../src/config.js";
import type { TranscriptionResult } from "../../src/engine/types.js";
import { RedisJobBackend, type RedisJobBackendOptions } from "../../src/jobs/redis/RedisJobBackend.js";
import type { JobOutcome, NewJob } from "../../src/jobs/types.js";
import { generateWebhookSecret } from "../../src/jobs/webhookSecret.js";
import { getTestModelPath } from "../../src/models/testModel/index.js";
import { resolveTls } from "../../src/server/tls.js";
import { startWorkerServer } from "../../src/server/workerServer.js";
import { ApiError } from "../../src/api/errors.js";
import { freePort } from "../support/loopbackPorts.js";
import { findRedisServer, startTestRedis, type TestRedis } from "../support/redis.js";
import { startTestServer, waitFor } from "../support/server.js";

const ADMIN_PASSWORD = "redis-admin-password-for-tests";
const USER = "earshot";
const USER_PASSWORD = "earshot-acl-password-for-tests";
const SECRET_KEY = "redis-safety-test-secret-key-of-32-bytes";

let redis: TestRedis;
let admin: Redis;
let userUrl: string;
let dir: string;
const closers: Array<() => Promise<unknown>> = [];

/** The URL with credentials in it, as an operator writes EARSHOT_REDIS_URL. */
function urlWith(user: string, password: string): string {
  return `redis://${encodeURIComponent(user)}:${encodeURIComponent(password)}@127.0.0.1:${redis.port}`;
}

function backend(options: Partial<RedisJobBackendOptions> = {}): RedisJobBackend {
  const made = new RedisJobBackend({
    url: userUrl,
    commandTimeoutMs: 2_000,
    maxJobAudioBytes: 1_000_000,
    maxStoredAudioBytes: 10_000_000,
    lockMs: 2_000,
    stalledCheckMs: 1_000,
    maxRecoveries: 1,
    maxQueued: 100,
    maxQueuedPerOwner: 100,
    secretKey: SECRET_KEY,
    tempDir: dir,
    ...options,
  });
  closers.push(() => made.close());
  return made;
}

function newJob(): NewJob {
  return {
    owner: "key_acl",
    task: "transcribe",
    model: "whisper-1",
    filename: "clip.flac",
    metadata: null,
    webhookUrl: null,
    settings: { model: "whisper-1", task: "transcribe", chunking: { type: "auto" } },
    render: { responseFormat: "json", timestampGranularities: [], includeLogprobs: false, includeLanguages: false },
    audioSeconds: 1,
  };
}

function audioFile(): { path: string; bytes: number } {
  const file = path.join(dir, `incoming-${Math.random().toString(16).slice(2)}.flac`);
  fs.writeFileSync(file, Buffer.alloc(2048, 7));
  return { path: file, bytes: 2048 };
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "earshot-redis-safety-"));
  redis = await startTestRedis();
  // As an operator locks Redis down: the default user needs a password, Earshot has a user of its own, confined to
  // its keys and channels.
  const setup = new Redis(redis.url, { lazyConnect: true });
  await setup.connect();
  await setup.call("ACL", "SETUSER", USER, "on", `>${USER_PASSWORD}`, "~earshot:*", "&earshot:*", "+@all");
  await setup.call("ACL", "SETUSER", "default", "resetpass", `>${ADMIN_PASSWORD}`);
  setup.disconnect();
  admin = new Redis(urlWith("default", ADMIN_PASSWORD));
  userUrl = urlWith(USER, USER_PASSWORD);
});

afterAll(async () => {
  for (const close of closers.reverse()) await close().catch(() => undefined);
  admin?.disconnect();
  await redis?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe("Redis with an ACL user", () => {
  it("the user of the URL runs the queue: submit, a BullMQ worker, the result; a wrong password or none is a 503", async () => {
    const api = backend();
    const worker = backend();
    worker.startWorker(async (job): Promise<JobOutcome> => {
      const result: TranscriptionResult = {
        task: "transcribe",
        language: "en",
        languageProbability: null,
        duration: 1,
        text: `read ${fs.statSync(job.audioPath).size} bytes`,
        segments: [],
        timings: {} as TranscriptionResult["timings"],
      };
      return { status: "succeeded", result };
    }, { concurrency: 1 });
    const place = await api.reserve("key_acl");
    const job = await api.submit(newJob(), audioFile(), place);
    await waitFor("the job to succeed", async () => (await api.get("key_acl", job.id))?.status === "succeeded", 20_000, 50);
    expect((await api.result("key_acl", job.id))?.text).toBe("read 2048 bytes");
    // Everything it stored is under its prefix (the ACL allows nothing else).
    const keys = await admin.keys("*");
    expect(keys.length).toBeGreaterThan(0);
    expect(keys.filter((key) => !key.startsWith("earshot:"))).toEqual([]);

    for (const url of [urlWith(USER, "not-the-password"), `redis://127.0.0.1:${redis.port}`]) {
      const refused = (await backend({ url, commandTimeoutMs: 500 }).submit(newJob(), audioFile()).catch((error: unknown) => error)) as ApiError;
      expect(refused).toBeInstanceOf(ApiError);
      expect(refused).toMatchObject({ status: 503, code: "jobs_unavailable" });
    }
  }, 60_000);
});

describe("the webhook signing key at rest", () => {
  it("is stored sealed: every process with the same EARSHOT_SECRET_KEY gets it back, no other can read it", async () => {
    const key = "earshot:webhook-secret";
    await admin.del(key);
    const first = generateWebhookSecret();
    expect(await backend().sharedWebhookSecret(first)).toBe(first);
    const stored = (await admin.get(key))!;
    expect(stored).toMatch(/^sealed:v1:/);
    expect(stored).not.toContain(first.slice("whsec_".length, 20));
    // Another process with the same EARSHOT_SECRET_KEY: the first one's key, not its own.
    expect(await backend().sharedWebhookSecret(generateWebhookSecret())).toBe(first);
    await expect(backend({ secretKey: "another-secret-key-that-is-32-bytes-long" }).sharedWebhookSecret(generateWebhookSecret())).rejects.toThrow(/EARSHOT_SECRET_KEY/);
    await expect(backend({ secretKey: undefined }).sharedWebhookSecret(generateWebhookSecret())).rejects.toThrow(/EARSHOT_SECRET_KEY/);
    // The value copied under another name does not open (the key's name is sealed in).
    await admin.set("earshot:copied:webhook-secret", stored);
    await expect(backend({ prefix: "earshot:copied" }).sharedWebhookSecret(generateWebhookSecret())).rejects.toThrow(/sealed with another/);

    // A key an older Earshot stored in the clear: kept (receivers verify with it), sealed in place.
    const legacy = generateWebhookSecret();
    await admin.set(key, legacy);
    expect(await backend().sharedWebhookSecret(generateWebhookSecret())).toBe(legacy);
    expect(await admin.get(key)).toMatch(/^sealed:v1:/);
    expect(await backend().sharedWebhookSecret(generateWebhookSecret())).toBe(legacy);
  }, 30_000);

  it("a server on Redis with neither EARSHOT_WEBHOOK_SECRET nor EARSHOT_SECRET_KEY does not start, naming both", async () => {
    const error = (await startTestServer({ redisUrl: userUrl, jobsConcurrency: "0" }).catch((e: unknown) => e)) as Error;
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toContain("EARSHOT_WEBHOOK_SECRET");
    expect(error.message).toContain("EARSHOT_SECRET_KEY");
    // With the key itself configured, nothing of it goes to Redis.
    await admin.del("earshot:webhook-secret");
    const server = await startTestServer({ redisUrl: userUrl, jobsConcurrency: "0", webhookSecret: generateWebhookSecret() });
    closers.push(() => server.close());
    expect((await fetch(`${server.url}/v1/audio/jobs`)).status).toBe(200);
    expect(await admin.exists("earshot:webhook-secret")).toBe(0);
  }, 60_000);
});

const WORKER_KEY = "sk-earshot-worker-metrics-01";

describe("earshot worker's /health and /metrics", () => {
  it("reports a Redis that accepts connections but answers nothing (SIGSTOP) as degraded, 503, and ok once it answers; /metrics is behind the API keys", async () => {
    const config = loadServerConfig(
      {
        model: await getTestModelPath("tiny"),
        host: "127.0.0.1",
        workerPort: "0",
        redisUrl: userUrl,
        secretKey: SECRET_KEY,
        redisTimeoutSeconds: "1",
        dataDir: fs.mkdtempSync(path.join(dir, "worker-data-")),
        parallelJobs: "1",
        threadsPerJob: "1",
        apiKeys: WORKER_KEY,
      },
      {},
      {},
    );
    const worker = await startWorkerServer(config, { logger: false, tempDir: fs.mkdtempSync(path.join(dir, "worker-tmp-")) });
    closers.push(() => worker.close());
    // With API keys set, the worker's /metrics is behind them as the server's is (its /health stays public).
    const noKey = await fetch(`${worker.url}/metrics`);
    expect(noKey.status).toBe(401);
    expect(((await noKey.json()) as { error: { type: string } }).error.type).toBe("authentication_error");
    expect((await fetch(`${worker.url}/metrics`, { headers: { authorization: `Bearer ${WORKER_KEY}` } })).status).toBe(200);
    const health = async () => {
      const response = await fetch(`${worker.url}/health`);
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    };
    await waitFor("Redis up", async () => (await health()).status === 200, 10_000, 50);
    expect((await health()).body).toMatchObject({ status: "ok", role: "worker", redis: "up" });

    const pid = Number(/process_id:(\d+)/.exec(await admin.info("server"))?.[1]);
    expect(pid).toBeGreaterThan(0);
    process.kill(pid, "SIGSTOP");
    try {
      const asked = Date.now();
      const hung = await health();
      expect(hung.status).toBe(503);
      expect(hung.body).toMatchObject({ status: "degraded", role: "worker", redis: "down" });
      // Within the command timeout (1 s here), with room for a loaded machine.
      expect(Date.now() - asked).toBeLessThan(3_000);
    } finally {
      process.kill(pid, "SIGCONT");
    }
    await waitFor("Redis answering again", async () => (await health()).status === 200, 10_000, 50);
    expect((await health()).body).toMatchObject({ status: "ok", redis: "up" });
  }, 60_000);
});

/** redis-server with TLS only (a self-signed certificate for localhost) on a free port; stopped at the end. */
async function startTlsRedis(): Promise<{ port: number; certPath: string }> {
  const tlsDir = fs.mkdtempSync(path.join(dir, "tls-"));
  const tls = (await resolveTls({ tlsSelfSigned: true, host: "localhost", dir: tlsDir }))!;
  const keyPath = path.join(tlsDir, "earshot-self-signed.key");
  const port = await freePort();
  const args = ["--port", "0", "--tls-port", String(port), "--tls-cert-file", tls.certPath, "--tls-key-file", keyPath, "--tls-auth-clients", "no"];
  const child: ChildProcess = spawn(findRedisServer(), [...args, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", tlsDir], { stdio: "ignore" });
  closers.push(async () => {
    child.kill("SIGKILL");
  });
  // Up once it answers a TLS PING (the CLI, trusting the certificate).
  await waitFor(
    "redis-server with TLS",
    async () => spawnSync("redis-cli", ["--tls", "--cacert", tls.certPath, "-h", "localhost", "-p", String(port), "PING"], { encoding: "utf8" }).stdout.trim() === "PONG",
    10_000,
    50,
  );
  return { port, certPath: tls.certPath };
}

describe("Redis over TLS (rediss://)", () => {
  it("checks the server's certificate: an untrusted one is refused (503), a trusted one (NODE_EXTRA_CA_CERTS) runs the queue", async () => {
    const { port, certPath } = await startTlsRedis();
    const url = `rediss://localhost:${port}`;
    const warnings: string[] = [];
    const log = { info: () => undefined, error: () => undefined, warn: (fields: object) => void warnings.push(JSON.stringify(fields)) };
    const untrusted = (await backend({ url, commandTimeoutMs: 1_000, log }).submit(newJob(), audioFile()).catch((error: unknown) => error)) as ApiError;
    expect(untrusted).toMatchObject({ status: 503, code: "jobs_unavailable" });
    expect(warnings.join("\n")).toMatch(/SELF_SIGNED|certificate/i);

    // Trusted as an operator trusts a private CA: the whole process, from its start.
    const script = path.join(dir, "tls-client.mts");
    fs.writeFileSync(
      script,
      `import { RedisJobBackend } from ${JSON.stringify(path.resolve("src/jobs/redis/RedisJobBackend.js"))};
const backend = new RedisJobBackend({ url: process.env.URL, commandTimeoutMs: 5000, maxJobAudioBytes: 1e6, maxStoredAudioBytes: 1e7, lockMs: 2000, stalledCheckMs: 1000, maxRecoveries: 1, maxQueued: 10, maxQueuedPerOwner: 10 });
import fs from "node:fs";
fs.writeFileSync(process.env.AUDIO, Buffer.alloc(100, 1));
const job = await backend.submit({ owner: "key_tls", task: "transcribe", model: "whisper-1", filename: null, metadata: null, webhookUrl: null, settings: { model: "whisper-1", task: "transcribe" }, render: { responseFormat: "json", timestampGranularities: [], includeLogprobs: false, includeLanguages: false }, audioSeconds: 1 }, { path: process.env.AUDIO, bytes: 100 });
console.log(JSON.stringify({ status: job.status, stored: (await backend.get("key_tls", job.id))?.id === job.id }));
await backend.close();
`,
    );
    const run = spawnSync(process.execPath, ["--import", "tsx", script], {
      cwd: process.cwd(),
      encoding: "utf8",
      timeout: 30_000,
      env: { ...process.env, NODE_EXTRA_CA_CERTS: certPath, URL: url, AUDIO: path.join(dir, "tls-audio.flac") },
    });
    expect(run.status, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout.trim().split("\n").at(-1)!)).toEqual({ status: "queued", stored: true });
  }, 60_000);
});
