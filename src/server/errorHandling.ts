// One error handling for every Fastify app Earshot runs (the server, `earshot worker`): whatever a route throws, and
// any URL no route serves, is answered in OpenAI's shape through the one mapping (api/errors.ts `toApiError`). So is
// what never reaches a route, through the app's options (`openAiClientErrors`): what Node's HTTP parser refuses
// (headers over its limit: 431, a request line over it: 414, a malformed request: 400, a request that took too long
// to arrive: 408) and what Fastify's router refuses (a URL it cannot decode, a path parameter over its length).
import { STATUS_CODES } from "node:http";
import type { Socket } from "node:net";

import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import fp from "fastify-plugin";

import { ApiError, frameworkRefusal, headersTooLarge, malformedRequest, MAX_URL_LENGTH, requestTimeout, toApiError, uriTooLong } from "../api/errors.js";

/** Fastify options of every app: Node's parser refusals and router refusals in OpenAI's shape (431, 414, 400, 408). */
export const openAiClientErrors = { clientErrorHandler: onClientError, frameworkErrors: onFrameworkError } as const;

/** How long a refused upload's connection keeps being read (and the bytes dropped) after the answer, at most. */
const LINGER_MS = 2_000;

/** The error and not-found handlers, on the app itself (not encapsulated: every route's errors go through them). */
export const openAiErrors = fp(
  async (app: FastifyInstance) => {
    app.setErrorHandler((error, request, reply) => {
      const apiError = toApiError(error);
      // A client that went away is no server error: one info line, no stack.
      if (apiError.status === 499) request.log.info({ status: 499, code: apiError.code }, "client closed the request");
      // A refusal the server chose (busy, not ready: 503 with Retry-After) is no failure either: no stack.
      else if (error instanceof ApiError && apiError.status >= 500) request.log.warn({ status: apiError.status, code: apiError.code, message: apiError.message }, "request refused");
      else if (apiError.status >= 500) request.log.error({ err: error }, "request failed");
      else request.log.info({ status: apiError.status, code: apiError.code, message: apiError.message }, "request rejected");
      if (apiError.status === 499 || reply.raw.destroyed) return reply.hijack();
      // The client may still be sending a body that will not be read (refused before it, oversized, timed out):
      // answer now and close the connection rather than read the rest.
      if (!request.raw.complete || apiError.status === 413 || apiError.status === 415) {
        reply.header("connection", "close");
        if (!request.raw.complete) lingerBeforeClosing(request.raw.socket);
      }
      return reply.code(apiError.status).headers(apiError.headers).send(apiError.body());
    });

    app.setNotFoundHandler((request, reply) => {
      const error = ApiError.routeNotFound(request.method, request.url);
      return reply.code(404).send(error.body());
    });
  },
  { name: "earshot-openai-errors" },
);

/**
 * A "lingering close", as nginx does it: closing a socket whose client is still sending makes the kernel answer with
 * a reset, which can reach the client before it has read the response (the SDK then reports a connection error
 * instead of the 429). After the answer the socket is half-closed and the rest of the body read and dropped until
 * the client closes its side, or for LINGER_MS, and only then destroyed.
 */
function lingerBeforeClosing(socket: Socket | null): void {
  if (!socket || socket.destroyed) return;
  socket.destroySoon = function lingeringDestroySoon(this: Socket) {
    const timer = setTimeout(() => this.destroy(), LINGER_MS);
    timer.unref();
    this.once("close", () => clearTimeout(timer));
    this.once("end", () => this.destroy());
    this.end();
    this.resume();
  };
}

/** Whether the bytes Node's parser gave up on still hold no complete request line: the URL itself is too long. */
function requestLineTooLong(rawPacket: unknown): boolean {
  if (!Buffer.isBuffer(rawPacket)) return false;
  const end = rawPacket.indexOf("\r\n");
  return end < 0 || end > MAX_URL_LENGTH;
}

/** Node's `clientError`: the parser refused the request before Fastify saw it; answer in OpenAI's shape and close. */
function onClientError(this: { log: { debug(object: object, message: string): void } }, error: NodeJS.ErrnoException & { rawPacket?: unknown }, socket: Socket): void {
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
function onFrameworkError(error: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  const apiError = frameworkRefusal(typeof error.statusCode === "number" ? error.statusCode : 400, error.message, (error.code ?? "bad_request").toLowerCase());
  void reply.code(apiError.status).send(apiError.body());
}
