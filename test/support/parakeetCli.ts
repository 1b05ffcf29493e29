// whisper.cpp's own parakeet-cli, built from the very tree and flags the addon is built with (whisperCppTool.ts), and
// its output read back, for tests and benchmarks that hold Earshot's Parakeet engine against it.
//
// `parakeet-cli -m MODEL -f WAV -t THREADS -np -ps` (16-kHz mono 16-bit WAV: the tool resamples anything else with
// miniaudio, which Earshot does not) prints the transcript on stdout (the pieces as decoded, one line per file) and,
// on stderr, each segment and its tokens (parakeet-cli.cpp's -ps table), read here:
//   Segment 0: [0 -> 1001] "text"
//   Tokens [38]:
//     [ 0] id= 1976 frame=  3 dur_idx= 4 dur_val= 4 p=0.9996 plog=-15.6206 t0=  24 t1=  56 word_start=true "▁And"
// parakeet_full gives one segment for the whole audio. Token t0/t1 are in mel frames (10 ms: hop 160 at 16 kHz):
// t0 = encoder frame x 8, t1 = (frame + duration) x 8, except that punctuation pieces take the previous token's t1 as
// both (refine_timestamps_tdt). The segment's t0 is 0; its t1 is the mel frame count for audio up to n_audio_ctx
// (5000 frames, 50 s), but the encoder frame count (80 ms) for longer audio, which parakeet_full_with_state encodes in
// one dynamic graph. p is the piece's probability among the pieces and the blank; plog its log-probability over all
// of the joint's outputs (pieces, blank and durations). word_start: the piece starts with "▁".
import { execFile } from "node:child_process";
import { promisify } from "node:util";

import { ensureWhisperCppTool } from "./whisperCppTool.js";

export interface ParakeetCliToken {
  id: number;
  /** Encoder frame (80 ms) where the token was emitted. */
  frame: number;
  durationIndex: number;
  /** Encoder frames the token advanced (its TDT duration). */
  duration: number;
  p: number;
  plog: number;
  /** Mel frames (10 ms). */
  t0: number;
  t1: number;
  wordStart: boolean;
  /** The SentencePiece piece, "▁" included. */
  piece: string;
}

export interface ParakeetCliSegment {
  t0: number;
  t1: number;
  text: string;
  tokens: ParakeetCliToken[];
}

export interface ParakeetCliOutput {
  /** stdout: the pieces as the token callback printed them. */
  text: string;
  segments: ParakeetCliSegment[];
}

/** parakeet-cli's path, built first when it is missing or older than the addon or a patch (about a minute on two cores). */
export function parakeetCliPath(): Promise<string> {
  return ensureWhisperCppTool("parakeet-cli");
}

const SEGMENT = /^Segment (\d+): \[(-?\d+) -> (-?\d+)\] "(.*)"$/;
const TOKEN =
  /^\s*\[\s*\d+\] id=\s*(\d+) frame=\s*(\d+) dur_idx=\s*(\d+) dur_val=\s*(\d+) p=(\S+) plog=(\S+) t0=\s*(-?\d+) t1=\s*(-?\d+) word_start=(true|false) "(.*)"$/;

/** Reads parakeet-cli's stdout and its -ps table on stderr. */
export function parseParakeetCliOutput(stdout: string, stderr: string): ParakeetCliOutput {
  const segments: ParakeetCliSegment[] = [];
  for (const line of stderr.split("\n")) {
    const segment = SEGMENT.exec(line);
    if (segment) {
      segments.push({ t0: Number(segment[2]), t1: Number(segment[3]), text: segment[4]!, tokens: [] });
      continue;
    }
    const token = TOKEN.exec(line);
    if (token) {
      const current = segments.at(-1);
      if (!current) throw new Error(`parakeet-cli printed a token before any segment: ${line}`);
      current.tokens.push({
        id: Number(token[1]),
        frame: Number(token[2]),
        durationIndex: Number(token[3]),
        duration: Number(token[4]),
        p: Number(token[5]),
        plog: Number(token[6]),
        t0: Number(token[7]),
        t1: Number(token[8]),
        wordStart: token[9] === "true",
        piece: token[10]!,
      });
    }
  }
  return { text: stdout.trim(), segments };
}

/** Runs parakeet-cli (built when needed) on a 16-kHz WAV file with `args` added (e.g. ["-t", "2"]), and reads its output. */
export async function runParakeetCli(model: string, wav: string, args: readonly string[] = []): Promise<ParakeetCliOutput> {
  const cli = await parakeetCliPath();
  const { stdout, stderr } = await promisify(execFile)(cli, ["-m", model, "-f", wav, "-np", "-ps", ...args], { maxBuffer: 64 << 20 });
  return parseParakeetCliOutput(stdout, stderr);
}
