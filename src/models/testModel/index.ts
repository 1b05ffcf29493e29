// Generator of shape-faithful whisper test models in the legacy ggml format.
//
// No real Whisper weights are available to the test suite, so we generate a file that
// whisper.cpp's `whisper_init_from_file_with_params` loads exactly like ggml-tiny.bin /
// ggml-base.bin: same hparams, same tensor names, shapes and types (f16 for the big matrices,
// f32 for biases, norms and positional embeddings), hence the same encoder/decoder compute.
// Weights are seeded random, except for a handful of crafted values (see "Decoder chain"
// below) that make greedy decoding emit a fixed, fully confident transcript, so the model
// behaves like one hearing clear speech: no temperature fallbacks, ~one window per 30 s.
//
// It is both a product feature (`earshot test-model`) and the fixture of the tests and benches.
// The parts: ggmlFile.ts (the file format), hparams.ts (each shape's numbers), random.ts and
// tensorValues.ts (the seeded weights), melFilters.ts, vocab.ts, tensors.ts (the tensor list),
// decoderChain.ts (the crafted weights and what they make the model say), generate.ts (one
// file), cache.ts (the shared cache that getTestModelPath keeps, through cachedModel.ts). The Parakeet TDT test model,
// on the same ggml records, seeded values and cache, is in parakeet/.

export { getTestModelPath, TEST_MODEL_FORMAT_VERSION, type TestModelPathOptions } from "./cache.js";
export { float32ToHalfBits, halfBitsToFloat32 } from "./float16.js";
export { DEFAULT_TEST_MODEL_SEED, generateTestModel, type GenerateTestModelOptions } from "./generate.js";
export { readWhisperHeader } from "./ggmlFile.js";
export {
  type TestModelShape,
  testModelHparams,
  type WhisperHparams,
  type WhisperSpecialTokens,
  whisperSpecialTokens,
} from "./hparams.js";
export { slaneyMelFilters } from "./melFilters.js";
export { whisperTensorSpecs } from "./tensors.js";
export { TEST_MODEL_SEGMENTS } from "./transcript.js";
export { syntheticVocab } from "./vocab.js";
