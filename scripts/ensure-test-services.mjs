#!/usr/bin/env node
// Runs before `npm test`: some tests drive real programs from Debian rather than stand-ins:
//   - Chromium (through playwright-core) for the browser app; Playwright's own browser download needs the internet;
//   - redis-server for the batch jobs on BullMQ;
//   - haproxy for the two-replica test behind a load balancer.
// Whatever is missing is installed with one apt-get call (as root, or through sudo when that needs no
// password). Where that cannot be done, says what to do; the tests that need the program then fail, naming it.
import { spawnSync } from "node:child_process";
import fs from "node:fs";

// Where Chromium usually is; test/support/browser.ts looks at the same places.
const CHROMIUM_CANDIDATES = JSON.parse(fs.readFileSync(new URL("./chromium-candidates.json", import.meta.url), "utf8"));

function findChromium() {
  const given = process.env.EARSHOT_CHROMIUM_PATH;
  if (given) return fs.existsSync(given) ? given : undefined;
  return CHROMIUM_CANDIDATES.find((candidate) => fs.existsSync(candidate));
}

function findOnPath(program) {
  for (const dir of (process.env.PATH ?? "").split(":").concat(["/usr/sbin", "/usr/bin", "/sbin"])) {
    const candidate = `${dir}/${program}`;
    if (dir && fs.existsSync(candidate)) return candidate;
  }
  return undefined;
}

/** What the tests need: how to find it, and Debian's package names (Ubuntu's alternatives after the first). */
const NEEDS = [
  { what: "Chromium", find: findChromium, packages: ["chromium", "chromium-browser"], howTo: "apt-get install chromium, or set EARSHOT_CHROMIUM_PATH" },
  { what: "redis-server", find: () => findOnPath("redis-server"), packages: ["redis-server"], howTo: "apt-get install redis-server" },
  { what: "haproxy", find: () => findOnPath("haproxy"), packages: ["haproxy"], howTo: "apt-get install haproxy" },
];

function log(message) {
  process.stderr.write(`ensure-test-services: ${message}\n`);
}

function run(command, args) {
  log(`${command} ${args.join(" ")}`);
  const result = spawnSync(command, args, { stdio: ["ignore", "inherit", "inherit"], env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
  return result.status === 0;
}

function aptRunner() {
  if (!fs.existsSync("/usr/bin/apt-get")) return { why: "no apt-get here" };
  const isRoot = typeof process.getuid === "function" && process.getuid() === 0;
  if (isRoot) return { apt: (args) => run("apt-get", args) };
  const sudo = spawnSync("sudo", ["-n", "true"], { stdio: "ignore" });
  if (sudo.status !== 0) return { why: "installing needs root (sudo asks for a password)" };
  return { apt: (args) => run("sudo", ["-n", "apt-get", ...args]) };
}

function main() {
  const missing = NEEDS.filter((need) => !need.find());
  if (missing.length === 0) return;
  if (process.env.EARSHOT_CHROMIUM_PATH && missing.some((need) => need.what === "Chromium")) {
    log(`EARSHOT_CHROMIUM_PATH=${process.env.EARSHOT_CHROMIUM_PATH} does not exist: the browser app's tests will fail.`);
  }
  const installable = missing.filter((need) => !(need.what === "Chromium" && process.env.EARSHOT_CHROMIUM_PATH));
  const { apt, why } = aptRunner();
  if (!apt) {
    for (const need of installable) log(`${need.what} not found and ${why}: ${need.howTo}; the tests that use it fail without it.`);
    return;
  }
  log(`installing ${installable.map((need) => need.what).join(", ")} for the tests`);
  // One call for all of them; a fresh image may need its package lists first; Ubuntu names some packages differently.
  const install = (names) => apt(["install", "-y", "--no-install-recommends", ...names]);
  const firstNames = installable.map((need) => need.packages[0]);
  if (!install(firstNames)) {
    apt(["update"]);
    if (!install(firstNames)) for (const need of installable) need.packages.some((name) => install([name]));
  }
  for (const need of installable) {
    const found = need.find();
    if (found) log(`using ${found}`);
    else log(`the install did not provide ${need.what}: ${need.howTo}; the tests that use it fail without it.`);
  }
}

main();
