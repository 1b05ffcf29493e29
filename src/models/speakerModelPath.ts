// How EARSHOT_SEGMENTATION_MODEL / EARSHOT_SPEAKER_EMBEDDING_MODEL (a catalog name or a path) turn into the ONNX file
// diarization loads: the speaker models' side of modelStore.ts `resolveModel`.

import fs from "node:fs";
import path from "node:path";

import type { SpeakerModelKind } from "./catalogEntry.js";
import {
  DEFAULT_SEGMENTATION_MODEL,
  DEFAULT_SPEAKER_EMBEDDING_MODEL,
  SPEAKER_MODEL_KINDS,
  speakerCatalogEntry,
  speakerModelNames,
} from "./diarizationCatalog.js";
import { ModelNotFoundError, UnknownModelError } from "./errors.js";
import { expandHome, isSafeModelName } from "./modelStore.js";

function isFile(p: string): boolean {
  try {
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

/**
 * The ONNX file of a speaker model of `kind`:
 * 1. a path to an existing file wins (relative to `cwd`; `~` expanded), whatever its name;
 * 2. else a catalog name of that kind (`pyannote-segmentation-3.0`): `<modelsDir>/<name>.onnx`, which must be installed;
 * 3. else `<name>` or `<name>.onnx` placed by hand in the models directory;
 * 4. else throws.
 * The file is not opened: whether it is a model of the right shape is the loader's question.
 * @param modelsDir the models directory (the configured one, absolute).
 * @throws ModelNotFoundError for a catalog model that is not installed (the message says how to pull it), a
 *   missing path, or a catalog model of the other kind; its subclass UnknownModelError for a name that is neither
 *   in the catalog nor in the models directory.
 */
export function speakerModelPath(modelsDir: string, nameOrPath: string, kind: SpeakerModelKind, cwd: string = process.cwd()): string {
  const arg = nameOrPath.trim();
  const { title, setting, flag } = SPEAKER_MODEL_KINDS[kind];
  const asPath = path.resolve(cwd, expandHome(arg));
  if (arg !== "" && isFile(asPath)) return asPath;

  const entry = speakerCatalogEntry(arg);
  if (entry && entry.kind !== kind) {
    const other = SPEAKER_MODEL_KINDS[entry.kind];
    throw new ModelNotFoundError(
      arg,
      modelsDir,
      `"${arg}" is a ${other.title} model (for ${other.setting}), not a ${title} model. ` +
        `Known ${title} models: ${speakerModelNames(kind).join(", ")}.`,
      "unknown_model",
    );
  }
  if (entry) {
    const stored = path.join(modelsDir, entry.fileName);
    if (isFile(stored)) return stored;
    throw new ModelNotFoundError(
      arg,
      modelsDir,
      `The ${title} model "${arg}" is not installed in ${modelsDir}. Run "earshot models pull ${arg}", or download ` +
        `${entry.remoteFileName} from ${entry.source} yourself and pass its path (${setting}, ${flag}), or place it in ${modelsDir} as ${entry.fileName}.`,
    );
  }

  const bare = arg.endsWith(".onnx") ? arg.slice(0, -".onnx".length) : arg;
  if (isSafeModelName(bare)) {
    const placed = path.join(modelsDir, `${bare}.onnx`);
    if (isFile(placed)) return placed;
  }
  if (arg.includes("/") || arg.includes(path.sep) || arg.startsWith("~") || arg.endsWith(".onnx")) {
    throw new ModelNotFoundError(arg, modelsDir, `The ${title} model file was not found: ${asPath}`);
  }
  throw new UnknownModelError(
    arg,
    modelsDir,
    speakerModelNames(kind),
    `A path to a local ONNX file works too, as does a <name>.onnx file placed in ${modelsDir} (${setting}, ${flag}).`,
  );
}

/**
 * The installed file of `kind`'s default catalog model (`pyannote-segmentation-3.0`, `wespeaker-voxceleb-resnet34-lm`),
 * or undefined when it is not in the models directory: what an unset EARSHOT_SEGMENTATION_MODEL /
 * EARSHOT_SPEAKER_EMBEDDING_MODEL falls back to.
 */
export function defaultSpeakerModelPath(modelsDir: string, kind: SpeakerModelKind): string | undefined {
  const name = kind === "segmentation" ? DEFAULT_SEGMENTATION_MODEL : DEFAULT_SPEAKER_EMBEDDING_MODEL;
  const stored = path.join(modelsDir, `${name}.onnx`);
  return isFile(stored) ? stored : undefined;
}
