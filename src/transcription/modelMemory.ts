// How much memory a model takes once loaded, estimated before it is loaded (the memory budget decides from it whether
// the load fits): its weights (the file's size: ggml reads the tensors into memory as stored) and one working state per
// job it can run at once (the state's caches and compute buffers, from the model's shape). See docs/models.md.
import { stat } from "node:fs/promises";

import { readModelHparams } from "../engine/alignmentHeads.js";
import type { EngineKind, SlotOptions } from "../engine/engine.js";
import { jobSlots } from "../engine/jobSlots.js";
import type { WhisperHparams } from "../engine/nativeTypes.js";

const MIB = 1_048_576;
/** Beyond the tensors: the vocabulary, the context's own buffers (measured: 7-8 MiB with the generated tiny and base). */
const WEIGHTS_OVERHEAD_BYTES = 8 * MIB;

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
  const stateBytes = kind === "whisper" ? whisperStateBytes(await readModelHparams(path)) : parakeetStateBytes(fileBytes);
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
 * memory with the generated tiny and base models (61 and 83 MiB per state): 32 MiB and 5 × the encoder's f32
 * activations of one window.
 */
export function whisperStateBytes(h: WhisperHparams): number {
  const kvSelf = 2 * h.nTextLayer * 3 * pad(h.nTextCtx, 256) * h.nTextState * 2;
  const kvCross = 2 * h.nTextLayer * pad(h.nAudioCtx, 256) * h.nTextState * 2;
  const kvPad = pad(h.nAudioCtx, 256) * h.nAudioState * 2 * 2;
  const compute = 32 * MIB + 5 * h.nAudioCtx * h.nAudioState * 4;
  return kvSelf + kvCross + kvPad + compute;
}

/**
 * A Parakeet state, until it is measured on the real engine: 64 MiB and a tenth of the weights (the encoder's
 * activations grow with its width, which the file's size stands in for).
 */
export function parakeetStateBytes(fileBytes: number): number {
  return 64 * MIB + Math.round(fileBytes / 10);
}
