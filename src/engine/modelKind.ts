// Which engine a ggml model file is for, read from its first 72 bytes. Whisper and Parakeet files share ggml's
// magic; what follows differs: Whisper's 11 hyper-parameters are followed by its mel filters (n_mel, then 201
// frequency bins of a 400-point FFT), Parakeet's 15 (n_fft the 8th) by its filters (n_mel, then n_fft / 2 + 1 bins).
import { closeSync, openSync, readSync } from "node:fs";
import { open } from "node:fs/promises";

import type { EngineKind } from "./engine.js";
import type { ModelFacts } from "./engineFields.js";

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

/** Whisper's multilingual vocabularies hold 51865 tokens or more (English-only: 51864). */
const WHISPER_MULTILINGUAL_VOCAB = 51865;
/** Parakeet TDT 0.6B v2 (English) has a 1024-piece vocabulary; v3 (25 languages) 8192. */
const PARAKEET_ENGLISH_VOCAB = 1024;

/** The kind of a model and whether it is multilingual, from its first 72 bytes; undefined when neither kind. */
export function modelFactsOf(head: Buffer): ModelFacts | undefined {
  const kind = modelKindOf(head);
  if (!kind) return undefined;
  const nVocab = head.readInt32LE(4);
  return { kind, multilingual: kind === "whisper" ? nVocab >= WHISPER_MULTILINGUAL_VOCAB : nVocab > PARAKEET_ENGLISH_VOCAB };
}

/** {@link modelFactsOf} of a file, read synchronously (72 bytes: for the request path's model lookups, cached by the caller). */
export function readModelFactsSync(path: string): ModelFacts {
  const fd = openSync(path, "r");
  try {
    const head = Buffer.alloc(72);
    const bytesRead = readSync(fd, head, 0, head.length, 0);
    const facts = bytesRead === head.length ? modelFactsOf(head) : undefined;
    if (!facts) throw new RangeError(`${path} is not a ggml Whisper or Parakeet model`);
    return facts;
  } finally {
    closeSync(fd);
  }
}
