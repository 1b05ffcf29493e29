// Live captions over the WebSocket in real Chromium against the real server, as a browser without WebRTC
// gets them (the page's RTCPeerConnection removed; with it they go over WebRTC: liveWebrtc.test.ts): the
// fake microphone speaks sentences with pauses; the page mints a client secret, streams PCM16 at 24 kHz
// from its AudioWorklet over the realtime WebSocket, and shows partial lines that settle into final ones.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

import type { Browser, Page, WebSocket as PageSocket } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { decodeBase64Pcm16, pcm16ToFloat32 } from "../../src/audio/realtime/pcm16.js";
import { eventually, launchChromium, meterLevel, openPage, screenshot, waitForExpression, waitForReady, WITHOUT_WEBRTC } from "../support/browser.js";
import { REALTIME_RATE, spokenTurns } from "../support/realtime.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { LONG_SPEECH_TEXT, writeWav } from "../support/speech.js";

let server: TestServer;
let browser: Browser;
let dir: string;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "earshot-web-live-"));
  // A long turn (~19 s: time for several live partial passes while it is spoken, even on a slow
  // machine) and a short one, with pauses the server's VAD ends turns on; Chromium loops the file.
  const turns = await spokenTurns([LONG_SPEECH_TEXT, "Testing one, two, three."], { gapMs: 1500, leadMs: 500 });
  const samples = pcm16ToFloat32(decodeBase64Pcm16(turns.pcm.toString("base64")));
  const wav = path.join(dir, "turns.wav");
  await writeWav(wav, samples, REALTIME_RATE);
  [server, browser] = await Promise.all([startTestServer(), launchChromium({ fakeAudioFile: wav })]);
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe("live captions over the WebSocket (a browser without WebRTC)", () => {
  let page: Page;
  let errors: string[];
  const received: Array<{ type: string; [key: string]: unknown }> = [];
  const sent: string[] = [];
  let socket: PageSocket | undefined;

  beforeAll(async () => {
    ({ page, errors } = await openPage(browser, server.url, {}, WITHOUT_WEBRTC));
    page.on("websocket", (ws) => {
      socket = ws;
      ws.on("framereceived", (frame) => received.push(JSON.parse(String(frame.payload)) as { type: string }));
      ws.on("framesent", (frame) => sent.push(String(frame.payload)));
    });
    await waitForReady(page);
  });

  afterAll(async () => {
    await page?.context().close();
  });

  it("streams the microphone and shows partial, then final captions", async () => {
    await page.click("#tab-live");
    expect(await page.isVisible("#panel-live")).toBe(true);
    await page.click("#live-button");
    await eventually(() => page.textContent("#live-indicator")).toMatch(/^(Listening · silent|Speaking)$/);
    // The fallback is said, under the controls and on the indicator.
    const note = "Connected over the WebSocket (this browser has no WebRTC).";
    expect(await page.textContent("#live-transport")).toBe(note);
    expect(await page.isVisible("#live-transport")).toBe(true);
    expect(await page.getAttribute("#live-indicator", "title")).toBe(note);

    // The socket was opened with a minted secret, never a key, and the session asks for live partials.
    expect(socket?.url()).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/v1\/realtime\?intent=transcription$/);
    const created = received.find((event) => event.type === "session.created") as { session: { audio: { input: Record<string, any> } } } | undefined;
    expect(created?.session.audio.input).toMatchObject({
      format: { type: "audio/pcm", rate: 24000 },
      transcription: { live_partials: true },
      turn_detection: { type: "server_vad" },
    });

    await eventually(() => page.textContent("#live-indicator"), 20_000).toBe("Speaking");
    await eventually(() => meterLevel(page, "live-meter")).toBeGreaterThan(0.2);
    // A line in progress showing the words agreed so far, then settled.
    await waitForExpression(page, "[...document.querySelectorAll('.caption.partial .caption-text')].some((text) => /\\w/.test(text.textContent))", 45_000);
    await screenshot(page, "20-live-partial");
    await page.waitForSelector(".caption.final", { timeout: 45_000 });
    // The turn's final text, which begins with the words its live text agreed on (the generated model's words are junk).
    const final = await page.$eval(".caption.final", (line) => ({ id: line.getAttribute("data-item-id"), text: line.querySelector(".caption-text")?.textContent ?? "" }));
    const completed = received.find((event) => event.type === "conversation.item.input_audio_transcription.completed" && event.item_id === final.id);
    expect(final.text).toBe(String(completed?.transcript).trim());
    const agreed = received.filter((event) => event.type === "conversation.item.input_audio_transcription.partial" && event.item_id === final.id).at(-1);
    expect(final.text.startsWith(String(agreed?.transcript).trim())).toBe(true);
    expect(await page.textContent(".caption.final .caption-time")).toMatch(/^\d+:\d\d$/);
    await eventually(() => page.textContent("#live-indicator"), 20_000).toBe("Listening · silent");

    // What went over the wire: base64 PCM16 chunks of ~100 ms at 24 kHz, and the server's turn events.
    const appends = sent.map((frame) => JSON.parse(frame) as { type: string; audio?: string }).filter((event) => event.type === "input_audio_buffer.append");
    expect(appends.length).toBeGreaterThan(20);
    const bytes = Buffer.from(appends[5]!.audio!, "base64").length;
    expect(bytes).toBe(2 * 2400);
    const types = new Set(received.map((event) => event.type));
    for (const type of [
      "input_audio_buffer.speech_started",
      "input_audio_buffer.speech_stopped",
      "input_audio_buffer.committed",
      "conversation.item.input_audio_transcription.completed",
    ]) {
      expect(types, type).toContain(type);
    }
    expect(types).toContain("conversation.item.input_audio_transcription.partial");
    expect(errors).toEqual([]);
  });

  it("stops, keeps the captions, and saves them", async () => {
    await page.click("#live-button");
    await eventually(() => page.textContent("#live-indicator"), 15_000).toBe("Off");
    // the meter falls back to zero once stopped
    await eventually(() => meterLevel(page, "live-meter")).toBe(0);
    expect(await page.textContent("#live-button")).toContain("Start live captions");
    await eventually(() => socket?.isClosed()).toBe(true);
    // no line is left in progress
    expect(await page.$$eval(".caption.partial", (lines) => lines.length)).toBe(0);
    await screenshot(page, "21-live-stopped");

    const lines = await page.$$eval(".caption.final .caption-text", (spans) => spans.map((span) => span.textContent ?? ""));
    expect(lines.length).toBeGreaterThan(0);
    const [file] = await Promise.all([page.waitForEvent("download"), page.click("#live-save")]);
    expect(file.suggestedFilename()).toMatch(/^captions-.*\.txt$/);
    const saved = path.join(dir, "captions.txt");
    await file.saveAs(saved);
    const text = fs.readFileSync(saved, "utf8");
    expect(text.trim().split("\n")).toEqual(lines.map((line) => expect.stringMatching(new RegExp(`^\\[\\d+:\\d\\d\\] ${line}$`))));

    await page.click("#live-clear");
    expect(await page.$$eval(".caption", (all) => all.length)).toBe(0);
    expect(await page.isVisible("#captions-empty")).toBe(true);
    expect(errors).toEqual([]);
  });
});
