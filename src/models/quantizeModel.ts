// Quantized Parakeet variants made locally: whisper.cpp's own parakeet-quantize, built by scripts/build-native.mjs from
// the very tree and flags the addon is built from (so its ggml matches the one that loads the result), run on an
// installed model and written into the models directory as `ggml-<name>-<type>.bin`, found by name afterwards.
// The output appears by rename only when the tool succeeded: a failed, killed or timed-out run leaves no model file.
import { execFile } from "node:child_process";
import fs from "node:fs";
import fsp from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

import { readModelKind } from "../engine/modelKind.js";
import { ModelError } from "./errors.js";
import { modelPaths, modelsDir, resolveModel } from "./modelStore.js";

const packageRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");

/** Where scripts/build-native.mjs --target parakeet-quantize puts the tool. */
export const PARAKEET_QUANTIZE_PATH = path.join(packageRoot, "build", "native", "cmake", "bin", "parakeet-quantize");

/** The types ggml's quantizer takes (examples/common-ggml.cpp GGML_FTYPE_MAP). */
export const QUANTIZATION_TYPES = ["q4_0", "q4_1", "q5_0", "q5_1", "q8_0", "q2_k", "q3_k", "q4_k", "q5_k", "q6_k"] as const;
export type QuantizationType = (typeof QUANTIZATION_TYPES)[number];

/** Default for {@link QuantizeModelOptions.timeoutMs}: the 0.6B f32 model takes about a minute on two cores. */
export const DEFAULT_QUANTIZE_TIMEOUT_MS = 15 * 60_000;
/** Default for {@link QuantizeModelOptions.buildTimeoutMs}: building the tool from a configured tree. */
export const DEFAULT_QUANTIZE_BUILD_TIMEOUT_MS = 15 * 60_000;

/** Why a quantization was refused or failed; `code` is `quantize_failed`, the message says what to do. */
export class QuantizeError extends ModelError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("quantize_failed", message, options);
  }
}

/** Options of {@link quantizeModel}. */
export interface QuantizeModelOptions {
  /** Models directory the source is looked up in and the result written to; default {@link modelsDir}(). */
  dir?: string;
  /** Replace an existing `ggml-<name>-<type>.bin`. */
  force?: boolean;
  /** Kill the tool after this long (the partial output is deleted). Default {@link DEFAULT_QUANTIZE_TIMEOUT_MS}. */
  timeoutMs?: number;
  /** Deadline of building the tool when it is missing. Default {@link DEFAULT_QUANTIZE_BUILD_TIMEOUT_MS}. */
  buildTimeoutMs?: number;
  signal?: AbortSignal;
}

/** What {@link quantizeModel} made. */
export interface QuantizeResult {
  /** The new model's name: `<source>-<type>`. */
  name: string;
  path: string;
  sizeBytes: number;
  /** The file it was made from. */
  sourcePath: string;
}

/** True for a type ggml's quantizer takes. */
export function isQuantizationType(type: string): type is QuantizationType {
  return (QUANTIZATION_TYPES as readonly string[]).includes(type);
}

/** parakeet-quantize's path, built first (scripts/build-native.mjs --target parakeet-quantize) when it is missing. */
export async function ensureParakeetQuantize(timeoutMs = DEFAULT_QUANTIZE_BUILD_TIMEOUT_MS, signal?: AbortSignal): Promise<string> {
  if (fs.existsSync(PARAKEET_QUANTIZE_PATH)) return PARAKEET_QUANTIZE_PATH;
  const script = path.join(packageRoot, "scripts", "build-native.mjs");
  try {
    await promisify(execFile)(process.execPath, [script, "--target", "parakeet-quantize"], { cwd: packageRoot, timeout: timeoutMs, signal, maxBuffer: 64 << 20 });
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr?.trim().split("\n").slice(-3).join(" ") ?? "";
    throw new QuantizeError(`Could not build parakeet-quantize with ${path.relative(process.cwd(), script)} --target parakeet-quantize: ${stderr || (err as Error).message}`, { cause: err });
  }
  if (!fs.existsSync(PARAKEET_QUANTIZE_PATH)) throw new QuantizeError(`scripts/build-native.mjs --target parakeet-quantize did not produce ${PARAKEET_QUANTIZE_PATH}`);
  return PARAKEET_QUANTIZE_PATH;
}

/**
 * Writes a `type`-quantized copy of installed Parakeet model `name` (an f16 or f32 file) as `ggml-<name>-<type>.bin`
 * in the models directory, and returns it. `name` may also be a path to a Parakeet file; the result is named after
 * its file name and still goes into the models directory.
 * @throws QuantizeError for an unknown type, a source that is not an unquantized Parakeet model, an existing result
 *   (without `force`), or a tool that fails or runs past `timeoutMs`; ModelNotFoundError when `name` is not installed.
 */
export async function quantizeModel(name: string, type: string, options: QuantizeModelOptions = {}): Promise<QuantizeResult> {
  const dir = options.dir ?? modelsDir();
  if (!isQuantizationType(type)) throw new QuantizeError(`"${type}" is not a quantization type; use one of ${QUANTIZATION_TYPES.join(", ")}.`);
  const source = resolveModel(name, { dir });
  const kind = await readModelKind(source.path).catch(() => undefined);
  if (kind !== "parakeet") {
    throw new QuantizeError(`${source.path} is not a Parakeet model; earshot models quantize makes Parakeet variants (quantized Whisper files are in the catalog).`);
  }
  if (/-(q\d_[0-9a-z]+)$/.test(source.name)) {
    throw new QuantizeError(`"${source.name}" is already quantized; quantize from the f16 or f32 model (e.g. parakeet-tdt-0.6b-v3 or parakeet-tdt-0.6b-v3-f32).`);
  }
  const outName = `${source.name.replace(/-f(16|32)$/, "")}-${type}`;
  const { path: outPath, partialPath } = modelPaths(outName, dir);
  if (!options.force && fs.existsSync(outPath)) {
    throw new QuantizeError(`${outPath} already exists; pass --force to make it again.`);
  }

  const tool = await ensureParakeetQuantize(options.buildTimeoutMs, options.signal);
  const timeoutMs = options.timeoutMs ?? DEFAULT_QUANTIZE_TIMEOUT_MS;
  try {
    await promisify(execFile)(tool, [source.path, partialPath, type], { timeout: timeoutMs, killSignal: "SIGKILL", signal: options.signal, maxBuffer: 16 << 20 });
  } catch (err) {
    await fsp.rm(partialPath, { force: true });
    const failure = err as { killed?: boolean; stderr?: string; message: string };
    const why = failure.killed ? `it ran past ${Math.round(timeoutMs / 1000)} s and was stopped` : (failure.stderr?.trim().split("\n").slice(-2).join(" ") || failure.message);
    throw new QuantizeError(`parakeet-quantize could not make ${outName} from ${source.path}: ${why}. Nothing was written.`, { cause: err });
  }
  await fsp.rename(partialPath, outPath);
  return { name: outName, path: outPath, sizeBytes: (await fsp.stat(outPath)).size, sourcePath: source.path };
}
