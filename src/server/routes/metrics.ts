// GET /metrics: Prometheus text exposition of the app's metrics (see ../metrics.ts). EARSHOT_METRICS=key puts it
// behind the API keys, as the API; off does not register it (404).
import type { FastifyInstance } from "fastify";

import { checkApiKey } from "../auth.js";
import type { ServerMetrics } from "../metrics.js";
import type { ServerContext } from "../serverContext.js";

/** Also the route of `earshot worker`, which has no full server context: only who may read. */
export function registerMetricsRoute(app: FastifyInstance, context: Pick<ServerContext, "metricsExposure" | "apiKeys">, metrics: ServerMetrics): void {
  app.get("/metrics", async (request, reply) => {
    if (context.metricsExposure === "key") checkApiKey(request, context.apiKeys);
    const { contentType, body } = await metrics.render();
    return reply.type(contentType).send(body);
  });
}
