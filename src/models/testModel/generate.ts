// Writing one model file: header, then each tensor's entry header and values, streamed in
// chunks except for the crafted decoder-chain tensors.

import { promises as fs } from "node:fs";
import path from "node:path";

import { chainRules, CRAFTED, craftChainMlp, findWordIds } from "./decoderChain.js";
import { asBuffer, FileSink } from "./fileSink.js";
import { halfBitsToFloat32 } from "./float16.js";
import { encodeHeader, HPARAM_ORDER, readWhisperHeader, tensorHeader } from "./ggmlFile.js";
import { type TestModelShape, testModelHparams } from "./hparams.js";
import { slaneyMelFilters } from "./melFilters.js";
import { modelSize, tensorElements, whisperTensorSpecs } from "./tensors.js";
import { collect, tensorChunks } from "./tensorValues.js";
import { syntheticVocab } from "./vocab.js";

export const DEFAULT_TEST_MODEL_SEED = 1;

export interface GenerateTestModelOptions {
  shape: TestModelShape;
  outPath: string;
  seed?: number;
  /** A ggml whisper file (e.g. a vocab-only one) whose header, mel filters and vocab to reuse. */
  vocabFrom?: string;
}

export function checkSeed(seed: number): void {
  if (!Number.isSafeInteger(seed) || seed < 0) throw new Error(`test model seed must be a non-negative safe integer, got ${seed}`);
}

/** The header to write, synthetic or copied from `vocabFrom`, and the vocabulary it holds. */
async function headerFor(shape: TestModelShape, vocabFrom: string | undefined): Promise<{ header: Buffer; vocab: Buffer[] }> {
  const hparams = testModelHparams(shape);
  if (vocabFrom === undefined) {
    const vocab = syntheticVocab(hparams.nVocab >= 51865);
    return { header: encodeHeader(hparams, slaneyMelFilters(hparams.nMels), 201, vocab), vocab };
  }
  const parsed = await readWhisperHeader(vocabFrom);
  for (const key of HPARAM_ORDER) {
    if (key !== "ftype" && parsed.hparams[key] !== hparams[key]) {
      throw new Error(`${vocabFrom}: ${key} = ${parsed.hparams[key]} does not match whisper ${shape} (${hparams[key]})`);
    }
  }
  // keep its bytes verbatim except ftype, which must say f16 to match the tensors we write
  const header = Buffer.from(parsed.bytes);
  header.writeInt32LE(hparams.ftype, 4 + 4 * HPARAM_ORDER.indexOf("ftype"));
  return { header, vocab: parsed.vocab };
}

/** Writes a whisper-`shape`-shaped ggml model with seeded random weights to `outPath`. */
export async function generateTestModel(options: GenerateTestModelOptions): Promise<void> {
  const seed = options.seed ?? DEFAULT_TEST_MODEL_SEED;
  checkSeed(seed);
  const hparams = testModelHparams(options.shape);
  const { header, vocab } = await headerFor(options.shape, options.vocabFrom);
  const rules = chainRules(hparams.nVocab, findWordIds(vocab));
  const wanted = new Set(rules.flatMap((r) => [r.trigger, ...r.targets.map(([t]) => t)]));
  const embedding = new Map<number, Float64Array>();
  const specs = whisperTensorSpecs(hparams);
  const d = hparams.nTextState;

  await fs.mkdir(path.dirname(path.resolve(options.outPath)), { recursive: true });
  const handle = await fs.open(options.outPath, "w");
  try {
    const sink = new FileSink(handle);
    await sink.write(header);
    for (const spec of specs) {
      await sink.write(tensorHeader(spec));
      if (CRAFTED.has(spec.name)) {
        const data = collect(tensorChunks(spec, seed), tensorElements(spec), spec.type);
        craftChainMlp(spec.name, data, d, rules, embedding);
        await sink.write(asBuffer(data));
        continue;
      }
      let rowStart = 0;
      for (const chunk of tensorChunks(spec, seed)) {
        if (spec.name === "decoder.token_embedding.weight") {
          // remember the (f16-rounded) embeddings of the chain tokens for the crafted MLP
          const rows = chunk.length / d;
          for (const id of wanted) {
            if (id >= rowStart && id < rowStart + rows) {
              const r = new Float64Array(d);
              for (let i = 0; i < d; i++) r[i] = halfBitsToFloat32(chunk[(id - rowStart) * d + i]!);
              embedding.set(id, r);
            }
          }
          rowStart += rows;
        }
        await sink.write(asBuffer(chunk));
      }
    }
    await sink.flush();
    const expected = modelSize(header.length, specs);
    if (sink.written !== expected) throw new Error(`internal: wrote ${sink.written} bytes, expected ${expected}`);
  } finally {
    await handle.close();
  }
}
