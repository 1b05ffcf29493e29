// The Fastify application: OpenAI-compatible routes, auth, CORS, request ids, OpenAI-shaped errors.
// Listening and shutdown live in server.ts.
import { randomUUID } from "node:crypto";
import type { Socket } from "node:net";

import cors, { type FastifyCorsOptions } from "@fastify/cors";
import Fastify, { type FastifyInstance, type FastifyRequest, type FastifyServerOptions } from "fastify";

import { ApiError, MAX_URL_LENGTH, toApiError, uriTooLong } from "../api/errors.js";
import { installAuthorization } from "./auth.js";
import { onClientError, onFrameworkError } from "./clientErrors.js";
import { withLogRedaction } from "./logRedaction.js";
import { ServerMetrics } from "./metrics.js";
import { isAllowedOrigin } from "./origins.js";
import { attachRealtimeSocket, realtimeStats } from "./realtime/realtimeSocket.js";
import { declaredTooLarge } from "./receiveUpload.js";
import { registerApiTranscribeRoute } from "./routes/apiTranscribe.js";
import { registerTranscriptionRoutes } from "./routes/transcriptions.js";
import { UPLOAD_ROUTES } from "./upload/audioUpload.js";
import { registerHealthRoutes } from "./routes/health.js";
import { registerJobRoutes } from "./routes/jobs.js";
import { registerMetricsRoute } from "./routes/metrics.js";
import { registerModelRoutes } from "./routes/models.js";
import { registerRealtimeRoutes } from "./routes/realtime.js";
import { registerWebRoutes } from "./routes/web.js";
import type { ServerContext } from "./serverContext.js";

const REQUEST_ID = /^[\w.:-]{1,128}$/;

export interface BuildAppOptions {
  logger?: FastifyServerOptions["logger"];
  /** Serve HTTPS (and WSS) with this PEM key and certificate. */
  https?: { key: string; cert: string };
}

/** Node's own backstop for receiving a request (any route), beyond the upload routes' own deadlines. */
const REQUEST_TIMEOUT_MARGIN_MS = 30_000;
/** Node refuses a requestTimeout below its headersTimeout (60 s by default). */
const MIN_REQUEST_TIMEOUT_MS = 60_000;

const UPLOAD_PATHS = new Set<string>(UPLOAD_ROUTES);

export function buildApp(baseContext: ServerContext, options: BuildAppOptions = {}): FastifyInstance {
  let context = baseContext;
  const app = Fastify({
    ...(options.https ? { https: options.https } : {}),
    logger: withLogRedaction(options.logger ?? false),
    genReqId: (request) => {
      const given = request.headers["x-request-id"];
      return typeof given === "string" && REQUEST_ID.test(given) ? given : `req_${randomUUID().replaceAll("-", "")}`;
    },
    // Upload bodies are timed by the routes themselves (idle and total deadlines, answered 408 in OpenAI's shape);
    // Node's request timeout is the backstop for every other request (a stalled JSON body, headers that never end).
    requestTimeout: Math.max(MIN_REQUEST_TIMEOUT_MS, Math.max(context.uploadTimeoutMs, context.jobUploadTimeoutMs ?? 0) + REQUEST_TIMEOUT_MARGIN_MS),
    // What never reaches a route is answered in OpenAI's shape too (431, 414, 400, 408).
    clientErrorHandler: onClientError,
    frameworkErrors: onFrameworkError,
  });

  // Multipart bodies are streamed by receiveUpload, not parsed up front.
  app.addContentTypeParser("multipart/form-data", (_request, _payload, done) => done(null, undefined));

  app.register(cors, () => (request: FastifyRequest, callback: (error: Error | null, options: FastifyCorsOptions) => void) => {
    const origin = request.headers.origin;
    callback(null, {
      origin: origin === undefined || isAllowedOrigin(origin, request.headers.host, context.corsOrigins),
      exposedHeaders: ["x-request-id", "retry-after"],
    });
  });

  // Metrics on a registry of this app's own; the routes, realtime sessions and engine jobs report to it.
  const metrics =
    (context.metricsExposure ?? "open") === "off"
      ? undefined
      : new ServerMetrics({
          engines: () => context.models.loaded().map(({ model, engine }) => ({ model, stats: engine.stats() })),
          realtimeSessions: () => realtimeStats(app).sessions,
        });
  if (metrics) {
    context = { ...context, metrics };
    context.models.observe(metrics);
    // Before the key check (its 401s are counted); every response, streamed and hijacked ones included, is counted
    // when it ends (499 when the client went away first).
    app.addHook("onRequest", async (request, reply) => {
      const started = performance.now();
      reply.raw.once("close", () => {
        const status = reply.raw.writableFinished ? reply.raw.statusCode : 499;
        metrics.httpRequest(request.method, request.routeOptions.url, status, (performance.now() - started) / 1000);
      });
    });
  }

  app.addHook("onRequest", async (request, reply) => {
    reply.header("x-request-id", request.id);
    if ((request.raw.url ?? "").length > MAX_URL_LENGTH) throw uriTooLong();
  });
  installAuthorization(app, context.apiKeys);

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

  // Node answers "Expect: 100-continue" by itself, inviting the client to send a body the server
  // will refuse. Invite only bodies within the upload limit, to an upload the server can take now; the route
  // answers 413 or 429 to the others.
  app.server.on("checkContinue", (request, response) => {
    const path = (request.url ?? "").split("?")[0] ?? "";
    const refused = UPLOAD_PATHS.has(path) && context.admission.refusal() !== undefined;
    // Batch job uploads have their own (larger) limit.
    const limit = path === "/v1/audio/jobs" ? (context.jobs?.()?.limits.maxUploadBytes ?? context.maxUploadBytes) : context.maxUploadBytes;
    if (!refused && !declaredTooLarge(request.headers, limit)) response.writeContinue();
    app.server.emit("request", request, response);
  });

  registerHealthRoutes(app, context);
  registerModelRoutes(app, context);
  registerTranscriptionRoutes(app, context);
  registerApiTranscribeRoute(app, context);
  if (context.jobs) registerJobRoutes(app, context);
  registerWebRoutes(app, context);
  registerRealtimeRoutes(app, context);
  if (metrics && context.metricsExposure !== "off") registerMetricsRoute(app, context.metricsExposure ?? "open", metrics);
  attachRealtimeSocket(app, context);
  return app;
}

/** How long a refused upload's connection keeps being read (and the bytes dropped) after the answer, at most. */
const LINGER_MS = 2_000;

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
