// The HTTP side of a model download: one GET (with a Range header when resuming) through up to MAX_REDIRECTS
// redirects, collecting what the hops say about the file (its SHA-256, its size), with a stall timeout; and the
// ModelDownloadErrors of a transfer that failed, each ending with the hint on using a local file instead.
import http from "node:http";
import https from "node:https";

import { sha256FromEtag } from "./checksums.js";
import { ModelDownloadAbortedError, ModelDownloadError } from "./errors.js";

const MAX_REDIRECTS = 5;

/** One download: what every request and error message of it needs. */
export interface DownloadContext {
  /** The catalog name being pulled (a transcription or a speaker model). */
  name: string;
  url: string;
  hint: string;
  signal: AbortSignal | undefined;
  stallTimeoutMs: number;
}

/** A response whose status is not a redirect, with what the redirect chain said about the file. */
export interface Answer {
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

export function header(res: http.IncomingMessage, name: string): string | undefined {
  const value = res.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

export function toInt(value: string | undefined): number | undefined {
  if (value === undefined || !/^\d+$/.test(value.trim())) return undefined;
  return Number(value.trim());
}

function requestOnce(url: URL, rangeStart: number, ctx: DownloadContext, stall: { stalled: boolean }): Promise<http.IncomingMessage> {
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

/** The model's URL from byte `rangeStart` on (all of it for 0), redirects followed. */
export async function requestDownload(ctx: DownloadContext, rangeStart: number): Promise<Answer> {
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
function describeUrl(ctx: DownloadContext, finalUrl: string): string {
  return finalUrl === ctx.url ? ctx.url : `${ctx.url} (redirected to ${finalUrl})`;
}

function describeFailure(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === "ECONNRESET") return "the server closed the connection early";
  if (code === "ERR_STREAM_PREMATURE_CLOSE") return "the connection closed early";
  return err instanceof Error ? err.message : String(err);
}

/** A transfer that failed (or was aborted) after `received` bytes; `partialKept`: the next pull resumes it. */
export function transferError(err: unknown, ctx: DownloadContext, finalUrl: string, received: number, stalled: boolean, partialKept: boolean): Error {
  if (ctx.signal?.aborted) return new ModelDownloadAbortedError(ctx.name, ctx.signal.reason);
  const resume = partialKept ? " The partial download is kept: run the same pull again to resume it." : "";
  const what = stalled ? `the connection stalled (no data for ${seconds(ctx.stallTimeoutMs)})` : describeFailure(err);
  const after = received > 0 ? ` after ${received} bytes` : "";
  return new ModelDownloadError(ctx.name, ctx.url, `Could not download "${ctx.name}" from ${describeUrl(ctx, finalUrl)}${after}: ${what}.${resume} ${ctx.hint}`, {
    resumable: partialKept,
    cause: err,
  });
}

/** The server answered with a status that is no download (its body is drained). */
export function httpError(ctx: DownloadContext, answer: Answer): ModelDownloadError {
  const status = answer.res.statusCode ?? 0;
  answer.res.resume();
  const reason = answer.res.statusMessage ? ` ${answer.res.statusMessage}` : "";
  return new ModelDownloadError(ctx.name, ctx.url, `Could not download "${ctx.name}" from ${describeUrl(ctx, answer.finalUrl)}: HTTP ${status}${reason}. ${ctx.hint}`, { status });
}
