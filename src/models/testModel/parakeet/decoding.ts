// The crafted weights that make greedy TDT decoding behave like a model hearing speech. Each step is an argmax over
// the joint's outputs z = W relu(u) + b, u = enc(frame) + pred(last piece). The joint's hidden units have roles:
// - unit 0: silence (silenceGate.ts): fires in silent frames, raising the blank and the longest duration;
// - units 1..predUnits: the last piece only (pred weights, no encoder weights, a bias that keeps them linear);
//   they give the durations' logits their spread, zero-mean over the vocabulary;
// - the rest: encoder and prediction halves of unit variance each; they pick the piece.
// Rows of W are zero-sum over the units they read and scaled so each output's spread is ~N(0, 1) (the pieces' and the
// blank's times TOKEN_LOGIT_SCALE), so the biases set what wins how often:
// - in speech a piece wins (the blank's bias is far below the best piece's logit, ~3 spreads), the best of
//   n_vocab - 1 draws that change with the audio and the last piece (<unk> never: it prints nothing);
// - its duration: DURATION_BIASES make 0 rare (~3 %) and 1-4 frames common (mean ~2.6 frames): at most 4.7 pieces
//   a second, ~4 (~3 words) through synthesized speech with its pauses, evenly, with varied durations;
// - in silence (and long pauses) the blank wins, and skips the longest duration.
// Neither the blank nor the durations read the encoder units: the frames share a common direction, an offset that
// would move their shares from seed to seed. The prediction network's gates are saturated (input and output gates
// open, forget gate shut), so its output is a fixed, seeded function of the last piece: decoding is deterministic
// per seed.

import { float32ToHalfBits, halfBitsToFloat32 } from "../float16.js";
import { F32 } from "../ggmlFile.js";
import { fillNormal, Xoshiro128 } from "../random.js";
import type { ParakeetHparams } from "./hparams.js";
import { SILENCE_WEIGHT } from "./silenceGate.js";
import { JOINT_PART_VARIANCE, jointOutputs } from "./tensors.js";

/**
 * Scale of the pieces' and the blank's logits: the best piece stands ~3 spreads above the second on average, so its
 * probability (parakeet.cpp's token p) is ~0.95, as a trained model's on clear speech; the argmax is unchanged.
 */
const TOKEN_LOGIT_SCALE = 10;
/** The blank's bias: ~5 spreads below the best piece's logit, so only the silence unit makes it win. */
const BLANK_BIAS = -2 * TOKEN_LOGIT_SCALE;
/** Duration-class biases (durations 0..4 frames) in units of the logits' spread: ~3 %, 12 %, 28 %, 32 %, 25 %. */
const DURATION_BIASES: readonly number[] = [-0.8, -0.1, 0.5, 0.6, 0.4];
/** Bias that keeps <unk> (id 0) from ever winning. */
const NEVER = -1000;
/** Variance of relu(u) for u ~ N(0, 1): what a zero-sum row reads from one mixed unit. */
const RELU_VARIANCE = 0.5 - 1 / (2 * Math.PI);
/** LSTM gate biases: input and output gates open, forget gate shut, cell input unbiased. */
const GATE_BIASES = { input: 4, forget: -4, output: 4, cell: 0 } as const;
/** Bias of the prediction-only units: with unit-variance input they never reach relu's kink. */
const LINEAR_OFFSET = 4;

/** Units 1..n read the last piece only. */
function predUnits(hp: ParakeetHparams): number {
  return Math.max(8, hp.nPredDim >> 2);
}

/** bias_h of an LSTM layer: the 4 gates' biases, packed [i, f, o, g]. */
export function lstmGateBiases(hp: ParakeetHparams): Float32Array {
  const h = hp.nPredDim;
  const out = new Float32Array(4 * h);
  out.fill(GATE_BIASES.input, 0, h);
  out.fill(GATE_BIASES.forget, h, 2 * h);
  out.fill(GATE_BIASES.output, 2 * h, 3 * h);
  out.fill(GATE_BIASES.cell, 3 * h, 4 * h);
  return out;
}

/**
 * The prediction-only units' share of the joint's hidden layer (seeded `values` of `name`, rewritten in place): no
 * encoder weights, prediction weights of unit (not half) variance, the linearizing offset. False when none.
 */
export function craftPredictionUnits(name: string, values: Uint16Array | Float32Array, hp: ParakeetHparams): boolean {
  const units = predUnits(hp);
  switch (name) {
    case "joint.enc.weight":
      values.fill(0, hp.nAudioState, (1 + units) * hp.nAudioState);
      return true;
    case "joint.pred.weight": {
      const scale = 1 / Math.sqrt(JOINT_PART_VARIANCE);
      for (let i = hp.nPredDim; i < (1 + units) * hp.nPredDim; i++) values[i] = float32ToHalfBits(halfBitsToFloat32(values[i]!) * scale);
      return true;
    }
    case "joint.pred.bias":
      values.fill(LINEAR_OFFSET, 1, 1 + units);
      return true;
    default:
      return false;
  }
}

/** Writes `rng`'s next zero-sum row of `spread` over units [from, to) (of a unit-variance input) into `out` at `at`. */
function zeroSumRow(rng: Xoshiro128, out: Uint16Array, at: number, from: number, to: number, spread: number): void {
  const row = new Float32Array(to - from);
  fillNormal(rng, F32, 1, row);
  let mean = 0;
  for (const v of row) mean += v;
  mean /= row.length;
  let sq = 0;
  for (const v of row) sq += (v - mean) ** 2;
  const scale = spread / Math.sqrt(sq);
  for (let j = 0; j < row.length; j++) out[at + from + j] = float32ToHalfBits((row[j]! - mean) * scale);
}

/** The joint's output matrix (f16 bits, one row of n_pred_dim per output): pieces, blank, durations. */
export function jointOutputWeights(hp: ParakeetHparams, seed: number, name: string): Uint16Array {
  const h = hp.nPredDim;
  const units = predUnits(hp);
  const rng = new Xoshiro128(seed, name);
  const out = new Uint16Array(jointOutputs(hp) * h); // zeros: f16 0
  for (let piece = 0; piece < hp.nVocab; piece++) zeroSumRow(rng, out, piece * h, 1 + units, h, TOKEN_LOGIT_SCALE / Math.sqrt(RELU_VARIANCE));
  const blank = hp.nVocab;
  out[blank * h] = float32ToHalfBits(SILENCE_WEIGHT * TOKEN_LOGIT_SCALE);
  for (let d = 0; d < hp.nTdtDurations; d++) {
    const row = (blank + 1 + d) * h;
    if (d === hp.nTdtDurations - 1) out[row] = float32ToHalfBits(SILENCE_WEIGHT);
    zeroSumRow(rng, out, row, 1, 1 + units, 1);
  }
  return out;
}

/** The joint's output biases: pieces (<unk> never), the blank, the durations. */
export function jointOutputBiases(hp: ParakeetHparams): Float32Array {
  if (DURATION_BIASES.length !== hp.nTdtDurations) throw new Error(`duration biases are for ${DURATION_BIASES.length} durations`);
  const out = new Float32Array(jointOutputs(hp));
  out[0] = NEVER;
  out[hp.nVocab] = BLANK_BIAS;
  DURATION_BIASES.forEach((bias, i) => (out[hp.nVocab + 1 + i] = bias));
  return out;
}
