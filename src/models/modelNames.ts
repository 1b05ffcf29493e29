// The names of the catalog's models, per engine, and of the speaker models (the published numbers are in
// whisperCatalog.ts, parakeetCatalog.ts and diarizationCatalog.ts).

/** The Whisper models, smallest family first. `.en` = English-only; `-qN_M` = quantized. */
export const WHISPER_MODEL_NAMES = [
  "tiny",
  "tiny.en",
  "tiny-q5_1",
  "tiny.en-q5_1",
  "tiny-q8_0",
  "tiny.en-q8_0",
  "base",
  "base.en",
  "base-q5_1",
  "base.en-q5_1",
  "base-q8_0",
  "base.en-q8_0",
  "small",
  "small.en",
  "small-q5_1",
  "small.en-q5_1",
  "small-q8_0",
  "small.en-q8_0",
  "medium",
  "medium.en",
  "medium-q5_0",
  "medium.en-q5_0",
  "medium-q8_0",
  "medium.en-q8_0",
  "large-v1",
  "large-v2",
  "large-v2-q5_0",
  "large-v2-q8_0",
  "large-v3",
  "large-v3-q5_0",
  "large-v3-turbo",
  "large-v3-turbo-q5_0",
  "large-v3-turbo-q8_0",
] as const;

/** A Whisper model name from {@link WHISPER_MODEL_NAMES}. */
export type WhisperModelName = (typeof WHISPER_MODEL_NAMES)[number];

/**
 * The Parakeet models. The unsuffixed name is the f16 conversion (as for Whisper); `-qN_X` are quantized; `-f32` is
 * the full-precision file upstream quantizes from.
 */
export const PARAKEET_MODEL_NAMES = [
  "parakeet-tdt-0.6b-v3",
  "parakeet-tdt-0.6b-v3-q8_0",
  "parakeet-tdt-0.6b-v3-q4_k",
  "parakeet-tdt-0.6b-v3-q4_0",
  "parakeet-tdt-0.6b-v3-f32",
] as const;

/** A Parakeet model name from {@link PARAKEET_MODEL_NAMES}. */
export type ParakeetModelName = (typeof PARAKEET_MODEL_NAMES)[number];

/** The speaker segmentation models (pyannote segmentation-3.0 as sherpa-onnx exports it); the first is the default. */
export const SEGMENTATION_MODEL_NAMES = ["pyannote-segmentation-3.0", "pyannote-segmentation-3.0-int8"] as const;

/**
 * The speaker-embedding models (WeSpeaker and 3D-Speaker exports from sherpa-onnx's release); the first is the
 * default. `-lm`: fine-tuned with large-margin training (the ResNet34-LM pyannote's own pipeline pairs with segmentation-3.0).
 */
export const SPEAKER_EMBEDDING_MODEL_NAMES = [
  "wespeaker-voxceleb-resnet34-lm",
  "wespeaker-voxceleb-resnet34",
  "wespeaker-voxceleb-campplus",
  "3dspeaker-eres2net-base-zh",
] as const;

/** A segmentation model name from {@link SEGMENTATION_MODEL_NAMES}. */
export type SegmentationModelName = (typeof SEGMENTATION_MODEL_NAMES)[number];

/** A speaker-embedding model name from {@link SPEAKER_EMBEDDING_MODEL_NAMES}. */
export type SpeakerEmbeddingModelName = (typeof SPEAKER_EMBEDDING_MODEL_NAMES)[number];

/** Any speaker model name. */
export type SpeakerModelName = SegmentationModelName | SpeakerEmbeddingModelName;
