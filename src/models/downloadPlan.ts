// Resuming a model download: what the server's answer to the Range request means for the `.partial` file (append at
// its end, start over, or already complete), and the body written into it.
import fsp from "node:fs/promises";

import { type Answer, type DownloadContext, header, httpError, requestDownload, toInt, transferError } from "./downloadRequest.js";
import { ModelDownloadError } from "./errors.js";

/** Where the body goes: append at `offset` of the partial file, or write it from the start. */
export interface DownloadPlan {
  answer: Answer;
  offset: number;
  total: number | undefined;
  restarted: boolean;
  /** True when the partial file is already complete (416 for exactly its size): nothing to read. */
  complete: boolean;
}

/** The size of a file; 0 when there is none (or it is not a file). */
export async function fileSize(file: string): Promise<number> {
  try {
    const stat = await fsp.stat(file);
    return stat.isFile() ? stat.size : 0;
  } catch {
    return 0;
  }
}

/** Asks for the rest of `partialPath` (all of it when there is none) and reads the answer. */
export async function planDownload(ctx: DownloadContext, partialPath: string): Promise<DownloadPlan> {
  const existing = await fileSize(partialPath);
  const answer = await requestDownload(ctx, existing);
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
    return planDownload(ctx, partialPath);
  }
  throw httpError(ctx, answer);
}

/** Writes the planned body into `partialPath`; throws (keeping a valid prefix) when the transfer fails. */
export async function receiveBody(
  ctx: DownloadContext,
  partialPath: string,
  p: DownloadPlan,
  onProgress: ((received: number, total: number | undefined) => void) | undefined,
): Promise<void> {
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
