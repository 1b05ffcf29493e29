// whisper.cpp's own example tools (whisper-cli, parakeet-cli), built from the very tree the addon is built from
// (build/native/whisper.cpp, our patches applied) and with its flags, for tests that hold Earshot's engines against
// them. Each is built once and kept under build/native/cmake/bin, like the benchmarks'.
import { execFile } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const BIN_DIR = path.join(root, "build", "native", "cmake", "bin");
const ADDON_PATH = path.join(root, "build", "native", "earshot.node");
const PATCHES_DIR = path.join(root, "native", "patches");

/** The tools a test may ask for: CMake targets of whisper.cpp's examples. */
export type WhisperCppTool = "whisper-cli" | "parakeet-cli";

export function whisperCppToolPath(tool: WhisperCppTool): string {
  return path.join(BIN_DIR, tool);
}

/**
 * Whether the binary there was built after the addon and every patch: the build script builds the extra targets after
 * the addon, so an older binary is one from before the addon (and so perhaps the tree) changed.
 */
function upToDate(binary: string): boolean {
  if (!fs.existsSync(binary)) return false;
  const built = fs.statSync(binary).mtimeMs;
  const inputs = [ADDON_PATH, ...fs.readdirSync(PATCHES_DIR).filter((f) => f.endsWith(".patch")).map((f) => path.join(PATCHES_DIR, f))];
  return inputs.every((file) => !fs.existsSync(file) || fs.statSync(file).mtimeMs < built);
}

const building = new Map<WhisperCppTool, Promise<string>>();

/**
 * The tool's path, built first when it is missing or older than the addon or a patch (about a minute on two cores).
 * scripts/build-native.mjs builds extra targets without touching an addon that is up to date; a stale binary is
 * removed first, because the script only builds the extra targets that are missing when the addon is current.
 */
export function ensureWhisperCppTool(tool: WhisperCppTool): Promise<string> {
  let pending = building.get(tool);
  if (!pending) {
    pending = build(tool).finally(() => building.delete(tool));
    building.set(tool, pending);
  }
  return pending;
}

async function build(tool: WhisperCppTool): Promise<string> {
  const binary = whisperCppToolPath(tool);
  if (upToDate(binary)) return binary;
  fs.rmSync(binary, { force: true });
  await promisify(execFile)(process.execPath, [path.join(root, "scripts", "build-native.mjs"), "--target", tool], { cwd: root, maxBuffer: 64 << 20 });
  if (!fs.existsSync(binary)) throw new Error(`scripts/build-native.mjs --target ${tool} did not produce ${binary}`);
  return binary;
}
