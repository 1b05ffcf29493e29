// The browser app for everyone who reaches it: on a server with API keys (the key is asked for, kept
// in this tab only, and sent as a Bearer header), with the keyboard alone, and on a 360 px phone.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { eventually, launchChromium, openPage, pausePlayer, playerTime, screenshot, unnamedControls, waitForReady } from "../support/browser.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { shortSpeech, writeWav } from "../support/speech.js";

const KEY = "sk-earshot-browser-0123456789";
let server: TestServer;
let browser: Browser;
let dir: string;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "earshot-web-access-"));
  const wav = path.join(dir, "speech.wav");
  const speech = await shortSpeech();
  await writeWav(wav, speech.samples, speech.sampleRate);
  [server, browser] = await Promise.all([startTestServer({ apiKeys: KEY }), launchChromium({ fakeAudioFile: wav })]);
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

/** The element that has focus, described by id or text. */
async function focused(page: Page): Promise<string> {
  return String(await page.evaluate("(() => { const e = document.activeElement; return e.id || e.getAttribute('data-export') || e.textContent.trim(); })()"));
}

/** Presses Tab until `target` (an id) has focus; fails after `limit` presses. */
async function tabTo(page: Page, target: string, limit = 25): Promise<number> {
  for (let presses = 1; presses <= limit; presses++) {
    await page.keyboard.press("Tab");
    if ((await focused(page)) === target) return presses;
  }
  throw new Error(`#${target} not reached with ${limit} Tab presses`);
}

describe("a server with API keys, used with the keyboard alone on a 360 px screen", () => {
  let page: Page;
  let errors: string[];

  beforeAll(async () => {
    ({ page, errors } = await openPage(browser, server.url, { viewport: { width: 360, height: 740 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true }));
  });

  afterAll(async () => {
    await page?.context().close();
  });

  it("asks for the key, refuses a wrong one, and keeps the right one in this tab only", async () => {
    await page.waitForSelector("#auth-panel:not([hidden])");
    expect(await page.textContent("#server-status")).toBe("API key needed");
    // the key field has focus, ready to type
    expect(await focused(page)).toBe("api-key-input");
    await screenshot(page, "30-mobile-api-key");

    await page.keyboard.type("sk-wrong-key-000000");
    await page.keyboard.press("Enter");
    await eventually(() => page.textContent("#auth-error")).toBe("That key was not accepted. Check it and try again.");

    await page.fill("#api-key-input", KEY);
    await page.keyboard.press("Enter");
    await waitForReady(page);
    expect(await page.isHidden("#auth-panel")).toBe(true);
    expect(await page.evaluate("sessionStorage.getItem('earshot.apiKey')")).toBe(KEY);
    expect(await page.evaluate("JSON.stringify(localStorage)")).not.toContain(KEY);
    expect(await page.$$eval("#model-select option", (options) => options.length)).toBeGreaterThan(1);
    await screenshot(page, "31-mobile-start");
    // the browser logs each 401 answer; nothing else went wrong
    expect(errors.filter((error) => !error.includes("status of 401"))).toEqual([]);
    errors.length = 0;
  });

  it("fits a 360 px screen with every control named", async () => {
    expect(Number(await page.evaluate("document.documentElement.scrollWidth"))).toBeLessThanOrEqual(360);
    expect(await unnamedControls(page)).toEqual([]);
    // text stays readable: nothing below 12 px
    const smallest = Number(
      await page.evaluate(
        "Math.min(...[...document.querySelectorAll('body *')].filter((e) => e.offsetParent !== null && e.childNodes.length && [...e.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim())).map((e) => parseFloat(getComputedStyle(e).fontSize)))",
      ),
    );
    expect(smallest).toBeGreaterThanOrEqual(12);
  });

  it("records and transcribes with the keyboard alone, sending the key", async () => {
    // From the top of a fresh load (the key is remembered in this tab): the skip link first, then the tabs,
    // then the record button.
    await page.reload();
    await waitForReady(page);
    await page.keyboard.press("Tab");
    expect(await focused(page)).toBe("Skip to content");
    await tabTo(page, "tab-transcribe");
    // arrow keys move between the tabs
    await page.keyboard.press("ArrowRight");
    expect(await focused(page)).toBe("tab-live");
    expect(await page.isVisible("#panel-live")).toBe(true);
    await page.keyboard.press("ArrowLeft");
    expect(await focused(page)).toBe("tab-transcribe");
    expect(await page.isVisible("#panel-transcribe")).toBe(true);

    await tabTo(page, "record-button");
    const authorization: string[] = [];
    page.on("request", (request) => {
      if (request.url().includes("/v1/audio/")) authorization.push(request.headers().authorization ?? "");
    });
    await page.keyboard.press("Enter");
    await eventually(() => page.textContent("#record-elapsed")).toBe("0:02");
    await page.keyboard.press("Space");
    await page.waitForSelector("#result:not([hidden])", { timeout: 60_000 });
    expect(authorization).toEqual([`Bearer ${KEY}`]);
    // focus moves to the transcript, whose controls come next in Tab order
    expect(await focused(page)).toBe("result-title");
    await page.keyboard.press("Tab");
    expect(await focused(page)).toBe("copy-button");
    await tabTo(page, "srt");
    const [download] = await Promise.all([page.waitForEvent("download"), page.keyboard.press("Enter")]);
    expect(download.suggestedFilename()).toMatch(/\.srt$/);
    // a segment's time is a button: Enter plays from it
    await page.evaluate("document.querySelector('#player').currentTime = 1.8");
    await page.focus("#segments .segment:first-child .timestamp");
    await page.keyboard.press("Enter");
    await eventually(() => page.evaluate("document.querySelector('#player').paused")).toBe(false);
    expect(await playerTime(page)).toBeLessThan(1.5);
    await pausePlayer(page);
    expect(Number(await page.evaluate("document.documentElement.scrollWidth"))).toBeLessThanOrEqual(360);
    await page.evaluate("window.scrollTo(0, document.querySelector('#result').offsetTop - 8)");
    await screenshot(page, "32-mobile-transcript");
    expect(errors).toEqual([]);
  });

  it("live captions mint their secret with the key", async () => {
    await page.click("#tab-live");
    const secrets: Array<{ status: number; authorization: string }> = [];
    page.on("response", (response) => {
      if (response.url().endsWith("/v1/realtime/client_secrets")) secrets.push({ status: response.status(), authorization: response.request().headers().authorization ?? "" });
    });
    await page.click("#live-button");
    await eventually(() => page.textContent("#live-indicator")).toMatch(/^(Listening · silent|Speaking)$/);
    expect(secrets).toEqual([{ status: 200, authorization: `Bearer ${KEY}` }]);
    await screenshot(page, "33-mobile-live");
    await page.click("#live-button");
    await eventually(() => page.textContent("#live-indicator")).toBe("Off");
    expect(errors).toEqual([]);
  });
});
