// How many job slots an engine runs and with how many threads each: the one reading of SlotOptions every engine
// shares, so Whisper and Parakeet models size their slots alike.
import os from "node:os";

import type { SlotOptions } from "./engine.js";
import type { NativeBuildInfo } from "./nativeTypes.js";

export interface JobSlots {
  parallelJobs: number;
  threadsPerJob: number;
  maxQueuedJobs: number;
  /** Whether a slot may run two sharing jobs side by side (CPU only, two threads or more). */
  slotSharing: boolean;
}

/** Throws RangeError for a count that is not a positive integer (maxQueuedJobs: not negative). */
export function jobSlots(options: SlotOptions): Omit<JobSlots, "slotSharing"> {
  const cores = os.availableParallelism();
  const threadsPerJob = options.threadsPerJob ?? Math.min(4, cores);
  const parallelJobs = options.parallelJobs ?? Math.max(1, Math.floor(cores / threadsPerJob));
  const maxQueuedJobs = options.maxQueuedJobs ?? 16;
  if (!Number.isInteger(threadsPerJob) || threadsPerJob < 1) throw new RangeError("threadsPerJob must be a positive integer");
  if (!Number.isInteger(parallelJobs) || parallelJobs < 1) throw new RangeError("parallelJobs must be a positive integer");
  if (!Number.isInteger(maxQueuedJobs) || maxQueuedJobs < 0) throw new RangeError("maxQueuedJobs must be a non-negative integer");
  return { parallelJobs, threadsPerJob, maxQueuedJobs };
}

/** Slot sharing splits a slot's CPU threads: never on a GPU, nor with one thread. */
export function sharesSlots(options: SlotOptions, threadsPerJob: number, build: NativeBuildInfo): boolean {
  const onGpu = (options.useGpu ?? true) && build.devices.some((device) => device.type === "gpu");
  return (options.slotSharing ?? true) && threadsPerJob >= 2 && !onGpu;
}
