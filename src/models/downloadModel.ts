// Downloads a catalog model (Whisper, Parakeet, or an ONNX speaker model) into the models directory: streamed into
// `ggml-<name>.bin.partial` (`<name>.onnx.partial`), resumed with an HTTP Range request when a partial file exists
// (downloadPlan.ts, downloadRequest.ts), verified by SHA-256 (checksums.ts), then renamed into place. A final model
// file is only ever a complete, verified one.

import fsp from "node:fs/promises";

import { makeDirectory } from "../makeDirectory.js";
import { isSpeakerModelEntry, type PullableEntry, pullableEntry, PULLABLE_MODEL_NAMES, modelUrl } from "./catalog.js";
import { type ChecksumCheck, expectations, SHA256_HEX, sha256File } from "./checksums.js";
import { fileSize, planDownload, receiveBody } from "./downloadPlan.js";
import { SPEAKER_MODEL_KINDS } from "./diarizationCatalog.js";
import { type DownloadContext, transferError } from "./downloadRequest.js";
import {
  ChecksumMismatchError,
  type ChecksumSource,
  describeChecksumSource,
  localFileHint,
  ModelDownloadAbortedError,
  ModelDownloadError,
  UnknownModelError,
} from "./errors.js";
import { modelPaths, modelsDir } from "./modelStore.js";

/** Default for {@link DownloadModelOptions.stallTimeoutMs}. */
export const DEFAULT_STALL_TIMEOUT_MS = 30_000;

/** Options of {@link downloadModel}. */
export interface DownloadModelOptions {
  /** Models directory (created if missing); default {@link modelsDir}() (the XDG cache; callers pass the configured one). */
  dir?: string;
  /**
   * Server to download from, serving every engine's files under their published names (a mirror; callers pass the
   * configured one); default the model's engine's Hugging Face repository (see catalog.ts `modelsBaseUrl`).
   */
  baseUrl?: string;
  /** Aborts the download; the `.partial` file is kept and the next call resumes it. */
  signal?: AbortSignal;
  /** Called once the server has answered, before any body byte is written. */
  onStart?: (info: DownloadStart) => void;
  /** Called as bytes arrive. `received` counts resumed bytes too; `total` is undefined when the server does not say. */
  onProgress?: (received: number, total: number | undefined) => void;
  /**
   * The SHA-256 the file must have. Undefined (default): the catalog's value (required when the catalog has none). A
   * hex string: that value instead (a mirror serving a newer upload). `null`: no pinned value; only the server's
   * header, if any (for tests of that path; the CLI never passes it).
   */
  expectedSha256?: string | null;
  /** Download again even when `ggml-<name>.bin` is already installed. */
  force?: boolean;
  /** Give up (keeping the partial file) when the connection is silent this long. Default 30 s. */
  stallTimeoutMs?: number;
}

/** What {@link DownloadModelOptions.onStart} is told. */
export interface DownloadStart {
  /** The URL asked for (before redirects). */
  url: string;
  /** Bytes of an earlier partial download that are kept; 0 for a fresh download. */
  resumeFrom: number;
  /** Size of the complete file, when known. */
  totalBytes: number | undefined;
  /** True when a partial file existed but the server ignored the Range request, so it restarts. */
  restarted: boolean;
}

/** What {@link downloadModel} did. */
export interface DownloadResult {
  name: string;
  /** Absolute path of the installed file. */
  path: string;
  /** The URL asked for (before redirects). */
  url: string;
  /** True when the model was already installed and nothing was downloaded (`force` not set). */
  alreadyInstalled: boolean;
  /** Size of the installed file. */
  sizeBytes: number;
  /** SHA-256 of the installed file; undefined when `alreadyInstalled` (it is not re-hashed). */
  sha256: string | undefined;
  /** The comparisons that passed. Empty after a download: no reference hash was known, so it is unverified. */
  checks: ChecksumCheck[];
  /** Bytes reused from an earlier partial download (0: downloaded from the start). */
  resumedFrom: number;
}

/** Flushes a file to disk, so the rename never publishes a file whose bytes are still in the page cache only. */
async function syncFile(file: string): Promise<void> {
  const handle = await fsp.open(file, "r+");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** How to do without `earshot models pull`: a transcription model goes to --model, a speaker model to its setting. */
function fileHint(entry: PullableEntry, dir: string): string {
  if (!isSpeakerModelEntry(entry)) return localFileHint(entry.fileName, dir);
  const { setting, flag } = SPEAKER_MODEL_KINDS[entry.kind];
  return `Download it yourself and pass its path with ${flag} (${setting}), or place it in ${dir} as ${entry.fileName}.`;
}

/**
 * Downloads catalog model `name` (a transcription or a speaker model) into the models directory and returns where it is.
 *
 * - Asks for `<baseUrl>/<published file name>` (Parakeet's f16 file is `...-f16.bin` there; a speaker model's is its
 *   `<name>.onnx`); without a base URL, the model's own repository (catalog.ts `modelUrl`).
 * - Refuses, before any request, a model whose catalog entry has no SHA-256 unless `expectedSha256` gives one.
 * - Streams into `<dir>/<file>.partial` (`<file>`: `ggml-<name>.bin`, a speaker model's `<name>.onnx`); if that file
 *   exists, asks for the rest with `Range: bytes=<size>-` (a server that answers 200 instead is handled by restarting
 *   cleanly).
 * - Verifies the SHA-256 against the server's `X-Linked-ETag`/`ETag` (when it is a 64-hex value,
 *   as Hugging Face sends for LFS files) and against the catalog value (or `expectedSha256`).
 *   On mismatch the partial file is deleted; nothing is installed.
 * - Renames the verified file to `<dir>/<file>` (atomic on one file system).
 * - A failed, stalled or aborted transfer keeps the partial file for the next call to resume.
 *
 * @throws UnknownModelError for a name that is not in the catalog; ModelDownloadError (with the URL
 *   and a hint on using a local file instead) when the download fails; its subclass
 *   ChecksumMismatchError when the bytes do not verify; ModelDownloadAbortedError (`name` "AbortError")
 *   when `signal` aborts.
 */
export async function downloadModel(name: string, options: DownloadModelOptions = {}): Promise<DownloadResult> {
  const dir = options.dir ?? modelsDir();
  const entry = pullableEntry(name);
  if (!entry) throw new UnknownModelError(name, dir, PULLABLE_MODEL_NAMES);

  const url = modelUrl(entry.name, options.baseUrl);
  if (!/^https?:\/\/[^/]/i.test(url) || !URL.canParse(url)) {
    throw new ModelDownloadError(entry.name, url, `Cannot download "${entry.name}" from ${url}: the base URL must be an http:// or https:// URL.`);
  }
  const ctx: DownloadContext = {
    name: entry.name,
    url,
    hint: fileHint(entry, dir),
    signal: options.signal,
    stallTimeoutMs: options.stallTimeoutMs ?? DEFAULT_STALL_TIMEOUT_MS,
  };
  const { path: finalPath, partialPath } = modelPaths(entry.name, dir);
  const pinned = options.expectedSha256 === undefined ? entry.sha256 : options.expectedSha256 === null ? null : options.expectedSha256.trim().toLowerCase();
  if (pinned !== null && pinned !== undefined && !SHA256_HEX.test(pinned)) {
    throw new ModelDownloadError(entry.name, url, `"${options.expectedSha256}" is not a SHA-256 (64 hex digits).`);
  }
  const pinnedSource: ChecksumSource = options.expectedSha256 === undefined ? "catalog" : "option";

  if (!options.force) {
    const installed = await fileSize(finalPath);
    if (installed > 0) {
      return { name: entry.name, path: finalPath, url, alreadyInstalled: true, sizeBytes: installed, sha256: undefined, checks: [], resumedFrom: 0 };
    }
  }
  if (pinned === undefined) {
    // No public source gives this file's hash: earshot does not guess one, and does not download unverifiable bytes.
    throw new ModelDownloadError(
      entry.name,
      url,
      `No SHA-256 is known for "${entry.name}" (${entry.remoteFileName}), so earshot will not download it unverified. ` +
        `Take the file's SHA-256 from its page at ${entry.source} and pull it with --sha256 <hex>. ${ctx.hint}`,
      { code: "checksum_unknown" },
    );
  }
  if (ctx.signal?.aborted) throw new ModelDownloadAbortedError(entry.name, ctx.signal.reason);
  makeDirectory(dir, 0o755);

  const p = await planDownload(ctx, partialPath);
  const { serverSha256 } = p.answer;
  if (serverSha256 && pinned && serverSha256 !== pinned) {
    p.answer.res.destroy();
    throw new ModelDownloadError(
      entry.name,
      url,
      `The server announces sha256 ${serverSha256} for ${entry.fileName} at ${url}, but the value ${describeChecksumSource(pinnedSource)} is ${pinned}: ` +
        `the server's file is not the expected one. Nothing was downloaded. To accept the server's file, pull it with --sha256 ${serverSha256}. ${ctx.hint}`,
      { code: "checksum_mismatch" },
    );
  }
  options.onStart?.({ url, resumeFrom: p.offset, totalBytes: p.total, restarted: p.restarted });
  await receiveBody(ctx, partialPath, p, options.onProgress);

  let actual: string;
  try {
    actual = await sha256File(partialPath, ctx.signal);
  } catch (err) {
    throw transferError(err, ctx, url, 0, false, true);
  }
  const checks = expectations(serverSha256, pinned, pinnedSource);
  const failed = checks.find((check) => check.expected !== actual);
  if (failed) {
    await fsp.rm(partialPath, { force: true });
    throw new ChecksumMismatchError(entry.name, url, failed.expected, actual, failed.source, ctx.hint);
  }

  await syncFile(partialPath);
  await fsp.rename(partialPath, finalPath);
  return {
    name: entry.name,
    path: finalPath,
    url,
    alreadyInstalled: false,
    sizeBytes: await fileSize(finalPath),
    sha256: actual,
    checks,
    resumedFrom: p.offset,
  };
}
