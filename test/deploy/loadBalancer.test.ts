// Two Earshot replicas (the built CLI, separate processes, one EARSHOT_SECRET_KEY) behind a real HAProxy configured
// from deploy/haproxy.cfg, on loopback. The official SDK goes through the proxy: transcriptions (json,
// verbose_json, SSE), the realtime WebSocket over the TLS the proxy ends, a client secret minted through the proxy
// and used on each replica directly. Then a rolling restart: one replica gets SIGTERM while uploads and realtime
// sessions are in flight through the proxy; no request fails, every committed turn is completed, the proxy takes
// the replica out through GET /ready, and the restarted replica takes work again. The figures are printed. Last,
// what a draining replica refuses (503) is replayed by the proxy on the other, and the proxy's upload guard.
import fs from "node:fs";
import path from "node:path";

import OpenAI, { toFile } from "openai";
import { OpenAIRealtimeWS } from "openai/realtime/ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { speechOfLength } from "../support/engineFixtures.js";
import { HAPROXY_TEMPLATE, type RunningHaproxy, startHaproxy } from "../support/haproxy.js";
import { freePort } from "../support/loopbackPorts.js";
import { RealtimeClient, realtimeUrl, spokenTurns } from "../support/realtime.js";
import { rawUpload } from "../support/abuse.js";
import { waitFor, WINDOW_TEXT } from "../support/server.js";
import { encodeWav } from "../support/speech.js";
import { ReconnectingTranscriber } from "./reconnectingTranscriber.js";
import { metricSum, type Replica, scrape, startReplica } from "./replicas.js";

const KEY = "sk-earshot-lb-test";
const SECRET_KEY = "lb-test-shared-secret-key-32-bytes-or-more";
/** How the replicas run: one job slot of one thread each (two replicas share the machine's cores). */
const REPLICA_ENV: Record<string, string> = {
  EARSHOT_API_KEYS: KEY,
  EARSHOT_SECRET_KEY: SECRET_KEY,
  EARSHOT_PARALLEL_JOBS: "1",
  EARSHOT_THREADS: "1",
  // Generous: on a loaded 2-core machine the drained replica's queue (5 uploads and realtime turns, one job slot)
  // may take a minute; the test checks that nothing is cut short, not the speed.
  EARSHOT_DRAIN_TIMEOUT_SECONDS: "150",
  // HAProxy takes a replica out after two failed checks (inter 1s, fastinter 250ms): ~1.25 s, and then some.
  EARSHOT_DRAIN_ACCEPT_SECONDS: "3",
  EARSHOT_LOG_LEVEL: "warn",
};
const NAMES = ["earshot-a", "earshot-b"] as const;

let replicas: Record<string, Replica> = {};
/** Every replica process started, for the cleanup (a restarted replica is a new one). */
const processes: Replica[] = [];
const ports: Record<string, number> = {};
let proxy: RunningHaproxy;
let shortWav: Buffer;
let sdk: OpenAI;

beforeAll(async () => {
  for (const name of NAMES) ports[name] = await freePort();
  const started = await Promise.all(NAMES.map((name) => startReplica(name, ports[name]!, REPLICA_ENV, { started: processes })));
  replicas = Object.fromEntries(started.map((replica) => [replica.name, replica]));
  proxy = await startHaproxy(NAMES.map((name) => ({ name, port: ports[name]! })));
  for (const name of NAMES) await proxy.waitForServer(name, "UP");
  shortWav = encodeWav(await speechOfLength(3), 16_000);
  sdk = new OpenAI({ baseURL: `${proxy.httpUrl}/v1`, apiKey: KEY, maxRetries: 0, timeout: 120_000 });
}, 120_000);

afterAll(async () => {
  await proxy?.stop();
  await Promise.all(processes.map((replica) => replica.kill()));
});

/** A transcription of the short clip through the proxy; resolves with the replica that answered. */
async function transcribeThroughProxy(client = sdk): Promise<{ replica: string; text: string }> {
  const { data, response } = await client.audio.transcriptions.create({ file: await toFile(shortWav, "clip.wav"), model: "whisper-1" }).withResponse();
  return { replica: response.headers.get("x-earshot-replica") ?? "", text: data.text };
}

async function transcriptionsServed(replica: Replica): Promise<number> {
  return metricSum(await scrape(replica, KEY), "earshot_http_requests_total", { route: "/v1/audio/transcriptions", status: "200" });
}

describe("two replicas behind HAProxy (deploy/haproxy.cfg)", () => {
  it("docs/operations.md's Deployment section shows deploy/haproxy.cfg as it is tested here", () => {
    const page = fs.readFileSync(path.join(path.dirname(HAPROXY_TEMPLATE), "..", "docs", "operations.md"), "utf8");
    const shown = /^## Deployment$[\s\S]*?^```haproxy\n([\s\S]*?)^```$/m.exec(page)?.[1];
    expect(shown).toBe(fs.readFileSync(HAPROXY_TEMPLATE, "utf8"));
  });

  it("transcriptions through the proxy: json, verbose_json and SSE streamed as it is produced; both replicas serve", async () => {
    const served: string[] = [];
    const { replica, text } = await transcribeThroughProxy();
    served.push(replica);
    expect(text.length).toBeGreaterThan(0);
    expect(WINDOW_TEXT.startsWith(text)).toBe(true);
    const { data: verbose, response } = await sdk.audio.transcriptions
      .create({ file: await toFile(shortWav, "clip.wav"), model: "whisper-1", response_format: "verbose_json", timestamp_granularities: ["segment"] })
      .withResponse();
    served.push(response.headers.get("x-earshot-replica") ?? "");
    expect(verbose.duration).toBeCloseTo(3, 0);
    expect(verbose.segments!.length).toBeGreaterThan(0);
    expect(verbose.segments!.map((s) => s.text).join("").trim()).toBe(verbose.text);

    // SSE: two 30-s windows; the first window's deltas must reach the client well before the second is done
    // (a buffering proxy would hand everything over at the end).
    const started = Date.now();
    const { data: stream, response: streamResponse } = await sdk.audio.transcriptions
      .create({ file: await toFile(encodeWav(await speechOfLength(35), 16_000), "long.wav"), model: "whisper-1", stream: true })
      .withResponse();
    served.push(streamResponse.headers.get("x-earshot-replica") ?? "");
    expect(streamResponse.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const events: Array<{ type: string; at: number; delta?: string; text?: string }> = [];
    for await (const event of stream) events.push({ ...event, at: Date.now() - started });
    const deltas = events.filter((e) => e.type === "transcript.text.delta");
    const done = events.at(-1)!;
    expect(done.type).toBe("transcript.text.done");
    expect(deltas.map((e) => e.delta).join("")).toBe(done.text);
    expect(done.at - deltas[0]!.at, `first delta at ${deltas[0]!.at} ms, done at ${done.at} ms`).toBeGreaterThan(500);

    // Both replicas took requests (leastconn alternates between idle replicas), and each one's own /metrics says so.
    expect(new Set(served)).toEqual(new Set(NAMES));
    for (const name of NAMES) {
      expect(await transcriptionsServed(replicas[name]!), name).toBe(served.filter((s) => s === name).length);
    }
  }, 90_000);

  it("the realtime WebSocket through the proxy (wss://, TLS ended by HAProxy) with the SDK's client; sessions on both replicas", async () => {
    const audio = await spokenTurns(["The quick brown fox jumps over the lazy dog."], { gapMs: 900 });
    const before = await Promise.all(NAMES.map(async (name) => metricSum(await scrape(replicas[name]!, KEY), "earshot_realtime_turns_total", { event: "completed" })));
    const transcribers = [0, 1].map(() => new ReconnectingTranscriber({ baseUrl: proxy.httpsUrl, ca: proxy.ca, apiKey: KEY, pcm: audio.pcm, speed: 4 }));
    const landed = [await transcribers[0]!.open(), await transcribers[1]!.open()];
    expect(new Set(landed)).toEqual(new Set(NAMES));
    await Promise.all(transcribers.map((t) => t.stream()));
    for (const t of transcribers) {
      expect(t.sessions).toHaveLength(1);
      const [session] = t.sessions;
      expect(session!.errors).toEqual([]);
      expect(session!.committed()).toHaveLength(1);
      expect(session!.completed()).toEqual(session!.committed());
      for (const event of session!.events.filter((e) => e.type === "conversation.item.input_audio_transcription.completed")) {
        expect(WINDOW_TEXT.startsWith(event.transcript)).toBe(true);
      }
      await t.close();
    }
    const after = await Promise.all(NAMES.map(async (name) => metricSum(await scrape(replicas[name]!, KEY), "earshot_realtime_turns_total", { event: "completed" })));
    expect(after.map((n, i) => n - before[i]!)).toEqual([1, 1]);
  }, 90_000);

  it("a client secret minted through the proxy opens realtime sockets on each replica directly, and through the proxy", async () => {
    const secret = await sdk.realtime.clientSecrets.create({
      session: { type: "transcription", audio: { input: { transcription: { model: "whisper-1", language: "en" }, turn_detection: null } } },
    });
    expect(secret.value).toMatch(/^ek_/);
    for (const name of NAMES) {
      const client = await RealtimeClient.connect(realtimeUrl(replicas[name]!.url), { headers: { Authorization: `Bearer ${secret.value}` } });
      const created = await client.next("session.created");
      expect(created.session.id, name).toBe(secret.session.id);
      expect(created.session.audio.input.turn_detection).toBeNull();
      await client.close();
    }
    // A browser-style client holding only the secret, through the proxy.
    const rt = await OpenAIRealtimeWS.create(new OpenAI({ apiKey: secret.value, baseURL: `${proxy.httpsUrl}/v1` }), { model: "whisper-1", options: { ca: proxy.ca } });
    const created = await new Promise<{ session: { id?: string } }>((resolve, reject) => {
      rt.on("session.created", (event) => resolve(event as never));
      rt.on("error", reject);
    });
    expect(created.session.id).toBe(secret.session.id);
    rt.close();
    // The secret is no API key, through the proxy either.
    await expect(new OpenAI({ apiKey: secret.value, baseURL: `${proxy.httpUrl}/v1`, maxRetries: 0 }).models.list()).rejects.toMatchObject({ status: 401 });
  }, 60_000);

  it("rolling restart: SIGTERM one replica under load through the proxy; nothing fails, every committed turn completes", async () => {
    const sentences = ["The quick brown fox jumps over the lazy dog.", "Testing one, two, three.", "She sells sea shells by the sea shore."];
    const audio = await spokenTurns(sentences, { gapMs: 900 });
    // Two realtime sessions through the proxy (one on each replica), streaming in real time.
    const transcribers = [0, 1].map(() => new ReconnectingTranscriber({ baseUrl: proxy.httpsUrl, ca: proxy.ca, apiKey: KEY, pcm: audio.pcm, speed: 1 }));
    const landed = [await transcribers[0]!.open(), await transcribers[1]!.open()];
    expect(new Set(landed), "one session on each replica").toEqual(new Set(NAMES));
    const victimName = landed[0]!;
    const survivorName = NAMES.find((name) => name !== victimName)!;
    const victim = replicas[victimName]!;
    const streaming = transcribers.map((t) => t.stream());

    const outcomes: Array<{ phase: string; replica?: string; error?: string }> = [];
    const send = (phase: string) =>
      transcribeThroughProxy().then(
        ({ replica }) => void outcomes.push({ phase, replica }),
        (error: Error) => void outcomes.push({ phase, error: `${(error as { status?: number }).status ?? ""} ${error.message}` }),
      );
    // 10 uploads in flight through the proxy.
    const inFlight = Array.from({ length: 10 }, () => send("in flight at SIGTERM"));
    // SIGTERM once the victim holds uploads and its session has committed a turn.
    const victimSession = transcribers[0]!.sessions[0]!;
    const deadline = Date.now() + 30_000;
    for (;;) {
      const ready = (await (await fetch(`${victim.url}/ready`)).json()) as { uploads: number };
      if (ready.uploads >= 2 && victimSession.committed().length >= 1) break;
      if (Date.now() > deadline) throw new Error(`the victim never got busy: ${JSON.stringify(ready)}, ${victimSession.committed().length} turns`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const termAt = Date.now();
    victim.term();

    // While the proxy has not yet seen /ready go 503: keep sending.
    const window: Array<Promise<void>> = [];
    let down = false;
    const waitDown = proxy.waitForServer(victimName, "DOWN", 20_000).then(() => (down = true));
    while (!down) {
      window.push(send("between SIGTERM and the proxy's DOWN"));
      await Promise.race([waitDown, new Promise((resolve) => setTimeout(resolve, 300))]);
    }
    const downAt = Date.now();
    // After: every new request goes to the survivor.
    const after = Array.from({ length: 2 }, () => send("after the proxy's DOWN"));
    await Promise.all([...inFlight, ...window, ...after]);
    await Promise.all(streaming);
    const exitCode = await victim.exited;
    const exitedAt = Date.now();

    const failed = outcomes.filter((o) => o.error);
    const sessions = transcribers.flatMap((t) => t.sessions);
    const committed = sessions.reduce((n, s) => n + s.committed().length, 0);
    const completed = sessions.reduce((n, s) => n + s.completed().filter((id) => s.committed().includes(id)).length, 0);
    const byPhase = (phase: string) => outcomes.filter((o) => o.phase === phase);
    console.log(
      [
        `rolling restart (SIGTERM ${victimName}; ${survivorName} survives):`,
        `  requests sent ${outcomes.length}, failed ${failed.length}` +
          ` (in flight at SIGTERM ${byPhase("in flight at SIGTERM").length}, sent before the proxy saw it ${window.length}, after ${after.length})`,
        `  realtime: ${transcribers.length} streams, ${sessions.length} sessions, turns committed ${committed}, completed ${completed}`,
        `  proxy took ${victimName} out ${downAt - termAt} ms after SIGTERM; ${victimName} exited ${exitCode} after ${exitedAt - termAt} ms`,
        `  proxy retries: ${proxy.requests().filter((r) => r.retries > 0).length}; 5xx from replicas: ${proxy.requests().filter((r) => r.status >= 500).length}`,
      ].join("\n"),
    );
    // A /metrics sample from the survivor after all that (Earshot's own series; histogram buckets left out).
    const sample = (await scrape(replicas[survivorName]!, KEY)).split("\n").filter((line) => line.startsWith("earshot_") && !line.includes("_bucket{"));
    console.log(`GET /metrics on ${survivorName} (excerpt):\n${sample.join("\n")}`);
    if (failed.length > 0 || completed !== committed) {
      console.log([...failed.map((o) => `failed (${o.phase}): ${o.error}`), ...transcribers.map((t) => t.describe()), ...proxy.logLines().slice(-40)].join("\n"));
    }
    expect(failed).toEqual([]);
    expect(exitCode).toBe(0);
    expect(byPhase("after the proxy's DOWN").map((o) => o.replica)).toEqual(after.map(() => survivorName));

    // Realtime: every committed turn completed; the victim's session was told, finished, closed with 1001, and
    // the client went on through the proxy on the survivor.
    expect(completed).toBe(committed);
    for (const t of transcribers) for (const session of t.sessions) expect(session.errors).toEqual([]);
    const moved = transcribers[0]!;
    expect(moved.sessions.map((s) => s.replica)).toEqual([victimName, survivorName]);
    const drained = moved.sessions[0]!;
    expect(drained.shutdownNoticeAt).toBeDefined();
    expect(drained.closed?.code).toBe(1001);
    const lastCompleted = drained.events.filter((e) => e.type === "conversation.item.input_audio_transcription.completed").at(-1);
    if (lastCompleted) expect(lastCompleted.at).toBeLessThanOrEqual(drained.closed!.at);
    expect(moved.sessions[1]!.committed().length).toBeGreaterThan(0);
    // The session on the survivor was not disturbed.
    expect(transcribers[1]!.sessions.map((s) => s.replica)).toEqual([survivorName]);
    expect(transcribers[1]!.sessions[0]!.committed()).toHaveLength(sentences.length);
    for (const t of transcribers) await t.close();

    // The restart: the replica comes back on its port, the proxy puts it back after two good checks, and it takes work.
    replicas[victimName] = await startReplica(victimName, ports[victimName]!, REPLICA_ENV, { started: processes });
    await proxy.waitForServer(victimName, "UP", 20_000);
    const again = await Promise.all([transcribeThroughProxy(), transcribeThroughProxy()]);
    expect(again.map((r) => r.replica).sort()).toEqual([...NAMES].sort());
  }, 300_000);

  it("what a draining replica refuses before doing any work (503) the proxy replays on the other: realtime upgrades, small uploads", async () => {
    // The moments before the proxy notices a draining replica, held open: its health checks are paused (HAProxy's
    // `disable health`), and an upload sent slowly to it directly keeps its drain going.
    const [targetName, otherName] = NAMES;
    const target = replicas[targetName]!;
    await proxy.command(`disable health earshot/${targetName}`);
    const slow = rawUpload(`${target.url}/v1/audio/transcriptions`, { file: shortWav, filename: "clip.wav", chunkBytes: 8 * 1024, pauseMs: 600, headers: { authorization: `Bearer ${KEY}` } });
    await waitFor("the slow upload admitted", async () => ((await (await fetch(`${target.url}/ready`)).json()) as { uploads: number }).uploads >= 1);
    target.term();
    const termAt = Date.now();
    const tiny = encodeWav(await speechOfLength(0.3), 16_000);
    const direct = () => new OpenAI({ baseURL: `${target.url}/v1`, apiKey: KEY, maxRetries: 0 }).audio.transcriptions.create({ file: new File([tiny], "tiny.wav"), model: "whisper-1" });
    // Past EARSHOT_DRAIN_ACCEPT_SECONDS, the target refuses new work itself.
    await new Promise((resolve) => setTimeout(resolve, termAt + Number(REPLICA_ENV.EARSHOT_DRAIN_ACCEPT_SECONDS) * 1000 - Date.now()));
    await waitFor("the target's drain", () => direct().then(() => false, (error: { status?: number }) => error.status === 503), 15_000, 200);
    const logged = proxy.requests().length;

    // One every 100 ms: leastconn picks the draining replica (it holds no request of the proxy's) for most of them.
    const stagger = (i: number) => new Promise((resolve) => setTimeout(resolve, i * 100));
    const uploads = Array.from({ length: 3 }, async (_, i) => {
      await stagger(i);
      const { data, response } = await sdk.audio.transcriptions.create({ file: await toFile(tiny, "tiny.wav"), model: "whisper-1" }).withResponse();
      return { replica: response.headers.get("x-earshot-replica"), text: data.text };
    });
    const sockets = Array.from({ length: 2 }, async (_, i) => {
      await stagger(3 + i);
      const client = await RealtimeClient.connect(realtimeUrl(proxy.httpsUrl, "model=whisper-1"), { headers: { Authorization: `Bearer ${KEY}` }, ca: proxy.ca });
      await client.next("session.created");
      await client.close();
    });
    const served = await Promise.all(uploads);
    await Promise.all(sockets);
    expect(served.map((s) => s.replica)).toEqual(served.map(() => otherName));
    // In HAProxy's log: requests first sent to the draining replica, answered by the other after a redispatch.
    const replayed = proxy.requests().slice(logged).filter((r) => r.redispatched && r.server === otherName);
    const log = proxy.logLines().slice(-12).join("\n");
    // At least one: which replica leastconn picks for each depends on how the proxy's connections line up (it was 1 of
    // 3 in some runs, when connections to the other replica were reused); every upload answered by the other is the point.
    expect(replayed.filter((r) => r.method === "POST" && r.status === 200).length, log).toBeGreaterThanOrEqual(1);
    expect(replayed.filter((r) => r.path.startsWith("/v1/realtime") && r.status === 101).length, log).toBeGreaterThanOrEqual(1);
    console.log(`replayed by the proxy on ${otherName}: ${replayed.map((r) => `${r.method} ${r.path} ${r.status}`).join(", ")}`);

    expect((await slow).status).toBe(200);
    expect(await target.exited).toBe(0);
    replicas[targetName] = await startReplica(targetName, ports[targetName]!, REPLICA_ENV, { started: processes });
    await proxy.command(`enable health earshot/${targetName}`);
    await proxy.waitForServer(targetName, "UP", 20_000);
  }, 120_000);

  it("bodies far larger than any allowed upload are refused by the proxy (413, OpenAI's shape) before they are forwarded", async () => {
    const answer = await rawUpload(`${proxy.httpUrl}/v1/audio/transcriptions`, { file: Buffer.alloc(40 * 1_048_576), stallAfterBytes: 0, headers: { authorization: `Bearer ${KEY}` }, timeoutMs: 10_000 });
    expect(answer.status).toBe(413);
    expect(JSON.parse(answer.body)).toMatchObject({ error: { type: "invalid_request_error", code: "request_too_large" } });
  });
});
