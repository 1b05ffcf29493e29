// LibriSpeech utterances for the benchmarks, from ../shared/data/librispeech (its manifest.jsonl), each decoded to
// 16 kHz mono once, two FFmpeg decodes at a time.
import fs from "node:fs";
import path from "node:path";

import { decodeAudio } from "../src/audio/index.js";

export interface Utterance {
  id: string;
  /** Its length at 16 kHz. */
  seconds: number;
  samples: Float32Array;
}

export async function loadLibriSpeech(dir: string): Promise<Utterance[]> {
  const manifest = path.join(dir, "manifest.jsonl");
  if (!fs.existsSync(manifest)) throw new Error(`${manifest} not found: this bench needs ../shared (see ../shared/README.md)`);
  const entries = fs.readFileSync(manifest, "utf8").trim().split("\n").map((line) => JSON.parse(line) as { audio: string; id: string });
  const out: Utterance[] = new Array(entries.length);
  let next = 0;
  await Promise.all(
    [0, 1].map(async () => {
      while (next < entries.length) {
        const i = next++;
        const { samples } = await decodeAudio(path.join(dir, entries[i]!.audio));
        out[i] = { id: entries[i]!.id, seconds: samples.length / 16_000, samples };
      }
    }),
  );
  return out;
}
