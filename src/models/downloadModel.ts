// Downloads a catalog model into the models directory: streamed into `ggml-<name>.bin.partial`,
// resumed with an HTTP Range request when a partial file exists, verified by SHA-256, then renamed
// into place. A final `ggml-<name>.bin` is only ever a complete, verified file.

import { createHash } from "node:crypto";
import fs from "node:fs";
import fsp from "node:fs/promises";
import http from "node:http";
import https from "node:https";

import { makeDirectory } from "../makeDirectory.js";
import { catalogEntry, MODEL_NAMES, type ModelName, modelsBaseUrl, modelUrl } from "./catalog.js";
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
const MAX_REDIRECTS = 5;
const SHA256_HEX = /^[0-9a-f]{64}$/;

/** Options of {@link downloadModel}. */
export interface DownloadModelOptions {
  /** Models directory (created if missing); default {@link modelsDir}() (the XDG cache; callers pass the configured one). */
  dir?: string;
  /** Server to download from; default Hugging Face (see {@link modelsBaseUrl}; callers pass the configured one). */
  baseUrl?: string;
  /** Aborts the download; the `.partial` file is kept and the next call resumes it. */
  signal?: AbortSignal;
  /** Called once the server has answered, before any body byte is written. */
  onStart?: (info: DownloadStart) => void;
  /** Called as bytes arrive. `received` counts resumed bytes too; `total` is undefined when the server does not say. */
  onProgress?: (received: number, total: number | undefined) => void;
  /**
   * The SHA-256 the file must have. Undefined (default): the catalog's value. A hex string: that value
   * instead (a mirror serving a newer upload). `null`: no pinned value; only the server's header, if any.
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

/** A SHA-256 comparison that passed. */
export interface ChecksumCheck {
  expected: string;
  source: ChecksumSource;
}

/** What {@link downloadModel} did. */
export interface DownloadResult {
  name: ModelName;
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

/** Human words for the checks of a result: `verified (from ...; from ...)`, or `NOT verified: ...` when there were none. */
export function describeChecks(checks: readonly ChecksumCheck[]): string {
  if (checks.length === 0) return "NOT verified: no reference SHA-256 was available";
  return `verified (${checks.map((c) => describeChecksumSource(c.source)).join("; ")})`;
}

/** Lower-case 64-hex SHA-256 from an ETag-like header value (`"abc…"`, `W/"abc…"`), else undefined. */
export function sha256FromEtag(value: string | string[] | undefined): string | undefined {
  const raw = Array.isArray(value) ? value[0] : value;
  if (!raw) return undefined;
  const hex = raw.trim().replace(/^W\//i, "").replace(/^"|"$/g, "").toLowerCase();
  return SHA256_HEX.test(hex) ? hex : undefined;
}

/** The SHA-256 of a file, streamed. */
export async function sha256File(file: string, signal?: AbortSignal): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of fs.createReadStream(file, { highWaterMark: 1 << 20, signal })) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

interface Context {
  name: ModelName;
  url: string;
  hint: string;
  signal: AbortSignal | undefined;
  stallTimeoutMs: number;
}

/** A response whose status is not a redirect, with what the redirect chain said about the file. */
interface Answer {
  res: http.IncomingMessage;
  /** URL that gave `res` (after redirects). */
  finalUrl: string;
  /** SHA-256 announced by the first hop carrying one: its X-Linked-ETag, else its ETag (64-hex values only). */
  serverSha256: string | undefined;
  /** X-Linked-Size on any hop. */
  linkedSize: number | undefined;
  /** Set when the connection went silent for `stallTimeoutMs`. */
  stall: { stalled: boolean };
}

function header(res: http.IncomingMessage, name: string): string | undefined {
  const value = res.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function toInt(value: string | undefined): number | undefined {
  if (value === undefined || !/^\d+$/.test(value.trim())) return undefined;
  return Number(value.trim());
}

function requestOnce(url: URL, rangeStart: number, ctx: Context, stall: { stalled: boolean }): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    const client = url.protocol === "https:" ? https : url.protocol === "http:" ? http : undefined;
    if (!client) {
      reject(new Error(`unsupported protocol ${url.protocol} (only http and https)`));
      return;
    }
    const headers: Record<string, string> = { "user-agent": "earshot", "accept-encoding": "identity" };
    if (rangeStart > 0) headers.range = `bytes=${rangeStart}-`;
    const req = client.get(url, { headers, ...(ctx.signal ? { signal: ctx.signal } : {}) }, resolve);
    req.setTimeout(ctx.stallTimeoutMs, () => {
      stall.stalled = true;
      req.destroy(new Error(`no data for ${seconds(ctx.stallTimeoutMs)}`));
    });
    // Stays attached after the response arrived, so a later socket error never goes unhandled;
    // the response stream reports it to whoever reads the body.
    req.on("error", reject);
  });
}

async function request(ctx: Context, rangeStart: number): Promise<Answer> {
  let current = new URL(ctx.url);
  let serverSha256: string | undefined;
  let linkedSize: number | undefined;
  const stall = { stalled: false };
  for (let hop = 0; ; hop++) {
    let res: http.IncomingMessage;
    try {
      res = await requestOnce(current, rangeStart, ctx, stall);
    } catch (err) {
      throw transferError(err, ctx, current.href, 0, stall.stalled, rangeStart > 0);
    }
    serverSha256 ??= sha256FromEtag(res.headers["x-linked-etag"]) ?? sha256FromEtag(res.headers.etag);
    linkedSize ??= toInt(header(res, "x-linked-size"));
    const status = res.statusCode ?? 0;
    const location = header(res, "location");
    if (status >= 300 && status < 400 && location) {
      res.resume();
      if (hop >= MAX_REDIRECTS) {
        throw new ModelDownloadError(ctx.name, ctx.url, `Could not download "${ctx.name}" from ${ctx.url}: more than ${MAX_REDIRECTS} redirects. ${ctx.hint}`);
      }
      current = new URL(location, current);
      continue;
    }
    return { res, finalUrl: current.href, serverSha256, linkedSize, stall };
  }
}

function seconds(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${Math.round(ms / 1000)} s`;
}

/** `<model url>`, plus where it was redirected to when that is a different URL. */
function describeUrl(ctx: Context, finalUrl: string): string {
  return finalUrl === ctx.url ? ctx.url : `${ctx.url} (redirected to ${finalUrl})`;
}

function describeFailure(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === "ECONNRESET") return "the server closed the connection early";
  if (code === "ERR_STREAM_PREMATURE_CLOSE") return "the connection closed early";
  return err instanceof Error ? err.message : String(err);
}

function transferError(err: unknown, ctx: Context, finalUrl: string, received: number, stalled: boolean, partialKept: boolean): Error {
  if (ctx.signal?.aborted) return new ModelDownloadAbortedError(ctx.name, ctx.signal.reason);
  const resume = partialKept ? " The partial download is kept: run the same pull again to resume it." : "";
  const what = stalled ? `the connection stalled (no data for ${seconds(ctx.stallTimeoutMs)})` : describeFailure(err);
  const after = received > 0 ? ` after ${received} bytes` : "";
  return new ModelDownloadError(ctx.name, ctx.url, `Could not download "${ctx.name}" from ${describeUrl(ctx, finalUrl)}${after}: ${what}.${resume} ${ctx.hint}`, {
    resumable: partialKept,
    cause: err,
  });
}

function httpError(ctx: Context, answer: Answer): ModelDownloadError {
  const status = answer.res.statusCode ?? 0;
  answer.res.resume();
  const reason = answer.res.statusMessage ? ` ${answer.res.statusMessage}` : "";
  return new ModelDownloadError(ctx.name, ctx.url, `Could not download "${ctx.name}" from ${describeUrl(ctx, answer.finalUrl)}: HTTP ${status}${reason}. ${ctx.hint}`, { status });
}

async function fileSize(file: string): Promise<number> {
  try {
    const stat = await fsp.stat(file);
    return stat.isFile() ? stat.size : 0;
  } catch {
    return 0;
  }
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

/** Where the body goes: append at `offset` of the partial file, or write it from the start. */
interface Plan {
  answer: Answer;
  offset: number;
  total: number | undefined;
  restarted: boolean;
  /** True when the partial file is already complete (416 for exactly its size): nothing to read. */
  complete: boolean;
}

async function plan(ctx: Context, partialPath: string): Promise<Plan> {
  const existing = await fileSize(partialPath);
  const answer = await request(ctx, existing);
  const { res } = answer;
  const status = res.statusCode ?? 0;

  if (status === 200) {
    const length = toInt(header(res, "content-length"));
    return { answer, offset: 0, total: length ?? answer.linkedSize, restarted: existing > 0, complete: false };
  }
  if (status === 206) {
    const range = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(header(res, "content-range")?.trim() ?? "");
    if (range && Number(range[1]) === existing) {
      const length = toInt(header(res, "content-length"));
      const total = range[3] !== "*" ? Number(range[3]) : length !== undefined ? existing + length : answer.linkedSize;
      return { answer, offset: existing, total, restarted: false, complete: false };
    }
  }
  if (status === 416 && existing > 0) {
    const total = /^bytes \*\/(\d+)$/.exec(header(res, "content-range")?.trim() ?? "")?.[1];
    res.resume();
    if (total !== undefined && Number(total) === existing) {
      return { answer, offset: existing, total: existing, restarted: false, complete: true };
    }
  }
  if (existing > 0 && (status === 206 || status === 416)) {
    // A range answer we cannot use (wrong start, or the partial is bigger than the file): start over.
    res.resume();
    await fsp.rm(partialPath, { force: true });
    return plan(ctx, partialPath);
  }
  throw httpError(ctx, answer);
}

async function receiveBody(ctx: Context, partialPath: string, p: Plan, onProgress: DownloadModelOptions["onProgress"]): Promise<void> {
  let received = p.offset;
  onProgress?.(received, p.total);
  if (p.complete) return;
  // Each chunk is on disk before it is counted, so whatever a failure leaves behind is a valid
  // prefix for the next attempt to resume from.
  const out = await fsp.open(partialPath, p.offset > 0 ? "a" : "w");
  try {
    for await (const chunk of p.answer.res as AsyncIterable<Buffer>) {
      await out.write(chunk);
      received += chunk.length;
      onProgress?.(received, p.total);
    }
  } catch (err) {
    throw transferError(err, ctx, p.answer.finalUrl, received, p.answer.stall.stalled, received > 0);
  } finally {
    await out.close();
  }
  if (p.total !== undefined && received !== p.total) {
    if (received > p.total) {
      await fsp.rm(partialPath, { force: true });
      throw new ModelDownloadError(ctx.name, ctx.url, `Could not download "${ctx.name}" from ${ctx.url}: received ${received} bytes, more than the announced ${p.total}; the download was deleted. ${ctx.hint}`);
    }
    throw transferError(new Error(`the connection closed after ${received} of ${p.total} bytes`), ctx, p.answer.finalUrl, 0, false, true);
  }
}

/** The hashes the file must match: the server's announcement, and the pinned (catalog or option) value. */
function expectations(serverSha256: string | undefined, pinned: string | null | undefined, pinnedSource: ChecksumSource): ChecksumCheck[] {
  const checks: ChecksumCheck[] = [];
  if (serverSha256) checks.push({ expected: serverSha256, source: "server" });
  if (pinned) checks.push({ expected: pinned, source: pinnedSource });
  return checks;
}

/**
 * Downloads catalog model `name` into the models directory and returns where it is.
 *
 * - Streams into `<dir>/ggml-<name>.bin.partial`; if that file exists, asks for the rest with
 *   `Range: bytes=<size>-` (a server that answers 200 instead is handled by restarting cleanly).
 * - Verifies the SHA-256 against the server's `X-Linked-ETag`/`ETag` (when it is a 64-hex value,
 *   as Hugging Face sends for LFS files) and against the catalog value (or `expectedSha256`).
 *   On mismatch the partial file is deleted; nothing is installed.
 * - Renames the verified file to `<dir>/ggml-<name>.bin` (atomic on one file system).
 * - A failed, stalled or aborted transfer keeps the partial file for the next call to resume.
 *
 * @throws UnknownModelError for a name that is not in the catalog; ModelDownloadError (with the URL
 *   and a hint on using a local file instead) when the download fails; its subclass
 *   ChecksumMismatchError when the bytes do not verify; ModelDownloadAbortedError (`name` "AbortError")
 *   when `signal` aborts.
 */
export async function downloadModel(name: string, options: DownloadModelOptions = {}): Promise<DownloadResult> {
  const dir = options.dir ?? modelsDir();
  const entry = catalogEntry(name);
  if (!entry) throw new UnknownModelError(name, dir, MODEL_NAMES);

  const url = modelUrl(entry.name, modelsBaseUrl(options.baseUrl));
  if (!/^https?:\/\/[^/]/i.test(url) || !URL.canParse(url)) {
    throw new ModelDownloadError(entry.name, url, `Cannot download "${entry.name}" from ${url}: the base URL must be an http:// or https:// URL.`);
  }
  const ctx: Context = {
    name: entry.name,
    url,
    hint: localFileHint(entry.fileName, dir),
    signal: options.signal,
    stallTimeoutMs: options.stallTimeoutMs ?? DEFAULT_STALL_TIMEOUT_MS,
  };
  const { path: finalPath, partialPath } = modelPaths(entry.name, dir);
  const pinned = options.expectedSha256 === undefined ? entry.sha256 : options.expectedSha256 === null ? null : options.expectedSha256.trim().toLowerCase();
  if (pinned !== null && !SHA256_HEX.test(pinned)) {
    throw new ModelDownloadError(entry.name, url, `"${options.expectedSha256}" is not a SHA-256 (64 hex digits).`);
  }
  const pinnedSource: ChecksumSource = options.expectedSha256 === undefined ? "catalog" : "option";

  if (!options.force) {
    const installed = await fileSize(finalPath);
    if (installed > 0) {
      return { name: entry.name, path: finalPath, url, alreadyInstalled: true, sizeBytes: installed, sha256: undefined, checks: [], resumedFrom: 0 };
    }
  }
  if (ctx.signal?.aborted) throw new ModelDownloadAbortedError(entry.name, ctx.signal.reason);
  makeDirectory(dir, 0o755);


  const p = await plan(ctx, partialPath);
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
