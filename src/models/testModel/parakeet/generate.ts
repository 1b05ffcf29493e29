// Writing one Parakeet model file: header, then each tensor's entry header and values, streamed in chunks (the
// crafted tensors are small enough to build whole).

import { promises as fs } from "node:fs";
import path from "node:path";

import { asBuffer, FileSink } from "../fileSink.js";
import { tensorHeader } from "../ggmlFile.js";
import { checkSeed, DEFAULT_TEST_MODEL_SEED } from "../generate.js";
import { collect, tensorChunks } from "../tensorValues.js";
import { craftPredictionUnits, jointOutputBiases, jointOutputWeights, lstmGateBiases } from "./decoding.js";
import { hannWindow, parakeetMelFilters } from "./frontEnd.js";
import { encodeParakeetHeader } from "./header.js";
import { type ParakeetTestShape, parakeetTestHparams, TDT_DURATIONS, type ParakeetHparams } from "./hparams.js";
import { craftSilencePath } from "./silenceGate.js";
import { type ParakeetTensorSpec, parakeetModelSize, parakeetTensorElements, parakeetTensorSpecs } from "./tensors.js";
import { parakeetSyntheticVocab } from "./vocab.js";

export interface GenerateParakeetTestModelOptions {
  shape: ParakeetTestShape;
  outPath: string;
  seed?: number;
}

/** The header of a generated `shape` model (the same for every seed). */
export function parakeetTestHeader(shape: ParakeetTestShape): Buffer {
  const hparams = parakeetTestHparams(shape);
  return encodeParakeetHeader({
    hparams,
    melFilters: parakeetMelFilters(hparams),
    nFb: hparams.nFft / 2 + 1,
    window: hannWindow(),
    durations: [...TDT_DURATIONS],
    vocab: parakeetSyntheticVocab(hparams.nVocab),
  });
}

/** A crafted tensor's values, whole: seeded as its init says, then rewritten where crafted. */
function craftedValues(spec: ParakeetTensorSpec, hp: ParakeetHparams, seed: number): Uint16Array | Float32Array {
  if (spec.name === "joint.joint_net.2.weight") return jointOutputWeights(hp, seed, spec.name);
  if (spec.name === "joint.joint_net.2.bias") return jointOutputBiases(hp);
  if (spec.name.includes(".lstm.bias_h_l")) return lstmGateBiases(hp);
  const values = collect(tensorChunks(spec, seed), parakeetTensorElements(spec), spec.type);
  // both rewrite parts of the joint's hidden layer (units 0, and 1..n): neither may leave a tensor unhandled
  const prediction = craftPredictionUnits(spec.name, values, hp);
  if (!craftSilencePath(spec.name, values, hp) && !prediction) throw new Error(`internal: no crafted values for ${spec.name}`);
  return values;
}

/** Each tensor's values in chunks of whole rows. */
function* valuesOf(spec: ParakeetTensorSpec, hp: ParakeetHparams, seed: number): Generator<Uint16Array | Float32Array> {
  if (spec.crafted) {
    yield craftedValues(spec, hp, seed);
    return;
  }
  // a 0-dim tensor holds one value; tensorChunks reads the row length from ne[0]
  yield* tensorChunks(spec.ne.length === 0 ? { ...spec, ne: [1] } : spec, seed);
}

/** Writes a Parakeet-TDT-`shape`-shaped ggml model with seeded weights to `outPath`. */
export async function generateParakeetTestModel(options: GenerateParakeetTestModelOptions): Promise<void> {
  const seed = options.seed ?? DEFAULT_TEST_MODEL_SEED;
  checkSeed(seed);
  const hp = parakeetTestHparams(options.shape);
  const header = parakeetTestHeader(options.shape);
  const specs = parakeetTensorSpecs(hp);

  await fs.mkdir(path.dirname(path.resolve(options.outPath)), { recursive: true });
  const handle = await fs.open(options.outPath, "w");
  try {
    const sink = new FileSink(handle);
    await sink.write(header);
    for (const spec of specs) {
      await sink.write(tensorHeader(spec));
      for (const chunk of valuesOf(spec, hp, seed)) await sink.write(asBuffer(chunk));
    }
    await sink.flush();
    const expected = parakeetModelSize(header.length, specs);
    if (sink.written !== expected) throw new Error(`internal: wrote ${sink.written} bytes, expected ${expected}`);
  } finally {
    await handle.close();
  }
}
