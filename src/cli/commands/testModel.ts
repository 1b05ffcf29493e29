import type { Command } from "commander";

import { generateTestModel, getTestModelPath, type TestModelShape } from "../../models/testModel/index.js";

const shapes: TestModelShape[] = ["tiny", "tiny.en", "base", "base.en"];

/**
 * `earshot test-model`: writes the project's generated whisper-shaped model (real tensor shapes,
 * seeded weights, junk text) to try the server or measure speed without downloading weights.
 */
export function registerTestModelCommand(program: Command): void {
  program
    .command("test-model")
    .description("generate a whisper-shaped test model (real shapes and speed, junk text) and print its path")
    .option("--shape <shape>", `one of ${shapes.join(", ")}`, "tiny")
    .option("-o, --output <file>", "where to write it (default: a cache file under the temp directory)")
    .option("--seed <n>", "weight seed", "1")
    .action(async (options: { shape: string; output?: string; seed: string }) => {
      if (!shapes.includes(options.shape as TestModelShape)) throw new Error(`--shape must be one of ${shapes.join(", ")}`);
      const shape = options.shape as TestModelShape;
      const seed = Number(options.seed);
      if (!Number.isInteger(seed) || seed < 0) throw new Error("--seed must be a non-negative integer");
      if (options.output) {
        await generateTestModel({ shape, outPath: options.output, seed });
        process.stdout.write(`${options.output}\n`);
      } else {
        process.stdout.write(`${await getTestModelPath(shape, { seed })}\n`);
      }
    });
}
