import type { Command } from "commander";

import {
  generateSegmentationTestModel,
  generateSpeakerEmbeddingTestModel,
  getSegmentationTestModelPath,
  getSpeakerEmbeddingTestModelPath,
  SEGMENTATION_TEST_SHAPES,
  type SegmentationTestShape,
  SPEAKER_EMBEDDING_TEST_SHAPES,
  type SpeakerEmbeddingTestShape,
} from "../../models/testModel/diarization/index.js";
import { generateTestModel, getTestModelPath, type TestModelShape } from "../../models/testModel/index.js";
import {
  generateParakeetTestModel,
  getParakeetTestModelPath,
  PARAKEET_TEST_SHAPES,
  type ParakeetTestShape,
} from "../../models/testModel/parakeet/index.js";

const whisperShapes: readonly TestModelShape[] = ["tiny", "tiny.en", "base", "base.en", "large-v3-turbo"];
const engines = ["whisper", "parakeet", "segmentation", "speaker-embedding"] as const;
type TestModelEngine = (typeof engines)[number];

interface TestModelOptions {
  engine: string;
  shape: string;
  output?: string;
  seed: string;
}

/**
 * `earshot test-model`: writes the project's generated Whisper- or Parakeet-shaped model (real tensor shapes, seeded
 * weights, junk text), or a generated diarization model (speaker segmentation, speaker embedding: ONNX with sherpa-onnx's
 * inputs, outputs and metadata), to try the server or measure speed without downloading weights.
 */
export function registerTestModelCommand(program: Command): void {
  program
    .command("test-model")
    .description("generate a Whisper-, Parakeet- or diarization-shaped test model (real shapes and speed, junk output) and print its path")
    .option("--engine <engine>", `one of ${engines.join(", ")}`, "whisper")
    .option(
      "--shape <shape>",
      `whisper: one of ${whisperShapes.join(", ")}; parakeet: one of ${PARAKEET_TEST_SHAPES.join(", ")}; segmentation: one of ` +
        `${SEGMENTATION_TEST_SHAPES.join(", ")}; speaker-embedding: one of ${SPEAKER_EMBEDDING_TEST_SHAPES.join(", ")}`,
      "tiny",
    )
    .option("-o, --output <file>", "where to write it (default: a cache file under the temp directory)")
    .option("--seed <n>", "weight seed", "1")
    .action(async (options: TestModelOptions) => {
      if (!engines.includes(options.engine as TestModelEngine)) throw new Error(`--engine must be one of ${engines.join(", ")}`);
      const seed = Number(options.seed);
      if (!Number.isInteger(seed) || seed < 0) throw new Error("--seed must be a non-negative integer");
      const path = await modelPath(options.engine as TestModelEngine, options.shape, seed, options.output);
      process.stdout.write(`${path}\n`);
    });
}

function modelPath(engine: TestModelEngine, shape: string, seed: number, output: string | undefined): Promise<string> {
  switch (engine) {
    case "parakeet":
      return parakeetModel(shape, seed, output);
    case "segmentation":
      return segmentationModel(shape, seed, output);
    case "speaker-embedding":
      return speakerEmbeddingModel(shape, seed, output);
    default:
      return whisperModel(shape, seed, output);
  }
}

async function segmentationModel(shapeOption: string, seed: number, output: string | undefined): Promise<string> {
  if (!SEGMENTATION_TEST_SHAPES.includes(shapeOption as SegmentationTestShape)) {
    throw new Error(`--shape must be one of ${SEGMENTATION_TEST_SHAPES.join(", ")} for --engine segmentation`);
  }
  const shape = shapeOption as SegmentationTestShape;
  if (!output) return getSegmentationTestModelPath(shape, { seed });
  await generateSegmentationTestModel({ shape, outPath: output, seed });
  return output;
}

async function speakerEmbeddingModel(shapeOption: string, seed: number, output: string | undefined): Promise<string> {
  if (!SPEAKER_EMBEDDING_TEST_SHAPES.includes(shapeOption as SpeakerEmbeddingTestShape)) {
    throw new Error(`--shape must be one of ${SPEAKER_EMBEDDING_TEST_SHAPES.join(", ")} for --engine speaker-embedding`);
  }
  const shape = shapeOption as SpeakerEmbeddingTestShape;
  if (!output) return getSpeakerEmbeddingTestModelPath(shape, { seed });
  await generateSpeakerEmbeddingTestModel({ shape, outPath: output, seed });
  return output;
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
