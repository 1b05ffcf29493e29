// The Fastify application: OpenAI-compatible routes, auth, CORS, request ids, OpenAI-shaped errors.
// Listening and shutdown live in server.ts.
import { randomUUID } from "node:crypto";

import cors, { type FastifyCorsOptions } from "@fastify/cors";
import Fastify, { type FastifyInstance, type FastifyRequest, type FastifyServerOptions } from "fastify";

import { MAX_URL_LENGTH, uriTooLong } from "../api/errors.js";
import { installAuthorization } from "./auth.js";
import { openAiClientErrors, openAiErrors } from "./errorHandling.js";
import { withLogRedaction } from "./logRedaction.js";
import { ServerMetrics } from "./metrics.js";
import { isAllowedOrigin } from "./origins.js";
import { realtimeDoor } from "./realtime/realtimeSocket.js";
import { declaredTooLarge } from "./receiveUpload.js";
import { apiTranscribeRoute } from "./routes/apiTranscribe.js";
import { transcriptionRoutes } from "./routes/transcriptions.js";
import { UPLOAD_ROUTES } from "./upload/audioUpload.js";
import { healthRoutes } from "./routes/health.js";
import { jobRoutes } from "./routes/jobs.js";
import { metricsRoute } from "./routes/metrics.js";
import { modelRoutes } from "./routes/models.js";
import { webRoutes } from "./routes/web.js";
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
    ...openAiClientErrors,
  });

  // OpenAI's error shape for anything thrown and for unknown URLs, first: every plugin's context inherits it.
  app.register(openAiErrors);

  // Multipart bodies are streamed by receiveUpload, not parsed up front.
  app.addContentTypeParser("multipart/form-data", (_request, _payload, done) => done(null, undefined));

  app.register(cors, () => (request: FastifyRequest, callback: (error: Error | null, options: FastifyCorsOptions) => void) => {
    const origin = request.headers.origin;
    callback(null, {
      origin: origin === undefined || isAllowedOrigin(origin, request.headers.host, context.corsOrigins),
      exposedHeaders: ["x-request-id", "retry-after", "location"],
    });
  });

  // Metrics on a registry of this app's own; the routes, realtime sessions and engine jobs report to it.
  const metrics =
    (context.metricsExposure ?? "open") === "off"
      ? undefined
      : new ServerMetrics({
          engines: () => context.models.loaded().map(({ model, engine }) => ({ model, stats: engine.stats() })),
          realtimeSessions: () => app.realtime.stats().sessions,
          diarizationsRunning: () => context.transcription.voices.running,
        });
  if (metrics) {
    context = { ...context, metrics };
    context.models.observe(metrics);
    context.transcription.voices.observe(metrics);
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

  // Each door is a plugin given only what it needs of the server.
  app.register(healthRoutes, context);
  app.register(modelRoutes, context);
  app.register(transcriptionRoutes, context);
  app.register(apiTranscribeRoute, context);
  if (context.jobs) app.register(jobRoutes, context);
  app.register(webRoutes);
  if (metrics && context.metricsExposure !== "off") app.register(metricsRoute, { exposure: context.metricsExposure ?? "open", metrics });
  app.register(realtimeDoor, context);
  return app;
}
