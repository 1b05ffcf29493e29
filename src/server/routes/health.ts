// GET /health: the process is alive. GET /ready: the preloaded models (default: the default model) are loaded, and an
// upload would be admitted now (a free place in a loaded engine's job queue, a free decode slot, room in the
// decoded-audio budget); both answers carry the counts, summed over the loaded engines, and each served model's state
// and jobs under `models`. Once shutdown has begun, /ready answers 503 {status: "draining"} (a load balancer stops
// sending new work), also while the server still takes work for EARSHOT_DRAIN_ACCEPT_SECONDS before it refuses it.
import type { FastifyPluginAsync } from "fastify";

import type { StatePoolStats } from "../../engine/StatePool.js";
import type { ServerContext } from "../serverContext.js";

export const healthRoutes: FastifyPluginAsync<Pick<ServerContext, "models" | "admission">> = async (app, context) => {
  app.get("/health", { config: { access: "public" } }, async () => ({ status: "ok" }));
  app.get("/ready", { config: { access: "public" } }, async (_request, reply) => {
    const statuses = await context.models.statuses();
    const models = statuses.map(({ name, kind, state, resident, running, queued }) => ({ model: name, engine: kind ?? null, state, preloaded: resident, running, queued }));
    const waitingFor = statuses.find((status) => status.resident && status.state !== "loaded");
    if (waitingFor) return reply.code(503).header("Retry-After", "5").send({ status: "loading", model: waitingFor.name, models });
    const stats = { ...engineTotals(context.models.loaded().map(({ engine }) => engine.stats())), ...context.admission.stats(), models };
    if (context.admission.leaving) return reply.code(503).header("Retry-After", "5").send({ status: "draining", ...stats });
    const refused = context.admission.refusal();
    if (refused) return reply.code(503).header("Retry-After", refused.headers["Retry-After"] ?? "5").send({ status: "saturated", ...stats });
    return { status: "ready", model: context.models.defaultModel.name, ...stats };
  });
};

/** The loaded engines' job slots and queues together. */
function engineTotals(all: StatePoolStats[]): StatePoolStats {
  const sum = (read: (stats: StatePoolStats) => number) => all.reduce((total, stats) => total + read(stats), 0);
  return {
    running: sum((s) => s.running),
    queued: sum((s) => s.queued),
    batchQueued: sum((s) => s.batchQueued),
    maxParallel: sum((s) => s.maxParallel),
    maxQueued: sum((s) => s.maxQueued),
  };
}
