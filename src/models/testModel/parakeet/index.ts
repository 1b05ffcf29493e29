// Generator of shape-faithful NVIDIA Parakeet TDT test models in whisper.cpp's ggml Parakeet format.
//
// No real Parakeet weights are available to the test suite, so we generate a file that whisper.cpp's
// parakeet_init_from_file_with_params loads exactly like upstream's ggml-parakeet-tdt-0.6b-v3-f16.bin: the same
// header (15 hparams, NeMo's mel filterbank and window, the TDT durations, a SentencePiece vocabulary), the same
// tensor names, shapes and types, hence the same encoder, prediction and joint compute. Weights are seeded random,
// scaled so every activation stays finite, except the crafted joint output layer and LSTM gates (decoding.ts),
// which make greedy TDT decoding emit junk words at a speech-like rate with varied durations.
//
// The parts: hparams.ts (each shape's numbers), header.ts (the file's header), frontEnd.ts (filters and window),
// vocab.ts, tensors.ts (the tensor list and scales), decoding.ts (the crafted values), generate.ts (one file),
// cache.ts (the shared cache that getParakeetTestModelPath keeps). The ggml tensor records, the seeded normal
// values, f16 and the cache mechanics are the Whisper test model's (src/models/testModel/).

export {
  getParakeetTestModelPath,
  PARAKEET_TEST_MODEL_FORMAT_VERSION,
  type ParakeetTestModelPathOptions,
  parakeetTestModelFileName,
  parakeetTestModelSize,
} from "./cache.js";
export { generateParakeetTestModel, type GenerateParakeetTestModelOptions, parakeetTestHeader } from "./generate.js";
export { decodeParakeetHeader, encodeParakeetHeader, type ParakeetHeader, readParakeetHeader } from "./header.js";
export {
  type ParakeetHparams,
  PARAKEET_HPARAM_ORDER,
  PARAKEET_TEST_SHAPES,
  type ParakeetTestShape,
  parakeetTestHparams,
  TDT_DURATIONS,
} from "./hparams.js";
export { type ParakeetTensorSpec, parakeetModelSize, parakeetTensorSpecs } from "./tensors.js";
export { parakeetSyntheticVocab, PUNCTUATION_PIECES, UNK_PIECE, WORD_START } from "./vocab.js";
