// GET /metrics: Prometheus text exposition of the app's metrics (see ../metrics.ts). Who may read it is the setting
// EARSHOT_METRICS: `key` behind the API keys as the API, `open` to anyone who can reach the server, `off` (not
// registered: 404). Unset, it follows the API: `key` when API keys are configured, else `open`.
import type { FastifyPluginAsync } from "fastify";

import type { MetricsExposure, ServerMetrics } from "../metrics.js";

/**
 * Also the route of `earshot worker`, whose app runs the same key check (see auth.ts) on routes that are not public.
 * Not registered when the exposure is `off`.
 */
export const metricsRoute: FastifyPluginAsync<{ exposure: Exclude<MetricsExposure, "off">; metrics: ServerMetrics }> = async (app, { exposure, metrics }) => {
  app.get("/metrics", { config: { access: exposure === "open" ? "public" : "key" } }, async (_request, reply) => {
    const { contentType, body } = await metrics.render();
    return reply.type(contentType).send(body);
  });
};
