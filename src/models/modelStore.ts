// The local model store: a directory of `ggml-<name>.bin` files (and the speaker models' `<name>.onnx`, see
// speakerModelPath.ts), plus `.partial` downloads in progress, and how a `--model` argument (a name or a path) turns
// into a file to load.

import fs from "node:fs";
import fsp from "node:fs/promises";
import os from "node:os";
import path from "node:path";

import { catalogEntry, type CatalogEntry, isModelName, MODEL_NAMES, modelFileName } from "./catalog.js";
import { SPEAKER_MODEL_KINDS, speakerCatalogEntry } from "./diarizationCatalog.js";
import { localFileHint, ModelNotFoundError, UnknownModelError } from "./errors.js";

/** Suffix of a download in progress: `ggml-<name>.bin.partial`. */
export const PARTIAL_SUFFIX = ".partial";

const MODEL_FILE_PATTERN = /^ggml-(.+)\.bin$/;
const SAFE_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** `p` with a leading `~` (alone or followed by a separator) replaced by the home directory. */
export function expandHome(p: string): string {
  if (p === "~") return os.homedir();
  if (p.startsWith("~/") || p.startsWith(`~${path.sep}`)) return path.join(os.homedir(), p.slice(2));
  return p;
}

/**
 * The models directory, as an absolute path: `configured` when given (the EARSHOT_MODELS_DIR setting,
 * read by src/config.ts; a leading `~` is expanded, a relative path is resolved against the working
 * directory), else `$XDG_CACHE_HOME/earshot/models` when `env.XDG_CACHE_HOME` is an absolute path,
 * else `~/.cache/earshot/models`. The directory is not created.
 * @param env where XDG_CACHE_HOME is looked up (an operating-system convention, not an Earshot setting).
 */
export function modelsDir(configured?: string, env: { XDG_CACHE_HOME?: string | undefined } = process.env): string {
  const chosen = configured?.trim();
  if (chosen) return path.resolve(expandHome(chosen));
  const xdg = env.XDG_CACHE_HOME?.trim();
  const cacheRoot = xdg && path.isAbsolute(xdg) ? xdg : path.join(os.homedir(), ".cache");
  return path.join(cacheRoot, "earshot", "models");
}

/** Absolute paths of a model's final file and of its in-progress download (a speaker model's are `<name>.onnx[.partial]`). */
export function modelPaths(name: string, dir: string = modelsDir()): { path: string; partialPath: string } {
  const file = path.join(dir, modelFileName(name));
  return { path: file, partialPath: file + PARTIAL_SUFFIX };
}

/** True for names that are safe to turn into a file name in the models directory. */
export function isSafeModelName(name: string): boolean {
  return SAFE_NAME_PATTERN.test(name) && !name.includes("..");
}

/** A model file found in the models directory. */
export interface LocalModel {
  /** `<name>` of `ggml-<name>.bin`. */
  name: string;
  /** Absolute path of the file. */
  path: string;
  sizeBytes: number;
  /** The catalog entry, when the name is a catalog name. */
  catalog: CatalogEntry | undefined;
}

/** A download in progress (a `ggml-<name>.bin.partial` file). */
export interface PartialDownload {
  name: string;
  path: string;
  /** Bytes downloaded so far. */
  sizeBytes: number;
}

async function readDirOrEmpty(dir: string): Promise<fs.Dirent[]> {
  try {
    return await fsp.readdir(dir, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw err;
  }
}

async function scan<T>(dir: string, suffix: string, make: (name: string, file: string, size: number) => T): Promise<T[]> {
  const found: T[] = [];
  for (const dirent of await readDirOrEmpty(dir)) {
    if (!dirent.name.endsWith(suffix)) continue;
    const match = MODEL_FILE_PATTERN.exec(dirent.name.slice(0, dirent.name.length - suffix.length));
    if (!match?.[1]) continue;
    const file = path.join(dir, dirent.name);
    const stat = await fsp.stat(file).catch(() => undefined);
    if (!stat?.isFile()) continue;
    found.push(make(match[1], file, stat.size));
  }
  return found;
}

/**
 * The installed models: every `ggml-<name>.bin` file in `dir` (catalog models and any other ggml
 * file placed there by hand), sorted by name. A missing directory is an empty store.
 */
export async function listLocalModels(dir: string = modelsDir()): Promise<LocalModel[]> {
  const models = await scan(dir, "", (name, file, sizeBytes) => ({ name, path: file, sizeBytes, catalog: catalogEntry(name) }));
  return models.sort((a, b) => a.name.localeCompare(b.name));
}

/** The unfinished downloads in `dir` (`ggml-<name>.bin.partial`), sorted by name. */
export async function listPartialDownloads(dir: string = modelsDir()): Promise<PartialDownload[]> {
  const partials = await scan(dir, PARTIAL_SUFFIX, (name, file, sizeBytes) => ({ name, path: file, sizeBytes }));
  return partials.sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * Deletes a model from `dir`: its `ggml-<name>.bin` and any unfinished `.partial` download.
 * Returns the paths it deleted.
 * @throws ModelNotFoundError when neither file exists (or the name could escape the directory).
 */
export async function removeModel(name: string, dir: string = modelsDir()): Promise<string[]> {
  if (!isSafeModelName(name)) {
    throw new ModelNotFoundError(name, dir, `"${name}" is not a model name (expected e.g. "base" for ${modelFileName("base")}).`);
  }
  const { path: file, partialPath } = modelPaths(name, dir);
  const removed: string[] = [];
  for (const candidate of [file, partialPath]) {
    try {
      await fsp.unlink(candidate);
      removed.push(candidate);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    }
  }
  if (removed.length === 0) {
    throw new ModelNotFoundError(name, dir, `Model "${name}" is not installed in ${dir}; nothing to remove.`);
  }
  return removed;
}

/** What `resolveModel` found. */
export interface ResolvedModel {
  /** The model's name: the catalog name, or `<name>` of a `ggml-<name>.bin` file, or the file's base name. */
  name: string;
  /** Absolute path of the file to load. */
  path: string;
  /** `path`: the argument was a path to an existing file; `store`: found in the models directory. */
  source: "path" | "store";
  /** The catalog entry, when the name is a catalog name. */
  catalog: CatalogEntry | undefined;
}

/** Options of {@link resolveModel}. */
export interface ResolveModelOptions {
  /** Models directory; default {@link modelsDir}() (the XDG cache; callers pass the configured one). */
  dir?: string;
  /** Directory relative paths are resolved against; default `process.cwd()`. */
  cwd?: string;
}

function isFile(p: string): boolean {
  try {
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

function nameFromFile(file: string): string {
  const base = path.basename(file);
  return MODEL_FILE_PATTERN.exec(base)?.[1] ?? base.replace(/\.bin$/, "");
}

function looksLikePath(arg: string): boolean {
  return arg.includes("/") || arg.includes(path.sep) || arg.startsWith("~") || arg.endsWith(".bin");
}

/**
 * Turns a `--model` argument into a file to load:
 * 1. a path to an existing file wins (relative to `cwd`; `~` expanded), whatever its name;
 * 2. else a model name (`base`, or its file name `ggml-base.bin`) installed in the models directory;
 * 3. else throws.
 * @throws ModelNotFoundError for a missing path or a known model that is not installed (the message
 *   says how to pull it or where to put it); its subclass UnknownModelError for a name that is not
 *   in the catalog.
 */
export function resolveModel(nameOrPath: string, options: ResolveModelOptions = {}): ResolvedModel {
  const dir = options.dir ?? modelsDir();
  const arg = nameOrPath.trim();
  const asPath = path.resolve(options.cwd ?? process.cwd(), expandHome(arg));
  if (arg !== "" && isFile(asPath)) {
    const name = nameFromFile(asPath);
    return { name, path: asPath, source: "path", catalog: catalogEntry(name) };
  }

  const name = MODEL_FILE_PATTERN.exec(arg)?.[1] ?? arg;
  const speaker = speakerCatalogEntry(name);
  if (speaker) {
    const { title, setting } = SPEAKER_MODEL_KINDS[speaker.kind];
    throw new ModelNotFoundError(
      arg,
      dir,
      `"${name}" is a ${title} model for diarization (${setting}), not a transcription model. Known transcription models: ${MODEL_NAMES.join(", ")}.`,
      "unknown_model",
    );
  }
  if (isSafeModelName(name)) {
    const { path: stored } = modelPaths(name, dir);
    if (isFile(stored)) return { name, path: stored, source: "store", catalog: catalogEntry(name) };
  }

  if (isModelName(name)) {
    throw new ModelNotFoundError(
      arg,
      dir,
      `Model "${name}" is not installed in ${dir}. Run "earshot models pull ${name}", or ${lowerFirst(localFileHint(modelFileName(name), dir))}`,
    );
  }
  if (looksLikePath(arg)) {
    throw new ModelNotFoundError(arg, dir, `Model file not found: ${asPath}`);
  }
  throw new UnknownModelError(arg, dir, MODEL_NAMES);
}

function lowerFirst(text: string): string {
  return text.charAt(0).toLowerCase() + text.slice(1);
}
