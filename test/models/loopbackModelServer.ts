// A loopback HTTP server that serves generated "model" files the way Hugging Face does:
// `/resolve/main/<file>` answers 302 with X-Linked-ETag (the file's sha256) and X-Linked-Size, and
// the redirect target serves the bytes, honouring `Range: bytes=N-`. Knobs make it misbehave.

import { createHash } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";

/** How the server behaves; change it between requests with `server.options = {...}`. */
export interface ModelServerOptions {
  /** Answer `/resolve/main/<file>` with a 302 to `/cdn/<file>` (as Hugging Face does). Default true. */
  redirect?: boolean;
  /** X-Linked-ETag value: true = the real sha256 (default), a string = that value, false = no header. */
  linkedEtag?: boolean | string;
  /** Honour `Range: bytes=N-` with 206 (and 416 past the end). Default true; false answers 200 with everything. */
  honorRange?: boolean;
  /** Destroy the connection after this many body bytes (next body response only; then cleared). */
  cutAfter?: number;
  /** Send this many body bytes, then go silent without closing (next body response only; then cleared). */
  stallAfter?: number;
}

/** One request the server saw. */
export interface SeenRequest {
  path: string;
  /** The Range header, if any. */
  range: string | undefined;
  status: number;
  /** Body bytes the server wrote for it. */
  bodyBytes: number;
}

export interface ModelServer {
  /** `http://127.0.0.1:<port>/resolve/main`: pass as baseUrl. */
  baseUrl: string;
  requests: SeenRequest[];
  options: ModelServerOptions;
  close(): Promise<void>;
}

/** Deterministic pseudo-random bytes, so failures reproduce. */
export function generatedModelBytes(size: number, seed = 1): Buffer {
  const out = Buffer.alloc(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

export function sha256Hex(data: Buffer): string {
  return createHash("sha256").update(data).digest("hex");
}

/** Serves `files` (file name → bytes) on 127.0.0.1 until `close()`. */
export async function startModelServer(files: Record<string, Buffer>, options: ModelServerOptions = {}): Promise<ModelServer> {
  const requests: SeenRequest[] = [];
  const state: { options: ModelServerOptions } = { options };

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    const seen: SeenRequest = { path: url.pathname, range: req.headers.range, status: 0, bodyBytes: 0 };
    requests.push(seen);
    const opts = state.options;
    const match = /^\/(resolve\/main|cdn)\/(.+)$/.exec(url.pathname);
    const name = match?.[2] ? decodeURIComponent(match[2]) : undefined;
    const data = name ? files[name] : undefined;

    const send = (status: number, headers: http.OutgoingHttpHeaders, body?: Buffer): void => {
      seen.status = status;
      res.writeHead(status, headers);
      if (!body || body.length === 0) {
        res.end();
        return;
      }
      const { cutAfter, stallAfter } = opts;
      if (cutAfter !== undefined) {
        opts.cutAfter = undefined;
        const part = body.subarray(0, cutAfter);
        seen.bodyBytes = part.length;
        // Cut once the client has had the part (a cut right behind the write can reach it first, and a reset
        // connection's unread bytes are lost on the way).
        res.write(part, () => setTimeout(() => res.socket?.destroy(), 100));
        return;
      }
      if (stallAfter !== undefined) {
        opts.stallAfter = undefined;
        const part = body.subarray(0, stallAfter);
        seen.bodyBytes = part.length;
        res.write(part);
        return;
      }
      seen.bodyBytes = body.length;
      res.end(body);
    };

    if (!data) {
      send(404, { "content-type": "text/plain" }, Buffer.from("Entry not found"));
      return;
    }
    const sha = sha256Hex(data);
    const etag = opts.linkedEtag === undefined || opts.linkedEtag === true ? sha : opts.linkedEtag || undefined;
    const linked: http.OutgoingHttpHeaders = etag ? { "x-linked-etag": `"${etag}"`, "x-linked-size": String(data.length) } : {};

    if (match?.[1] === "resolve/main" && (opts.redirect ?? true)) {
      send(302, { location: `/cdn/${encodeURIComponent(name as string)}`, ...linked });
      return;
    }

    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? "");
    if (range && (opts.honorRange ?? true)) {
      const start = Number(range[1]);
      if (start >= data.length) {
        send(416, { "content-range": `bytes */${data.length}`, ...linked });
        return;
      }
      const body = data.subarray(start);
      send(206, { "content-length": body.length, "content-range": `bytes ${start}-${data.length - 1}/${data.length}`, "accept-ranges": "bytes", ...linked }, body);
      return;
    }
    send(200, { "content-length": data.length, "accept-ranges": "bytes", ...linked }, data);
  });

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/resolve/main`,
    requests,
    get options() {
      return state.options;
    },
    set options(value: ModelServerOptions) {
      state.options = value;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
