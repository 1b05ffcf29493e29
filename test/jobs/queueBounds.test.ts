// The bounds of unfinished jobs through the real route, embedded (SQLite) and on Redis (a real redis-server, an
// API-only server: no job ever finishes there): a place is taken before the upload is read, so uploads at once
// cannot overshoot the bound of all keys (EARSHOT_JOBS_MAX_QUEUED) or of one key (EARSHOT_JOBS_MAX_QUEUED_PER_KEY);
// an upload that fails (415, 400, the client gone) gives its place back; one key at its bound does not hold back
// another. Metadata keys that name prototype machinery are refused.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { speechOfLength } from "../support/engineFixtures.js";
import { startTestRedis, type TestRedis } from "../support/redis.js";
import { encodeWav } from "../support/speech.js";
import { startTestServer, waitFor, type TestServer } from "../support/server.js";
import { JobsClient, splitUpload, type ErrorBody } from "./jobsClient.js";

const ALICE = "sk-alice-queue-bounds-key";
const BOB = "sk-bob-queue-bounds-key-0";

let clip: Buffer;
let longClip: Buffer;
const servers: TestServer[] = [];
const dataDirs: string[] = [];

/** A server on a data dir of its own (returned with it, to look into). */
async function server(flags: Record<string, string | undefined>): Promise<{ s: TestServer; dataDir: string }> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "earshot-bounds-"));
  dataDirs.push(dataDir);
  const s = await startTestServer({ apiKeys: `${ALICE},${BOB}`, parallelJobs: "1", threadsPerJob: "1", jobsConcurrency: "1", jobsMaxUploads: "20", dataDir, ...flags });
  servers.push(s);
  return { s, dataDir };
}

beforeAll(async () => {
  clip = encodeWav(await speechOfLength(3), 16_000);
  // Long enough that no job finishes while the uploads of a burst take their places (about 3 s a job here).
  longClip = encodeWav(await speechOfLength(60), 16_000);
});

let redis: TestRedis | undefined;

afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
  await redis?.close();
  for (const dir of dataDirs) fs.rmSync(dir, { recursive: true, force: true });
});

async function errorOf(response: Response): Promise<ErrorBody["error"]> {
  return ((await response.json()) as ErrorBody).error;
}

/** Waits until the uploads in flight hold `count` places in the data dir's database. */
async function placesHeld(dataDir: string, count: number): Promise<void> {
  const db = new Database(path.join(dataDir, "jobs.db"), { readonly: true, fileMustExist: true });
  try {
    await waitFor(`${count} places held`, async () => (db.prepare("SELECT COUNT(*) FROM job_places").pluck().get() as number) === count, 10_000, 10);
  } finally {
    db.close();
  }
}

describe("unfinished-job bounds, embedded", () => {
  it("uploads at once: exactly the bound of all keys is stored, no key past its own; the others get 429 at once", async () => {
    const { s, dataDir } = await server({ jobsMaxQueued: "5", jobsMaxQueuedPerKey: "3" });
    const alice = new JobsClient(s.url, ALICE);
    const bob = new JobsClient(s.url, BOB);
    const sent = [...Array.from({ length: 8 }, () => ({ who: "alice", response: alice.submitRaw(longClip) })), ...Array.from({ length: 4 }, () => ({ who: "bob", response: bob.submitRaw(longClip) }))];
    const answers = await Promise.all(sent.map(async ({ who, response }) => ({ who, response: await response })));
    const accepted = answers.filter((a) => a.response.status === 202);
    const refused = answers.filter((a) => a.response.status !== 202);
    expect(accepted.length).toBe(5);
    const aliceAccepted = accepted.filter((a) => a.who === "alice").length;
    expect(aliceAccepted).toBeLessThanOrEqual(3);
    expect(5 - aliceAccepted).toBeLessThanOrEqual(3);
    for (const { response } of refused) {
      expect(response.status).toBe(429);
      expect(Number(response.headers.get("retry-after"))).toBeGreaterThan(0);
      const error = await errorOf(response);
      expect(["jobs_queue_full", "rate_limit_exceeded"]).toContain(error.code);
      if (error.code === "rate_limit_exceeded") expect(error.message).toMatch(/This API key .*EARSHOT_JOBS_MAX_QUEUED_PER_KEY/);
      else expect(error.message).toContain("EARSHOT_JOBS_MAX_QUEUED");
    }
    expect((await alice.list()).body.data.length).toBe(aliceAccepted);
    expect((await bob.list()).body.data.length).toBe(5 - aliceAccepted);
    expect(fs.readdirSync(path.join(dataDir, "jobs", "incoming"))).toEqual([]);
    // Done with them: the engine is freed for the next test.
    for (const client of [alice, bob]) for (const job of (await client.list()).body.data) await client.cancel(job.id);
  }, 120_000);

  it("one owner (no API keys): the server's bound is its share", async () => {
    const { s } = await server({ apiKeys: undefined, jobsMaxQueued: "3", jobsMaxQueuedPerKey: "1" });
    const open = new JobsClient(s.url);
    for (let i = 0; i < 2; i++) expect((await open.submitRaw(longClip)).status).toBe(202);
    for (const job of (await open.list()).body.data) await open.cancel(job.id);
  }, 60_000);

  it("a failed upload (415, a refused field, the client gone) gives its place back; another key is not held back", async () => {
    const { s, dataDir } = await server({ jobsMaxQueued: "10", jobsMaxQueuedPerKey: "2" });
    const alice = new JobsClient(s.url, ALICE);
    {
      // One of Alice's two places, held by an upload still arriving.
      const held = splitUpload(s.url, ALICE, longClip, 64 * 1024);
      await placesHeld(dataDir, 1);

      expect((await alice.submitRaw(Buffer.from("this is not audio, only text ".repeat(200)))).status).toBe(415);
      for (const key of ["__proto__", "constructor", "prototype"]) {
        const response = await alice.submitRaw(clip, { [`metadata[${key}]`]: "x" });
        expect(response.status).toBe(400);
        expect(await errorOf(response)).toMatchObject({ param: "metadata" });
      }
      const gone = splitUpload(s.url, ALICE, longClip, 64 * 1024);
      await placesHeld(dataDir, 2);
      gone.abort();
      await placesHeld(dataDir, 1);

      // Alice's second place: had any of those kept theirs, this one would be refused at once.
      const second = splitUpload(s.url, ALICE, clip, 1024);
      await placesHeld(dataDir, 2);
      const third = await alice.submitRaw(clip);
      expect(third.status).toBe(429);
      expect(third.headers.get("retry-after")).toBeTruthy();
      const error = await errorOf(third);
      expect(error).toMatchObject({ type: "rate_limit_error", code: "rate_limit_exceeded", param: null });
      expect(error.message).toContain("This API key has 2 jobs waiting, running or being uploaded");
      // Bob is not held back by Alice's share.
      const bobs = await new JobsClient(s.url, BOB).submitRaw(clip);
      expect(bobs.status).toBe(202);

      second.sendRest();
      expect((await second.response).status).toBe(202);
      held.abort();
    }
  }, 120_000);
});

/** 8 uploads of Alice and 4 of Bob at once; returns how many of each were stored, having checked every refusal. */
async function burst(url: string, clipToSend: Buffer): Promise<{ alice: number; bob: number }> {
  const alice = new JobsClient(url, ALICE);
  const bob = new JobsClient(url, BOB);
  const sent = [...Array.from({ length: 8 }, () => ({ who: "alice", response: alice.submitRaw(clipToSend) })), ...Array.from({ length: 4 }, () => ({ who: "bob", response: bob.submitRaw(clipToSend) }))];
  const answers = await Promise.all(sent.map(async ({ who, response }) => ({ who, response: await response })));
  for (const { response } of answers.filter((a) => a.response.status !== 202)) {
    expect(response.status).toBe(429);
    expect(Number(response.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(["jobs_queue_full", "rate_limit_exceeded"]).toContain((await errorOf(response)).code);
  }
  const stored = (who: string) => answers.filter((a) => a.who === who && a.response.status === 202).length;
  return { alice: stored("alice"), bob: stored("bob") };
}

describe("unfinished-job bounds, Redis", () => {
  it("uploads at once to an API server: exactly the bound stored, no key past its own; a failed upload gives its place back", async () => {
    redis = await startTestRedis();
    const { s } = await server({ redisUrl: redis.url, jobsConcurrency: "0", secretKey: "queue-bounds-test-secret-key-32-bytes", jobsMaxQueued: "5", jobsMaxQueuedPerKey: "3" });
    const stored = await burst(s.url, clip);
    expect(stored.alice + stored.bob).toBe(5);
    expect(Math.max(stored.alice, stored.bob)).toBe(3);
    // No job runs on an API-only server: the bounds stay reached.
    const alice = new JobsClient(s.url, ALICE);
    const bob = new JobsClient(s.url, BOB);
    const full = stored.alice === 3 ? alice : bob;
    const own = await full.submitRaw(clip);
    expect(own.status).toBe(429);
    expect(await errorOf(own)).toMatchObject({ code: "rate_limit_exceeded", message: expect.stringContaining("its limit of 3 (EARSHOT_JOBS_MAX_QUEUED_PER_KEY)") as unknown as string });
    const other = await (full === alice ? bob : alice).submitRaw(clip);
    expect(other.status).toBe(429);
    expect(await errorOf(other)).toMatchObject({ code: "jobs_queue_full" });

    // One job of the full key cancelled: one place, which a failed upload takes and gives back.
    const [first] = (await full.list()).body.data;
    expect((await full.cancel(first!.id)).status).toBe(200);
    expect((await full.submitRaw(Buffer.from("not audio at all, only text ".repeat(100)))).status).toBe(415);
    const again = await full.submitRaw(clip, { "metadata[__proto__]": "x" });
    expect(again.status).toBe(400);
    expect((await full.submitRaw(clip)).status).toBe(202);
    expect((await full.submitRaw(clip)).status).toBe(429);
  }, 120_000);
});
