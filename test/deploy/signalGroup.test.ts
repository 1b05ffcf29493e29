// A signal sent to Earshot's whole process group (Ctrl-C in a terminal, `kill -INT -<pgid>`, a service manager
// that signals the group) drains like one sent to Earshot alone: every FFmpeg of an upload in flight (the decoder,
// and for a batch job its FLAC encoder too) is in a group of its own, so none is killed under the upload that the
// drain lets finish.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

import { afterAll, describe, expect, it } from "vitest";

import { JobsClient } from "../jobs/jobsClient.js";
import { rawUpload } from "../support/abuse.js";
import { speechOfLength } from "../support/engineFixtures.js";
import { freePort } from "../support/loopbackPorts.js";
import { waitFor, WINDOW_TEXT } from "../support/server.js";
import { encodeWav } from "../support/speech.js";
import { type Replica, startReplica } from "./replicas.js";

const started: Replica[] = [];
const dataDirs: string[] = [];
afterAll(async () => {
  await Promise.all(started.map((replica) => replica.kill()));
  for (const dir of dataDirs) fs.rmSync(dir, { recursive: true, force: true });
});

/** Pids of the processes whose parent is `pid`. */
function children(pid: number): number[] {
  try {
    return execFileSync("ps", ["-o", "pid=", "--ppid", String(pid)], { encoding: "utf8" }).trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return []; // ps exits 1 when there is none
  }
}

describe("a signal to the whole process group", () => {
  it("Ctrl-C (SIGINT to the group) while an upload is being decoded: the upload is answered, the server exits 0", async () => {
    const replica = await startReplica("group", await freePort(), { EARSHOT_PARALLEL_JOBS: "1", EARSHOT_THREADS: "1", EARSHOT_LOG_LEVEL: "warn" }, { started, ownProcessGroup: true });
    // 8 s of speech streamed to FFmpeg's stdin, in 32-kB writes 200 ms apart: still arriving when the signal comes.
    const upload = rawUpload(`${replica.url}/v1/audio/transcriptions`, { file: encodeWav(await speechOfLength(8), 16_000), filename: "speech.wav", chunkBytes: 32 * 1024, pauseMs: 200 });
    await waitFor("FFmpeg decoding the upload", async () => children(replica.pid).length > 0, 10_000, 50);
    process.kill(-replica.pid, "SIGINT");
    const answer = await upload;
    expect(answer.status, answer.body).toBe(200);
    expect(WINDOW_TEXT.startsWith((JSON.parse(answer.body) as { text: string }).text)).toBe(true);
    expect(await replica.exited).toBe(0);
  }, 60_000);

  it("Ctrl-C while a batch job's upload is being decoded and encoded to FLAC: the job is accepted (202), stored, and runs to its result", async () => {
    // A data dir of our own (the replica removes the one it makes): the job must still be there for the next start.
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "earshot-signal-group-jobs-"));
    dataDirs.push(dataDir);
    const env = { EARSHOT_PARALLEL_JOBS: "1", EARSHOT_THREADS: "1", EARSHOT_LOG_LEVEL: "warn", EARSHOT_DATA_DIR: dataDir };
    const replica = await startReplica("group-jobs", await freePort(), env, { started, ownProcessGroup: true });
    const upload = rawUpload(`${replica.url}/v1/audio/jobs`, { file: encodeWav(await speechOfLength(8), 16_000), filename: "speech.wav", chunkBytes: 32 * 1024, pauseMs: 200 });
    // Both FFmpegs of the upload: the decoder and the FLAC encoder it feeds.
    await waitFor("FFmpeg decoding and encoding the upload", async () => children(replica.pid).length >= 2, 10_000, 50);
    process.kill(-replica.pid, "SIGINT");
    const answer = await upload;
    expect(answer.status, answer.body).toBe(202);
    const { id } = JSON.parse(answer.body) as { id: string };
    expect(await replica.exited).toBe(0);

    // Shutdown does not wait for batch work: the job may have been left queued; the next start runs it.
    const next = await startReplica("group-jobs-next", await freePort(), env, { started });
    const jobs = new JobsClient(next.url);
    expect((await jobs.waitFor(id, ["succeeded", "failed", "cancelled"], 60_000)).status).toBe("succeeded");
    const result = await jobs.result(id, "json");
    expect(result.status).toBe(200);
    expect(WINDOW_TEXT.startsWith(((await result.json()) as { text: string }).text)).toBe(true);
  }, 120_000);
});
