// Streams a multipart/form-data upload: the `file` part goes straight into the decoder as it
// arrives (never buffered whole, never written under its client-given name), the other parts
// are collected as fields. The size limit and the upload's deadlines (idle, total) are enforced while it streams in.
import type { IncomingMessage } from "node:http";
import type { Readable } from "node:stream";

import { Busboy } from "@fastify/busboy";

import { ApiError, uploadIdleTimeout, uploadTimeout } from "../api/errors.js";

import type { FormFields } from "../api/transcriptionForm.js";
import { MAX_FORM_FIELD_BYTES, MAX_FORM_FIELDS_TOTAL_BYTES, MAX_SPEAKER_REFERENCE_BYTES } from "../transcription/fieldLimits.js";

export type { FormFields };

export interface ReceivedUpload<T> {
  fields: FormFields;
  /** What `consumeFile` made of the `file` part; undefined when the form had none. */
  file: Promise<T> | undefined;
}

export interface ReceiveUploadOptions<T> {
  maxFileBytes: number;
  /**
   * Starts consuming the file stream at once; must read it to the end or reject. `fieldsBeforeFile`: the fields
   * the form held before the file (a snapshot); `filename`: the name the client gave the file part (never a path to
   * use), "" when none.
   */
  consumeFile: (stream: Readable, signal: AbortSignal, fieldsBeforeFile: FormFields, filename: string) => Promise<T>;
  /** Aborts when the client goes away. */
  signal: AbortSignal;
  /** No byte received for this long (while the server is reading) → 408; default none. */
  idleTimeoutMs?: number | undefined;
  /** The form not received whole this long after the call → 408; default none. */
  totalTimeoutMs?: number | undefined;
  /**
   * Called once the body is being read with two handles: how long the upload has sent nothing (a request paused by
   * the server's own back-pressure is not idle), and a way to drop it with an error now.
   */
  onReading?: ((idleMs: () => number, drop: (error: ApiError) => void) => void) | undefined;
}

/** Room for the form's other fields beside the file when judging a declared Content-Length. */
const FORM_OVERHEAD_BYTES = 256 * 1024;

/** True when the declared Content-Length already tells the file cannot fit under `maxFileBytes`. */
export function declaredTooLarge(headers: IncomingMessage["headers"], maxFileBytes: number): boolean {
  const declared = Number(headers["content-length"]);
  return Number.isFinite(declared) && declared > maxFileBytes + FORM_OVERHEAD_BYTES;
}

// busboy holds one field at a time up to fieldSize (a speaker reference's bound); each field's own bound and the
// fields' total are checked as they arrive.
const FIELD_LIMITS = { fields: 64, fieldSize: MAX_SPEAKER_REFERENCE_BYTES, fieldNameSize: 200, parts: 80, files: 1 };

/** The most bytes field `name` may hold: a speaker reference's (a data URL of a clip), or any other field's. */
const fieldBound = (name: string) => (name.replace(/\[.*$/, "") === "known_speaker_references" ? MAX_SPEAKER_REFERENCE_BYTES : MAX_FORM_FIELD_BYTES);

/**
 * Resolves once the whole form has been read. Rejects with a 413 ApiError the moment the file
 * passes `maxFileBytes`, with a 408 when a deadline passes, with a 400 for a malformed form. On any rejection the
 * file's signal aborts (so its decoder stops) and the request is no longer read.
 */
export function receiveUpload<T>(request: IncomingMessage, options: ReceiveUploadOptions<T>): Promise<ReceivedUpload<T>> {
  const contentType = request.headers["content-type"] ?? "";
  if (!/^multipart\/form-data/i.test(contentType)) {
    return Promise.reject(
      ApiError.invalidParam("file", "Expected a multipart/form-data request body with a 'file' field.", "invalid_content_type"),
    );
  }
  if (declaredTooLarge(request.headers, options.maxFileBytes)) {
    return Promise.reject(ApiError.fileTooLarge(options.maxFileBytes));
  }

  return new Promise<ReceivedUpload<T>>((resolve, reject) => {
    const fields: FormFields = new Map();
    const fileAbort = new AbortController();
    let file: Promise<T> | undefined;
    let settled = false;

    const deadlines = watchDeadlines(request, options, (error) => fail(error));
    options.onReading?.(deadlines.idleMs, (error) => fail(error));
    const fail = (error: Error) => {
      if (settled) return;
      settled = true;
      deadlines.stop();
      fileAbort.abort(error);
      request.unpipe(busboy);
      reject(error);
    };
    const onClientGone = () => fail(options.signal.reason instanceof Error ? options.signal.reason : new Error("client closed the request"));
    options.signal.addEventListener("abort", onClientGone, { once: true });

    let busboy: ReturnType<typeof Busboy>;
    try {
      busboy = Busboy({ headers: request.headers as { "content-type": string }, limits: { ...FIELD_LIMITS, fileSize: options.maxFileBytes } });
    } catch (error) {
      deadlines.stop();
      reject(ApiError.invalidParam("file", `Malformed multipart/form-data request: ${(error as Error).message}`, "invalid_multipart"));
      return;
    }

    busboy.on("file", (name, stream, filename) => {
      if (name !== "file" || file) {
        stream.resume();
        return;
      }
      stream.on("limit", () => fail(ApiError.fileTooLarge(options.maxFileBytes)));
      file = options.consumeFile(stream, fileAbort.signal, new Map(fields), filename ?? "");
      // Whatever happens to decoding, keep reading so the rest of the form still arrives.
      file.catch(() => stream.resume());
    });
    let fieldBytes = 0;
    busboy.on("field", (name, value, _nameTruncated, valueTruncated) => {
      const bytes = Buffer.byteLength(value);
      fieldBytes += bytes;
      if (valueTruncated || bytes > fieldBound(name)) {
        fail(ApiError.invalidParam(name.replace(/\[.*$/, ""), `The value of '${name}' is too long.`, "field_too_long"));
        return;
      }
      if (fieldBytes > MAX_FORM_FIELDS_TOTAL_BYTES) {
        fail(ApiError.invalidParam(name.replace(/\[.*$/, ""), `The form's fields hold more than ${MAX_FORM_FIELDS_TOTAL_BYTES / 1_048_576} MB in all.`, "fields_too_large"));
        return;
      }
      fields.set(name, [...(fields.get(name) ?? []), value]);
    });
    busboy.on("filesLimit", () => fail(ApiError.invalidParam("file", "Only one file may be uploaded per request.", "too_many_files")));
    busboy.on("fieldsLimit", () => fail(ApiError.invalidParam("file", "Too many form fields.", "too_many_fields")));
    busboy.on("partsLimit", () => fail(ApiError.invalidParam("file", "Too many form parts.", "too_many_parts")));
    busboy.on("error", (error: unknown) =>
      fail(ApiError.invalidParam("file", `Malformed multipart/form-data request: ${(error as Error).message}`, "invalid_multipart")),
    );
    busboy.on("finish", () => {
      options.signal.removeEventListener("abort", onClientGone);
      deadlines.stop();
      if (settled) return;
      settled = true;
      resolve({ fields, file });
    });
    request.pipe(busboy);
  });
}

/**
 * The upload's deadlines: `onExpired` with a 408 when no byte has arrived for `idleTimeoutMs` while the server was
 * reading (a request paused by back-pressure, the decoder being slower than the client, is not idle), or when the
 * form is still arriving `totalTimeoutMs` after the start.
 */
function watchDeadlines(request: IncomingMessage, options: ReceiveUploadOptions<unknown>, onExpired: (error: ApiError) => void): { stop(): void; idleMs(): number } {
  const { idleTimeoutMs, totalTimeoutMs } = options;
  let lastData = Date.now();
  const onData = () => {
    lastData = Date.now();
  };
  // Listening before the route pipes the request: 'data' does not start the flow by itself (pipe() does, on the next tick).
  request.on("data", onData);
  const idleMs = () => {
    // Paused by back-pressure: the client is waiting for us, not idle.
    if (request.readableFlowing === false || request.isPaused()) lastData = Date.now();
    return Date.now() - lastData;
  };
  let idleTimer: NodeJS.Timeout | undefined;
  const checkIdle = (ms: number) => {
    const left = ms - idleMs();
    if (left <= 0) onExpired(uploadIdleTimeout(ms));
    else idleTimer = setTimeout(() => checkIdle(ms), Math.min(left, 1_000) + 5);
  };
  if (idleTimeoutMs && idleTimeoutMs > 0) {
    idleTimer = setTimeout(() => checkIdle(idleTimeoutMs), Math.min(idleTimeoutMs, 1_000) + 5);
  }
  const totalTimer = totalTimeoutMs && totalTimeoutMs > 0 ? setTimeout(() => onExpired(uploadTimeout(totalTimeoutMs)), totalTimeoutMs) : undefined;
  return {
    stop() {
      clearTimeout(idleTimer);
      clearTimeout(totalTimer);
      request.off("data", onData);
    },
    idleMs,
  };
}
