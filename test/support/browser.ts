// Real Chromium for the browser app's end-to-end tests: Debian's `chromium` driven by playwright-core
// (Playwright's own browser download needs the internet). `npm test` installs chromium first when it
// is missing on Debian/Ubuntu (scripts/ensure-test-services.mjs); a test that cannot find one fails.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { chromium, type Browser, type BrowserContextOptions, type Page } from "playwright-core";
import { expect } from "vitest";

import { waitFor } from "./server.js";

/** Where the tests leave their screenshots (gitignored). */
export const ARTIFACTS_DIR = path.resolve("test-artifacts", "web");

/** Where Chromium usually is (shared with scripts/ensure-test-services.mjs). */
const CANDIDATES = JSON.parse(
  fs.readFileSync(fileURLToPath(new URL("../../scripts/chromium-candidates.json", import.meta.url)), "utf8"),
) as string[];

/** EARSHOT_CHROMIUM_PATH, or the first Chromium found at a usual place; throws a clear error otherwise. */
function chromiumPath(): string {
  const given = process.env.EARSHOT_CHROMIUM_PATH;
  if (given) {
    if (!fs.existsSync(given)) throw new Error(`EARSHOT_CHROMIUM_PATH=${given} does not exist`);
    return given;
  }
  const found = CANDIDATES.find((candidate) => fs.existsSync(candidate));
  if (!found) {
    throw new Error(
      `The browser app's tests need Chromium and none was found (looked at ${CANDIDATES.join(", ")}). ` +
        "Install it (Debian/Ubuntu: apt-get install chromium; `npm test` does so itself when it can) or set EARSHOT_CHROMIUM_PATH.",
    );
  }
  return found;
}

export interface LaunchOptions {
  /** A 16-bit PCM WAV the fake microphone plays (looped); without it the fake device plays a beep. */
  fakeAudioFile?: string;
  /** Fake audio/video devices (default true). Without them, getUserMedia finds no microphone. */
  fakeDevices?: boolean;
  /** Accept permission prompts by themselves (default true). */
  autoAcceptPermissions?: boolean;
}

/** Launches headless Chromium the way this machine's closed network and root user need it. */
export async function launchChromium(options: LaunchOptions = {}): Promise<Browser> {
  const args = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--autoplay-policy=no-user-gesture-required",
  ];
  if (options.fakeDevices !== false) args.push("--use-fake-device-for-media-stream");
  if (options.autoAcceptPermissions !== false) args.push("--use-fake-ui-for-media-stream");
  if (options.fakeAudioFile) args.push(`--use-file-for-fake-audio-capture=${options.fakeAudioFile}`);
  return chromium.launch({ executablePath: chromiumPath(), args, timeout: 60_000 });
}

/** Page-side script that removes WebRTC, as in a browser without it (the live captions then use the WebSocket). */
export const WITHOUT_WEBRTC = "delete window.RTCPeerConnection; delete window.webkitRTCPeerConnection;";

/**
 * A page on a fresh context, with the page's console errors and uncaught exceptions collected. `initScript` runs in
 * the page before its own scripts (through DevTools: the page's Content-Security-Policy does not apply to it).
 */
export async function openPage(
  browser: Browser,
  url: string,
  context: BrowserContextOptions = {},
  initScript?: string,
): Promise<{ page: Page; errors: string[] }> {
  const browserContext = await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true, ...context });
  if (initScript) await browserContext.addInitScript(initScript);
  const page = await browserContext.newPage();
  const errors: string[] = [];
  page.on("pageerror", (error) => errors.push(`uncaught: ${error.message}`));
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(`console: ${message.text()}`);
  });
  page.setDefaultTimeout(30_000);
  await page.goto(url);
  return { page, errors };
}

/** Saves a full-page screenshot as test-artifacts/web/<name>.png. */
export async function screenshot(page: Page, name: string): Promise<string> {
  fs.mkdirSync(ARTIFACTS_DIR, { recursive: true });
  const file = path.join(ARTIFACTS_DIR, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true, animations: "disabled" });
  return file;
}

/** expect.poll with a timeout that suits a browser on a busy CI machine. */
export function eventually<T>(read: () => T | Promise<T>, timeout = 15_000): ReturnType<typeof expect.poll<T>> {
  return expect.poll(read, { timeout, interval: 50 });
}

// Page-side reads, written as expressions: the tests' TypeScript has no DOM library.

/** The audio player's current time, in seconds. */
export async function playerTime(page: Page): Promise<number> {
  return Number(await page.evaluate("document.querySelector('#player').currentTime"));
}

export async function pausePlayer(page: Page): Promise<void> {
  await page.evaluate("document.querySelector('#player').pause()");
}

/** Picks `file` with the page's "Choose a file…" button. */
export async function chooseFile(page: Page, file: string): Promise<void> {
  const [chooser] = await Promise.all([page.waitForEvent("filechooser"), page.click("#choose-file")]);
  await chooser.setFiles(file);
}

/** How full a level meter is drawn (0..1). */
export async function meterLevel(page: Page, meterId: string): Promise<number> {
  return Number(await page.evaluate(`new DOMMatrix(getComputedStyle(document.querySelector('#${meterId} .meter-fill')).transform).a`));
}

/** The visible buttons, selects and inputs that have no accessible name (label, aria-label or text). */
export async function unnamedControls(page: Page): Promise<string[]> {
  return (await page.evaluate(`[...document.querySelectorAll("button, select, input:not([type=file]), textarea, [tabindex]:not([tabindex='-1'])")]
    .filter((control) => control.offsetParent !== null)
    .filter((control) => !((control.labels && control.labels[0] && control.labels[0].textContent.trim()) || control.getAttribute("aria-label") || control.getAttribute("aria-labelledby") || control.textContent.trim()))
    .map((control) => control.outerHTML)`)) as string[];
}

/**
 * Polls a page-side expression until it is truthy. (page.waitForFunction evaluates a string with eval inside the
 * page, which the app's Content-Security-Policy forbids; page.evaluate goes through DevTools and is not affected.)
 */
export async function waitForExpression(page: Page, expression: string, timeoutMs = 15_000): Promise<void> {
  await waitFor(expression, async () => Boolean(await page.evaluate(expression)), timeoutMs, 50);
}

/** Waits until the page has loaded the server's models (its status says Ready). */
export async function waitForReady(page: Page): Promise<void> {
  await waitForExpression(page, "document.querySelector('#server-status').textContent.startsWith('Ready')");
}
