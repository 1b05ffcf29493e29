// Settings table, group "Models on demand": which models load at start, when the others load and unload, the memory
// they may take together, and how long a request waits for a load. See docs/model-loading.md.
import { z } from "zod";

import { list } from "../schemas.js";
import type { Setting } from "../setting.js";

/** The share of physical memory the models may take when EARSHOT_MODELS_MEMORY_MB is auto. */
export const AUTO_MODELS_MEMORY_SHARE = 0.8;

export const modelLoadingSettings = {
  preloadModels: {
    env: "EARSHOT_PRELOAD_MODELS",
    flag: "--preload-models <list>",
    commands: ["serve", "worker"],
    schema: list.transform((names) => (names.length === 1 && names[0] === "none" ? [] : names)).optional(),
    doc: "served models (names or ids, comma-separated) loaded at start and kept loaded; the others load on their first request",
    note:
      "`/ready` answers 503 `loading` until they are all loaded. A preloaded model is never unloaded (neither idle nor evicted). " +
      "`none`: every model loads on demand, the default model too, and `/ready` does not wait for any.",
    defaultText: "the default model (`EARSHOT_MODEL`)",
  },
  modelIdleUnloadSeconds: {
    env: "EARSHOT_MODEL_IDLE_UNLOAD_SECONDS",
    flag: "--model-idle-unload-seconds <s>",
    commands: ["serve", "worker"],
    schema: z.coerce.number().min(0).max(31_536_000).default(600),
    doc: "a model that is not preloaded unloads after this long with nothing holding it (no request, realtime session, batch job or engine job); 0: never",
  },
  modelsMemoryMb: {
    env: "EARSHOT_MODELS_MEMORY_MB",
    flag: "--models-memory-mb <mb|auto>",
    commands: ["serve", "worker"],
    schema: z
      .union([z.literal("auto"), z.coerce.number().positive().max(100_000_000)])
      .default("auto"),
    doc: "memory all loaded models may take together, MB (by the estimate: weights and one working state per job it may run); auto: 80 % of physical memory",
    note:
      "A load that would pass it first unloads idle models, least recently used first; when the models in use leave no room, the request gets " +
      "503 `model_memory_exhausted` with `Retry-After`. A served model that alone needs more, or preloaded models that together do, stop startup.",
  },
  modelLoadWaitSeconds: {
    env: "EARSHOT_MODEL_LOAD_WAIT_SECONDS",
    flag: "--model-load-wait-seconds <s>",
    commands: ["serve", "worker"],
    schema: z.coerce.number().positive().max(3600).default(60),
    doc: "how long a request waits for its model to load before it is refused (the load goes on)",
    note: "The refusal is 503 `model_loading` with `Retry-After` (the time the model's last load took, less what has passed). A realtime turn waits as long, then fails with the same error.",
  },
} as const satisfies Record<string, Setting>;
