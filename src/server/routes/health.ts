// GET /health: the process is alive. GET /ready: the default model is loaded, and an upload would be admitted now
// (a free place in the job queue, a free decode slot, room in the decoded-audio budget); both carry the counts.
// Once shutdown has begun, /ready answers 503 {status: "draining"} (a load balancer stops sending new work), also
// while the server still takes work for EARSHOT_DRAIN_ACCEPT_SECONDS before it starts refusing it.
import type { FastifyPluginAsync } from "fastify";

import type { ServerContext } from "../serverContext.js";

export const healthRoutes: FastifyPluginAsync<Pick<ServerContext, "defaultEngine" | "models" | "admission">> = async (app, context) => {
  app.get("/health", { config: { access: "public" } }, async () => ({ status: "ok" }));
  app.get("/ready", { config: { access: "public" } }, async (_request, reply) => {
    const engine = context.defaultEngine();
    if (!engine) return reply.code(503).send({ status: "loading", model: context.models.defaultModel.name });
    const stats = { ...engine.stats(), ...context.admission.stats() };
    if (context.admission.leaving) return reply.code(503).header("Retry-After", "5").send({ status: "draining", ...stats });
    const refused = context.admission.refusal();
    if (refused) {
      return reply.code(503).header("Retry-After", refused.headers["Retry-After"] ?? String(engine.retryAfterSeconds())).send({ status: "saturated", ...stats });
    }
    return { status: "ready", model: context.models.defaultModel.name, ...stats };
  });
};
