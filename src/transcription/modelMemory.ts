// How much memory a model takes once loaded, estimated before it is loaded (the memory budget decides from it whether
// the load fits): its weights (the file's size: ggml reads the tensors into memory as stored) and one working state per
// job it can run at once (the state's caches and compute buffers, from the model's shape). See docs/models.md.
import { open, stat } from "node:fs/promises";

import { readModelHparams } from "../engine/alignmentHeads.js";
import type { EngineKind, SlotOptions } from "../engine/engine.js";
import { jobSlots } from "../engine/jobSlots.js";
import type { WhisperHparams } from "../engine/nativeTypes.js";

const MIB = 1_048_576;
/**
 * Beyond the tensors: the vocabulary, the context's own buffers (measured: 5-12 MiB with the generated Whisper tiny,
 * base and large-v3-turbo and Parakeet 0.6B shapes).
 */
const WEIGHTS_OVERHEAD_BYTES = 16 * MIB;

export interface MemoryEstimate {
  /** The weights: the file's size and the context's own buffers. */
  weightsBytes: number;
  /** One job's working state. */
  stateBytes: number;
  /** States the engine may hold at once (job slots, two per slot where slots are shared). */
  states: number;
  /** weights + states × state. */
  totalBytes: number;
}

/** The estimate for a model file run with these job slots. */
export async function estimateModelMemory(path: string, kind: EngineKind, slots: SlotOptions): Promise<MemoryEstimate> {
  const fileBytes = (await stat(path)).size;
  const stateBytes = kind === "whisper" ? whisperStateBytes(await readModelHparams(path)) : parakeetStateBytes(await readParakeetWidth(path));
  const states = statesHeld(slots);
  const weightsBytes = fileBytes + WEIGHTS_OVERHEAD_BYTES;
  return { weightsBytes, stateBytes, states, totalBytes: weightsBytes + states * stateBytes };
}

/** Working states an engine with these slots may hold at once: every job slot's, doubled where two jobs share one. */
export function statesHeld(slots: SlotOptions): number {
  const { parallelJobs, threadsPerJob } = jobSlots(slots);
  const shared = (slots.slotSharing ?? true) && threadsPerJob >= 2;
  return parallelJobs * (shared ? 2 : 1);
}

const pad = (n: number, to: number) => Math.ceil(n / to) * to;

/**
 * One whisper_state, as whisper.cpp sizes it: the self-attention cache (f16 K and V, 3 × the text context padded to
 * 256, for the decoders of a beam), the cross-attention cache (f16 K and V over the audio context padded to 256), the
 * encoder's flash-attention pad, and the compute buffers. The buffers are fitted to the first job's growth in resident
 * memory with the generated tiny, base and large-v3-turbo shapes (61, 83 and 152 MiB per state; the caches are exact):
 * 37 MiB and 30 bytes × the audio width squared.
 */
export function whisperStateBytes(h: WhisperHparams): number {
  const kvSelf = 2 * h.nTextLayer * 3 * pad(h.nTextCtx, 256) * h.nTextState * 2;
  const kvCross = 2 * h.nTextLayer * pad(h.nAudioCtx, 256) * h.nTextState * 2;
  const kvPad = pad(h.nAudioCtx, 256) * h.nAudioState * 2 * 2;
  const compute = 37 * MIB + 30 * h.nAudioState * h.nAudioState;
  return kvSelf + kvCross + kvPad + compute;
}

/**
 * A Parakeet state (the engine decodes blocks of at most 60 s): fitted to the growth in resident memory over a 20-s
 * and a 60-s job with the generated tiny and 0.6B shapes (98 MiB at width 128, 409 MiB at 1024): 56 MiB and
 * 0.36 MiB per unit of the encoder's width. The width, not the file's size, so a quantized file is not underestimated.
 */
export function parakeetStateBytes(encoderWidth: number): number {
  return 56 * MIB + Math.round(0.36 * MIB * encoderWidth);
}

/** A Parakeet file's encoder width (d_model: the third of its hyper-parameters, after the magic). */
async function readParakeetWidth(path: string): Promise<number> {
  const file = await open(path, "r");
  try {
    const head = Buffer.alloc(16);
    const { bytesRead } = await file.read(head, 0, head.length, 0);
    if (bytesRead < head.length) throw new RangeError(`${path} is not a ggml Parakeet model`);
    return head.readInt32LE(12);
  } finally {
    await file.close();
  }
}
