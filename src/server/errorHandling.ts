// One error handling for every Fastify app Earshot runs (the server, `earshot worker`): whatever a route throws, and
// any URL no route serves, is answered in OpenAI's shape through the one mapping (api/errors.ts `toApiError`); what
// never reaches a route (Node's parser, the router) too, through the app's options (`openAiClientErrors`).
import type { Socket } from "node:net";

import type { FastifyInstance } from "fastify";
import fp from "fastify-plugin";

import { ApiError, toApiError } from "../api/errors.js";
import { onClientError, onFrameworkError } from "./clientErrors.js";

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
