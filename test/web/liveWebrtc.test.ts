// Live captions over WebRTC in real Chromium (its own WebRTC stack) against the real server: the fake
// microphone speaks sentences with pauses; the page mints a client secret, offers the microphone track and
// the `oai-events` data channel to POST /v1/realtime/calls, and shows the live text of the turn being spoken
// (agreed words, grey unstable ones) before the turn's final line. Stop hangs up and frees the session.
// The WebSocket path (a browser without WebRTC) is live.test.ts.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { decodeBase64Pcm16, pcm16ToFloat32 } from "../../src/audio/realtime/pcm16.js";
import { eventually, launchChromium, meterLevel, openPage, screenshot, waitForReady } from "../support/browser.js";
import { REALTIME_RATE, spokenTurns } from "../support/realtime.js";
import { sleep, startTestServer, type TestServer } from "../support/server.js";
import { LONG_SPEECH_TEXT, writeWav } from "../support/speech.js";

/**
 * Page-side: keeps what the page's calls receive on their data channel (window.__callEvents) and their peer
 * connections (window.__peers), by wrapping the browser's createDataChannel. It only watches: the channel is the
 * browser's own.
 */
const WATCH_CALLS = `
window.__callEvents = [];
window.__peers = [];
const createDataChannel = RTCPeerConnection.prototype.createDataChannel;
RTCPeerConnection.prototype.createDataChannel = function (...args) {
  const channel = createDataChannel.apply(this, args);
  window.__peers.push(this);
  channel.addEventListener("message", (message) => window.__callEvents.push(JSON.parse(message.data)));
  return channel;
};`;

/**
 * Page-side: each line in progress shows in normal ink exactly the words its turn agreed on so far (the latest
 * partial's `transcript`, or the deltas joined when no partial came): never the same words twice from both.
 * Returns the lines that break this, and the ids of the lines showing live words now.
 */
const CHECK_LINES = `(() => {
  const broken = [], live = [];
  for (const line of document.querySelectorAll(".caption.partial")) {
    const id = line.dataset.itemId;
    const events = window.__callEvents.filter((event) => event.item_id === id);
    const partials = events.filter((event) => event.type === "conversation.item.input_audio_transcription.partial");
    const last = partials.at(-1);
    const agreed = (last ? last.transcript : events.filter((event) => event.type === "conversation.item.input_audio_transcription.delta").map((event) => event.delta).join("")).trim();
    const text = line.querySelector(".caption-text");
    const ink = text.firstChild && text.firstChild.nodeType === 3 ? text.firstChild.data : "";
    const expected = agreed || ((last?.unstable ?? "").trim() ? "" : "…");
    if (ink !== expected) broken.push({ id, ink, expected });
    if (/\\w/.test(text.textContent)) live.push(id);
  }
  return { broken, live };
})()`;

interface CallExchange {
  contentType: string;
  authorization: string;
  offer: string;
  status: number;
  answerType: string;
  answer: string;
  location: string;
}

let server: TestServer;
let browser: Browser;
let dir: string;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "earshot-web-webrtc-"));
  // As live.test.ts: a long turn (time for live passes while it is spoken) and a short one, then a pause.
  const turns = await spokenTurns([LONG_SPEECH_TEXT, "Testing one, two, three."], { gapMs: 1500, leadMs: 500 });
  const wav = path.join(dir, "turns.wav");
  await writeWav(wav, pcm16ToFloat32(decodeBase64Pcm16(turns.pcm.toString("base64"))), REALTIME_RATE);
  [server, browser] = await Promise.all([startTestServer(), launchChromium({ fakeAudioFile: wav })]);
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe("live captions over WebRTC", () => {
  let page: Page;
  let errors: string[];
  const exchanges: CallExchange[] = [];
  const hangups: number[] = [];
  const sockets: string[] = [];
  const sessions = () => server.server.app.realtime.stats().sessions;
  const callEvents = async () => (await page.evaluate("window.__callEvents")) as Array<{ type: string; item_id?: string; [key: string]: unknown }>;

  beforeAll(async () => {
    ({ page, errors } = await openPage(browser, server.url, {}, WATCH_CALLS));
    page.on("websocket", (socket) => sockets.push(socket.url()));
    page.on("response", async (response) => {
      const url = new URL(response.url());
      if (url.pathname.endsWith("/hangup")) hangups.push(response.status());
      if (url.pathname !== "/v1/realtime/calls") return;
      const request = response.request();
      const headers = await request.allHeaders();
      exchanges.push({
        contentType: headers["content-type"] ?? "",
        authorization: headers.authorization ?? "",
        offer: request.postData() ?? "",
        status: response.status(),
        answerType: (await response.headerValue("content-type")) ?? "",
        answer: await response.text(),
        location: (await response.headerValue("location")) ?? "",
      });
    });
    await waitForReady(page);
  });

  afterAll(async () => {
    await page?.context().close();
  });

  it("offers the microphone track to /v1/realtime/calls and shows live text before each final line", async () => {
    await page.click("#tab-live");
    await page.click("#live-button");
    await eventually(() => page.textContent("#live-indicator")).toMatch(/^(Listening · silent|Speaking)$/);
    expect(await page.textContent("#live-transport")).toBe("Connected over WebRTC.");
    expect(await page.getAttribute("#live-indicator", "title")).toBe("Connected over WebRTC.");

    // OpenAI's wire: the offer as application/sdp with the minted secret (never a key), 201 with the answer and the call's path.
    expect(exchanges).toHaveLength(1);
    const [call] = exchanges;
    expect(call).toMatchObject({ contentType: "application/sdp", status: 201, answerType: expect.stringMatching(/^application\/sdp/) });
    expect(call!.authorization).toMatch(/^Bearer ek_/);
    expect(call!.offer).toMatch(/^v=0\r\n[\s\S]*m=audio [\s\S]*a=rtpmap:\d+ opus\/48000\/2[\s\S]*m=application [\s\S]*webrtc-datachannel/);
    expect(call!.answer).toMatch(/^v=0\r\n/);
    expect(call!.location).toMatch(/^\/v1\/realtime\/calls\/[\w-]+$/);
    expect(sessions()).toBe(1);
    // The session came from the secret: live text on, server VAD.
    const created = (await callEvents()).find((event) => event.type === "session.created") as { session: { audio: { input: Record<string, unknown> } } } | undefined;
    expect(created?.session.audio.input).toMatchObject({ transcription: { live_partials: true }, turn_detection: { type: "server_vad" } });

    await eventually(() => page.textContent("#live-indicator"), 20_000).toBe("Speaking");
    // The meter reads the microphone itself (no worklet on this path).
    await eventually(() => meterLevel(page, "live-meter")).toBeGreaterThan(0.2);

    // Until the first turn is final: every line in progress shows its agreed words once, and some line shows live words.
    const shownLive = new Set<string>();
    const deadline = Date.now() + 60_000;
    while ((await page.$$(".caption.final")).length === 0) {
      expect(Date.now(), "no final line within 60 s").toBeLessThan(deadline);
      const { broken, live } = (await page.evaluate(CHECK_LINES)) as { broken: unknown[]; live: string[] };
      expect(broken).toEqual([]);
      for (const id of live) shownLive.add(id);
      await sleep(100);
    }
    await screenshot(page, "22-live-webrtc");
    const finalId = await page.getAttribute(".caption.final", "data-item-id");
    expect([...shownLive]).toContain(finalId);
    const finalText = await page.textContent(`.caption.final[data-item-id="${finalId}"] .caption-text`);

    // On the channel: the turn's deltas came before its commit, and its completed carries the final line.
    const events = await callEvents();
    const index = (type: string) => events.findIndex((event) => event.type === type && event.item_id === finalId);
    expect(index("conversation.item.input_audio_transcription.delta")).toBeGreaterThanOrEqual(0);
    expect(index("conversation.item.input_audio_transcription.delta")).toBeLessThan(index("input_audio_buffer.committed"));
    const completed = events[index("conversation.item.input_audio_transcription.completed")];
    expect(finalText).toBe(String(completed?.transcript).trim());
    await eventually(() => page.textContent("#live-indicator"), 20_000).toBe("Listening · silent");
    expect(sockets.filter((url) => url.includes("/v1/realtime"))).toEqual([]);
    expect(errors).toEqual([]);
  });

  it("Stop hangs up and frees the session", async () => {
    await page.click("#live-button");
    await eventually(() => page.textContent("#live-indicator"), 15_000).toBe("Off");
    await eventually(() => meterLevel(page, "live-meter")).toBe(0);
    await eventually(() => hangups).toEqual([200]);
    await eventually(() => sessions()).toBe(0);
    expect(await page.evaluate("window.__peers.map((peer) => peer.connectionState)")).toEqual(["closed"]);
    expect(await page.$$eval(".caption.partial", (lines) => lines.length)).toBe(0);
    expect((await page.$$(".caption.final")).length).toBeGreaterThan(0);
    expect(sockets.filter((url) => url.includes("/v1/realtime"))).toEqual([]);
    expect(errors).toEqual([]);
  });
});

describe("live captions fall back to the WebSocket when the call cannot connect", () => {
  // A server announcing an address the browser cannot reach (a wrong NAT address, or its UDP blocked by a
  // firewall): the offer is answered, but ICE never connects.
  let unreachable: TestServer;
  let page: Page;
  let errors: string[];
  const calls: string[] = [];
  const sockets: string[] = [];

  beforeAll(async () => {
    unreachable = await startTestServer({ webrtcAnnounceAddresses: "203.0.113.1" });
    ({ page, errors } = await openPage(browser, unreachable.url));
    page.on("response", (response) => {
      if (new URL(response.url()).pathname.startsWith("/v1/realtime/calls")) calls.push(`${response.status()} ${new URL(response.url()).pathname}`);
    });
    page.on("websocket", (socket) => sockets.push(socket.url()));
    await waitForReady(page);
  });

  afterAll(async () => {
    await page?.context().close();
    await unreachable?.close();
  });

  it("says so, hangs the call up and goes on over the WebSocket", async () => {
    await page.click("#tab-live");
    await page.click("#live-button");
    await eventually(() => page.textContent("#live-indicator"), 20_000).toMatch(/^(Listening · silent|Speaking)$/);
    const note = await page.textContent("#live-transport");
    expect(note).toMatch(/^Connected over the WebSocket \(WebRTC could not connect: no connection within 5 s \(ICE \w+\)\)\.$/);
    expect(await page.getAttribute("#live-indicator", "title")).toBe(note);
    expect(sockets).toEqual([expect.stringMatching(/\/v1\/realtime\?intent=transcription$/)]);
    // The call was answered, then hung up: only the socket's session is left.
    await eventually(() => calls).toEqual([expect.stringMatching(/^201 \/v1\/realtime\/calls$/), expect.stringMatching(/^200 \/v1\/realtime\/calls\/[\w-]+\/hangup$/)]);
    await eventually(() => unreachable.server.app.realtime.stats().sessions).toBe(1);
    await eventually(() => meterLevel(page, "live-meter")).toBeGreaterThan(0.2);

    await page.click("#live-button");
    await eventually(() => page.textContent("#live-indicator"), 15_000).toBe("Off");
    await eventually(() => unreachable.server.app.realtime.stats().sessions).toBe(0);
    expect(errors).toEqual([]);
  });
});
