// Answers to requests that never reach a route, in OpenAI's error shape like every other answer: what Node's HTTP
// parser refuses (headers over its limit: 431, a request line over it: 414, a malformed request: 400, a request
// that took too long to arrive: 408), what Fastify's router refuses (a URL it cannot decode, a path parameter over
// its length), and request targets longer than MAX_URL_LENGTH (414), refused before any route runs.
import { STATUS_CODES } from "node:http";
import type { Socket } from "node:net";

import type { FastifyError, FastifyReply, FastifyRequest } from "fastify";

import { ApiError } from "../transcription/apiErrors.js";

/** The longest request target (path and query) served; longer ones get 414 (Node's own limit: 16 KB of headers). */
export const MAX_URL_LENGTH = 8 * 1024;

export function uriTooLong(): ApiError {
  return new ApiError(414, `The request URL is too long (at most ${MAX_URL_LENGTH} characters).`, "invalid_request_error", null, "uri_too_long");
}

function headersTooLarge(): ApiError {
  return new ApiError(431, "The request headers are too large.", "invalid_request_error", null, "request_header_fields_too_large");
}

function malformedRequest(): ApiError {
  return new ApiError(400, "The request is not valid HTTP.", "invalid_request_error", null, "bad_request");
}

function requestTimeout(): ApiError {
  return new ApiError(408, "The request took too long to arrive.", "invalid_request_error", null, "request_timeout");
}

/** Whether the bytes Node's parser gave up on still hold no complete request line: the URL itself is too long. */
function requestLineTooLong(rawPacket: unknown): boolean {
  if (!Buffer.isBuffer(rawPacket)) return false;
  const end = rawPacket.indexOf("\r\n");
  return end < 0 || end > MAX_URL_LENGTH;
}

/** Node's `clientError`: the parser refused the request before Fastify saw it; answer in OpenAI's shape and close. */
export function onClientError(this: { log: { debug(object: object, message: string): void } }, error: NodeJS.ErrnoException & { rawPacket?: unknown }, socket: Socket): void {
  if (error.code === "ECONNRESET" || socket.destroyed) return;
  const apiError =
    error.code === "HPE_HEADER_OVERFLOW"
      ? requestLineTooLong(error.rawPacket)
        ? uriTooLong()
        : headersTooLarge()
      : error.code === "ERR_HTTP_REQUEST_TIMEOUT"
        ? requestTimeout()
        : malformedRequest();
  this.log.debug({ err: error, status: apiError.status }, "client error");
  if (socket.writable) {
    const body = JSON.stringify(apiError.body());
    socket.write(
      `HTTP/1.1 ${apiError.status} ${STATUS_CODES[apiError.status]}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}

/** Fastify's router refusals (FST_ERR_BAD_URL, FST_ERR_MAX_PARAM_LENGTH, ...), answered in OpenAI's shape. */
export function onFrameworkError(error: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  const status = typeof error.statusCode === "number" && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 400;
  const apiError = new ApiError(status, error.message, "invalid_request_error", null, (error.code ?? "bad_request").toLowerCase());
  void reply.code(apiError.status).send(apiError.body());
}
