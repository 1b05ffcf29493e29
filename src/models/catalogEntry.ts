// The types of the model catalog's entries (catalog.ts composes the entries; whisperCatalog.ts, parakeetCatalog.ts and
// diarizationCatalog.ts hold the published numbers).
import type { NativeAlignmentPreset } from "../engine/nativeTypes.js";
import type { ParakeetModelName, SpeakerModelName, WhisperModelName } from "./modelNames.js";

/** A model name from catalog.ts MODEL_NAMES. */
export type ModelName = WhisperModelName | ParakeetModelName;

/** Which engine runs a model file. */
export type ModelEngine = "whisper" | "parakeet";

/** What the catalog knows about one published model file, whatever its engine. */
interface CatalogEntryBase {
  name: ModelName;
  engine: ModelEngine;
  /** The file it is stored as locally: `ggml-<name>.bin`. */
  fileName: string;
  /** The file's name on the server (Parakeet's f16 file is published as `...-f16.bin`, stored as `ggml-<name>.bin`). */
  remoteFileName: string;
  /** Size of the published file in bytes (informational: the SHA-256 is what is checked). */
  sizeBytes: number;
  /**
   * Lower-case hex SHA-256 of the published file; undefined where no source gives it, and then a pull needs the
   * value from the operator (`--sha256`): earshot does not download a file it cannot verify against a pinned hash.
   */
  sha256: string | undefined;
  /** False for English-only models. */
  multilingual: boolean;
  /** ISO 639-1 codes of the languages the model card lists; undefined: the engine's whole list (multilingual Whisper). */
  languages: readonly string[] | undefined;
  /** `q5_0`, `q8_0`, `q4_k`, ...; undefined for unquantized files (f16, or f32 where the name says so). */
  quantization: string | undefined;
  /** SPDX identifier of the weights' license. */
  license: string;
  /** The repository that publishes the file (a URL). */
  source: string;
  /** The original checkpoint it was converted from (a URL). */
  convertedFrom: string;
  /** Where it downloads from unless a base URL is configured (EARSHOT_MODELS_BASE_URL, --base-url). */
  defaultBaseUrl: string;
}

/** A Whisper file: DTW word times read its alignment heads; its SHA-1 is whisper.cpp's README column. */
export interface WhisperCatalogEntry extends CatalogEntryBase {
  engine: "whisper";
  /** Lower-case hex SHA-1 of the published file, as whisper.cpp's README lists it. */
  sha1: string;
  /** The alignment heads DTW word timestamps read: the preset of the model it was made from. */
  alignmentHeads: NativeAlignmentPreset;
}

/** A Parakeet TDT file: word times come from the TDT frame times, so there are no alignment heads (nor a SHA-1). */
export interface ParakeetCatalogEntry extends CatalogEntryBase {
  engine: "parakeet";
  sha1?: never;
  alignmentHeads?: never;
}

/** A catalog entry; `entry.alignmentHeads` reads as undefined for Parakeet. */
export type CatalogEntry = WhisperCatalogEntry | ParakeetCatalogEntry;

/** What a speaker model does in diarization: find who speaks when in a window, or turn a voice into a vector. */
export type SpeakerModelKind = "segmentation" | "speaker-embedding";

/**
 * A published ONNX speaker model (diarization), run by onnxruntime rather than a transcription engine. Stored as
 * `<name>.onnx` in the models directory, downloaded and verified like a ggml file.
 */
export interface SpeakerModelEntry {
  name: SpeakerModelName;
  kind: SpeakerModelKind;
  /** The file it is stored as locally, and the name a configured mirror serves it under: `<name>.onnx`. */
  fileName: string;
  /** The file's name on its default server (the segmentation model is published as `model.onnx`). */
  remoteFileName: string;
  /** Size of the published file in bytes (informational: the SHA-256 is what is checked). */
  sizeBytes: number;
  /** Lower-case hex SHA-256 of the published file; undefined where no source gives it (a pull then needs `--sha256`). */
  sha256: string | undefined;
  /** `int8` for a quantized export; undefined for float32. */
  quantization: string | undefined;
  /** What the weights were trained on, in words (the language of the speech matters to how well voices separate). */
  trainedOn: string;
  /** SPDX identifier of the weights' license. */
  license: string;
  /** Where the ONNX file is published (a URL). */
  source: string;
  /** The original checkpoint it was exported from (a URL). */
  convertedFrom: string;
  /** Where it downloads from unless a base URL is configured (EARSHOT_MODELS_BASE_URL, --base-url). */
  defaultBaseUrl: string;
}

/** Anything `earshot models pull` can download: a transcription model or a speaker model. */
export type PullableEntry = CatalogEntry | SpeakerModelEntry;
