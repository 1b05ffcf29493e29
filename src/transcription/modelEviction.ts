// Which loaded models give way, decided from plain figures so that the rule can be read (and tested) apart from the
// loading machinery: least recently used first, and never a model that is in use. "In use" is anything that holds it:
// a request's transcription run, a realtime session or a batch job (a lease or a pin), an engine job running or
// queued on it, or the operator's preload list (resident models stay).

/** What the policy knows of one loaded (or loading) model. */
export interface ModelUse {
  name: string;
  /** Memory counted against the budget, in bytes (the estimate until it is measured). */
  bytes: number;
  /** Leases and pins held on it now (requests, realtime sessions, batch jobs). */
  holders: number;
  /** Engine jobs running or waiting for a slot on it (batch waiters included). */
  engineJobs: number;
  /** In the preload list: loaded at start and kept. */
  resident: boolean;
  /** Still loading: counted against the budget, never evicted. */
  loading: boolean;
  /** When it was last given back by its last holder, or last loaded (ms, any monotonic clock). */
  lastUsedMs: number;
}

/** A model that may be unloaded now: loaded, held by nobody, no engine job, not resident. */
export function isEvictable(model: ModelUse): boolean {
  return !model.loading && !model.resident && model.holders === 0 && model.engineJobs === 0;
}

export type EvictionPlan =
  /** Load after unloading these (least recently used first; none when the load fits as things are). */
  | { fits: true; evict: string[] }
  /** Cannot fit now: what would be held even after every evictable model went (bytes). */
  | { fits: false; heldBytes: number };

/**
 * The models to unload so that `neededBytes` more fit in `budgetBytes`, given the models loaded or loading now:
 * the idle ones least recently used first, no more than needed. `fits: false` when even unloading every idle model
 * would not make room (the caller refuses the load rather than exceed the budget).
 */
export function planEviction(models: readonly ModelUse[], neededBytes: number, budgetBytes: number): EvictionPlan {
  let used = models.reduce((sum, model) => sum + model.bytes, 0);
  if (used + neededBytes <= budgetBytes) return { fits: true, evict: [] };
  const candidates = models.filter(isEvictable).sort((a, b) => a.lastUsedMs - b.lastUsedMs || a.name.localeCompare(b.name));
  const evict: string[] = [];
  for (const model of candidates) {
    evict.push(model.name);
    used -= model.bytes;
    if (used + neededBytes <= budgetBytes) return { fits: true, evict };
  }
  return { fits: false, heldBytes: used };
}

/** The models idle for `idleMs` or longer at `nowMs` (none when idleMs is 0: idle unloading is off). */
export function idleModels(models: readonly ModelUse[], nowMs: number, idleMs: number): string[] {
  if (idleMs <= 0) return [];
  return models.filter((model) => isEvictable(model) && nowMs - model.lastUsedMs >= idleMs).map((model) => model.name);
}
