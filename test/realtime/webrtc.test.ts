// Realtime transcription over WebRTC with real Chromium's own WebRTC stack against the real server: the fake microphone
// plays sentences with pauses; the page mints nothing (the test mints a client secret with the API key and hands it
// over), makes its offer with the microphone track and the `oai-events` data channel, posts it to /v1/realtime/calls
// and reads the turn events from the data channel. The same audio over the WebSocket gives the same turns (within
// the VAD's tolerance: Opus changes the samples). Hangup frees the session; a call whose track stops is closed by the
// session idle timeout. Prints the call's setup time and each transport's time from a turn's end to `completed`.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { decodeBase64Pcm16, pcm16ToFloat32 } from "../../src/audio/realtime/pcm16.js";
import { launchChromium, openPage } from "../support/browser.js";
import { COMPLETED, REALTIME_RATE, RealtimeClient, realtimeUrl, type ServerEvent, spokenTurns, type SpokenTurns } from "../support/realtime.js";
import { startTestServer, type TestServer, waitFor } from "../support/server.js";
import { writeWav } from "../support/speech.js";

const KEY = "sk-webrtc-test-0123456789abcdef";
const SENTENCES = ["The quick brown fox jumps over the lazy dog.", "Testing one, two, three.", "Earshot transcribes speech while it is spoken."];
/** VAD boundaries of the same speech over the two transports agree within this (Opus, a 32-ms VAD window, RTP timing). */
const BOUNDARY_TOLERANCE_MS = 200;

let server: TestServer;
let browser: Browser;
let dir: string;
let turns: SpokenTurns;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "earshot-webrtc-"));
  // A long lead: the call connects while the fake microphone is already playing (it starts at getUserMedia).
  turns = await spokenTurns(SENTENCES, { gapMs: 1500, leadMs: 2000 });
  const wav = path.join(dir, "turns.wav");
  await writeWav(wav, pcm16ToFloat32(decodeBase64Pcm16(turns.pcm.toString("base64"))), REALTIME_RATE);
  [server, browser] = await Promise.all([
    startTestServer({ apiKeys: KEY, webrtcAnnounceAddresses: "127.0.0.1", realtimeIdleTimeoutSeconds: "8" }),
    launchChromium({ fakeAudioFile: wav }),
  ]);
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

async function mintSecret(): Promise<string> {
  const response = await fetch(`${server.url}/v1/realtime/client_secrets`, {
    method: "POST",
    headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json" },
    body: JSON.stringify({ session: { type: "transcription", audio: { input: { transcription: { language: "en" } } } } }),
  });
  expect(response.status).toBe(200);
  return ((await response.json()) as { value: string }).value;
}

/** The page's side of a call, as OpenAI's browser example does it (plus timings); `window.call` holds its state. */
const START_CALL = `async (secret) => {
  const microphone = await navigator.mediaDevices.getUserMedia({ audio: { echoCancellation: false, noiseSuppression: false, autoGainControl: false } });
  const call = (window.call = { events: [], microphoneAt: performance.timeOrigin + performance.now(), closed: false });
  const pc = (call.pc = new RTCPeerConnection());
  pc.addTrack(microphone.getTracks()[0]);
  const channel = (call.channel = pc.createDataChannel("oai-events"));
  channel.onmessage = ({ data }) => call.events.push({ ...JSON.parse(data), receivedAt: performance.timeOrigin + performance.now() });
  channel.onclose = () => (call.closed = true);
  const opened = new Promise((resolve) => (channel.onopen = resolve));
  await pc.setLocalDescription(await pc.createOffer());
  const posted = performance.now();
  const response = await fetch("/v1/realtime/calls", {
    method: "POST",
    body: pc.localDescription.sdp,
    headers: { Authorization: "Bearer " + secret, "Content-Type": "application/sdp" },
  });
  const answer = await response.text();
  const answerMs = performance.now() - posted;
  await pc.setRemoteDescription({ type: "answer", sdp: answer });
  await opened;
  return { status: response.status, contentType: response.headers.get("content-type"), location: response.headers.get("location"), answerMs, openMs: performance.now() - posted };
}`;

interface CallStart {
  status: number;
  contentType: string;
  location: string;
  answerMs: number;
  openMs: number;
}

async function startCall(page: Page, secret: string): Promise<CallStart> {
  return (await page.evaluate(`(${START_CALL})(${JSON.stringify(secret)})`)) as CallStart;
}

async function callEvents(page: Page): Promise<ServerEvent[]> {
  return (await page.evaluate("window.call.events")) as ServerEvent[];
}

/** Each turn's VAD boundaries and the times its events arrived (epoch ms), in commit order. */
interface Turn {
  startMs: number;
  endMs: number;
  stoppedAt: number;
  completedAt: number;
}

function turnsOf(events: ServerEvent[], count: number): Turn[] {
  const arrival = (event: ServerEvent) => (event.receivedAt as number | undefined) ?? (event.t as number);
  const started = events.filter((e) => e.type === "input_audio_buffer.speech_started");
  const stopped = events.filter((e) => e.type === "input_audio_buffer.speech_stopped");
  const committed = events.filter((e) => e.type === "input_audio_buffer.committed");
  const completed = events.filter((e) => e.type === COMPLETED);
  return Array.from({ length: count }, (_, i) => {
    const itemId = committed[i]!.item_id as string;
    expect(started[i]!.item_id).toBe(itemId);
    expect(stopped[i]!.item_id).toBe(itemId);
    const done = completed.find((e) => e.item_id === itemId);
    expect(done, `completed for turn ${i}`).toBeDefined();
    return { startMs: started[i]!.audio_start_ms as number, endMs: stopped[i]!.audio_end_ms as number, stoppedAt: arrival(stopped[i]!), completedAt: arrival(done!) };
  });
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const sessionsOpen = () => server.server.app.realtime.stats().sessions;

describe("realtime over WebRTC from Chromium", () => {
  let page: Page;
  let errors: string[];
  let rtcTurns: Turn[];
  /** Epoch ms at which the fake microphone started playing the file (its position 0). */
  let microphoneAt: number;

  /** What went wrong in the page (its own code, or a call); not the favicon the server has none of. */
  const pageErrors = () => errors.filter((error) => !error.startsWith("console: Failed to load resource"));

  beforeAll(async () => {
    // A plain document of the server's origin (the browser app itself would ask for models, which needs a key).
    ({ page, errors } = await openPage(browser, `${server.url}/health`));
  });

  afterAll(async () => {
    await page?.context().close();
  });

  it("connects with a client secret, gets every turn's events on oai-events, and hangup frees the session", async () => {
    const secret = await mintSecret();
    const call = await startCall(page, secret);
    expect(call.status).toBe(201);
    expect(call.contentType).toMatch(/^application\/sdp/);
    expect(call.location).toMatch(/^\/v1\/realtime\/calls\/rtc_\w+$/);
    console.log(`WebRTC call setup (Chromium, loopback): offer → 201 ${call.answerMs.toFixed(0)} ms, → data channel open ${call.openMs.toFixed(0)} ms`);
    expect(sessionsOpen()).toBe(1);

    const events = await waitFor(
      `${SENTENCES.length} completed turns over the data channel`,
      async () => {
        const received = await callEvents(page);
        return received.filter((e) => e.type === COMPLETED).length >= SENTENCES.length && received;
      },
      60_000,
      100,
    );
    // The session the secret carries, announced first.
    expect(events[0]).toMatchObject({ type: "session.created", session: { type: "transcription", audio: { input: { transcription: { language: "en" }, turn_detection: { type: "server_vad" } } } } });
    expect(events.filter((e) => e.type === "error")).toEqual([]);
    rtcTurns = turnsOf(events, SENTENCES.length);
    microphoneAt = (await page.evaluate("window.call.microphoneAt")) as number;

    // An append on the data channel is refused (the audio is the track); the session goes on.
    await page.evaluate(`window.call.channel.send(JSON.stringify({ type: "input_audio_buffer.append", event_id: "evt_append", audio: "AAAA" }))`);
    await waitFor("the append's refusal", async () => (await callEvents(page)).find((e) => e.type === "error" && e.error?.event_id === "evt_append"), 5_000);
    expect((await callEvents(page)).find((e) => e.type === "error")?.error).toMatchObject({ code: "unsupported_event", param: "type" });

    // Hangup with the secret that opened it: the data channel closes and the session's place is free.
    const status = await page.evaluate(`fetch(${JSON.stringify(`${call.location}/hangup`)}, { method: "POST", headers: { Authorization: "Bearer ${secret}" } }).then((r) => r.status)`);
    expect(status).toBe(200);
    await waitFor("the data channel closed", async () => (await page.evaluate("window.call.closed")) === true, 10_000);
    await waitFor("the call's session closed", async () => sessionsOpen() === 0, 10_000);
    await page.evaluate("window.call.pc.close()");
    expect(pageErrors()).toEqual([]);
  });

  it("finds the same turns as the same audio over the WebSocket", async () => {
    // A secret with the same settings as the call's.
    const client = await RealtimeClient.open(realtimeUrl(server.url), { headers: { authorization: `Bearer ${await mintSecret()}` } });
    const sentAt = Date.now();
    await client.streamAudio(turns.pcm, { realtime: true });
    await client.count(COMPLETED, SENTENCES.length, 60_000);
    const wsTurns = turnsOf(client.events, SENTENCES.length);
    await client.close();

    // The call's timeline starts where its first packet arrived (the microphone was already playing): aligned on the
    // first turn, every boundary agrees within the VAD's tolerance.
    const shift = wsTurns[0]!.startMs - rtcTurns[0]!.startMs;
    for (const [i, ws] of wsTurns.entries()) {
      const rtc = rtcTurns[i]!;
      expect(Math.abs(rtc.startMs + shift - ws.startMs), `turn ${i} start`).toBeLessThanOrEqual(BOUNDARY_TOLERANCE_MS);
      expect(Math.abs(rtc.endMs + shift - ws.endMs), `turn ${i} end`).toBeLessThanOrEqual(BOUNDARY_TOLERANCE_MS);
      expect(Math.abs(rtc.endMs - rtc.startMs - (ws.endMs - ws.startMs)), `turn ${i} length`).toBeLessThanOrEqual(BOUNDARY_TOLERANCE_MS);
    }

    // From the end of each sentence (by the source's clock: the file's position for the microphone, the append that
    // carried it for the socket) to its `completed`, and from `speech_stopped` to `completed`.
    const rtcEndToCompleted = rtcTurns.map((turn, i) => turn.completedAt - (microphoneAt + turns.sentences[i]!.endMs));
    const wsEndToCompleted = wsTurns.map((turn, i) => turn.completedAt - (sentAt + Math.floor(turns.sentences[i]!.endMs / 100) * 100));
    const rtcStoppedToCompleted = rtcTurns.map((turn) => turn.completedAt - turn.stoppedAt);
    const wsStoppedToCompleted = wsTurns.map((turn) => turn.completedAt - turn.stoppedAt);
    const shown = (values: number[]) => `median ${median(values).toFixed(0)} ms [${values.map((v) => v.toFixed(0)).join(", ")}]`;
    console.log(`turn end → completed: WebRTC ${shown(rtcEndToCompleted)}, WebSocket ${shown(wsEndToCompleted)}`);
    console.log(`speech_stopped → completed: WebRTC ${shown(rtcStoppedToCompleted)}, WebSocket ${shown(wsStoppedToCompleted)}`);
    console.log(`turn boundaries (ms, WebRTC shifted by ${shift}): ${rtcTurns.map((t, i) => `${t.startMs + shift}-${t.endMs + shift} vs ${wsTurns[i]!.startMs}-${wsTurns[i]!.endMs}`).join(", ")}`);
  });

  it("closes a call whose track stops after the session idle timeout, with the error event first", async () => {
    const call = await startCall(page, await mintSecret());
    expect(call.status).toBe(201);
    await waitFor("audio arriving", async () => server.server.app.realtime.stats().sessions === 1 && (await callEvents(page)).some((e) => e.type === "input_audio_buffer.speech_started"), 20_000);
    const stoppedAt = Date.now();
    await page.evaluate("window.call.pc.getSenders()[0].track.stop()");
    await waitFor("the data channel closed", async () => (await page.evaluate("window.call.closed")) === true, 20_000);
    const closedAfter = Date.now() - stoppedAt;
    expect(closedAfter).toBeGreaterThanOrEqual(7_500);
    const events = await callEvents(page);
    expect(events.filter((e) => e.type === "error").map((e) => e.error.code)).toEqual(["idle_timeout"]);
    await waitFor("the call's session closed", async () => sessionsOpen() === 0, 10_000);
    await page.evaluate("window.call.pc.close()");
    expect(pageErrors()).toEqual([]);
  });
});
