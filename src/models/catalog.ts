// The model catalog: every published ggml file `earshot models pull` knows, Whisper's (whisperCatalog.ts) and
// Parakeet's (parakeetCatalog.ts), with engine, size, SHA-256, license, source and where it downloads from; and the
// ONNX speaker models diarization runs (diarizationCatalog.ts), which pull the same way but are no transcription
// model: MODEL_CATALOG and catalogEntry() hold the transcription models only, pullableEntry() both.

import type { CatalogEntry, ModelEngine, ModelName, PullableEntry, SpeakerModelEntry } from "./catalogEntry.js";
import { SPEAKER_MODEL_CATALOG, SPEAKER_MODEL_NAMES, speakerCatalogEntry } from "./diarizationCatalog.js";
import { PARAKEET_MODEL_NAMES, WHISPER_MODEL_NAMES } from "./modelNames.js";
import { PARAKEET_MODELS_BASE_URL, parakeetEntry } from "./parakeetCatalog.js";
import { WHISPER_MODELS_BASE_URL, whisperEntry } from "./whisperCatalog.js";

/** Every model `earshot models pull` knows: the Whisper models, then the Parakeet ones. */
export const MODEL_NAMES = [...WHISPER_MODEL_NAMES, ...PARAKEET_MODEL_NAMES] as const;

export type {
  CatalogEntry,
  ModelEngine,
  ModelName,
  ParakeetCatalogEntry,
  PullableEntry,
  SpeakerModelEntry,
  SpeakerModelKind,
  WhisperCatalogEntry,
} from "./catalogEntry.js";

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

/** Every name `earshot models pull` knows: the transcription models, then the speaker models. */
export const PULLABLE_MODEL_NAMES: readonly string[] = [...MODEL_NAMES, ...SPEAKER_MODEL_NAMES];

/** Everything `earshot models pull` knows, in {@link PULLABLE_MODEL_NAMES} order. */
export const PULLABLE_CATALOG: readonly PullableEntry[] = [...MODEL_CATALOG, ...SPEAKER_MODEL_CATALOG];

/** True for a speaker model's entry (it has a `kind`, and no transcription engine). */
export function isSpeakerModelEntry(entry: PullableEntry): entry is SpeakerModelEntry {
  return "kind" in entry;
}

/** The entry `earshot models pull name` downloads: a transcription model's or a speaker model's; undefined for neither. */
export function pullableEntry(name: string): PullableEntry | undefined {
  return BY_NAME.get(name) ?? speakerCatalogEntry(name);
}

/** True when `name` is a catalog model name. */
export function isModelName(name: string): name is ModelName {
  return BY_NAME.has(name);
}

/** The catalog entry for `name`, or undefined when it is not a catalog name. */
export function catalogEntry(name: string): CatalogEntry | undefined {
  return BY_NAME.get(name);
}

/** The file a model is stored as, locally and on the server: `ggml-<name>.bin`; a speaker model's `<name>.onnx`. */
export function modelFileName(name: string): string {
  return speakerCatalogEntry(name)?.fileName ?? `ggml-${name}.bin`;
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
 * know). Without `baseUrl`, the model's engine's default server. A speaker model comes from its own repository, or
 * from a configured mirror under its local name `<name>.onnx` (the segmentation model is published as plain
 * `model.onnx`, a name that says nothing on a mirror).
 */
export function modelUrl(name: string, baseUrl?: string): string {
  const speaker = speakerCatalogEntry(name);
  if (speaker) {
    const mirror = configuredBaseUrl(baseUrl);
    return mirror ? `${mirror}/${encodeURIComponent(speaker.fileName)}` : `${speaker.defaultBaseUrl}/${encodeURIComponent(speaker.remoteFileName)}`;
  }
  const entry = catalogEntry(name);
  const base = modelsBaseUrl(baseUrl, entry?.engine);
  return `${base}/${encodeURIComponent(entry?.remoteFileName ?? modelFileName(name))}`;
}
