// The speaker models' inference thread. onnxruntime-node runs a session synchronously on the thread that calls it, so
// both models live here, in a worker thread, with the filterbank: the event loop only sends audio and gets back
// who-speaks frames and embeddings. One request at a time, in the order they came (the queue's bound is the caller's).
import { parentPort, workerData } from "node:worker_threads";

import * as ort from "onnxruntime-node";

import { readOnnxMetadata } from "../../models/onnx/onnxMetadata.js";
import { computeFbank, subtractFrameMean } from "../fbank.js";
import { normalized } from "../clustering.js";
import type { FrameGrid } from "../speakerPieces.js";
import type { LoadedModels, ThreadHello, ThreadInit, ThreadReply, ThreadRequest } from "./protocol.js";

const FBANK_BINS = 80;

interface Models {
  segmentation: ort.InferenceSession;
  embedding: ort.InferenceSession;
  loaded: LoadedModels;
  /** Each powerset class's local speakers. */
  powerset: number[][];
  /** Samples are scaled to the int16 range before the filterbank (WeSpeaker's `normalize_samples=0`). */
  scaleSamples: boolean;
}

const port = parentPort!;
const init = workerData as ThreadInit;

void main();

async function main(): Promise<void> {
  let models: Models;
  try {
    models = await load(init);
  } catch (error) {
    const failure = error as Error & { modelPath?: string };
    port.postMessage({ kind: "failed", message: failure.message, path: failure.modelPath ?? "" } satisfies ThreadHello);
    return;
  }
  port.postMessage({ kind: "ready", models: models.loaded } satisfies ThreadHello);
  port.on("message", (request: ThreadRequest) => {
    void answer(models, request).then(
      (reply) => port.postMessage(reply, transferables(reply)),
      (error: unknown) => port.postMessage({ id: request.id, kind: "error", message: (error as Error).message } satisfies ThreadReply),
    );
  });
}

function transferables(reply: ThreadReply): ArrayBuffer[] {
  if (reply.kind === "segment") return [reply.active.buffer as ArrayBuffer];
  if (reply.kind === "embed") return [reply.embedding.buffer as ArrayBuffer];
  return [];
}

async function answer(models: Models, request: ThreadRequest): Promise<ThreadReply> {
  if (request.kind === "segment") return { id: request.id, kind: "segment", active: await segment(models, request.samples, request.windows) };
  return { id: request.id, kind: "embed", embedding: await embed(models, request.samples) };
}

async function segment(models: Models, samples: Float32Array, windows: number): Promise<Uint8Array> {
  const { grid } = models.loaded;
  const input = new ort.Tensor("float32", samples, [windows, 1, grid.windowSamples]);
  const output = await models.segmentation.run({ [models.segmentation.inputNames[0]!]: input });
  const scores = output[models.segmentation.outputNames[0]!]!;
  const [, frames, classes] = scores.dims as number[];
  if (frames !== grid.frameCount || classes !== models.powerset.length) {
    throw new Error(`the segmentation model gave [${scores.dims.join(", ")}], not [${windows}, ${grid.frameCount}, ${models.powerset.length}]`);
  }
  const data = scores.data as Float32Array;
  const active = new Uint8Array(windows * frames * grid.localSpeakers);
  for (let row = 0; row < windows * frames; row++) {
    let best = 0;
    for (let c = 1; c < classes; c++) if (data[row * classes + c]! > data[row * classes + best]!) best = c;
    for (const speaker of models.powerset[best]!) active[row * grid.localSpeakers + speaker] = 1;
  }
  scores.dispose();
  return active;
}

async function embed(models: Models, samples: Float32Array): Promise<Float32Array> {
  const scaled = models.scaleSamples ? samples.map((sample) => sample * 32768) : samples;
  const { frames, features } = computeFbank(scaled);
  if (frames === 0) throw new Error("too little audio for a speaker embedding");
  subtractFrameMean(features, frames, FBANK_BINS);
  const input = new ort.Tensor("float32", features, [1, frames, FBANK_BINS]);
  const output = await models.embedding.run({ [models.embedding.inputNames[0]!]: input });
  const embedding = output[models.embedding.outputNames[0]!]!;
  const vector = normalized(embedding.data as Float32Array);
  embedding.dispose();
  return vector;
}

async function load({ paths, threads }: ThreadInit): Promise<Models> {
  const options: ort.InferenceSession.SessionOptions = { intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: "sequential", graphOptimizationLevel: "all" };
  const segmentationMetadata = await metadataOf(paths.segmentation);
  const embeddingMetadata = await metadataOf(paths.embedding);
  const segmentation = await session(paths.segmentation, options);
  const embedding = await session(paths.embedding, options);
  const grid = frameGrid(segmentationMetadata, paths.segmentation);
  const powerset = powersetClasses(grid.localSpeakers, Number(segmentationMetadata.powerset_max_classes ?? 2));
  const classes = Number(segmentationMetadata.num_classes ?? powerset.length);
  if (classes !== powerset.length) throw invalid(paths.segmentation, `num_classes ${classes} is not the powerset of ${grid.localSpeakers} speakers (${powerset.length})`);
  if (embedding.inputNames.length !== 1) throw invalid(paths.embedding, `a speaker embedding model takes one input (filterbank features), this one ${embedding.inputNames.length}`);
  const embeddingDim = Number(embeddingMetadata.output_dim ?? 0);
  const sampleRate = Number(embeddingMetadata.sample_rate ?? 16000);
  if (sampleRate !== 16000) throw invalid(paths.embedding, `the speaker embedding model wants ${sampleRate} Hz audio; Earshot's is 16000 Hz`);
  return {
    segmentation,
    embedding,
    powerset,
    scaleSamples: (embeddingMetadata.normalize_samples ?? "0") === "0",
    loaded: { grid, embeddingDim, segmentationMetadata, embeddingMetadata },
  };
}

async function session(path: string, options: ort.InferenceSession.SessionOptions): Promise<ort.InferenceSession> {
  try {
    return await ort.InferenceSession.create(path, options);
  } catch (error) {
    throw invalid(path, `cannot load it as an ONNX model: ${(error as Error).message}`);
  }
}

async function metadataOf(path: string): Promise<Record<string, string>> {
  try {
    return await readOnnxMetadata(path);
  } catch (error) {
    throw invalid(path, (error as Error).message);
  }
}

/** The frame grid from the segmentation model's metadata (pyannote segmentation-3.0's values where it says none). */
function frameGrid(metadata: Record<string, string>, path: string): FrameGrid {
  const number = (key: string, fallback: number) => {
    const value = Number(metadata[key] ?? fallback);
    if (!Number.isFinite(value) || value <= 0) throw invalid(path, `its metadata ${key}=${metadata[key]} is not a positive number`);
    return value;
  };
  const sampleRate = number("sample_rate", 16000);
  if (sampleRate !== 16000) throw invalid(path, `the segmentation model wants ${sampleRate} Hz audio; Earshot's is 16000 Hz`);
  const windowSamples = number("window_size", 160000);
  const frameShift = number("receptive_field_shift", 270);
  const receptiveField = number("receptive_field_size", 991);
  return {
    sampleRate,
    windowSamples,
    frameShift,
    receptiveField,
    frameCount: Math.floor((windowSamples - receptiveField) / frameShift) + 1,
    localSpeakers: number("num_speakers", 3),
  };
}

/** pyannote's powerset: every set of at most `maxSpeakers` local speakers, by size then in order. */
export function powersetClasses(speakers: number, maxSpeakers: number): number[][] {
  const classes: number[][] = [[]];
  const extend = (prefix: number[], from: number, size: number) => {
    if (prefix.length === size) return void classes.push(prefix);
    for (let s = from; s < speakers; s++) extend([...prefix, s], s + 1, size);
  };
  for (let size = 1; size <= maxSpeakers; size++) extend([], 0, size);
  return classes;
}

function invalid(path: string, why: string): Error & { modelPath: string } {
  return Object.assign(new Error(`${path}: ${why}`), { modelPath: path });
}
