// A decode's input: opened, its first bytes read for sniffing (and kept for FFmpeg), written to a temp file when
// FFmpeg needs to seek in it, or fed to FFmpeg's stdin.

import { createWriteStream } from "node:fs";
import { open, writeFile } from "node:fs/promises";
import type { Readable, Writable } from "node:stream";

import { SNIFF_BYTES } from "../sniffFormat.js";
import type { InputSpool } from "./inputSpool.js";
import type { AudioInput, OpenedInput, StdinSource } from "./types.js";



export function isReadable(input: AudioInput): input is Readable {
  return typeof input === "object" && !(input instanceof Uint8Array) && typeof (input as Readable).pipe === "function";
}

export async function openInput(input: AudioInput, signal: AbortSignal): Promise<OpenedInput> {
  if (typeof input === "string") {
    const file = await open(input, "r");
    try {
      const head = new Uint8Array(SNIFF_BYTES);
      const { bytesRead } = await file.read(head, 0, SNIFF_BYTES, 0);
      return { kind: "path", head: head.subarray(0, bytesRead), path: input };
    } finally {
      await file.close();
    }
  }
  if (input instanceof Uint8Array) return { kind: "bytes", head: input.subarray(0, SNIFF_BYTES), bytes: input };
  if (isReadable(input)) {
    const { chunks, ended } = await readStreamHead(input, signal);
    const head = Buffer.concat(chunks);
    return { kind: "stream", head: head.subarray(0, SNIFF_BYTES), chunks, stream: input, ended };
  }
  throw new TypeError("decodeAudio: input must be a Buffer/Uint8Array, a Readable stream or a file path");
}

/** Keeps an error listener on the caller's stream for the whole decode (an unhandled 'error' would crash the process). */
export function watchInputStream(stream: Readable, onError: (err: unknown) => void): () => void {
  const onStreamError = (err: unknown) => onError(err);
  const onClose = () => {
    if (!stream.readableEnded) onError(prematureClose());
  };
  if (stream.errored) onError(stream.errored);
  stream.on("error", onStreamError);
  stream.on("close", onClose);
  return () => {
    stream.off("error", onStreamError);
    stream.off("close", onClose);
  };
}

function prematureClose(): Error {
  return Object.assign(new Error("The input stream closed before it ended"), { code: "ERR_STREAM_PREMATURE_CLOSE" });
}

/** Reads until SNIFF_BYTES have arrived or the stream ends, then pauses it. Errors arrive via the cancellation signal. */
function readStreamHead(stream: Readable, signal: AbortSignal): Promise<{ chunks: Buffer[]; ended: boolean }> {
  if (stream.readableEnded) return Promise.resolve({ chunks: [], ended: true });
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = () => {
      stream.off("data", onData);
      stream.off("end", onEnd);
      signal.removeEventListener("abort", onAbort);
    };
    const onData = (chunk: Buffer | string) => {
      const buffer = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
      chunks.push(buffer);
      size += buffer.length;
      if (size >= SNIFF_BYTES) {
        stream.pause();
        cleanup();
        resolve({ chunks, ended: false });
      }
    };
    const onEnd = () => {
      cleanup();
      resolve({ chunks, ended: true });
    };
    const onAbort = () => {
      stream.pause();
      cleanup();
      reject(signal.reason);
    };
    if (signal.aborted) return onAbort();
    signal.addEventListener("abort", onAbort, { once: true });
    stream.on("data", onData);
    stream.on("end", onEnd);
  });
}

/** Writes the whole input to `file` (mode 0600, must not exist). */
export async function writeInputFile(file: string, source: StdinSource, signal: AbortSignal): Promise<void> {
  if (source.kind === "bytes") {
    await writeFile(file, source.bytes, { mode: 0o600, flag: "wx", signal });
    return;
  }
  const out = createWriteStream(file, { mode: 0o600, flags: "wx" });
  await new Promise<void>((resolve, reject) => {
    let failure: unknown;
    const onAbort = () => {
      failure ??= signal.reason;
      source.stream.unpipe(out);
      out.destroy();
    };
    out.on("error", (err) => {
      failure ??= err;
      source.stream.unpipe(out);
    });
    out.on("close", () => {
      signal.removeEventListener("abort", onAbort);
      if (failure === undefined && out.writableFinished) resolve();
      else reject(failure ?? new Error(`Could not write ${file}`));
    });
    if (signal.aborted) return onAbort();
    signal.addEventListener("abort", onAbort, { once: true });
    for (const chunk of source.chunks) out.write(chunk);
    if (source.ended) out.end();
    else source.stream.pipe(out);
  });
}

/**
 * Sends the input to ffmpeg's stdin (and to the spool, when there is one); returns a function that stops feeding stdin.
 * (An EPIPE, when ffmpeg exits before reading everything, is the runner's to swallow: see runFfmpeg.ts.)
 */
export function feedStdin(stdin: Writable, source: StdinSource, spool: InputSpool | undefined): () => void {
  if (source.kind === "bytes") {
    stdin.end(source.bytes);
    return () => stdin.destroy();
  }
  spool?.attach(source);
  for (const chunk of source.chunks) stdin.write(chunk);
  if (source.ended) stdin.end();
  else source.stream.pipe(stdin);
  return () => {
    source.stream.unpipe(stdin);
    stdin.destroy();
  };
}
