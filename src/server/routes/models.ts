// GET /v1/models and GET /v1/models/{id} in OpenAI's list/object shapes (the SDK's models.list() and retrieve() read
// them), with Earshot's fields beside OpenAI's: the engine, whether the model is loaded, its memory (see
// docs/model-loading.md).
import type { FastifyPluginAsync } from "fastify";

import { ApiError } from "../../api/errors.js";
import type { ModelStatus, ServedModel } from "../../transcription/ModelRegistry.js";
import type { ServerContext } from "../serverContext.js";

function modelObject(served: ServedModel, status: ModelStatus | undefined) {
  return {
    id: served.id,
    object: "model",
    created: served.created,
    owned_by: "earshot",
    // Earshot's own fields: the local model the id runs on (an alias names its model), its engine and its state.
    root: served.model.name,
    engine: status?.kind ?? null,
    state: status?.state ?? "unloaded",
    loaded: status?.state === "loaded",
    preloaded: status?.resident ?? false,
    /** What the model counts against EARSHOT_MODELS_MEMORY_MB while loaded (the estimate). */
    memory_bytes: status?.estimatedBytes ?? null,
    /** How much the process grew across its last load (the weights; approximate when other work ran meanwhile). */
    measured_load_bytes: status?.measuredLoadBytes ?? null,
    /** Requests, realtime sessions and batch jobs holding it now (it is not unloaded while any does). */
    holders: status?.holders ?? 0,
  };
}

/** The models door: what it needs of the server is the model registry. */
export const modelRoutes: FastifyPluginAsync<Pick<ServerContext, "models">> = async (app, context) => {
  app.get("/v1/models", async () => {
    const statuses = new Map((await context.models.statuses()).map((status) => [status.name, status]));
    return { object: "list", data: context.models.list().map((served) => modelObject(served, statuses.get(served.model.name))) };
  });
  app.get<{ Params: { id: string } }>("/v1/models/:id", async (request) => {
    const served = context.models.find(request.params.id);
    if (!served) throw ApiError.modelNotFound(request.params.id);
    return modelObject(served, await context.models.status(served.id));
  });
};
