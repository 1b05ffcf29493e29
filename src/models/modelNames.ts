// The names of the catalog's models, per engine (the published numbers are in whisperCatalog.ts and parakeetCatalog.ts).

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
