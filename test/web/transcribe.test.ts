// The browser app in real Chromium against the real server: record from the (fake) microphone,
// upload, read the transcript with timestamps, play from a word, copy, and export every format.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { TEST_MODEL_SEGMENTS } from "../../src/models/testModel/index.js";
import { chooseFile, eventually, launchChromium, meterLevel, openPage, pausePlayer, playerTime, screenshot, unnamedControls, waitForReady } from "../support/browser.js";
import { expectNoTempFiles, longSpeechWav, startTestServer, type TestServer } from "../support/server.js";
import { longSpeech, writeWav } from "../support/speech.js";

let server: TestServer;
let browser: Browser;
let dir: string;
let speechWav: string;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "earshot-web-"));
  speechWav = path.join(dir, "speech.wav");
  const speech = await longSpeech();
  await writeWav(speechWav, speech.samples, speech.sampleRate);
  [server, browser] = await Promise.all([startTestServer(), launchChromium({ fakeAudioFile: speechWav })]);
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

const [first, second] = TEST_MODEL_SEGMENTS as [(typeof TEST_MODEL_SEGMENTS)[number], (typeof TEST_MODEL_SEGMENTS)[number]];

/** SRT → cues, failing on anything that is not well-formed SubRip. */
function parseSrt(srt: string): Array<{ index: number; start: number; end: number; text: string }> {
  const time = (value: string) => {
    const match = /^(\d{2}):(\d{2}):(\d{2}),(\d{3})$/.exec(value);
    if (!match) throw new Error(`bad SRT time ${value}`);
    const [, h, m, s, ms] = match.map(Number) as [number, number, number, number, number];
    // Whole milliseconds first: 3 + 720 / 1000 would be 3.7199999999999998, not the 3.72 the page was given.
    return (((h * 60 + m) * 60 + s) * 1000 + ms) / 1000;
  };
  return srt
    .trim()
    .split(/\n\n+/)
    .map((block) => {
      const [index, range, ...text] = block.split("\n");
      const [start, end] = (range ?? "").split(" --> ");
      if (!/^\d+$/.test(index ?? "") || !start || !end || text.length === 0) throw new Error(`bad SRT cue: ${JSON.stringify(block)}`);
      return { index: Number(index), start: time(start), end: time(end), text: text.join("\n") };
    });
}

async function download(page: Page, button: string): Promise<{ name: string; text: string }> {
  const [file] = await Promise.all([page.waitForEvent("download"), page.click(button)]);
  const target = path.join(dir, file.suggestedFilename());
  await file.saveAs(target);
  return { name: file.suggestedFilename(), text: fs.readFileSync(target, "utf8") };
}

describe("record → upload → transcript", () => {
  let page: Page;
  let errors: string[];

  beforeAll(async () => {
    ({ page, errors } = await openPage(browser, server.url));
    await page.context().grantPermissions(["clipboard-read", "clipboard-write"], { origin: server.url });
  });

  afterAll(async () => {
    await page?.context().close();
  });

  it("loads with the server's models and every control labelled", async () => {
    await waitForReady(page);
    const models = await page.$$eval("#model-select option", (options) => options.map((option) => option.getAttribute("value")));
    expect(models).toEqual(expect.arrayContaining(["whisper-1", "gpt-4o-transcribe"]));
    expect(await page.$$eval("#language-select option", (options) => options.length)).toBeGreaterThan(90);
    // every visible control has an accessible name
    expect(await unnamedControls(page)).toEqual([]);
    await screenshot(page, "01-start");
  });

  it("records from the microphone with a level meter and a clock, then transcribes with timestamps", async () => {
    await page.click("#record-button");
    await eventually(() => page.textContent("#record-button")).toContain("Stop");
    await eventually(() => page.textContent("#record-elapsed"), 10_000).toMatch(/^0:0[2-9]$/);
    // the meter moves with the fake microphone's speech
    await eventually(() => meterLevel(page, "record-meter")).toBeGreaterThan(0.2);
    await screenshot(page, "02-recording");
    await page.waitForTimeout(1500);
    await page.click("#record-button");
    await eventually(() => meterLevel(page, "record-meter")).toBe(0);

    await page.waitForSelector("#result:not([hidden])", { timeout: 60_000 });
    await screenshot(page, "03-transcript");
    await page.emulateMedia({ colorScheme: "dark" });
    await screenshot(page, "04-transcript-dark");
    await page.emulateMedia({ colorScheme: "light" });
    const segments = await page.$$eval("#segments .segment", (items) =>
      items.map((item) => ({ time: item.querySelector(".timestamp")?.textContent, text: item.querySelector(".segment-text")?.textContent })),
    );
    expect(segments).toEqual([
      { time: "0:00", text: first.text.trim() },
      { time: "0:03", text: second.text.trim() },
    ]);
    // every word is clickable and carries its time
    const words = await page.$$eval(".word", (spans) => spans.map((span) => [span.textContent, Number(span.getAttribute("data-start"))]));
    expect(words.map(([word]) => word)).toEqual("one two three four five six".split(" "));
    expect(words.every(([, start], index) => index === 0 || (start as number) >= (words[index - 1]![1] as number))).toBe(true);
    expect(await page.textContent("#result-meta")).toMatch(/English · \d+:\d\d · whisper-1 · took/);
    // the recording is the player's source
    expect(await page.getAttribute("#player", "src")).toMatch(/^blob:/);
    expect(errors).toEqual([]);
    await expectNoTempFiles(server.tempDir);
  });

  it("plays from a clicked word and highlights the word being spoken", async () => {
    const five = page.locator(".word", { hasText: "five" });
    await five.click();
    await eventually(() => playerTime(page)).toBeGreaterThanOrEqual(3.4);
    await eventually(() => page.$eval(".word.current", (span) => span.textContent)).toMatch(/five|six/);
    expect(await page.getAttribute("#segments .segment:nth-child(2)", "aria-current")).toBe("true");
    await pausePlayer(page);
    // a segment's time button seeks too
    await page.click("#segments .segment:nth-child(1) .timestamp");
    await eventually(() => playerTime(page)).toBeLessThan(2);
    await pausePlayer(page);
  });

  it("copies the text", async () => {
    await page.click("#copy-button");
    await eventually(() => page.textContent("#toast")).toBe("Transcript copied");
    expect(await page.evaluate("navigator.clipboard.readText()")).toBe(`${first.text.trim()}\n${second.text.trim()}`);
  });

  it("downloads .srt that parses, .vtt, .txt and .json", async () => {
    const json = JSON.parse((await download(page, "[data-export=json]")).text) as {
      segments: Array<{ start: number; end: number; text: string }>;
      words: unknown[];
    };
    expect(json).toMatchObject({ task: "transcribe", language: "english", text: "one two three four five six" });
    expect(json.words).toHaveLength(6);
    // The recording is a few seconds long: the last segment ends with it.
    const [one, two] = json.segments as [{ start: number; end: number; text: string }, { start: number; end: number; text: string }];
    expect(json.segments).toHaveLength(2);
    expect([one.start, one.end, two.start]).toEqual([first.start, first.end, second.start]);
    expect(two.end).toBeGreaterThan(two.start);

    const srt = await download(page, "[data-export=srt]");
    expect(srt.name).toMatch(/^recording-\d{4}-\d{2}-\d{2}-\d{4}\.srt$/);
    expect(parseSrt(srt.text)).toEqual([
      { index: 1, start: one.start, end: one.end, text: first.text.trim() },
      { index: 2, start: two.start, end: Math.round(two.end * 1000) / 1000, text: second.text.trim() },
    ]);

    const vtt = await download(page, "[data-export=vtt]");
    expect(vtt.text).toMatch(/^WEBVTT\n\n00:00:00\.000 --> 00:00:02\.000\none two three\n\n00:00:03\.000 --> 00:00:0\d\.\d{3}\nfour five six\n$/);

    const txt = await download(page, "[data-export=txt]");
    expect(txt.text).toBe(`${first.text.trim()}\n${second.text.trim()}\n`);

    // and the recording itself
    const recording = await download(page, "#download-source");
    expect(recording.name).toMatch(/^recording-.*\.webm$/);
  });

  it("shows upload progress and then a transcribing indicator; cancelling keeps the file", async () => {
    // A slow link (the browser's own network emulation) so the upload takes a few seconds.
    const cdp = await page.context().newCDPSession(page);
    await cdp.send("Network.enable");
    await cdp.send("Network.emulateNetworkConditions", { offline: false, latency: 20, downloadThroughput: -1, uploadThroughput: 250_000 });
    const long = path.join(dir, "meeting.wav");
    fs.writeFileSync(long, await longSpeechWav(40)); // 1.3 MB
    await chooseFile(page, long);
    await eventually(() => page.textContent("#job-stage")).toMatch(/^Uploading… ([1-9]\d?)%$/);
    expect(Number(await page.getAttribute("#upload-progress", "value"))).toBeGreaterThan(0);
    expect(await page.textContent("#job-source")).toBe("meeting.wav · 1.2 MB");
    await screenshot(page, "05-uploading");

    await page.click("#job-cancel");
    await eventually(() => page.textContent("#job-error-title")).toBe("Cancelled");
    expect(await page.textContent("#job-retry")).toBe("Transcribe");
    await expectNoTempFiles(server.tempDir);

    await cdp.send("Network.emulateNetworkConditions", { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
    await page.click("#job-retry");
    await eventually(() => page.textContent("#job-stage")).toMatch(/^Transcribing… \d:\d\d$/);
    expect(await page.getAttribute("#upload-progress", "value")).toBeNull(); // indeterminate
    await screenshot(page, "06-transcribing");
    await page.waitForSelector("#result:not([hidden])", { timeout: 60_000 });
    await eventually(() => page.textContent("#result-title")).toBe("Transcript of meeting.wav");
    await cdp.detach();
  });

  it("uploads a chosen file, translating, and shows its name", async () => {
    await page.check("#translate-check");
    expect(await page.isDisabled("#language-select")).toBe(true);
    await chooseFile(page, speechWav);
    await page.waitForSelector("#result:not([hidden])");
    await eventually(() => page.textContent("#result-title")).toBe("Transcript of speech.wav");
    expect(await page.textContent("#result-meta")).toContain("translated to English");
    expect(await page.$$eval("#segments .segment", (items) => items.length)).toBe(2);
    // translations have segment times but no words
    expect(await page.$$eval(".word", (spans) => spans.length)).toBe(0);
    await page.uncheck("#translate-check");
    expect(errors).toEqual([]);
  });
});
