// The model catalog: every published ggml file `earshot models pull` knows, Whisper's (whisperCatalog.ts) and
// Parakeet's (parakeetCatalog.ts), with engine, size, SHA-256, license, source and where it downloads from.

import type { NativeAlignmentPreset } from "../engine/nativeTypes.js";
import { PARAKEET_MODEL_NAMES, PARAKEET_MODELS_BASE_URL, parakeetEntry, type ParakeetModelName } from "./parakeetCatalog.js";
import { WHISPER_MODEL_NAMES, WHISPER_MODELS_BASE_URL, whisperEntry, type WhisperModelName } from "./whisperCatalog.js";

/** Every model `earshot models pull` knows: the Whisper models, then the Parakeet ones. */
export const MODEL_NAMES = [...WHISPER_MODEL_NAMES, ...PARAKEET_MODEL_NAMES] as const;

/** A model name from {@link MODEL_NAMES}. */
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

/** Whisper's default download server; kept under its old name (mirrors and tests import it). */
export const DEFAULT_MODELS_BASE_URL = WHISPER_MODELS_BASE_URL;

/** Each engine's default download server (a configured base URL replaces both). */
export const DEFAULT_BASE_URLS: Readonly<Record<ModelEngine, string>> = {
  whisper: WHISPER_MODELS_BASE_URL,
  parakeet: PARAKEET_MODELS_BASE_URL,
};

/** The catalog, in {@link MODEL_NAMES} order. */
export const MODEL_CATALOG: readonly CatalogEntry[] = [...WHISPER_MODEL_NAMES.map(whisperEntry), ...PARAKEET_MODEL_NAMES.map(parakeetEntry)];

const BY_NAME: ReadonlyMap<string, CatalogEntry> = new Map(MODEL_CATALOG.map((entry) => [entry.name, entry]));

/** True when `name` is a catalog model name. */
export function isModelName(name: string): name is ModelName {
  return BY_NAME.has(name);
}

/** The catalog entry for `name`, or undefined when it is not a catalog name. */
export function catalogEntry(name: string): CatalogEntry | undefined {
  return BY_NAME.get(name);
}

/** The file a model is stored as, locally and on the server: `ggml-<name>.bin`. */
export function modelFileName(name: string): string {
  return `ggml-${name}.bin`;
}

/** A configured base URL without trailing slashes; undefined when it is empty (nothing configured). */
export function configuredBaseUrl(configured: string | undefined): string | undefined {
  const chosen = configured?.trim().replace(/\/+$/, "");
  return chosen ? chosen : undefined;
}

/**
 * The base URL to download from: `configured` when given (a flag or the EARSHOT_MODELS_BASE_URL setting, chosen by
 * the caller: a mirror serves every engine's files side by side, under their published file names), else the
 * engine's default ({@link DEFAULT_BASE_URLS}). Trailing slashes are removed.
 */
export function modelsBaseUrl(configured?: string, engine: ModelEngine = "whisper"): string {
  return configuredBaseUrl(configured) ?? DEFAULT_BASE_URLS[engine];
}

/**
 * The URL of a model file: `<baseUrl>/<published file name>` (`ggml-<name>.bin` for a name the catalog does not
 * know). Without `baseUrl`, the model's engine's default server.
 */
export function modelUrl(name: string, baseUrl?: string): string {
  const entry = catalogEntry(name);
  const base = modelsBaseUrl(baseUrl, entry?.engine);
  return `${base}/${encodeURIComponent(entry?.remoteFileName ?? modelFileName(name))}`;
}
