// Generated speaker-segmentation models with the inputs, outputs and metadata of pyannote segmentation-3.0 as
// sherpa-onnx exports it (scripts/pyannote/segmentation/export-onnx.py): input `x` [N, 1, T] (10-s windows of 16-kHz
// samples, T = 160000), output `y` [N, frames, 7], the log-probabilities of the 7 powerset classes (none, {1}, {2},
// {3}, {1,2}, {1,3}, {2,3}) for each frame of 991 samples every 270 (589 frames for 160000 samples).
//
// - "tiny": an energy detector that behaves like a real segmentation model on one speaker: a frame whose mean power
//   around its centre is above SPEECH_POWER is {1}, any other is none; speech frames come out confident, and a
//   boundary lands on the frame whose centre it crosses. For tests.
// - "pyannote-3.0": PyanNet's real layers and sizes (SincNet, a 4-layer bidirectional LSTM of 128, two linear layers
//   of 128, the classifier, LogSoftmax) with seeded weights: the real model's compute and file size (~5.9 MB). For
//   benches; its output means nothing.

import type { OnnxModel } from "../../onnx/onnxWriter.js";
import { OnnxGraph } from "./onnxGraph.js";

export const SEGMENTATION_TEST_SHAPES = ["tiny", "pyannote-3.0"] as const;
export type SegmentationTestShape = (typeof SEGMENTATION_TEST_SHAPES)[number];

export const SEGMENTATION_SAMPLE_RATE = 16000;
export const SEGMENTATION_WINDOW_SIZE = 160000;
export const SEGMENTATION_RECEPTIVE_FIELD_SIZE = 991;
export const SEGMENTATION_RECEPTIVE_FIELD_SHIFT = 270;
export const SEGMENTATION_CLASSES = 7;

/** The tiny model's speech threshold: a frame's mean power (samples in [−1, 1]), −50 dBFS. */
export const SPEECH_POWER = 1e-5;
/** How sharp its decision is: logit difference per nat of power; 10 dB above the threshold gives p ≈ 1 − 1e-8. */
const SHARPNESS = 4;
/** The logit of the classes the tiny model never uses (overlap and speakers 2 and 3). */
const UNUSED_LOGIT = -30;

/**
 * sherpa-onnx reads sample_rate, window_size, receptive_field_size, receptive_field_shift, num_speakers,
 * powerset_max_classes and num_classes (offline-speaker-segmentation-pyannote-model.cc; window_shift it derives as
 * 0.1 × window_size); the others are what export-onnx.py writes beside them, here naming Earshot's generator.
 */
function segmentationMetadata(shape: SegmentationTestShape, seed: number): Record<string, string> {
  return {
    num_speakers: "3",
    powerset_max_classes: "2",
    num_classes: String(SEGMENTATION_CLASSES),
    sample_rate: String(SEGMENTATION_SAMPLE_RATE),
    window_size: String(SEGMENTATION_WINDOW_SIZE),
    receptive_field_size: String(SEGMENTATION_RECEPTIVE_FIELD_SIZE),
    receptive_field_shift: String(SEGMENTATION_RECEPTIVE_FIELD_SHIFT),
    model_type: "pyannote-segmentation-3.0",
    version: "1",
    model_author: "Earshot (generated test model)",
    maintainer: "Earshot",
    comment: `earshot test-model --engine segmentation --shape ${shape} --seed ${seed}: ${shape === "tiny" ? "an energy detector" : "PyanNet's shape, seeded weights"}, no pyannote weights`,
  };
}

/** The ONNX model of `shape` for `seed` (the tiny one is the same for every seed). */
export function segmentationTestModel(shape: SegmentationTestShape, seed: number): OnnxModel {
  const graph = new OnnxGraph(seed);
  if (shape === "tiny") energyDetector(graph);
  else pyanNet(graph);
  return graph.model({
    irVersion: 8,
    opset: 15,
    producerName: "earshot",
    graphName: `segmentation-${shape}`,
    // export-onnx.py's dynamic axes: {0: "N", 2: "T"} in, {0: "N", 1: "T"} out
    inputs: [{ name: "x", dims: ["N", 1, "T"] }],
    outputs: [{ name: "y", dims: ["N", "T", SEGMENTATION_CLASSES] }],
    metadata: segmentationMetadata(shape, seed),
  });
}

/** x → mean power around each frame's centre → log → two opposite logits around the threshold → LogSoftmax. */
function energyDetector(graph: OnnxGraph): void {
  const squared = graph.op("Mul", ["x", "x"]);
  const field = SEGMENTATION_RECEPTIVE_FIELD_SIZE;
  // The mean over the receptive field's central shift (270 samples): frame f then speaks for the samples around its
  // centre, 270 f + 495, and a boundary lands on the frame whose centre it crosses.
  const shift = SEGMENTATION_RECEPTIVE_FIELD_SHIFT;
  const centre = new Float32Array(field);
  centre.fill(1 / shift, (field - shift) >> 1, ((field - shift) >> 1) + shift);
  const meanWeights = graph.weight("mean_power.weight", [1, 1, field], centre);
  // the bias keeps log() finite on digital silence: 1e-12 is 70 dB under the threshold
  const floor = graph.filled("mean_power.bias", [1], 1e-12);
  const power = graph.op("Conv", [squared, meanWeights, floor], { kernel_shape: { ints: [field] }, strides: { ints: [SEGMENTATION_RECEPTIVE_FIELD_SHIFT] } });
  const logPower = graph.op("Log", [power]);
  const threshold = Math.log(SPEECH_POWER);
  const classWeights = new Float32Array(SEGMENTATION_CLASSES);
  const classBias = new Float32Array(SEGMENTATION_CLASSES).fill(UNUSED_LOGIT);
  classWeights[0] = -SHARPNESS;
  classBias[0] = SHARPNESS * threshold;
  classWeights[1] = SHARPNESS;
  classBias[1] = -SHARPNESS * threshold;
  const logits = graph.op("Conv", [logPower, graph.weight("classifier.weight", [SEGMENTATION_CLASSES, 1, 1], classWeights), graph.weight("classifier.bias", [SEGMENTATION_CLASSES], classBias)], {
    kernel_shape: { ints: [1] },
  });
  const frames = graph.op("Transpose", [logits], { perm: { ints: [0, 2, 1] } });
  graph.op("LogSoftmax", [frames], { axis: { int: -1 } }, "y");
}

const SINC_FILTERS = 80;
const SINC_KERNEL = 251;
const SINC_STRIDE = 10;
const CONV_CHANNELS = 60;
const CONV_KERNEL = 5;
const LSTM_HIDDEN = 128;
const LSTM_LAYERS = 4;
const LINEAR_HIDDEN = 128;
const LEAKY_SLOPE = 0.01;

/** PyanNet (pyannote.audio's segmentation-3.0 architecture), layer for layer. */
function pyanNet(graph: OnnxGraph): void {
  let h = instanceNorm(graph, "sincnet.wav_norm1d", "x", 1);
  h = graph.op("Conv", [h, graph.weight("sincnet.conv1d.0.filterbank", [SINC_FILTERS, 1, SINC_KERNEL], sincFilters())], {
    kernel_shape: { ints: [SINC_KERNEL] },
    strides: { ints: [SINC_STRIDE] },
  });
  h = graph.op("Abs", [h]);
  let channels = SINC_FILTERS;
  for (let layer = 0; layer < 3; layer++) {
    if (layer > 0) {
      const weight = graph.normal(`sincnet.conv1d.${layer}.weight`, [CONV_CHANNELS, channels, CONV_KERNEL], 1 / Math.sqrt(channels * CONV_KERNEL));
      const bias = graph.normal(`sincnet.conv1d.${layer}.bias`, [CONV_CHANNELS], 0.01);
      h = graph.op("Conv", [h, weight, bias], { kernel_shape: { ints: [CONV_KERNEL] } });
      channels = CONV_CHANNELS;
    }
    h = graph.op("MaxPool", [h], { kernel_shape: { ints: [3] }, strides: { ints: [3] } });
    h = instanceNorm(graph, `sincnet.norm1d.${layer}`, h, channels);
    h = graph.op("LeakyRelu", [h], { alpha: { float: LEAKY_SLOPE } });
  }
  // [N, 60, frames] → [frames, N, 60]: the LSTM's sequence-first layout
  h = graph.op("Transpose", [h], { perm: { ints: [2, 0, 1] } });
  let inputSize = CONV_CHANNELS;
  const flatten = graph.ints("lstm.flatten_shape", [0, 0, -1]);
  for (let layer = 0; layer < LSTM_LAYERS; layer++) {
    const std = 1 / Math.sqrt(LSTM_HIDDEN);
    const w = graph.normal(`lstm.${layer}.W`, [2, 4 * LSTM_HIDDEN, inputSize], std / 2);
    const r = graph.normal(`lstm.${layer}.R`, [2, 4 * LSTM_HIDDEN, LSTM_HIDDEN], std / 2);
    const b = graph.normal(`lstm.${layer}.B`, [2, 8 * LSTM_HIDDEN], 0.01);
    const y = `lstm_${layer}_y`;
    graph.multi("LSTM", [h, w, r, b], [y], { hidden_size: { int: LSTM_HIDDEN }, direction: { string: "bidirectional" } });
    // Y [frames, 2, N, 128] → [frames, N, 2, 128] → [frames, N, 256]
    h = graph.op("Reshape", [graph.op("Transpose", [y], { perm: { ints: [0, 2, 1, 3] } }), flatten]);
    inputSize = 2 * LSTM_HIDDEN;
  }
  h = graph.op("Transpose", [h], { perm: { ints: [1, 0, 2] } });
  for (let layer = 0; layer < 2; layer++) {
    const weight = graph.normal(`linear.${layer}.weight`, [inputSize, LINEAR_HIDDEN], 1 / Math.sqrt(inputSize));
    const bias = graph.normal(`linear.${layer}.bias`, [LINEAR_HIDDEN], 0.01);
    h = graph.op("LeakyRelu", [graph.op("Add", [graph.op("MatMul", [h, weight]), bias])], { alpha: { float: LEAKY_SLOPE } });
    inputSize = LINEAR_HIDDEN;
  }
  const weight = graph.normal("classifier.weight", [LINEAR_HIDDEN, SEGMENTATION_CLASSES], 1 / Math.sqrt(LINEAR_HIDDEN));
  const bias = graph.normal("classifier.bias", [SEGMENTATION_CLASSES], 0.01);
  graph.op("LogSoftmax", [graph.op("Add", [graph.op("MatMul", [h, weight]), bias])], { axis: { int: -1 } }, "y");
}

function instanceNorm(graph: OnnxGraph, name: string, input: string, channels: number): string {
  return graph.op("InstanceNormalization", [input, graph.filled(`${name}.weight`, [channels], 1), graph.filled(`${name}.bias`, [channels], 0)], {
    epsilon: { float: 1e-5 },
  });
}

/**
 * SincNet's first layer as its export computes it from the learned cut-offs: band-pass filters (a windowed sinc
 * pair) on mel-spaced bands from 50 Hz to 7.9 kHz, half in cosine phase and half in sine phase.
 */
function sincFilters(): Float32Array {
  const half = SINC_FILTERS / 2;
  const filters = new Float32Array(SINC_FILTERS * SINC_KERNEL);
  const toMel = (hz: number) => 2595 * Math.log10(1 + hz / 700);
  const toHz = (mel: number) => 700 * (10 ** (mel / 2595) - 1);
  const low = toMel(50);
  const high = toMel(7900);
  const center = (SINC_KERNEL - 1) / 2;
  for (let band = 0; band < half; band++) {
    const f1 = toHz(low + ((high - low) * band) / (half + 1)) / SEGMENTATION_SAMPLE_RATE;
    const f2 = toHz(low + ((high - low) * (band + 2)) / (half + 1)) / SEGMENTATION_SAMPLE_RATE;
    const width = (f2 - f1) / 2;
    const mid = (f1 + f2) / 2;
    for (let i = 0; i < SINC_KERNEL; i++) {
      const t = i - center;
      const lowpass = t === 0 ? 2 * width : Math.sin(2 * Math.PI * width * t) / (Math.PI * t);
      const window = 0.54 - 0.46 * Math.cos((2 * Math.PI * i) / (SINC_KERNEL - 1));
      filters[band * SINC_KERNEL + i] = lowpass * window * Math.cos(2 * Math.PI * mid * t);
      filters[(band + half) * SINC_KERNEL + i] = lowpass * window * Math.sin(2 * Math.PI * mid * t);
    }
  }
  return filters;
}
