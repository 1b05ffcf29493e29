// whisper.cpp's own whisper-cli, built from the very tree (build/native/whisper.cpp, our patches applied) and with the
// flags the addon is built with, for tests that hold Earshot's engine against it. Built once and kept under
// build/native/cmake/bin like the benchmark's (bench/engine-vs-whisper-cli.ts).
import { execFile } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
export const WHISPER_CLI_PATH = path.join(root, "build", "native", "cmake", "bin", "whisper-cli");
const ADDON_PATH = path.join(root, "build", "native", "earshot.node");
const PATCHES_DIR = path.join(root, "native", "patches");

/** One token of whisper-cli's full JSON output (-ojf). Times are centiseconds; t_dtw is -1 where DTW set none. */
export interface CliToken {
  text: string;
  id: number;
  p: number;
  t_dtw: number;
  /** whisper.cpp's heuristic token times in ms (absent where it has none). */
  offsets?: { from: number; to: number };
}

export interface CliSegment {
  /** The segment's span in ms. */
  offsets: { from: number; to: number };
  text: string;
  tokens: CliToken[];
}

export interface CliOutput {
  result: { language: string };
  transcription: CliSegment[];
}

/**
 * Whether the binary there was built after the addon and every patch: the build script builds the extra targets after
 * the addon, so an older binary is one from before the addon (and so perhaps the tree) changed.
 */
function upToDate(): boolean {
  if (!fs.existsSync(WHISPER_CLI_PATH)) return false;
  const built = fs.statSync(WHISPER_CLI_PATH).mtimeMs;
  const inputs = [ADDON_PATH, ...fs.readdirSync(PATCHES_DIR).filter((f) => f.endsWith(".patch")).map((f) => path.join(PATCHES_DIR, f))];
  return inputs.every((file) => !fs.existsSync(file) || fs.statSync(file).mtimeMs < built);
}

/**
 * whisper-cli's path, built first when it is missing or older than the addon or a patch (about a minute on two
 * cores). scripts/build-native.mjs builds extra targets without touching an addon that is up to date; a stale binary
 * is removed first, because the script only builds the extra targets that are missing when the addon is current.
 */
export async function ensureWhisperCli(): Promise<string> {
  if (upToDate()) return WHISPER_CLI_PATH;
  fs.rmSync(WHISPER_CLI_PATH, { force: true });
  await promisify(execFile)(process.execPath, [path.join(root, "scripts", "build-native.mjs"), "--target", "whisper-cli"], { cwd: root, maxBuffer: 64 << 20 });
  if (!fs.existsSync(WHISPER_CLI_PATH)) throw new Error(`scripts/build-native.mjs --target whisper-cli did not produce ${WHISPER_CLI_PATH}`);
  return WHISPER_CLI_PATH;
}

/**
 * Runs whisper-cli on a 16-bit WAV file with `args` added, writing its full JSON output (-ojf) next to the WAV, and
 * returns that output.
 */
export async function runWhisperCliJson(model: string, wav: string, args: readonly string[]): Promise<CliOutput> {
  const out = wav.replace(/\.wav$/, "");
  await promisify(execFile)(WHISPER_CLI_PATH, ["-m", model, "-f", wav, "-np", "-oj", "-ojf", "-of", out, ...args], { maxBuffer: 64 << 20 });
  return JSON.parse(fs.readFileSync(`${out}.json`, "utf8")) as CliOutput;
}
