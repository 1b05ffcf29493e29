// A signal sent to Earshot's whole process group (Ctrl-C in a terminal, `kill -INT -<pgid>`, a service manager
// that signals the group) drains like one sent to Earshot alone: the FFmpeg decoding an upload in flight is in a
// group of its own, so it is not killed under the upload that the drain lets finish.
import { execFileSync } from "node:child_process";

import { afterAll, describe, expect, it } from "vitest";

import { rawUpload } from "../support/abuse.js";
import { speechOfLength } from "../support/engineFixtures.js";
import { freePort } from "../support/loopbackPorts.js";
import { waitFor, WINDOW_TEXT } from "../support/server.js";
import { encodeWav } from "../support/speech.js";
import { type Replica, startReplica } from "./replicas.js";

const started: Replica[] = [];
afterAll(async () => {
  await Promise.all(started.map((replica) => replica.kill()));
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
});
