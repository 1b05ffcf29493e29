#!/usr/bin/env node
// Builds Earshot's N-API addon (native/) together with whisper.cpp for this machine's CPU.
//
// Runs as the package's `install` script, so `npm ci` compiles on the user's machine with
// the host's SIMD (GGML_NATIVE). whisper.cpp's source comes from a registry package
// (nodejs-whisper ships it under cpp/whisper.cpp), or from EARSHOT_WHISPER_CPP_DIR.
//
//   node scripts/build-native.mjs                 build if anything changed
//   node scripts/build-native.mjs --force         rebuild
//   node scripts/build-native.mjs --target whisper-cli --target whisper-bench
//                                                 also build whisper.cpp's own tools from the
//                                                 same tree and flags (the benchmark uses them)
//
// Environment: EARSHOT_GPU=auto|cpu|cuda (default auto: CUDA when nvcc and an NVIDIA GPU are
// both present), EARSHOT_BUILD_JOBS, EARSHOT_SKIP_NATIVE_BUILD=1, EARSHOT_CMAKE_ARGS.
import { spawnSync, execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const require = createRequire(import.meta.url);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const outDir = path.join(root, "build", "native");
const cmakeDir = path.join(outDir, "cmake");
const addonPath = path.join(outDir, "earshot.node");
const infoPath = path.join(outDir, "build-info.json");
/** The full CMake and compiler output of the last build; only its tail is printed, on failure. */
const logPath = path.join(outDir, "build.log");
const LOG_TAIL_LINES = 60;

const args = process.argv.slice(2);
const force = args.includes("--force");
const extraTargets = args.flatMap((a, i) => (a === "--target" && args[i + 1] ? [args[i + 1]] : []));

function log(message) {
  process.stderr.write(`[earshot build] ${message}\n`);
}

function fail(message) {
  log(`error: ${message}`);
  process.exit(1);
}

if (process.env.EARSHOT_SKIP_NATIVE_BUILD === "1" && extraTargets.length === 0) {
  log("EARSHOT_SKIP_NATIVE_BUILD=1: not building the native addon");
  process.exit(0);
}

function whisperCppDir() {
  const fromEnv = process.env.EARSHOT_WHISPER_CPP_DIR;
  if (fromEnv) return path.resolve(fromEnv);
  try {
    return path.join(path.dirname(require.resolve("nodejs-whisper/package.json")), "cpp", "whisper.cpp");
  } catch {
    fail("cannot find the whisper.cpp source: install dependencies first (npm ci) or set EARSHOT_WHISPER_CPP_DIR");
  }
}

function whisperCppVersion(dir) {
  const cmake = fs.readFileSync(path.join(dir, "CMakeLists.txt"), "utf8");
  return /project\("whisper\.cpp" VERSION ([0-9.]+)\)/.exec(cmake)?.[1] ?? "unknown";
}

function nodeIncludeDir() {
  const candidates = [
    process.env.npm_config_nodedir && path.join(process.env.npm_config_nodedir, "include", "node"),
    path.resolve(path.dirname(process.execPath), "..", "include", "node"),
    "/usr/include/node",
    "/usr/local/include/node",
  ].filter(Boolean);
  const found = candidates.find((dir) => fs.existsSync(path.join(dir, "node_api.h")));
  if (!found) fail(`Node's C headers (node_api.h) were not found in: ${candidates.join(", ")}`);
  return found;
}

function commandExists(command, versionArgs = ["--version"]) {
  return spawnSync(command, versionArgs, { stdio: "ignore" }).status === 0;
}

function chooseGpu() {
  const wanted = (process.env.EARSHOT_GPU ?? "auto").toLowerCase();
  if (!["auto", "cpu", "cuda"].includes(wanted)) fail(`EARSHOT_GPU must be auto, cpu or cuda, not "${wanted}"`);
  if (wanted !== "auto") return wanted;
  const hasNvcc = commandExists("nvcc");
  const hasGpu = hasNvcc && spawnSync("nvidia-smi", ["-L"], { encoding: "utf8" }).stdout?.includes("GPU");
  return hasNvcc && hasGpu ? "cuda" : "cpu";
}

function hashTree(dirs) {
  const hash = createHash("sha256");
  for (const dir of dirs) {
    for (const entry of fs.readdirSync(dir, { recursive: true }).sort()) {
      const file = path.join(dir, entry);
      if (fs.statSync(file).isFile()) hash.update(entry).update(fs.readFileSync(file));
    }
  }
  return hash.digest("hex").slice(0, 16);
}

/** Ends the build: the last lines of build.log and its path, then `message`. */
function failWithLog(message) {
  let tail = "";
  try {
    const lines = fs.readFileSync(logPath, "utf8").trimEnd().split("\n");
    tail = lines.slice(-LOG_TAIL_LINES).join("\n");
  } catch {
    // no log yet
  }
  if (tail) process.stderr.write(`${tail}\n`);
  log(`full output: ${logPath}`);
  fail(message);
}

/** One build stage: a single progress line here, the command's output in build.log. */
function run(stage, command, commandArgs) {
  log(stage);
  fs.mkdirSync(outDir, { recursive: true });
  fs.appendFileSync(logPath, `\n$ ${command} ${commandArgs.join(" ")}\n`);
  const fd = fs.openSync(logPath, "a");
  let result;
  try {
    result = spawnSync(command, commandArgs, { stdio: ["ignore", fd, fd] });
  } finally {
    fs.closeSync(fd);
  }
  if (result.error) failWithLog(`could not run ${command}: ${result.error.message}`);
  if (result.status !== 0) failWithLog(`${stage} failed: ${command} exited with status ${result.status}`);
}

if (!commandExists("cmake")) fail("CMake is required to build the whisper.cpp addon (Debian/Ubuntu: apt-get install cmake)");
if (!commandExists("c++") && !commandExists("g++") && !commandExists("clang++")) {
  fail("a C++ compiler is required (Debian/Ubuntu: apt-get install build-essential)");
}

const patchesDir = path.join(root, "native", "patches");

/**
 * whisper.cpp as Earshot builds it: the pristine source copied under build/native and our patches (native/patches,
 * applied in name order) on top. The copy is made again whenever the source version or a patch changes; a patch
 * that no longer applies stops the build and names the patch.
 */
function patchedSourceDir(pristineDir) {
  const patches = fs.existsSync(patchesDir) ? fs.readdirSync(patchesDir).filter((f) => f.endsWith(".patch")).sort() : [];
  const version = whisperCppVersion(pristineDir);
  const key = createHash("sha256")
    .update(pristineDir)
    .update(version)
    .update(patches.length > 0 ? hashTree([patchesDir]) : "")
    .digest("hex")
    .slice(0, 16);
  const dir = path.join(outDir, "whisper.cpp");
  const stamp = path.join(dir, ".earshot-patched");
  if (fs.existsSync(stamp) && fs.readFileSync(stamp, "utf8") === key) return dir;
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(outDir, { recursive: true });
  fs.cpSync(pristineDir, dir, { recursive: true, filter: (src) => !/[\\/](\.git|models)$/.test(src) });
  for (const patch of patches) {
    const file = path.join(patchesDir, patch);
    const viaPatch = spawnSync("patch", ["-p1", "--forward", "--batch", "--silent", "-d", dir, "-i", file], { encoding: "utf8" });
    if (viaPatch.error) {
      const viaGit = spawnSync("git", ["apply", "--directory=", "-p1", file], { cwd: dir, encoding: "utf8" });
      if (viaGit.error) fail(`applying ${patch} needs \`patch\` or \`git\` (Debian/Ubuntu: apt-get install patch)`);
      if (viaGit.status !== 0) fail(`native/patches/${patch} does not apply to whisper.cpp ${version}:\n${viaGit.stderr}`);
    } else if (viaPatch.status !== 0) {
      fail(`native/patches/${patch} does not apply to whisper.cpp ${version}:\n${viaPatch.stdout}${viaPatch.stderr}`);
    }
    log(`applied native/patches/${patch}`);
  }
  fs.writeFileSync(stamp, key);
  return dir;
}

const sourceDir = patchedSourceDir(whisperCppDir());
const gpu = chooseGpu();
const cmakeArgs = [
  "-S", path.join(root, "native"),
  "-B", cmakeDir,
  "-DCMAKE_BUILD_TYPE=Release",
  `-DWHISPER_CPP_DIR=${sourceDir}`,
  `-DNODE_INCLUDE_DIR=${nodeIncludeDir()}`,
  `-DNODE_ADDON_API_DIR=${path.dirname(require.resolve("node-addon-api/package.json"))}`,
  "-DGGML_NATIVE=ON",
  `-DGGML_CUDA=${gpu === "cuda" ? "ON" : "OFF"}`,
  ...(process.env.EARSHOT_CMAKE_ARGS ? process.env.EARSHOT_CMAKE_ARGS.split(/\s+/).filter(Boolean) : []),
];
// The addon is N-API (NAPI_VERSION in native/CMakeLists.txt): one build loads on every Node version, so neither the
// running Node nor where its headers are is part of the key (switching Node does not rebuild).
const buildKey = createHash("sha256")
  .update(JSON.stringify({ cmakeArgs: cmakeArgs.filter((arg) => !arg.startsWith("-DNODE_INCLUDE_DIR=")), src: hashTree([path.join(root, "native")]), v: whisperCppVersion(sourceDir) }))
  .digest("hex")
  .slice(0, 16);

const previous = fs.existsSync(infoPath) ? JSON.parse(fs.readFileSync(infoPath, "utf8")) : undefined;
const upToDate = !force && previous?.buildKey === buildKey && fs.existsSync(addonPath);
const missingTargets = extraTargets.filter((t) => !fs.existsSync(path.join(cmakeDir, "bin", t)));

if (upToDate && missingTargets.length === 0) {
  log(`addon is up to date (${path.relative(root, addonPath)})`);
  process.exit(0);
}

const jobs = process.env.EARSHOT_BUILD_JOBS ?? String(os.availableParallelism?.() ?? os.cpus().length);
const started = Date.now();
if (!upToDate) {
  if (force) fs.rmSync(cmakeDir, { recursive: true, force: true });
  fs.mkdirSync(outDir, { recursive: true });
  fs.writeFileSync(logPath, `earshot native build, ${new Date().toISOString()}\n`);
  log(`building whisper.cpp ${whisperCppVersion(sourceDir)} for this CPU (gpu: ${gpu}, ${jobs} jobs; about two minutes on two cores); output in ${path.relative(root, logPath)}`);
  run("1/4 configure (cmake)", "cmake", cmakeArgs);
  run("2/4 compile whisper.cpp (Whisper and Parakeet)", "cmake", ["--build", cmakeDir, "--config", "Release", "--target", "whisper", "parakeet", "-j", jobs]);
  run("3/4 compile and link the addon", "cmake", ["--build", cmakeDir, "--config", "Release", "--target", "earshot_addon", "-j", jobs]);
  const built = [path.join(cmakeDir, "earshot_addon.node"), path.join(cmakeDir, "Release", "earshot_addon.node")].find((p) => fs.existsSync(p));
  if (!built) failWithLog("the build finished but earshot_addon.node was not produced");
  // Replaced by a rename: a process that has the previous addon loaded keeps its (unchanged) file.
  fs.copyFileSync(built, `${addonPath}.tmp`);
  fs.renameSync(`${addonPath}.tmp`, addonPath);

  // Load the fresh binary in a child process before anyone relies on it.
  log("4/4 test-load the addon");
  try {
    const info = execFileSync(process.execPath, ["-e", `const a=require(${JSON.stringify(addonPath)});process.stdout.write(JSON.stringify(a.buildInfo()))`], { encoding: "utf8" });
    const buildInfo = JSON.parse(info);
    fs.writeFileSync(infoPath, JSON.stringify({ buildKey, gpu, cmakeArgs, builtAt: new Date().toISOString(), ...buildInfo }, null, 2));
    log(`built ${path.relative(root, addonPath)} in ${((Date.now() - started) / 1000).toFixed(0)} s: whisper.cpp ${buildInfo.whisperVersion}, ${buildInfo.systemInfo}`);
  } catch (error) {
    fs.appendFileSync(logPath, `\n$ test-load ${addonPath}\n${error.stderr ?? ""}${error.message}\n`);
    failWithLog(`the built addon does not load: ${error.message}`);
  }
}
if (extraTargets.length > 0) {
  run(`building ${extraTargets.join(", ")}`, "cmake", ["--build", cmakeDir, "--config", "Release", "--target", ...extraTargets, "-j", jobs]);
}
