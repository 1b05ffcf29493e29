// Answers to requests that never reach a route, in OpenAI's error shape like every other answer: what Node's HTTP
// parser refuses (headers over its limit: 431, a request line over it: 414, a malformed request: 400, a request
// that took too long to arrive: 408), what Fastify's router refuses (a URL it cannot decode, a path parameter over
// its length), and request targets longer than MAX_URL_LENGTH (414), refused before any route runs.
import { STATUS_CODES } from "node:http";
import type { Socket } from "node:net";

import type { FastifyError, FastifyReply, FastifyRequest } from "fastify";

import { frameworkRefusal, headersTooLarge, malformedRequest, MAX_URL_LENGTH, requestTimeout, uriTooLong } from "../api/errors.js";

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
  const apiError = frameworkRefusal(typeof error.statusCode === "number" ? error.statusCode : 400, error.message, (error.code ?? "bad_request").toLowerCase());
  void reply.code(apiError.status).send(apiError.body());
}
