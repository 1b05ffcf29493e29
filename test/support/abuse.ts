// Adversarial clients and measurements for the limit tests and `npm run bench:abuse`: long silence in a few bytes
// (a header that declares hours, or a stream that does not say), raw uploads that count what the server took before
// it answered or that stall mid-body, and a process's RSS and FFmpeg children read from /proc.
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";

import { runFfmpeg } from "./speech.js";

/**
 * - `flac`: written to a seekable file, so its STREAMINFO header declares the length (ffmpeg prints `Duration:`).
 * - `flac-stream`: written to a pipe: the header says nothing of the length (`Duration: N/A`).
 * - `ogg-opus`: low-bitrate opus; read from a pipe, ogg never declares its length (3 h is about 3 MB).
 */
export type SilenceKind = "flac" | "flac-stream" | "ogg-opus";

const EXTENSIONS: Record<SilenceKind, string> = { flac: "flac", "flac-stream": "flac", "ogg-opus": "ogg" };

/**
 * `seconds` of silence, 16 kHz mono (8 kHz for opus), encoded as `kind`; cached under the OS temp dir (3 h of opus
 * takes half a minute to encode on two cores, the flac files a couple of seconds).
 */
export async function silenceFile(seconds: number, kind: SilenceKind): Promise<Buffer> {
  const dir = path.join(os.tmpdir(), "earshot-abuse-fixtures");
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `silence-${seconds}s-${kind}.${EXTENSIONS[kind]}`);
  if (fs.existsSync(file)) return fs.readFileSync(file);
  const source = ["-loglevel", "error", "-f", "lavfi", "-i", `anullsrc=r=${kind === "ogg-opus" ? 8000 : 16000}:cl=mono`, "-t", String(seconds)];
  const partial = `${file}.${process.pid}.part`;
  if (kind === "flac") {
    await runFfmpeg([...source, "-c:a", "flac", "-f", "flac", `file:${partial}`]);
  } else if (kind === "flac-stream") {
    fs.writeFileSync(partial, (await runFfmpeg([...source, "-c:a", "flac", "-f", "flac", "pipe:1"])).stdout);
  } else {
    const opus = ["-c:a", "libopus", "-b:a", "6k", "-compression_level", "0", "-frame_duration", "60", "-application", "voip", "-f", "ogg"];
    await runFfmpeg([...source, ...opus, `file:${partial}`]);
  }
  fs.renameSync(partial, file);
  return fs.readFileSync(file);
}

/** The first bytes of an mp3 (an ID3 tag), then zeros: sniffed as mp3, so written to a temp file before FFmpeg runs. */
export function mp3Looking(bytes: number): Buffer {
  const data = Buffer.alloc(bytes);
  data.write("ID3\x04\x00\x00\x00\x00\x00\x00", "latin1");
  return data;
}

export interface RawUploadOptions {
  /** The file part's bytes. */
  file: Buffer;
  filename?: string;
  /** Form fields sent before the file. */
  fields?: Record<string, string>;
  /** Bytes per write, and the pause after each (0: as fast as the socket takes them). */
  chunkBytes?: number;
  pauseMs?: number;
  /** Stop writing after this many bytes of the file part and keep the connection open (a stalled client). */
  stallAfterBytes?: number;
  /** Send a Content-Length (default) or stream the body chunked. */
  contentLength?: boolean;
  headers?: Record<string, string>;
  /** Give up (and destroy the request) after this long; the result then has status 0. */
  timeoutMs?: number;
}

export interface RawUploadResult {
  /** 0 when no response came (the connection failed, or the timeout passed). */
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** Body bytes the socket had taken (written and flushed) when the response's headers arrived. */
  writtenAtResponse: number;
  /** Body bytes of the whole request (what a complete upload would send). */
  totalBytes: number;
  /** From the request's start to the response's headers (or to the failure). */
  elapsedMs: number;
  /** The connection's error, if it had one (a server that closes after answering makes a writing client see EPIPE). */
  error?: string;
}

/** The multipart body around `file`, in three pieces. */
function multipartPieces(file: Buffer, filename: string, fields: Record<string, string>): { head: Buffer; tail: Buffer; contentType: string } {
  const boundary = `----earshot-abuse-${Math.random().toString(16).slice(2)}`;
  const parts = Object.entries(fields).map(([name, value]) => `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`);
  const head = Buffer.from(`${parts.join("")}--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${filename}"\r\nContent-Type: application/octet-stream\r\n\r\n`);
  return { head, tail: Buffer.from(`\r\n--${boundary}--\r\n`), contentType: `multipart/form-data; boundary=${boundary}` };
}

/**
 * POSTs a multipart upload with a raw HTTP client that paces its writes and counts what the socket took, so a test
 * can tell how much of the body the server accepted before it answered. Never rejects.
 */
export function rawUpload(url: string, options: RawUploadOptions): Promise<RawUploadResult> {
  const { file, chunkBytes = 64 * 1024, pauseMs = 0, stallAfterBytes, contentLength = true, timeoutMs = 60_000 } = options;
  const { head, tail, contentType } = multipartPieces(file, options.filename ?? "audio.bin", options.fields ?? { model: "whisper-1" });
  const totalBytes = head.length + file.length + tail.length;
  const started = performance.now();
  return new Promise((resolve) => {
    let written = 0;
    let writtenAtResponse = -1;
    let done = false;
    let response: http.IncomingMessage | undefined;
    const chunks: Buffer[] = [];
    const request = http.request(url, {
      method: "POST",
      agent: false,
      headers: {
        "content-type": contentType,
        ...(contentLength ? { "content-length": String(totalBytes) } : { "transfer-encoding": "chunked" }),
        ...options.headers,
      },
    });
    const timer = setTimeout(() => finish("timeout"), timeoutMs);
    const finish = (error?: string) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      request.destroy();
      resolve({
        status: response?.statusCode ?? 0,
        headers: response?.headers ?? {},
        body: Buffer.concat(chunks).toString(),
        writtenAtResponse: writtenAtResponse < 0 ? written : writtenAtResponse,
        totalBytes,
        elapsedMs: performance.now() - started,
        ...(error ? { error } : {}),
      });
    };
    request.on("response", (res) => {
      response = res;
      writtenAtResponse = written;
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => finish());
      res.on("error", () => finish());
      res.on("close", () => finish());
    });
    request.on("error", (error) => {
      // The server may answer and close while we still write: wait a moment for the response to be read.
      if (response) return;
      setTimeout(() => finish(error.message), 200);
    });

    const write = (bytes: Buffer) =>
      new Promise<boolean>((resolveWrite) => {
        if (response || done || request.destroyed) return resolveWrite(false);
        request.write(bytes, (error) => {
          if (!error) written += bytes.length;
          resolveWrite(!error);
        });
      });
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    void (async () => {
      if (!(await write(head))) return;
      const limit = stallAfterBytes === undefined ? file.length : Math.min(stallAfterBytes, file.length);
      for (let offset = 0; offset < limit; offset += chunkBytes) {
        if (!(await write(file.subarray(offset, Math.min(offset + chunkBytes, limit))))) return;
        if (pauseMs > 0) await sleep(pauseMs);
      }
      if (stallAfterBytes !== undefined) return; // stalled: the connection stays open, nothing more is sent
      if (await write(tail)) request.end();
    })();
  });
}

/** Resident memory of a process, in bytes (Linux /proc). */
export function rssBytes(pid: number = process.pid): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? 0) * 1024;
}

/** Live child processes of `parentPid` whose command name is `name` (zombies excluded). */
export function childProcesses(name = "ffmpeg", parentPid: number = process.pid): number[] {
  const pids: number[] = [];
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
      // pid (comm) state ppid ...: comm may hold spaces and parentheses, so split at the last ")".
      const close = stat.lastIndexOf(")");
      const comm = stat.slice(stat.indexOf("(") + 1, close);
      const [state, ppid] = stat.slice(close + 2).split(" ");
      if (comm === name && Number(ppid) === parentPid && state !== "Z") pids.push(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return pids;
}

/** Samples `sample()` every `everyMs` until stop() is called, which returns the largest value seen. */
export function sampleMax(sample: () => number, everyMs = 25): { stop(): number; readonly max: number } {
  let max = sample();
  const timer = setInterval(() => {
    try {
      max = Math.max(max, sample());
    } catch {
      // the process is gone
    }
  }, everyMs);
  return {
    get max() {
      return max;
    },
    stop() {
      clearInterval(timer);
      try {
        max = Math.max(max, sample());
      } catch {
        // gone
      }
      return max;
    },
  };
}

/** Percentile (0-100) of `values` (nearest rank); NaN when empty. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}
