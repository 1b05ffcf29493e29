// The tensor list of a Parakeet TDT model, with each tensor's name, shape and type exactly as upstream's converter
// writes them (models/convert-parakeet-to-ggml.py: f16 for 2-D weights; f32 for 1-D tensors, anything named
// "bias" or "norm", the 4-D pre-encode convolutions and the depthwise convolution; pre-encode biases reshaped to
// [1, C, 1, 1]; batch norm's num_batches_tracked a 0-dim f32) and whisper.cpp's parakeet_model_load expects them,
// in the loader's order, with the scale of each tensor's seeded values.
//
// Scales: every matrix is drawn so its output has about unit variance per element for unit-variance input (std
// 1/sqrt(fan_in)), except the last matrix of each encoder block, scaled down (blockGain) so the residual stream
// keeps the input's frame-to-frame differences through all layers (each layer ends in a layer norm, so values stay
// finite whatever the audio). Some values are then crafted: a silence detector through the
// pre-encode and one joint unit (silenceGate.ts), the LSTM gates and the joint's output layer (decoding.ts).

import { F16, F32, type GgmlTensor } from "../ggmlFile.js";
import type { ParakeetHparams } from "./hparams.js";

export type ParakeetInit = { kind: "normal"; std: number } | { kind: "const"; value: number };

export interface ParakeetTensorSpec extends GgmlTensor {
  init: ParakeetInit;
  /** Drawn as `init` says, then partly rewritten (silenceGate.ts, decoding.ts). */
  crafted?: true;
}

const normal = (std: number): ParakeetInit => ({ kind: "normal", std });
const constant = (value: number): ParakeetInit => ({ kind: "const", value });

/** Biases the converter writes (the encoder has none on its matrices). */
const BIAS_STD = 0.02;
/** E[silu(z)^2] for z ~ N(0, 1): the variance of a feed-forward block's hidden activations. */
const SILU_VARIANCE = 0.355;
/** RMS of an LSTM layer's output under decoding.ts's saturated gates (h = tanh(tanh(g)) for g ~ N(0, 1)). */
export const LSTM_OUTPUT_RMS = 0.54;
/** Each part of the joint's hidden pre-activation (encoder and prediction) has this variance; they sum to 1. */
export const JOINT_PART_VARIANCE = 0.5;

/** Output scale of each encoder block's last matrix: all 4 blocks of all layers together add ~0.36 of the stream's energy. */
function blockGain(hp: ParakeetHparams): number {
  return 0.3 / Math.sqrt(hp.nAudioLayer);
}

function layerTensors(hp: ParakeetHparams, i: number): ParakeetTensorSpec[] {
  const d = hp.nAudioState;
  const p = `encoder.layers.${i}`;
  const gain = blockGain(hp);
  const w = normal(1 / Math.sqrt(d));
  const norm = (name: string): ParakeetTensorSpec[] => [
    { name: `${p}.${name}.weight`, ne: [d], type: F32, init: constant(1) },
    { name: `${p}.${name}.bias`, ne: [d], type: F32, init: constant(0) },
  ];
  const feedForward = (name: string): ParakeetTensorSpec[] => [
    { name: `${p}.${name}.linear1.weight`, ne: [d, 4 * d], type: F16, init: w },
    { name: `${p}.${name}.linear2.weight`, ne: [4 * d, d], type: F16, init: normal(gain / Math.sqrt(4 * d * SILU_VARIANCE)) },
  ];
  const dHead = d / hp.nAudioHead;
  return [
    ...norm("norm_feed_forward1"),
    ...feedForward("feed_forward1"),
    ...norm("norm_conv"),
    { name: `${p}.conv.pointwise_conv1.weight`, ne: [d, 2 * d], type: F16, init: w },
    { name: `${p}.conv.depthwise_conv.weight`, ne: [hp.nConvKernel, d], type: F32, init: normal(1 / Math.sqrt(hp.nConvKernel)) },
    { name: `${p}.conv.batch_norm.weight`, ne: [d], type: F32, init: constant(1) },
    { name: `${p}.conv.batch_norm.bias`, ne: [d], type: F32, init: constant(0) },
    { name: `${p}.conv.batch_norm.running_mean`, ne: [d], type: F32, init: constant(0) },
    { name: `${p}.conv.batch_norm.running_var`, ne: [d], type: F32, init: constant(1) },
    // a 0-dim int64 in NeMo's state dict, which the converter writes as a 0-dim f32 (the loader only checks its bytes)
    { name: `${p}.conv.batch_norm.num_batches_tracked`, ne: [], type: F32, init: constant(0) },
    { name: `${p}.conv.pointwise_conv2.weight`, ne: [d, d], type: F16, init: normal((2 * gain) / Math.sqrt(d)) },
    ...norm("norm_self_att"),
    { name: `${p}.self_attn.pos_bias_u`, ne: [dHead, hp.nAudioHead], type: F32, init: normal(0.1) },
    { name: `${p}.self_attn.pos_bias_v`, ne: [dHead, hp.nAudioHead], type: F32, init: normal(0.1) },
    { name: `${p}.self_attn.linear_q.weight`, ne: [d, d], type: F16, init: w },
    { name: `${p}.self_attn.linear_k.weight`, ne: [d, d], type: F16, init: w },
    { name: `${p}.self_attn.linear_v.weight`, ne: [d, d], type: F16, init: w },
    { name: `${p}.self_attn.linear_out.weight`, ne: [d, d], type: F16, init: normal(gain / Math.sqrt(d)) },
    { name: `${p}.self_attn.linear_pos.weight`, ne: [d, d], type: F16, init: w },
    ...norm("norm_feed_forward2"),
    ...feedForward("feed_forward2"),
    ...norm("norm_out"),
  ];
}

function preEncodeTensors(hp: ParakeetHparams): ParakeetTensorSpec[] {
  const c = hp.nSubsamplingChannels;
  const features = (hp.nMels / hp.subsamplingFactor) * c;
  const bias = (n: number): ParakeetTensorSpec => ({ name: `encoder.pre_encode.conv.${n}.bias`, ne: [1, 1, c, 1], type: F32, init: normal(BIAS_STD), crafted: true });
  // conv.0: 3x3 stride 2 over the mel image (1 -> C channels); conv.2 and conv.5: depthwise 3x3 stride 2; conv.3 and
  // conv.6: pointwise C -> C. He scaling where a ReLU follows.
  return [
    { name: "encoder.pre_encode.out.weight", ne: [features, hp.nAudioState], type: F16, init: normal(1 / Math.sqrt(features)), crafted: true },
    { name: "encoder.pre_encode.out.bias", ne: [hp.nAudioState], type: F32, init: normal(BIAS_STD), crafted: true },
    { name: "encoder.pre_encode.conv.0.weight", ne: [3, 3, 1, c], type: F32, init: normal(Math.sqrt(2 / 9)), crafted: true },
    bias(0),
    { name: "encoder.pre_encode.conv.2.weight", ne: [3, 3, 1, c], type: F32, init: normal(1 / 3), crafted: true },
    bias(2),
    { name: "encoder.pre_encode.conv.3.weight", ne: [1, 1, c, c], type: F32, init: normal(Math.sqrt(2 / c)), crafted: true },
    bias(3),
    { name: "encoder.pre_encode.conv.5.weight", ne: [3, 3, 1, c], type: F32, init: normal(1 / 3), crafted: true },
    bias(5),
    { name: "encoder.pre_encode.conv.6.weight", ne: [1, 1, c, c], type: F32, init: normal(Math.sqrt(2 / c)), crafted: true },
    bias(6),
  ];
}

function decoderTensors(hp: ParakeetHparams): ParakeetTensorSpec[] {
  const h = hp.nPredDim;
  const lstm = "decoder.prediction.dec_rnn.lstm";
  const specs: ParakeetTensorSpec[] = [
    // one row per piece and one for the blank, which starts every decoding
    { name: "decoder.prediction.embed.weight", ne: [h, hp.nVocab + 1], type: F16, init: normal(1) },
  ];
  for (let l = 0; l < hp.nPredLayers; l++) {
    // gates packed [i, f, o, g] (the converter reorders PyTorch's [i, f, g, o]); bias_ih folded into bias_h
    const inputRms = l === 0 ? 1 : LSTM_OUTPUT_RMS;
    specs.push(
      { name: `${lstm}.weight_ih_l${l}`, ne: [h, 4 * h], type: F16, init: normal(1 / (inputRms * Math.sqrt(h))) },
      { name: `${lstm}.weight_hh_l${l}`, ne: [h, 4 * h], type: F16, init: normal(0.2 / Math.sqrt(h)) },
      { name: `${lstm}.bias_h_l${l}`, ne: [4 * h], type: F32, init: constant(0), crafted: true },
    );
  }
  const part = Math.sqrt(JOINT_PART_VARIANCE);
  specs.push(
    { name: "joint.pred.weight", ne: [h, h], type: F16, init: normal(part / (LSTM_OUTPUT_RMS * Math.sqrt(h))), crafted: true },
    { name: "joint.pred.bias", ne: [h], type: F32, init: constant(0), crafted: true },
    // the encoder's output is layer-normed (unit RMS per frame)
    { name: "joint.enc.weight", ne: [hp.nAudioState, h], type: F16, init: normal(part / Math.sqrt(hp.nAudioState)), crafted: true },
    { name: "joint.enc.bias", ne: [h], type: F32, init: constant(0), crafted: true },
    // outputs: the pieces, the blank (n_vocab), then the durations
    { name: "joint.joint_net.2.weight", ne: [h, jointOutputs(hp)], type: F16, init: constant(0), crafted: true },
    { name: "joint.joint_net.2.bias", ne: [jointOutputs(hp)], type: F32, init: constant(0), crafted: true },
  );
  return specs;
}

/** The joint's outputs: n_vocab pieces, the blank, then one per duration. */
export function jointOutputs(hp: ParakeetHparams): number {
  return hp.nVocab + 1 + hp.nTdtDurations;
}

/** Every tensor of a Parakeet TDT model with these hparams (the set parakeet_model_load expects, no more). */
export function parakeetTensorSpecs(hp: ParakeetHparams): ParakeetTensorSpec[] {
  const specs = preEncodeTensors(hp);
  for (let i = 0; i < hp.nAudioLayer; i++) specs.push(...layerTensors(hp, i));
  specs.push(...decoderTensors(hp));
  return specs;
}

/** Elements of a tensor (a 0-dim one holds one). */
export function parakeetTensorElements(spec: GgmlTensor): number {
  return spec.ne.reduce((a, b) => a * b, 1);
}

/** Bytes of a tensor's data. */
export function parakeetTensorBytes(spec: GgmlTensor): number {
  return parakeetTensorElements(spec) * (spec.type === F16 ? 2 : 4);
}

/** Total file size of a model: header, then each tensor's entry header and data. */
export function parakeetModelSize(headerBytes: number, specs: readonly GgmlTensor[]): number {
  return specs.reduce((sum, spec) => sum + 12 + 4 * spec.ne.length + Buffer.byteLength(spec.name) + parakeetTensorBytes(spec), headerBytes);
}
