// whisper.cpp's own whisper-cli, built from the very tree (build/native/whisper.cpp, our patches applied) and with the
// flags the addon is built with, for tests that hold Earshot's engine against it (whisperCppTool.ts builds it once).
import { execFile } from "node:child_process";
import fs from "node:fs";
import { promisify } from "node:util";

import { ensureWhisperCppTool, whisperCppToolPath } from "./whisperCppTool.js";

export const WHISPER_CLI_PATH = whisperCppToolPath("whisper-cli");

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

/** whisper-cli's path, built first when it is missing or older than the addon or a patch (about a minute on two cores). */
export function ensureWhisperCli(): Promise<string> {
  return ensureWhisperCppTool("whisper-cli");
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
