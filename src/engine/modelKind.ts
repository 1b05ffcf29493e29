// Which engine a ggml model file is for, read from its first 72 bytes. Whisper and Parakeet files share ggml's
// magic; what follows differs: Whisper's 11 hyper-parameters are followed by its mel filters (n_mel, then 201
// frequency bins of a 400-point FFT), Parakeet's 15 (n_fft the 8th) by its filters (n_mel, then n_fft / 2 + 1 bins).
import { open } from "node:fs/promises";

import type { EngineKind } from "./engine.js";

const GGML_MAGIC = 0x67676d6c;
const WHISPER_FILTER_BINS = 201;

/** Reads the kind of a ggml model file; throws RangeError naming the file when it is neither. */
export async function readModelKind(path: string): Promise<EngineKind> {
  const file = await open(path, "r");
  try {
    const head = Buffer.alloc(72);
    const { bytesRead } = await file.read(head, 0, head.length, 0);
    const kind = bytesRead === head.length ? modelKindOf(head) : undefined;
    if (!kind) throw new RangeError(`${path} is not a ggml Whisper or Parakeet model`);
    return kind;
  } finally {
    await file.close();
  }
}

/** The kind of a model from its first 72 bytes, or undefined when they are neither a Whisper nor a Parakeet header. */
export function modelKindOf(head: Buffer): EngineKind | undefined {
  if (head.length < 72 || head.readUInt32LE(0) !== GGML_MAGIC) return undefined;
  const int = (offset: number) => head.readInt32LE(offset);
  const plausibleMels = (n: number) => n >= 64 && n <= 256;
  // Whisper: hparams at 4..47 (n_mels at 40), then filters.n_mel, filters.n_fft (the bins).
  if (plausibleMels(int(40)) && int(48) === int(40) && int(52) === WHISPER_FILTER_BINS) return "whisper";
  // Parakeet: hparams at 4..63 (n_mels at 24, n_fft at 32), then filters.n_mel, filters.n_fb.
  if (plausibleMels(int(24)) && int(64) === int(24) && int(68) === Math.floor(int(32) / 2) + 1) return "parakeet";
  return undefined;
}
