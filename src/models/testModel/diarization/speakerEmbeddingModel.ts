// Generated speaker-embedding models with the inputs, outputs and metadata of the WeSpeaker models sherpa-onnx uses
// (scripts/wespeaker/add_meta_data.py; speaker-embedding-extractor-model.cc): input `feats` [B, T, 80] (Kaldi fbank of
// int16-range samples, each bin's mean over the frames subtracted), output `embs` [B, 256].
//
// - "tiny": a fixed function of pooled filterbank statistics that tells voices apart by pitch, like a real embedding
//   would on eSpeak's voices. Mean-normalized features carry no mean spectrum, so it pools a nonlinear statistic:
//   the correlation over time between each pair of adjacent mel bins (79 values: how the spectral fine structure,
//   harmonics spaced by the voice's pitch, moves across neighbouring bands), centred on its own mean, then a fixed
//   isometry into 256 dimensions (seeded orthonormal columns, so cosines are those of the statistics). For tests.
//   Measured on eSpeak (test/models/diarizationTestModels.test.ts, 4 sentences of 2.5-5 s per voice; en-us at pitch 20,
//   en-gb-x-rp at 80, en-us at 90, en-gb-scotland at 95): the same voice on different sentences scores 0.82-0.94
//   cosine, different voices 0.11-0.76 (margin 0.06). Voices whose eSpeak pitch is under ~60 it confuses.
// - "resnet34": WeSpeaker's ResNet34 (32 base channels, blocks 3-4-6-3, BatchNorm folded into the convolutions,
//   statistics pooling of mean and standard deviation over time, a linear layer to 256), ~6.6 M seeded weights: the
//   real model's compute and file size (~26 MB). For benches; its output means nothing.

import type { OnnxModel } from "../../onnx/onnxWriter.js";
import { F32 } from "../ggmlFile.js";
import { fillNormal, Xoshiro128 } from "../random.js";
import { OnnxGraph } from "./onnxGraph.js";

export const SPEAKER_EMBEDDING_TEST_SHAPES = ["tiny", "resnet34"] as const;
export type SpeakerEmbeddingTestShape = (typeof SPEAKER_EMBEDDING_TEST_SHAPES)[number];

export const EMBEDDING_FEATURE_BINS = 80;
export const EMBEDDING_DIM = 256;

/**
 * sherpa-onnx requires framework (wespeaker or 3d-speaker), output_dim, sample_rate, normalize_samples and language
 * (speaker-embedding-extractor-model.cc); url and comment are what add_meta_data.py writes beside them. WeSpeaker's
 * models expect int16-range samples: normalize_samples 0. Like the downloaded WeSpeaker files, no
 * feature_normalize_type: the mean normalization is the caller's.
 */
function embeddingMetadata(shape: SpeakerEmbeddingTestShape, seed: number): Record<string, string> {
  return {
    framework: "wespeaker",
    language: "English",
    url: "",
    comment: `earshot test-model --engine speaker-embedding --shape ${shape} --seed ${seed}: ${shape === "tiny" ? "pooled filterbank statistics" : "WeSpeaker ResNet34's shape, seeded weights"}, no WeSpeaker weights`,
    sample_rate: "16000",
    output_dim: String(EMBEDDING_DIM),
    normalize_samples: "0",
  };
}

export function speakerEmbeddingTestModel(shape: SpeakerEmbeddingTestShape, seed: number): OnnxModel {
  const graph = new OnnxGraph(seed);
  if (shape === "tiny") bandCorrelations(graph, seed);
  else resnet34(graph);
  return graph.model({
    irVersion: 8,
    opset: 13,
    producerName: "earshot",
    graphName: `speaker-embedding-${shape}`,
    // add_meta_data.py asserts the input's dims are ["B", "T", 80] and the output's [B, output_dim]
    inputs: [{ name: "feats", dims: ["B", "T", EMBEDDING_FEATURE_BINS] }],
    outputs: [{ name: "embs", dims: ["B", EMBEDDING_DIM] }],
    metadata: embeddingMetadata(shape, seed),
  });
}

/** Statistics pooling over `axis`: the mean, and the standard deviation (ε 1e-5 under the root). */
function meanAndStd(graph: OnnxGraph, input: string, axis: number): [string, string] {
  const mean = graph.op("ReduceMean", [input], { axes: { ints: [axis] }, keepdims: { int: 0 } });
  const centred = graph.op("Sub", [input, graph.op("ReduceMean", [input], { axes: { ints: [axis] }, keepdims: { int: 1 } })]);
  const variance = graph.op("ReduceMean", [graph.op("Mul", [centred, centred])], { axes: { ints: [axis] }, keepdims: { int: 0 } });
  const std = graph.op("Sqrt", [graph.op("Add", [variance, graph.filled("stats.epsilon", [1], 1e-5)])]);
  return [mean, std];
}

/** feats → per-bin centring over time → adjacent-bin correlations → centred → orthonormal map to 256. */
function bandCorrelations(graph: OnnxGraph, seed: number): void {
  const bins = EMBEDDING_FEATURE_BINS;
  const pairs = bins - 1;
  const x = graph.op("Sub", ["feats", graph.op("ReduceMean", ["feats"], { axes: { ints: [1] }, keepdims: { int: 1 } })]);
  const axis = graph.ints("slice.axis", [2]);
  const lower = graph.op("Slice", [x, graph.ints("slice.lower_start", [0]), graph.ints("slice.lower_end", [pairs]), axis]);
  const upper = graph.op("Slice", [x, graph.ints("slice.upper_start", [1]), graph.ints("slice.upper_end", [bins]), axis]);
  const covariance = graph.op("ReduceMean", [graph.op("Mul", [lower, upper])], { axes: { ints: [1] }, keepdims: { int: 0 } });
  const variance = graph.op("ReduceMean", [graph.op("Mul", [x, x])], { axes: { ints: [1] }, keepdims: { int: 0 } });
  const std = graph.op("Sqrt", [graph.op("Add", [variance, graph.filled("stats.epsilon", [1], 1e-5)])]);
  const statAxis = graph.ints("slice.stat_axis", [1]);
  const stdLower = graph.op("Slice", [std, graph.ints("slice.std_lower_start", [0]), graph.ints("slice.std_lower_end", [pairs]), statAxis]);
  const stdUpper = graph.op("Slice", [std, graph.ints("slice.std_upper_start", [1]), graph.ints("slice.std_upper_end", [bins]), statAxis]);
  const correlation = graph.op("Div", [covariance, graph.op("Mul", [stdLower, stdUpper])]);
  const centred = graph.op("Sub", [correlation, graph.op("ReduceMean", [correlation], { axes: { ints: [1] }, keepdims: { int: 1 } })]);
  graph.op("MatMul", [centred, graph.weight("projection", [pairs, EMBEDDING_DIM], orthonormalRows(pairs, EMBEDDING_DIM, seed))], undefined, "embs");
}

/** A rows × columns matrix whose rows are orthonormal (Gram-Schmidt on seeded normal rows): an isometry. */
function orthonormalRows(rows: number, columns: number, seed: number): Float32Array {
  const raw = new Float32Array(rows * columns);
  fillNormal(new Xoshiro128(seed, "projection"), F32, 1, raw);
  const basis: Float64Array[] = [];
  for (let r = 0; r < rows; r++) {
    const v = Float64Array.from(raw.subarray(r * columns, (r + 1) * columns));
    for (const u of basis) {
      let dot = 0;
      for (let c = 0; c < columns; c++) dot += v[c]! * u[c]!;
      for (let c = 0; c < columns; c++) v[c]! -= dot * u[c]!;
    }
    const norm = Math.hypot(...v);
    for (let c = 0; c < columns; c++) v[c]! /= norm;
    basis.push(v);
  }
  const out = new Float32Array(rows * columns);
  basis.forEach((v, r) => out.set(v, r * columns));
  return out;
}

const RESNET_BASE_CHANNELS = 32;
const RESNET_BLOCKS = [3, 4, 6, 3] as const;

/** WeSpeaker's ResNet34 (wespeaker/models/resnet.py), BatchNorm folded: conv weights and a bias each. */
function resnet34(graph: OnnxGraph): void {
  // [B, T, 80] → [B, 1, 80, T]: WeSpeaker's x.permute(0, 2, 1).unsqueeze(1)
  let h = graph.op("Unsqueeze", [graph.op("Transpose", ["feats"], { perm: { ints: [0, 2, 1] } }), graph.ints("unsqueeze.axes", [1])]);
  h = graph.op("Relu", [conv(graph, "conv1", h, 1, RESNET_BASE_CHANNELS, 3, 1, 1)]);
  let channels = RESNET_BASE_CHANNELS;
  RESNET_BLOCKS.forEach((blocks, stage) => {
    const out = RESNET_BASE_CHANNELS * 2 ** stage;
    for (let block = 0; block < blocks; block++) {
      const stride = block === 0 && stage > 0 ? 2 : 1;
      const name = `layer${stage + 1}.${block}`;
      const first = graph.op("Relu", [conv(graph, `${name}.conv1`, h, channels, out, 3, stride, 1)]);
      // the second convolution small, as a trained block's last BatchNorm keeps it: the residual sum stays bounded
      const second = conv(graph, `${name}.conv2`, first, out, out, 3, 1, 0.2);
      const shortcut = stride !== 1 || channels !== out ? conv(graph, `${name}.shortcut`, h, channels, out, 1, stride, 1) : h;
      h = graph.op("Relu", [graph.op("Add", [second, shortcut])]);
      channels = out;
    }
  });
  // [B, 256, 10, T/8] → [B, 2560, T/8] → mean and std over time → [B, 5120] → linear → [B, 256]
  const frequencies = EMBEDDING_FEATURE_BINS / 8;
  const flat = graph.op("Reshape", [h, graph.ints("pool.shape", [0, channels * frequencies, -1])]);
  const [mean, std] = meanAndStd(graph, flat, 2);
  const pooled = graph.op("Concat", [mean, std], { axis: { int: 1 } });
  const features = channels * frequencies * 2;
  const weight = graph.normal("seg_1.weight", [features, EMBEDDING_DIM], 1 / Math.sqrt(features));
  graph.op("Add", [graph.op("MatMul", [pooled, weight]), graph.filled("seg_1.bias", [EMBEDDING_DIM], 0)], undefined, "embs");
}

function conv(graph: OnnxGraph, name: string, input: string, inChannels: number, outChannels: number, kernel: number, stride: number, gain: number): string {
  const weight = graph.normal(`${name}.weight`, [outChannels, inChannels, kernel, kernel], gain * Math.sqrt(2 / (inChannels * kernel * kernel)));
  const bias = graph.filled(`${name}.bias`, [outChannels], 0);
  const pad = (kernel - 1) / 2;
  return graph.op("Conv", [input, weight, bias], { kernel_shape: { ints: [kernel, kernel] }, strides: { ints: [stride, stride] }, pads: { ints: [pad, pad, pad, pad] } });
}
