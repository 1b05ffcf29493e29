// The browser app's failure states in real Chromium against the real server: a file too large
// (413), not audio (415), the server busy (429, retried after Retry-After), the server gone (and
// back: the recording is sent again), microphone permission denied, and no microphone at all.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

import type { Browser, Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";

import { chooseFile, eventually, launchChromium, openPage, screenshot, waitForReady } from "../support/browser.js";
import { longSpeechWav, readyStats, startTestServer, waitFor, type TestServer } from "../support/server.js";
import { shortSpeech, writeWav } from "../support/speech.js";

let browser: Browser;
let dir: string;
let speechWav: string;
const servers: TestServer[] = [];
const pages: Page[] = [];

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "earshot-web-errors-"));
  speechWav = path.join(dir, "speech.wav");
  const speech = await shortSpeech();
  await writeWav(speechWav, speech.samples, speech.sampleRate);
  browser = await launchChromium({ fakeAudioFile: speechWav });
});

afterEach(async () => {
  for (const page of pages.splice(0)) await page.context().close();
});

afterAll(async () => {
  await browser?.close();
  for (const server of servers) await server.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

async function server(flags: Parameters<typeof startTestServer>[0] = {}): Promise<TestServer> {
  const started = await startTestServer(flags);
  servers.push(started);
  return started;
}

async function open(url: string, on: Browser = browser): Promise<{ page: Page; errors: string[] }> {
  const opened = await openPage(on, url);
  pages.push(opened.page);
  await waitForReady(opened.page);
  return opened;
}

async function jobError(page: Page): Promise<{ title: string | null; detail: string | null }> {
  await page.waitForSelector("#job-error:not([hidden])");
  return { title: await page.textContent("#job-error-title"), detail: await page.textContent("#job-error-detail") };
}

describe("upload errors", () => {
  it("413: a file above the server's limit says so, with the limit, and offers no pointless retry", async () => {
    const small = await server({ maxUploadMb: "1" });
    const big = path.join(dir, "long.wav");
    fs.writeFileSync(big, await longSpeechWav(65)); // 2 MB
    const { page } = await open(small.url);
    await chooseFile(page, big);
    const error = await jobError(page);
    expect(error.title).toBe("The file is too large");
    expect(error.detail).toMatch(/^This file is 2\.0 MB; this server accepts up to 1 MB\./);
    expect(await page.isHidden("#job-retry")).toBe(true);
    expect(await page.isHidden("#result")).toBe(true);
    await screenshot(page, "10-error-413");
  });

  it("415: a file that is not audio, dropped on the page", async () => {
    const open415 = await server();
    const notes = path.join(dir, "notes.mp3");
    fs.writeFileSync(notes, "These are meeting notes, not audio.\n".repeat(200));
    const { page } = await open(open415.url);
    // dropped on the page this time
    const bytes = fs.readFileSync(notes).toString("base64");
    const transfer = await page.evaluateHandle(
      `(() => { const t = new DataTransfer(); t.items.add(new File([Uint8Array.from(atob("${bytes}"), (c) => c.charCodeAt(0))], "notes.mp3", { type: "audio/mpeg" })); return t; })()`,
    );
    await page.dispatchEvent("#dropzone", "dragenter", { dataTransfer: transfer });
    expect(await page.getAttribute("#dropzone", "class")).toContain("dragging");
    await page.dispatchEvent("#dropzone", "drop", { dataTransfer: transfer });
    expect(await page.getAttribute("#dropzone", "class")).not.toContain("dragging");
    const error = await jobError(page);
    expect(error.title).toBe("This file could not be read as audio");
    expect(error.detail).toMatch(/^It may be damaged, or not an audio or video file\. Use an audio or video file \(mp3/);
    await screenshot(page, "11-error-415");
  });

  it("429: the server busy shows a countdown and sends the file again by itself", async () => {
    const busy = await server({ parallelJobs: "1", maxQueuedJobs: "0" });
    // Occupy the only job slot with a long transcription.
    const form = new FormData();
    form.append("model", "whisper-1");
    form.append("file", new Blob([await longSpeechWav(65)]), "long.wav");
    const long = fetch(`${busy.url}/v1/audio/transcriptions`, { method: "POST", body: form });
    await waitFor("the long job to run", async () => (await readyStats(busy.url)).running === 1, 30_000);

    const { page, errors } = await open(busy.url);
    await chooseFile(page, speechWav);
    const error = await jobError(page);
    expect(error.title).toBe("The server is busy");
    expect(error.detail).toMatch(/Retrying in \d+ s…$/);
    expect(await page.isVisible("#job-retry")).toBe(true);
    await screenshot(page, "12-busy-429");
    expect((await long).status).toBe(200);
    // Retried after Retry-After without a click.
    await page.waitForSelector("#result:not([hidden])", { timeout: 90_000 });
    expect(await page.$$eval("#segments .segment", (items) => items.length)).toBe(2);
    expect(errors.filter((e) => !e.includes("429"))).toEqual([]);
  });

  it("401: an upload without the key asks for it, and nothing replaces that message", async () => {
    const guarded = await server({ apiKeys: "sk-earshot-errors-0123456789" });
    const { page } = await openPage(browser, guarded.url);
    pages.push(page);
    await page.waitForSelector("#auth-panel:not([hidden])");
    await chooseFile(page, speechWav);
    const error = await jobError(page);
    expect(error.title).toBe("The server needs a valid API key");
    await eventually(() => page.textContent("#auth-error")).toBe("The server asked for an API key.");
    // the upload's 401 does not reload the models behind the form (which would blank its message)
    await page.waitForTimeout(500);
    expect(await page.textContent("#auth-error")).toBe("The server asked for an API key.");
    expect(await page.textContent("#server-status")).toBe("API key needed");
  });

  it("server unreachable: the recording is kept, can be downloaded, and is sent again when the server is back", async () => {
    const first = await server();
    const port = new URL(first.url).port;
    const { page } = await open(first.url);
    await first.close();
    servers.splice(servers.indexOf(first), 1);

    await page.click("#record-button");
    await eventually(() => page.textContent("#record-elapsed")).toBe("0:01");
    await page.click("#record-button");
    const error = await jobError(page);
    expect(error.title).toBe("Could not reach the server");
    expect(await page.isVisible("#job-download")).toBe(true);
    await screenshot(page, "13-error-network");

    const [download] = await Promise.all([page.waitForEvent("download"), page.click("#job-download")]);
    const saved = path.join(dir, download.suggestedFilename());
    await download.saveAs(saved);
    expect(fs.statSync(saved).size).toBeGreaterThan(1000);
    expect(fs.readFileSync(saved).subarray(0, 4)).toEqual(Buffer.from([0x1a, 0x45, 0xdf, 0xa3])); // EBML: webm

    await server({ port });
    await page.click("#job-retry");
    await page.waitForSelector("#result:not([hidden])", { timeout: 60_000 });
    expect(await page.textContent("#segments")).toContain("one two three");
  });
});

describe("microphone errors", () => {
  let url: string;

  beforeAll(async () => {
    url = (await server()).url;
  });

  it("permission denied: says how to allow it, and uploading still works", async () => {
    const denying = await launchChromium({ autoAcceptPermissions: false });
    try {
      const { page } = await open(url, denying);
      await page.click("#record-button");
      await eventually(() => page.textContent("#record-error")).toMatch(/^Microphone access is blocked ?Allow the microphone for this site/);
      expect(await page.textContent("#record-button")).toContain("Start recording");
      expect(await page.isEnabled("#choose-file")).toBe(true);
      await screenshot(page, "14-mic-denied");

      // the live captions tab says the same
      await page.click("#tab-live");
      await page.click("#live-button");
      await eventually(() => page.textContent("#live-error")).toMatch(/^Microphone access is blocked/);
      expect(await page.textContent("#live-indicator")).toBe("Stopped");
      await page.context().close();
    } finally {
      await denying.close();
    }
  });

  it("no microphone: says so", async () => {
    const deviceless = await launchChromium({ fakeDevices: false });
    try {
      const { page } = await open(url, deviceless);
      await page.click("#record-button");
      await eventually(() => page.textContent("#record-error")).toMatch(/^No microphone found/);
      await screenshot(page, "15-no-mic");
      await page.context().close();
    } finally {
      await deviceless.close();
    }
  });
});
