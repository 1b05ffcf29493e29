// GET /v1/models and GET /v1/models/{id} in OpenAI's list/object shapes.
import type { FastifyPluginAsync } from "fastify";

import { ApiError } from "../../api/errors.js";
import type { ServedModel } from "../../transcription/ModelRegistry.js";
import type { ServerContext } from "../serverContext.js";

const modelObject = (served: ServedModel) => ({ id: served.id, object: "model", created: served.created, owned_by: "earshot" });

/** The models door: what it needs of the server is the model registry. */
export const modelRoutes: FastifyPluginAsync<Pick<ServerContext, "models">> = async (app, context) => {
  app.get("/v1/models", async () => ({ object: "list", data: context.models.list().map(modelObject) }));
  app.get<{ Params: { id: string } }>("/v1/models/:id", async (request) => {
    const served = context.models.find(request.params.id);
    if (!served) throw ApiError.modelNotFound(request.params.id);
    return modelObject(served);
  });
};
