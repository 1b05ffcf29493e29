// The browser app's "Who spoke" in real Chromium against the real server: a mono conversation of two eSpeak voices
// uploaded with the option on (the server with the generated speaker models) comes back as diarized_json shown by
// speaker turn; a speaker renamed on the page (mouse and keyboard) is renamed on every turn, in the copied text and
// in every export; on a server without speaker models, the mono recording gets a message that says to turn the
// option off.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

import type { TranscriptionDiarized } from "openai/resources/audio/transcriptions";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { chooseFile, eventually, launchChromium, openPage, pausePlayer, playerTime, screenshot, unnamedControls, waitForReady } from "../support/browser.js";
import { expectNoTempFiles, startTestServer, type TestServer } from "../support/server.js";
import { SAMPLE_RATE } from "../../src/engine/sampleRate.js";
import { getSegmentationTestModelPath, getSpeakerEmbeddingTestModelPath } from "../../src/models/testModel/diarization/index.js";
import { makeConversation } from "../support/conversation.js";
import { encodeWav } from "../support/speech.js";

/** With the generated speaker models: tells voices apart in mono audio. */
let server: TestServer;
/** Without speaker models: speakers by channel only, so mono audio is refused. */
let channelsOnly: TestServer;
let browser: Browser;
let dir: string;
let meetingWav: string;
/** What the server answers for the meeting (the official SDK), to compare the page's exports with. */
let served: TranscriptionDiarized;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "earshot-web-speakers-"));
  // Three short turns in one channel: the first voice, the second, the first again (~0.6–6.3 s: the generated Whisper
  // model writes its six words in the first ~6 s of the audio, so each turn gets some).
  const conversation = await makeConversation([
    { speaker: 0, text: "Good morning to you both." },
    { speaker: 1, text: "Hello, shall we begin now?" },
    { speaker: 0, text: "Yes, let us start today." },
  ]);
  meetingWav = path.join(dir, "meeting.wav");
  fs.writeFileSync(meetingWav, encodeWav(conversation.samples, SAMPLE_RATE));
  const speakerModels = {
    segmentationModel: await getSegmentationTestModelPath("tiny"),
    speakerEmbeddingModel: await getSpeakerEmbeddingTestModelPath("tiny"),
  };
  [server, channelsOnly, browser] = await Promise.all([startTestServer(speakerModels), startTestServer(), launchChromium()]);
  served = (await server.client().audio.transcriptions.create({
    file: fs.createReadStream(meetingWav),
    model: "whisper-1",
    response_format: "diarized_json",
  })) as unknown as TranscriptionDiarized;
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
  await channelsOnly?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

async function download(page: Page, button: string): Promise<{ name: string; text: string }> {
  const [file] = await Promise.all([page.waitForEvent("download"), page.click(button)]);
  const target = path.join(dir, file.suggestedFilename());
  await file.saveAs(target);
  return { name: file.suggestedFilename(), text: fs.readFileSync(target, "utf8") };
}

/** The element that has focus: its class and text. */
async function focused(page: Page): Promise<string> {
  return String(await page.evaluate("(() => { const e = document.activeElement; return `${e.className}:${e.tagName === 'INPUT' ? e.value : e.textContent}`; })()"));
}

interface Turn {
  speaker: string | null;
  name: string;
  segments: Array<{ time: string; text: string }>;
}

async function turns(page: Page): Promise<Turn[]> {
  return page.$$eval("#segments > .turn", (items) =>
    items.map((item) => ({
      speaker: item.getAttribute("data-speaker"),
      name: item.querySelector(".speaker-text")?.textContent ?? "",
      segments: [...item.querySelectorAll(".segment")].map((segment) => ({
        time: segment.querySelector(".timestamp")?.textContent ?? "",
        text: segment.querySelector(".segment-text")?.textContent ?? "",
      })),
    })),
  );
}

/** `served` with the speakers renamed as `names` says (others keep their label). */
function renamed(names: Record<string, string>): TranscriptionDiarized {
  return { ...served, segments: served.segments.map((segment) => ({ ...segment, speaker: names[segment.speaker] ?? segment.speaker })) };
}

describe("who spoke", () => {
  let page: Page;
  let errors: string[];

  beforeAll(async () => {
    ({ page, errors } = await openPage(browser, server.url));
    await page.context().grantPermissions(["clipboard-read", "clipboard-write"], { origin: server.url });
    await waitForReady(page);
  });

  afterAll(async () => {
    await page?.context().close();
  });

  it("the server's answer for the meeting: three turns of two speakers (what the page is checked against)", () => {
    const order = served.segments.map((s) => s.speaker).filter((speaker, i, all) => speaker !== all[i - 1]);
    expect(order).toEqual(["A", "B", "A"]);
  });

  it("asks for diarized_json and shows the meeting by speaker turn, each turn under its speaker's name", async () => {
    await page.check("#speakers-check");
    expect(await unnamedControls(page)).toEqual([]);
    // translations have no speakers: the option is off limits while translating
    await page.check("#translate-check");
    expect(await page.isDisabled("#speakers-check")).toBe(true);
    await page.uncheck("#translate-check");
    expect(await page.isEnabled("#speakers-check")).toBe(true);

    await chooseFile(page, meetingWav);
    await page.waitForSelector("#result:not([hidden])", { timeout: 60_000 });
    await screenshot(page, "40-speakers");

    const shown = await turns(page);
    expect(shown.map((turn) => [turn.speaker, turn.name])).toEqual([
      ["A", "A"],
      ["B", "B"],
      ["A", "A"],
    ]);
    // every segment the server sent, in order, under the turn of its speaker
    expect(shown.flatMap((turn) => turn.segments.map((segment) => [turn.speaker, segment.text]))).toEqual(
      served.segments.map((segment) => [segment.speaker, segment.text]),
    );
    expect(shown.every((turn) => turn.segments.every((segment) => /^\d+:\d\d$/.test(segment.time)))).toBe(true);
    expect(await page.textContent("#result-meta")).toMatch(/^2 speakers · 0:\d\d · whisper-1 · took/);
    expect(await page.textContent("#transcript-hint")).toContain("rename");
    expect(await unnamedControls(page)).toEqual([]);
    expect(errors).toEqual([]);
    await expectNoTempFiles(server.tempDir);
  });

  it("renames a speaker by clicking the name and pressing Enter: every turn of that speaker follows", async () => {
    await page.click("#segments > .turn:nth-child(1) .speaker-name");
    expect(await focused(page)).toBe("speaker-input:A");
    expect(await page.getAttribute(".speaker-input", "aria-label")).toBe("Name of speaker A");
    await page.fill(".speaker-input", "Ada Lovelace");
    await page.keyboard.press("Enter");
    // the focus comes back to the name, and both of A's turns carry the new one; B keeps its letter
    expect(await focused(page)).toBe("speaker-name:Ada Lovelace✎");
    expect((await turns(page)).map((turn) => turn.name)).toEqual(["Ada Lovelace", "B", "Ada Lovelace"]);
    await screenshot(page, "41-speakers-renamed");
    await page.emulateMedia({ colorScheme: "dark" });
    await screenshot(page, "42-speakers-dark");
    await page.emulateMedia({ colorScheme: "light" });
  });

  it("with the keyboard alone: Enter opens the name, Escape keeps the old one, Enter keeps a new one", async () => {
    await page.focus("#segments > .turn:nth-child(2) .speaker-name");
    await page.keyboard.press("Enter");
    expect(await focused(page)).toBe("speaker-input:B");
    await page.keyboard.type("Nobody");
    await page.keyboard.press("Escape");
    expect(await focused(page)).toBe("speaker-name:B✎");
    expect((await turns(page)).map((turn) => turn.name)).toEqual(["Ada Lovelace", "B", "Ada Lovelace"]);

    await page.keyboard.press("Enter");
    await page.keyboard.press("ControlOrMeta+A");
    await page.keyboard.type("  Grace   Hopper ");
    await page.keyboard.press("Enter");
    expect((await turns(page)).map((turn) => turn.name)).toEqual(["Ada Lovelace", "Grace Hopper", "Ada Lovelace"]);
    // a blank name gives the speaker its label back; leaving the field (a click elsewhere) keeps what was typed
    await page.click("#segments > .turn:nth-child(2) .speaker-name");
    await page.fill(".speaker-input", " ");
    await page.click("#result-title");
    expect((await turns(page)).map((turn) => turn.name)).toEqual(["Ada Lovelace", "B", "Ada Lovelace"]);
    await page.click("#segments > .turn:nth-child(2) .speaker-name");
    await page.fill(".speaker-input", "Grace Hopper");
    await page.keyboard.press("Enter");
    expect(errors).toEqual([]);
  });

  it("copies and exports with the names on the page: txt by turn, srt and vtt cues, json as diarized_json", async () => {
    const names = { A: "Ada Lovelace", B: "Grace Hopper" };
    const expected = renamed(names);

    const json = await download(page, "[data-export=json]");
    expect(json.name).toBe("meeting.json");
    expect(JSON.parse(json.text)).toEqual(expected);

    // one line per turn: the speaker's segments joined
    const lines: string[] = [];
    expected.segments.forEach((segment, index) => {
      if (index > 0 && expected.segments[index - 1]!.speaker === segment.speaker) lines[lines.length - 1] += ` ${segment.text}`;
      else lines.push(`${segment.speaker}: ${segment.text}`);
    });
    expect(lines).toHaveLength(3);
    expect((await download(page, "[data-export=txt]")).text).toBe(`${lines.join("\n")}\n`);
    await page.click("#copy-button");
    await eventually(() => page.textContent("#toast")).toBe("Transcript copied");
    expect(await page.evaluate("navigator.clipboard.readText()")).toBe(lines.join("\n"));

    const srt = (await download(page, "[data-export=srt]")).text.trim().split("\n\n");
    expect(srt).toHaveLength(expected.segments.length);
    srt.forEach((cue, index) => {
      const segment = expected.segments[index]!;
      expect(cue).toMatch(new RegExp(`^${index + 1}\\n\\d{2}:\\d{2}:\\d{2},\\d{3} --> \\d{2}:\\d{2}:\\d{2},\\d{3}\\n`));
      expect(cue.split("\n").slice(2).join("\n")).toBe(`${segment.speaker}: ${segment.text}`);
    });

    const vtt = (await download(page, "[data-export=vtt]")).text;
    expect(vtt.startsWith("WEBVTT\n\n")).toBe(true);
    const vttCues = vtt.slice("WEBVTT\n\n".length).trim().split("\n\n");
    expect(vttCues.map((cue) => cue.split("\n").slice(1).join("\n"))).toEqual(expected.segments.map((s) => `${s.speaker}: ${s.text}`));
  });

  it("writes a name with markup characters as text: escaped in WebVTT, as typed in SubRip and on the page", async () => {
    await page.click("#segments > .turn:nth-child(2) .speaker-name");
    await page.fill(".speaker-input", "R&D <team>");
    await page.keyboard.press("Enter");
    expect((await turns(page)).map((turn) => turn.name)).toEqual(["Ada Lovelace", "R&D <team>", "Ada Lovelace"]);
    const firstOfB = served.segments.find((segment) => segment.speaker === "B")!;
    expect((await download(page, "[data-export=vtt]")).text).toContain(`\nR&amp;D &lt;team&gt;: ${firstOfB.text}\n`);
    expect((await download(page, "[data-export=srt]")).text).toContain(`\nR&D <team>: ${firstOfB.text}\n`);
    await page.click("#segments > .turn:nth-child(2) .speaker-name");
    await page.fill(".speaker-input", "Grace Hopper");
    await page.keyboard.press("Enter");
  });

  it("plays from a turn's segment and marks the segment being played", async () => {
    const second = served.segments.find((segment) => segment.speaker === "B")!;
    await page.click("#segments > .turn:nth-child(2) .segment:nth-child(1) .timestamp");
    await eventually(() => playerTime(page)).toBeGreaterThanOrEqual(second.start);
    expect(await page.getAttribute("#segments > .turn:nth-child(2) .segment:nth-child(1)", "aria-current")).toBe("true");
    await pausePlayer(page);
  });

  it("fits a 360 px phone: turns and names wrap, nothing scrolls sideways", async () => {
    await page.setViewportSize({ width: 360, height: 740 });
    expect(Number(await page.evaluate("document.documentElement.scrollWidth"))).toBeLessThanOrEqual(360);
    await page.locator("#result").scrollIntoViewIfNeeded();
    await screenshot(page, "44-speakers-mobile");
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  it("keeps the names when the same audio is transcribed again; another file starts with the server's labels", async () => {
    await page.click("#retranscribe");
    await page.waitForSelector("#result:not([hidden])", { timeout: 60_000 });
    await eventually(async () => (await turns(page)).map((turn) => turn.name)).toEqual(["Ada Lovelace", "Grace Hopper", "Ada Lovelace"]);

    fs.copyFileSync(meetingWav, path.join(dir, "other.wav"));
    await chooseFile(page, path.join(dir, "other.wav"));
    await eventually(() => page.textContent("#result-title"), 60_000).toBe("Transcript of other.wav");
    expect((await turns(page)).map((turn) => turn.name)).toEqual(["A", "B", "A"]);
    expect(errors).toEqual([]);
  });

  it("with the option off, the same file is shown by segment again, without turns", async () => {
    await page.uncheck("#speakers-check");
    await page.click("#retranscribe");
    await eventually(() => page.$$eval("#segments .turn", (items) => items.length), 60_000).toBe(0);
    expect(await page.$$eval("#segments .segment", (items) => items.length)).toBeGreaterThan(0);
    expect(errors).toEqual([]);
    await expectNoTempFiles(server.tempDir);
  });
});

describe("who spoke, on a server without speaker models", () => {
  let page: Page;
  let errors: string[];

  beforeAll(async () => {
    ({ page, errors } = await openPage(browser, channelsOnly.url));
    await waitForReady(page);
  });

  afterAll(async () => {
    await page?.context().close();
  });

  it("a mono recording: says the speakers could not be told apart, and that turning the option off transcribes it", async () => {
    await page.check("#speakers-check");
    await chooseFile(page, meetingWav);
    await eventually(() => page.textContent("#job-error-title"), 60_000).toBe("The speakers could not be told apart");
    // the server's own reason, then what to do
    expect(await page.textContent("#job-error-detail")).toMatch(/^\S.+ Turn off "Who spoke" to transcribe it without speakers\.$/s);
    await screenshot(page, "43-speakers-mono-refused");

    await page.uncheck("#speakers-check");
    await page.click("#job-retry");
    await page.waitForSelector("#result:not([hidden])", { timeout: 60_000 });
    expect(await page.$$eval("#segments .turn", (items) => items.length)).toBe(0);
    expect(await page.$$eval("#segments .segment", (items) => items.length)).toBeGreaterThan(0);
    // the browser logs the 400; nothing else went wrong
    expect(errors.filter((error) => !error.includes("status of 400"))).toEqual([]);
    await expectNoTempFiles(channelsOnly.tempDir);
  });
});
