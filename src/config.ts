// Every EARSHOT_* environment variable is read here, once.
import os from "node:os";

function integer(name: string): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return undefined;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) throw new Error(`${name} must be a non-negative integer, got "${raw}"`);
  return value;
}

export interface EnvConfig {
  /** Default model: a catalog name (e.g. "base.en") or a path to a ggml file. */
  model: string;
  threadsPerJob: number | undefined;
  parallelJobs: number | undefined;
  maxQueuedJobs: number | undefined;
  /** "0"/"false" disables GPU offload when the addon was built with CUDA. */
  useGpu: boolean;
}

export function readEnvConfig(env: NodeJS.ProcessEnv = process.env): EnvConfig {
  return {
    model: env.EARSHOT_MODEL || "base",
    threadsPerJob: integer("EARSHOT_THREADS"),
    parallelJobs: integer("EARSHOT_PARALLEL_JOBS"),
    maxQueuedJobs: integer("EARSHOT_MAX_QUEUED_JOBS"),
    useGpu: !["0", "false", "no"].includes((env.EARSHOT_GPU_OFFLOAD ?? "").toLowerCase()),
  };
}

export const hardwareThreads = os.availableParallelism();
