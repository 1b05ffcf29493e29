#!/usr/bin/env node
// Runs before `npm test`: the browser app's end-to-end tests drive a real Chromium (Debian's
// `chromium` through playwright-core; Playwright's own browser download needs the internet).
// When none is found on Debian/Ubuntu, installs it with apt-get (as root, or through sudo when
// that needs no password). Otherwise says what to do; the browser tests then fail, naming it.
import { spawnSync } from "node:child_process";
import fs from "node:fs";

// Where Chromium usually is; test/support/browser.ts looks at the same places.
const CANDIDATES = JSON.parse(fs.readFileSync(new URL("./chromium-candidates.json", import.meta.url), "utf8"));

function findChromium() {
  const given = process.env.EARSHOT_CHROMIUM_PATH;
  if (given) return fs.existsSync(given) ? given : undefined;
  return CANDIDATES.find((candidate) => fs.existsSync(candidate));
}

function log(message) {
  process.stderr.write(`ensure-chromium: ${message}\n`);
}

function run(command, args) {
  log(`${command} ${args.join(" ")}`);
  const result = spawnSync(command, args, { stdio: ["ignore", "inherit", "inherit"], env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
  return result.status === 0;
}

function main() {
  const found = findChromium();
  if (found) return;
  if (process.env.EARSHOT_CHROMIUM_PATH) {
    log(`EARSHOT_CHROMIUM_PATH=${process.env.EARSHOT_CHROMIUM_PATH} does not exist: the browser app's tests will fail.`);
    return;
  }
  const howTo = "Install Chromium (Debian/Ubuntu: apt-get install chromium) or set EARSHOT_CHROMIUM_PATH; the browser app's tests fail without it.";
  if (!fs.existsSync("/usr/bin/apt-get")) {
    log(`no Chromium found and no apt-get here. ${howTo}`);
    return;
  }
  const isRoot = typeof process.getuid === "function" && process.getuid() === 0;
  let prefix = [];
  if (!isRoot) {
    const sudo = spawnSync("sudo", ["-n", "true"], { stdio: "ignore" });
    if (sudo.status !== 0) {
      log(`no Chromium found, and installing it needs root (sudo asks for a password). ${howTo}`);
      return;
    }
    prefix = ["sudo", "-n"];
  }
  const apt = (args) => (prefix.length ? run(prefix[0], [...prefix.slice(1), "apt-get", ...args]) : run("apt-get", args));
  log("no Chromium found: installing Debian's chromium for the browser app's tests");
  // Ubuntu names the package chromium-browser; a fresh image may need its package lists first.
  const install = () => apt(["install", "-y", "chromium"]) || apt(["install", "-y", "chromium-browser"]);
  if (!install()) {
    apt(["update"]);
    install();
  }
  const installed = findChromium();
  if (installed) log(`using ${installed}`);
  else log(`the install did not provide Chromium. ${howTo}`);
}

main();
