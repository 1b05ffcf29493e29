// A realtime session's limits, against hostile clients and a real server on loopback: 20 sessions each sending a
// 14-MB append must not stall /health, their work must stop once they close, the number of sessions is capped, a
// session's audio is taken in no faster than the configured speed (the client is slowed by back-pressure instead),
// the idle timeout is not kept alive by invalid messages, and a session lets go of what large appends held. Shares
// per key and per client secret are in shares.test.ts, message and buffer sizes in badInput.test.ts.
import { spawn } from "node:child_process";
import http from "node:http";
import { createRequire } from "node:module";
import { performance } from "node:perf_hooks";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { sampleMax } from "../support/abuse.js";
import { COMPLETED, RealtimeClient, realtimeUrl, REALTIME_RATE } from "../support/realtime.js";
import { sleep, startTestServer, type TestServer, waitFor } from "../support/server.js";

const KEY = "sk-earshot-session-limits-key";
const auth = { headers: { Authorization: `Bearer ${KEY}` } };

/**
 * Attacking clients in a child process, so that building and masking their 14-MB frames is not done by the process the
 * server runs in. Each opens a session, sends one append of `bytes` (masked, as any client's) and keeps the session
 * open until told to close. Reports `{sent}` once every message is handed to the socket, `{closed}` when all are closed.
 */
const ATTACKERS = `
const { wsPath, url, sessions, bytes } = JSON.parse(process.argv[1]);
const { WebSocket } = require(wsPath);
const prefix = '{"type":"input_audio_buffer.append","audio":"';
const chars = Math.floor((bytes - prefix.length - 2) / 8) * 8;
const pcm = Buffer.alloc((chars / 4) * 3);
for (let i = 0; i < pcm.length; i += 2) pcm.writeInt16LE(((i * 7919) % 600) - 300, i);
const message = Buffer.from(prefix + pcm.toString("base64") + '"}');
const sockets = [];
let sent = 0;
for (let i = 0; i < sessions; i++) {
  const ws = new WebSocket(url);
  sockets.push(ws);
  ws.on("error", (e) => process.send({ error: String(e) }));
  ws.once("message", () => ws.send(message, { binary: false }, () => { if (++sent === sessions) process.send({ sent }); }));
}
process.on("message", async () => {
  await Promise.all(sockets.map((ws) => new Promise((resolve) => { ws.once("close", resolve); ws.close(); })));
  process.send({ closed: true });
});
process.on("disconnect", () => process.exit(0));
`;

interface Attackers {
  messages: Array<{ sent?: number; closed?: boolean; error?: string }>;
  close(): void;
  kill(): void;
}

function attack(url: string, sessions: number, bytes: number): Attackers {
  const data = JSON.stringify({ wsPath: createRequire(import.meta.url).resolve("ws"), url, sessions, bytes });
  const child = spawn(process.execPath, ["-e", ATTACKERS, data], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
  const messages: Attackers["messages"] = [];
  child.on("message", (message: Attackers["messages"][number]) => messages.push(message));
  return { messages, close: () => child.send("close"), kill: () => child.kill("SIGKILL") };
}

/** GET /health in a loop over one keep-alive connection, recording each latency in ms. */
function probeHealth(url: string): { latencies: number[]; stop: () => Promise<void> } {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const latencies: number[] = [];
  let stopped = false;
  const done = (async () => {
    while (!stopped) {
      const started = performance.now();
      await new Promise<void>((resolve, reject) => {
        http.get(`${url}/health`, { agent }, (response) => {
          response.resume();
          response.on("end", () => (response.statusCode === 200 ? resolve() : reject(new Error(`status ${response.statusCode}`))));
        }).on("error", reject);
      });
      latencies.push(performance.now() - started);
      await sleep(10);
    }
  })();
  return {
    latencies,
    stop: async () => {
      stopped = true;
      await done;
      agent.destroy();
    },
  };
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

describe("realtime abuse", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server?.close();
  });

  it("keeps /health fast while 20 sessions each send a 14-MB append, and stops their work once they close", async () => {
    const SESSIONS = 20;
    const BYTES = 14 * 1_048_576;
    const audioSeconds = (BYTES * 0.75) / 48_000;
    const probe = probeHealth(server.url);
    const attackers = attack(realtimeUrl(server.url), SESSIONS, BYTES);
    const { messages } = attackers;
    try {
      const started = performance.now();
      await waitFor("the sessions to open", async () => server.server.app.realtime.stats().sessions === SESSIONS || messages.find((m) => m.error), 30_000, 20);
      // Each message is taken in at no more than 20 × real time (after a 10-s burst): ~11 s for ~230 s of audio.
      await waitFor("every append to arrive", async () => server.server.app.realtime.stats().busySessions === SESSIONS || messages.find((m) => m.error), 60_000, 20);
      expect(messages.filter((m) => m.error)).toEqual([]);
      expect(performance.now() - started).toBeGreaterThan(((audioSeconds - 10) / 20) * 1000 * 0.9);
      // The server now holds 20 × ~230 s of audio to decode; keep probing while it works through it.
      await sleep(3000);
      const during = [...probe.latencies];
      const stats = server.server.app.realtime.stats();
      expect(stats.sessions).toBe(SESSIONS);
      // Still at it: the appends are processed in slices, not all at once.
      expect(stats.busySessions).toBe(SESSIONS);
      expect(during.length).toBeGreaterThan(50);
      expect(percentile(during, 99), `p99 of ${during.length} probes: ${during.map((l) => l.toFixed(0)).join(" ")}`).toBeLessThan(100);

      // The clients go: within a second nothing is left of their sessions, and the event loop is idle.
      const closedAt = performance.now();
      attackers.close();
      await waitFor("the clients to close", async () => messages.some((m) => m.closed), 10_000, 10);
      await waitFor("no sessions, no work", async () => {
        const now = server.server.app.realtime.stats();
        return now.sessions === 0 && now.busySessions === 0 && now.pendingSlices === 0;
      }, 1000, 10);
      expect(performance.now() - closedAt).toBeLessThan(1500);
      const before = performance.eventLoopUtilization();
      const afterProbes = probe.latencies.length;
      await sleep(1000);
      const utilization = performance.eventLoopUtilization(before).utilization;
      const after = probe.latencies.slice(afterProbes);
      expect(utilization, "event loop utilization in the second after the clients closed").toBeLessThan(0.25);
      expect(Math.max(...after)).toBeLessThan(50);
    } finally {
      await probe.stop();
      attackers.kill();
    }
  }, 120_000);
});

describe("realtime session cap", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ realtimeMaxSessions: "3" });
  });
  afterAll(async () => {
    await server?.close();
  });

  it("refuses the session over the cap with an OpenAI-shaped 429, and accepts one again once a session closes", async () => {
    const open = await Promise.all([1, 2, 3].map(() => RealtimeClient.open(realtimeUrl(server.url))));
    const refused = (await RealtimeClient.connect(realtimeUrl(server.url)).then(
      () => {
        throw new Error("the fourth session was accepted");
      },
      (error: unknown) => error,
    )) as { status?: number; body?: string };
    expect(refused.status).toBe(429);
    expect(JSON.parse(refused.body!)).toEqual({
      error: { type: "rate_limit_error", code: "rate_limit_exceeded", param: null, message: expect.stringMatching(/limit is 3/) },
    });
    expect(server.server.app.realtime.stats().sessions).toBe(3);

    await open[0]!.close();
    await waitFor("the session to be gone", async () => server.server.app.realtime.stats().sessions === 2, 2000);
    const again = await RealtimeClient.open(realtimeUrl(server.url));
    expect(again.closed).toBeUndefined();
    await Promise.all([again, ...open.slice(1)].map((client) => client.close()));
  });
});

describe("realtime audio speed limit", () => {
  const SPEED = 60;
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ realtimeMaxSpeed: String(SPEED) });
  });
  afterAll(async () => {
    await server?.close();
  });

  it("processes 10 minutes of audio sent as fast as possible no faster than the configured speed, pausing the client", async () => {
    const client = await RealtimeClient.open(realtimeUrl(server.url));
    // Quiet noise (no speech, so no turns to transcribe), in 1-s appends.
    const seconds = 600;
    const pcm = Buffer.alloc(seconds * REALTIME_RATE * 2);
    for (let i = 0; i < pcm.length; i += 2) pcm.writeInt16LE(((i * 7919) % 400) - 200, i);
    const started = performance.now();
    let paused = 0;
    const watch = setInterval(() => {
      if (server.server.app.realtime.stats().pausedSessions === 1) paused++;
    }, 50);
    await client.streamAudio(pcm, { chunkMs: 1000 });
    // Every append is handled before the clear that follows them.
    client.send({ type: "input_audio_buffer.clear" });
    await client.next("input_audio_buffer.cleared", 0, 60_000);
    const processedMs = performance.now() - started;
    clearInterval(watch);
    // 10 s of burst, then at most SPEED × real time.
    const floorMs = ((seconds - 10) / SPEED) * 1000;
    expect(processedMs).toBeGreaterThan(floorMs * 0.95);
    expect(processedMs).toBeLessThan(floorMs * 2.5);
    // Meanwhile the server did not read the socket most of the time: the client was held back by TCP back-pressure
    // (how far it got ahead is up to the kernel's socket buffers, not the server's memory).
    expect(paused * 50).toBeGreaterThan(processedMs * 0.5);
    expect(client.all("error")).toEqual([]);
    expect(client.closed).toBeUndefined();
    await client.close();
  }, 60_000);
});

describe("the idle timeout", () => {
  let idle: TestServer;
  beforeAll(async () => {
    idle = await startTestServer({ apiKeys: KEY, realtimeIdleTimeoutSeconds: "1.5" });
  });
  afterAll(async () => {
    await idle?.close();
  });

  /** Sends `message()` every 250 ms until the socket closes or `ms` have passed. */
  async function keepSending(client: RealtimeClient, ms: number, message: (n: number) => void): Promise<void> {
    const deadline = Date.now() + ms;
    for (let n = 0; Date.now() < deadline && !client.closed; n++) {
      message(n);
      await sleep(250);
    }
  }

  it("is not restarted by invalid messages: a client sending only those is closed", async () => {
    const client = await RealtimeClient.open(realtimeUrl(idle.url), auth);
    const openedAt = Date.now();
    const invalid = [
      () => client.send({ type: "input_audio_buffer.append", audio: Buffer.from([1, 2, 3]).toString("base64") }),
      () => client.send({ type: "input_audio_buffer.append", audio: "" }),
      () => client.socket.send("{not json"),
      () => client.send({ type: "no.such.event" }),
      () => client.send({ type: "input_audio_buffer.commit" }),
      () => client.send({ type: "session.update", session: { type: "transcription", audio: { input: { turn_detection: { threshold: 2 } } } } }),
    ];
    await keepSending(client, 5000, (n) => invalid[n % invalid.length]!());
    await client.until("close", () => client.closed, 5000);
    expect(client.all("error").map((e) => e.error.code)).toContain("idle_timeout");
    // Closed about 1.5 s after it opened, however many invalid messages came meanwhile.
    expect(Date.now() - openedAt).toBeLessThan(3500);
  });

  it("is restarted by valid audio, and by a clear or session.update that succeeds", async () => {
    const valid = [
      // One sample of audio is enough.
      (client: RealtimeClient) => client.send({ type: "input_audio_buffer.append", audio: Buffer.alloc(2).toString("base64") }),
      (client: RealtimeClient) => client.send({ type: "input_audio_buffer.clear" }),
      (client: RealtimeClient) => client.send({ type: "session.update", session: { type: "transcription" } }),
    ];
    await Promise.all(
      valid.map(async (send) => {
        const client = await RealtimeClient.open(realtimeUrl(idle.url), auth);
        // Twice the idle timeout.
        await keepSending(client, 3000, () => send(client));
        expect(client.closed, client.types()).toBeUndefined();
        expect(client.all("error")).toHaveLength(0);
        await client.close();
      }),
    );
  });
});

describe("memory", () => {
  let big: TestServer;
  beforeAll(async () => {
    big = await startTestServer({ apiKeys: KEY, realtimeMaxSpeed: "10000", realtimeMaxBufferSeconds: "600" });
  });
  afterAll(async () => {
    await big?.close();
  });

  /** An append of `bytes` (message size) of quiet noise, as base64 PCM16. */
  function quietAppend(bytes: number): string {
    const prefix = '{"type":"input_audio_buffer.append","audio":"';
    const chars = Math.floor((bytes - prefix.length - 2) / 8) * 8;
    const pcm = Buffer.alloc((chars / 4) * 3);
    for (let i = 0; i < pcm.length; i += 2) pcm.writeInt16LE(((i * 7919) % 60) - 30, i);
    return `${prefix}${pcm.toString("base64")}"}`;
  }

  /** Bytes of client data the big server's open realtime sessions hold. */
  const heldBytes = () => big.server.app.realtime.stats().heldBytes;

  /** Sends `messages`, then a clear, and waits for it: every append before it has been handled. */
  async function sendAndSettle(client: RealtimeClient, messages: string[]): Promise<number> {
    const sampler = sampleMax(heldBytes, 10);
    const cleared = client.all("input_audio_buffer.cleared").length;
    for (const message of messages) client.socket.send(message);
    client.send({ type: "input_audio_buffer.clear" });
    await client.next("input_audio_buffer.cleared", cleared, 120_000);
    return sampler.stop();
  }

  it("a session lets go of its buffers after 14-MB appends are handled and cleared or committed", async () => {
    const message = quietAppend(14 * 1_048_576);
    // Server VAD: the appends' audio is silence, dropped as it is decoded; the messages themselves are held meanwhile.
    const vad = await RealtimeClient.open(realtimeUrl(big.url), auth);
    const vadPeak = await sendAndSettle(vad, [message, message]);
    expect(vadPeak).toBeGreaterThan(14 * 1_048_576);
    expect(heldBytes()).toBeLessThan(1_048_576);
    await vad.close();

    // Manual commit: all of it is held until it is cleared (218 s of audio an append: 14 MB at 16 kHz).
    const manual = await RealtimeClient.open(realtimeUrl(big.url), auth);
    manual.send({ type: "session.update", session: { type: "transcription", audio: { input: { turn_detection: null } } } });
    await manual.next("session.updated");
    const manualPeak = await sendAndSettle(manual, [message, message]);
    expect(manualPeak).toBeGreaterThan(2 * 14 * 1_048_576);
    expect(heldBytes()).toBeLessThan(1_048_576);
    // Committed audio is let go once its transcription is done.
    manual.socket.send(quietAppend(1_048_576));
    manual.send({ type: "input_audio_buffer.commit" });
    await manual.next(COMPLETED, 0, 60_000);
    await waitFor("the turn's audio to be let go", async () => heldBytes() < 1_048_576, 5000);
    expect(manual.closed).toBeUndefined();
    await manual.close();
    await waitFor("the closed sessions to be gone", async () => heldBytes() === 0, 5000);
  });
});
