#!/usr/bin/env node
// Runs the test suite (`npm test`: typecheck, build, vitest) once more on another Node.js major than the machine's,
// e.g. Node 24 where `node` is 20. CI runs `npm test` and then this (`npm run test:node24`).
//
//   node scripts/test-other-node.mjs 24 [vitest arguments...]
//
// What it needs comes from the npm registry and is kept under build/node-<major>/ for the next run:
//   - Node itself: the registry package `node-<platform>-<arch>` (a node binary and its C headers);
//   - the official SDK at the newest major that this Node allows (openai 7 needs Node 22; the devDependency stays
//     on 6 while Node 20 is tested), installed by that Node's npm;
//   - better-sqlite3's addon compiled for this Node's V8 ABI (node-gyp --nodedir on a copy of the package: no
//     download, and the installed build is not touched).
// Earshot's own addon and the other native dependencies are N-API builds that load on every Node: nothing to rebuild.
//
// For the run, node_modules/openai and better-sqlite3's addon are replaced by those (the originals wait in
// build/node-<major>/displaced/) and put back when it ends, on failure, Ctrl-C and SIGTERM too; after a run that
// was killed outright, the next run puts them back first. So don't run tests on the machine's Node in the same
// checkout meanwhile.
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/** The SDK major the tests use on a Node major (undefined: the devDependency as installed). */
function sdkMajorFor(nodeMajor) {
  return nodeMajor >= 22 ? 7 : undefined;
}

/** Installed packages built against V8's ABI, not N-API, compiled again for the other Node; `check` must run there. */
const V8_ABI_ADDONS = [
  { name: "better-sqlite3", binary: path.join("build", "Release", "better_sqlite3.node"), check: "new (require('better-sqlite3'))(':memory:').close()" },
];

const major = Number(process.argv[2]);
const vitestArgs = process.argv.slice(3);
if (!Number.isInteger(major) || major < 20) {
  process.stderr.write("usage: node scripts/test-other-node.mjs <node major, 20 or newer> [vitest arguments...]\n");
  process.exit(2);
}
const toolsDir = path.join(root, "build", `node-${major}`);
const displacedDir = path.join(toolsDir, "displaced");
const journalPath = path.join(toolsDir, "displaced.json");
/** How long the suite's other processes get to end after npm has, before they are killed. */
const GROUP_EXIT_MS = 10_000;
/** Suffix of a replacement copied next to what it replaces, then renamed over it. */
const STAGED = ".earshot-staged";

function log(message) {
  process.stderr.write(`[test node ${major}] ${message}\n`);
}

function fail(message) {
  log(`error: ${message}`);
  process.exit(1);
}

function seconds(since) {
  return `${((Date.now() - since) / 1000).toFixed(0)} s`;
}

function readJson(file) {
  try {
    return JSON.parse(fs.readFileSync(file, "utf8"));
  } catch {
    return undefined;
  }
}

function majorOf(version) {
  return Number(String(version).replace(/^v/, "").split(".")[0]);
}

/** npm's own CLI script: the one running this script, else the one on PATH. */
function npmCli() {
  if (process.env.npm_execpath && fs.existsSync(process.env.npm_execpath)) return process.env.npm_execpath;
  for (const dir of (process.env.PATH ?? "").split(path.delimiter)) {
    const candidate = path.join(dir, "npm");
    if (dir && fs.existsSync(candidate)) return fs.realpathSync(candidate);
  }
  fail("npm was not found on PATH");
}

/** Runs npm with `nodeBin` (default: this process's Node), quietly; its output is shown when it fails. */
function npm(args, { nodeBin = process.execPath, cwd = root } = {}) {
  const result = spawnSync(nodeBin, [npmCli(), ...args, "--no-audit", "--no-fund", "--loglevel=error"], {
    cwd,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, PATH: `${path.dirname(nodeBin)}${path.delimiter}${process.env.PATH ?? ""}` },
  });
  if (result.status !== 0) fail(`npm ${args.join(" ")} failed:\n${result.stdout ?? ""}${result.stderr ?? result.error?.message ?? ""}`);
}

/** The Node binary of `major`, from the registry package `node-<platform>-<arch>` (installed once). */
function ensureNode() {
  const pkg = `node-${process.platform === "win32" ? "win" : process.platform}-${process.arch}`;
  const prefix = path.join(toolsDir, "node");
  const home = path.join(prefix, "node_modules", pkg);
  const installed = readJson(path.join(home, "package.json"));
  if (majorOf(installed?.version) !== major) {
    const started = Date.now();
    log(`installing Node ${major} (${pkg}@${major} from the npm registry) into ${path.relative(root, prefix)}`);
    fs.rmSync(prefix, { recursive: true, force: true });
    fs.mkdirSync(prefix, { recursive: true });
    npm(["install", "--no-save", "--no-package-lock", "--prefix", prefix, `${pkg}@${major}`]);
    log(`installed in ${seconds(started)}`);
  }
  const manifest = readJson(path.join(home, "package.json"));
  const bin = path.join(home, typeof manifest?.bin === "object" ? manifest.bin.node : "bin/node");
  const probe = spawnSync(bin, ["-p", "JSON.stringify(process.versions)"], { encoding: "utf8" });
  if (probe.status !== 0) fail(`${bin} does not run: ${probe.stderr || probe.error?.message}`);
  const versions = JSON.parse(probe.stdout);
  return { home, bin, version: versions.node, modules: versions.modules };
}

/** The SDK directory to test with on this Node, or undefined to keep the installed devDependency. */
function ensureSdk(node) {
  const sdkMajor = sdkMajorFor(major);
  if (sdkMajor === undefined) return undefined;
  const prefix = path.join(toolsDir, `openai-${sdkMajor}`);
  const dir = path.join(prefix, "node_modules", "openai");
  if (majorOf(readJson(path.join(dir, "package.json"))?.version) !== sdkMajor) {
    const started = Date.now();
    log(`installing openai@${sdkMajor} with Node ${node.version}'s npm into ${path.relative(root, prefix)}`);
    fs.rmSync(prefix, { recursive: true, force: true });
    fs.mkdirSync(prefix, { recursive: true });
    npm(["install", "--no-save", "--no-package-lock", "--prefix", prefix, `openai@${sdkMajor}`], { nodeBin: node.bin });
    log(`installed in ${seconds(started)}`);
  }
  return { dir, version: readJson(path.join(dir, "package.json")).version };
}

/** node-gyp as npm bundles it (npm gives its path to the scripts it runs). */
function nodeGyp() {
  const candidates = [
    process.env.npm_config_node_gyp,
    path.join(path.dirname(npmCli()), "..", "node_modules", "node-gyp", "bin", "node-gyp.js"),
    path.join(root, "node_modules", "node-gyp", "bin", "node-gyp.js"),
  ].filter(Boolean);
  const found = candidates.find((candidate) => fs.existsSync(candidate));
  if (!found) fail(`node-gyp was not found (looked at ${candidates.join(", ")})`);
  return found;
}

/**
 * `addon` compiled for `node`'s ABI, kept as build/node-<major>/<name>-<version>-abi<modules>.node. Compiled in a
 * copy of the package (without its build/), against the headers that come with that Node: nothing is downloaded.
 */
function ensureV8Addon(addon, node) {
  const pkgDir = path.join(root, "node_modules", addon.name);
  const manifest = readJson(path.join(pkgDir, "package.json"));
  if (!manifest) return undefined; // not installed: nothing to replace
  const cached = path.join(toolsDir, `${addon.name}-${manifest.version}-abi${node.modules}.node`);
  if (!fs.existsSync(cached)) {
    const started = Date.now();
    const work = path.join(toolsDir, `${addon.name}-build`);
    const buildLog = path.join(toolsDir, `${addon.name}-build.log`);
    log(`compiling ${addon.name} ${manifest.version} for Node ${node.version} (ABI ${node.modules}); output in ${path.relative(root, buildLog)}`);
    fs.rmSync(work, { recursive: true, force: true });
    fs.cpSync(pkgDir, work, { recursive: true, filter: (src) => path.relative(pkgDir, src) !== "build" });
    const out = fs.openSync(buildLog, "w");
    const result = spawnSync(node.bin, [nodeGyp(), "rebuild", "--release", `--nodedir=${node.home}`, `--jobs=${process.env.EARSHOT_BUILD_JOBS ?? "max"}`], {
      cwd: work,
      stdio: ["ignore", out, out],
      env: { ...process.env, npm_config_nodedir: node.home, PATH: `${path.dirname(node.bin)}${path.delimiter}${process.env.PATH ?? ""}` },
    });
    fs.closeSync(out);
    if (result.status !== 0) {
      process.stderr.write(fs.readFileSync(buildLog, "utf8").split("\n").slice(-40).join("\n"));
      fail(`compiling ${addon.name} for Node ${node.version} failed (full output: ${buildLog})`);
    }
    fs.copyFileSync(path.join(work, addon.binary), cached);
    fs.rmSync(work, { recursive: true, force: true });
    log(`compiled in ${seconds(started)}`);
  }
  return { ...addon, live: path.join(pkgDir, addon.binary), replacement: cached };
}

/** The files and folders replaced for the run, in the order they were replaced. */
function readJournal() {
  return readJson(journalPath) ?? [];
}

/** Puts back what a run replaced (this one, or one that was killed before it could). */
function restoreDisplaced() {
  const entries = readJournal();
  for (const { live, displaced } of entries.reverse()) {
    fs.rmSync(`${live}${STAGED}`, { recursive: true, force: true });
    if (!fs.existsSync(displaced)) continue; // never moved away: `live` is still the original
    fs.rmSync(live, { recursive: true, force: true });
    fs.renameSync(displaced, live);
  }
  fs.rmSync(journalPath, { force: true });
  fs.rmSync(displacedDir, { recursive: true, force: true });
  if (entries.length > 0) log(`put back ${entries.map((entry) => path.relative(root, entry.live)).join(", ")}`);
}

/** Replaces `live` (a file or folder) by a copy of `replacement`; the original waits in displaced/. */
function replace(live, replacement) {
  const displaced = path.join(displacedDir, String(readJournal().length), path.basename(live));
  const staged = `${live}${STAGED}`;
  fs.rmSync(staged, { recursive: true, force: true });
  fs.cpSync(replacement, staged, { recursive: true });
  fs.mkdirSync(path.dirname(displaced), { recursive: true });
  fs.writeFileSync(journalPath, JSON.stringify([...readJournal(), { live, displaced }], null, 2));
  fs.renameSync(live, displaced);
  fs.renameSync(staged, live);
}

/** Whether any process of the process group `pgid` is still running. */
function groupAlive(pgid) {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * `npm test` with `node` first on PATH (npm itself, tsc, vitest and every child process run on it), in a process
 * group of its own: npm's shell dies on a signal without passing it on, so a signal goes to the whole group, and the
 * run counts as over only when no process of it is left (nothing must still be using the swapped packages).
 */
function runSuite(node) {
  return new Promise((resolve) => {
    const child = spawn(node.bin, [npmCli(), "test", ...(vitestArgs.length > 0 ? ["--", ...vitestArgs] : [])], {
      cwd: root,
      stdio: ["ignore", "inherit", "inherit"],
      detached: true,
      env: { ...process.env, PATH: `${path.dirname(node.bin)}${path.delimiter}${process.env.PATH ?? ""}` },
    });
    const forward = (signal) => {
      if (groupAlive(child.pid)) process.kill(-child.pid, signal);
    };
    for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(signal, () => forward(signal));
    child.on("exit", async (code, signal) => {
      const deadline = Date.now() + GROUP_EXIT_MS;
      while (groupAlive(child.pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      forward("SIGKILL");
      resolve(code ?? (signal ? 1 : 0));
    });
  });
}

const started = Date.now();
fs.mkdirSync(toolsDir, { recursive: true });
restoreDisplaced();
const node = ensureNode();
const sdk = ensureSdk(node);
const addons = V8_ABI_ADDONS.map((addon) => ensureV8Addon(addon, node)).filter(Boolean);
log(`ready in ${seconds(started)}: Node ${node.version}${sdk ? `, openai ${sdk.version}` : ""}`);

let status = 1;
try {
  if (sdk) replace(path.join(root, "node_modules", "openai"), sdk.dir);
  for (const { live, replacement } of addons) replace(live, replacement);
  for (const addon of addons) {
    const check = spawnSync(node.bin, ["-e", addon.check], { cwd: root, encoding: "utf8" });
    if (check.status !== 0) throw new Error(`${addon.name} does not load on Node ${node.version}: ${check.stderr}`);
  }
  const suiteStarted = Date.now();
  status = await runSuite(node);
  log(`npm test on Node ${node.version}${sdk ? ` with openai ${sdk.version}` : ""}: ${status === 0 ? "passed" : `failed (status ${status})`} in ${seconds(suiteStarted)}`);
} catch (error) {
  log(`error: ${error.message}`);
} finally {
  restoreDisplaced();
}
process.exit(status);
