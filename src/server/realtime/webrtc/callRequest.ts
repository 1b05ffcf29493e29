// The body of POST /v1/realtime/calls, in OpenAI's two shapes: the raw offer (`Content-Type: application/sdp`, with a
// client secret or an API key), or a multipart form with `sdp` (the offer) and `session` (JSON, the shape of a
// client-secret request's session). Both are bounded: the offer at MAX_SDP_BYTES, the session at MAX_SESSION_BYTES
// (413 naming the part beyond them); what arrives too slowly is Node's request timeout's.
import type { IncomingMessage } from "node:http";
import type { Readable } from "node:stream";

import { Busboy } from "@fastify/busboy";

import { ApiError, callBodyTooLarge, invalidCallContentType } from "../../../api/errors.js";
import { MAX_SDP_BYTES } from "../../../api/sdpOffer.js";

/** The longest `session` part (a client-secret request's JSON body has the same bound). */
export const MAX_SESSION_BYTES = 1024 * 1024;

export interface CallRequest {
  /** The SDP offer (not checked yet). */
  sdp: string;
  /** The form's session settings, parsed JSON; undefined when the form has none (or the body is the raw offer). */
  session?: unknown;
}

/** Reads `stream` whole, refusing it (413 naming `param`) past `limit` bytes. */
export async function readLimited(stream: Readable, limit: number, param: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    length += chunk.length;
    if (length > limit) {
      stream.resume();
      throw callBodyTooLarge(param, limit);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

function isSdp(contentType: string | undefined): boolean {
  return /^application\/sdp\s*(;|$)/i.test(contentType ?? "");
}

/** The offer and settings of a call request whose raw offer the route's parser has read as `body` (a string). */
export async function readCallRequest(request: IncomingMessage, body: unknown): Promise<CallRequest> {
  const contentType = request.headers["content-type"];
  if (isSdp(contentType)) return { sdp: typeof body === "string" ? body : "" };
  if (!/^multipart\/form-data/i.test(contentType ?? "")) throw invalidCallContentType(contentType);
  const parts = await readForm(request);
  if (parts.sdp === undefined) throw ApiError.missingParam("sdp");
  if (parts.session === undefined) return { sdp: parts.sdp };
  let session: unknown;
  try {
    session = JSON.parse(parts.session);
  } catch {
    throw ApiError.invalidParam("session", "Invalid 'session': expected a JSON object (the session of a client secret request).", "invalid_json");
  }
  return { sdp: parts.sdp, session };
}

/** The `sdp` and `session` parts of a multipart form, as fields or as files (curl's `-F sdp=@offer.sdp`). */
function readForm(request: IncomingMessage): Promise<{ sdp?: string; session?: string }> {
  const limits: Record<string, number> = { sdp: MAX_SDP_BYTES, session: MAX_SESSION_BYTES };
  return new Promise((resolve, reject) => {
    const parts: { sdp?: string; session?: string } = {};
    let settled = false;
    const fail = (error: ApiError) => {
      if (settled) return;
      settled = true;
      request.unpipe(busboy);
      request.resume();
      reject(error);
    };
    let busboy: ReturnType<typeof Busboy>;
    try {
      busboy = Busboy({ headers: request.headers as { "content-type": string }, limits: { fields: 8, files: 2, parts: 10, fieldSize: MAX_SESSION_BYTES, fileSize: MAX_SESSION_BYTES } });
    } catch (error) {
      reject(ApiError.invalidParam("sdp", `Malformed multipart/form-data request: ${(error as Error).message}`, "invalid_multipart"));
      return;
    }
    const take = (name: string, value: string) => {
      const limit = limits[name];
      if (limit === undefined) return;
      if (Buffer.byteLength(value) > limit) fail(callBodyTooLarge(name, limit));
      else parts[name as "sdp" | "session"] = value;
    };
    busboy.on("field", (name, value, _nameTruncated, valueTruncated) => {
      if (valueTruncated) fail(callBodyTooLarge(name, limits[name] ?? MAX_SESSION_BYTES));
      else take(name, value);
    });
    const files: Array<Promise<void>> = [];
    busboy.on("file", (name, stream) => {
      const limit = limits[name];
      if (limit === undefined) return void stream.resume();
      files.push(
        readLimited(stream, limit, name).then(
          (bytes) => take(name, bytes.toString("utf8")),
          (error: ApiError) => fail(error),
        ),
      );
    });
    for (const event of ["fieldsLimit", "filesLimit", "partsLimit"] as const) {
      busboy.on(event, () => fail(ApiError.invalidParam("sdp", "Too many form parts: send 'sdp' and 'session' only.", "too_many_parts")));
    }
    busboy.on("error", (error: unknown) => fail(ApiError.invalidParam("sdp", `Malformed multipart/form-data request: ${(error as Error).message}`, "invalid_multipart")));
    busboy.on("finish", () => {
      void Promise.all(files).then(() => {
        if (settled) return;
        settled = true;
        resolve(parts);
      });
    });
    request.pipe(busboy);
  });
}
