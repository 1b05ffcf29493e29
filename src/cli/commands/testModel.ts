import type { Command } from "commander";

import { generateTestModel, getTestModelPath, type TestModelShape } from "../../models/testModel/index.js";
import {
  generateParakeetTestModel,
  getParakeetTestModelPath,
  PARAKEET_TEST_SHAPES,
  type ParakeetTestShape,
} from "../../models/testModel/parakeet/index.js";

const whisperShapes: readonly TestModelShape[] = ["tiny", "tiny.en", "base", "base.en", "large-v3-turbo"];
const engines = ["whisper", "parakeet"] as const;
type TestModelEngine = (typeof engines)[number];

interface TestModelOptions {
  engine: string;
  shape: string;
  output?: string;
  seed: string;
}

/**
 * `earshot test-model`: writes the project's generated Whisper- or Parakeet-shaped model (real tensor shapes, seeded
 * weights, junk text) to try the server or measure speed without downloading weights.
 */
export function registerTestModelCommand(program: Command): void {
  program
    .command("test-model")
    .description("generate a Whisper- or Parakeet-shaped test model (real shapes and speed, junk text) and print its path")
    .option("--engine <engine>", `one of ${engines.join(", ")}`, "whisper")
    .option("--shape <shape>", `whisper: one of ${whisperShapes.join(", ")}; parakeet: one of ${PARAKEET_TEST_SHAPES.join(", ")}`, "tiny")
    .option("-o, --output <file>", "where to write it (default: a cache file under the temp directory)")
    .option("--seed <n>", "weight seed", "1")
    .action(async (options: TestModelOptions) => {
      if (!engines.includes(options.engine as TestModelEngine)) throw new Error(`--engine must be one of ${engines.join(", ")}`);
      const seed = Number(options.seed);
      if (!Number.isInteger(seed) || seed < 0) throw new Error("--seed must be a non-negative integer");
      const path = options.engine === "parakeet" ? await parakeetModel(options.shape, seed, options.output) : await whisperModel(options.shape, seed, options.output);
      process.stdout.write(`${path}\n`);
    });
}

async function whisperModel(shapeOption: string, seed: number, output: string | undefined): Promise<string> {
  if (!whisperShapes.includes(shapeOption as TestModelShape)) throw new Error(`--shape must be one of ${whisperShapes.join(", ")} for --engine whisper`);
  const shape = shapeOption as TestModelShape;
  if (!output) return getTestModelPath(shape, { seed });
  await generateTestModel({ shape, outPath: output, seed });
  return output;
}

async function parakeetModel(shapeOption: string, seed: number, output: string | undefined): Promise<string> {
  if (!PARAKEET_TEST_SHAPES.includes(shapeOption as ParakeetTestShape)) {
    throw new Error(`--shape must be one of ${PARAKEET_TEST_SHAPES.join(", ")} for --engine parakeet`);
  }
  const shape = shapeOption as ParakeetTestShape;
  if (!output) return getParakeetTestModelPath(shape, { seed });
  await generateParakeetTestModel({ shape, outPath: output, seed });
  return output;
}
