// The models the server offers under OpenAI model ids: each local model by name, plus aliases (whisper-1,
// gpt-4o-transcribe, ...) so existing client code runs unchanged. Models load on demand and give memory back: the
// preloaded ones (default: the default model) load at start and stay; any other loads on its first request, unloads
// after an idle time, and gives way (least recently used first) when a load would exceed the memory budget. A model
// held by a transcription run (a lease), a realtime session or a batch job (a pin), or with engine jobs on it, is
// never unloaded. See docs/model-loading.md.
import { existsSync } from "node:fs";

import type { EngineJob, TranscriptionEngine } from "../engine/engine.js";
import { loadEngine } from "../engine/loadEngine.js";
import type { EngineOptions } from "../engine/WhisperEngine.js";
import { catalogEntry } from "../models/catalog.js";
import { modelPaths, modelsDir, resolveModel, type ResolvedModel } from "../models/modelStore.js";
import { ModelLoadingError, ModelMemoryError, ModelNotInstalledError, ModelNotServedError } from "./errors.js";
import { idleModels, planEviction, type ModelUse } from "./modelEviction.js";
import { ModelEntry, type ModelStatus } from "./ModelEntry.js";
import { estimateModelMemory, type MemoryEstimate } from "./modelMemory.js";

export type { ModelState, ModelStatus } from "./ModelEntry.js";

export interface ServedModel {
  /** The id clients send as `model`. */
  id: string;
  /** The local model it runs on. */
  model: ResolvedModel;
  /** Unix seconds, for OpenAI's model object. */
  created: number;
}

/** Why a model was unloaded: idle for the idle time, evicted to make room for another, or the server closing. */
export type UnloadReason = "idle" | "evicted" | "closed";

/** Told of model loads, unloads and engine jobs (metrics); `model` is the local model's name, one of the served ids. */
export interface ModelObserver {
  modelLoaded(model: string, seconds: number, ok: boolean): void;
  job(model: string, job: EngineJob): void;
  /** The model's memory once loaded (the estimate counted against the budget), and 0 once unloaded. */
  modelMemory?(model: string, bytes: number): void;
  modelUnloaded?(model: string, reason: UnloadReason): void;
}

/** How models come and go. Every field has a default that keeps a model loaded once loaded (the CLI, tests). */
export interface ModelLifecycleOptions {
  /** Served ids (or model names) loaded at start and never unloaded; default: none (the server passes the default model). */
  preload?: readonly string[];
  /** An unheld model unloads after this long without use; 0 (default): never. */
  idleUnloadMs?: number;
  /** The memory all loaded models may take together, by the estimate (bytes); default: no limit. */
  memoryBudgetBytes?: number;
  /** How long a request waits for its model to load before a 503; default: as long as the load takes. */
  loadWaitMs?: number;
}

/** A model held for a run: its engine is not unloaded until {@link release}. */
export interface ModelLease {
  readonly engine: TranscriptionEngine;
  /** Gives the model back (idempotent). */
  release(): void;
}

/** Retry-After of a load refused for memory: models in use are given back as their requests end. */
const MEMORY_RETRY_AFTER_SECONDS = 5;
/** The idle sweep runs at a quarter of the idle time, within these bounds. */
const SWEEP_MIN_MS = 50;
const SWEEP_MAX_MS = 30_000;

export class ModelRegistry {
  private readonly byId = new Map<string, ServedModel>();
  /** Every served local model, by name. */
  private readonly entries = new Map<string, ModelEntry>();
  private observer: ModelObserver | undefined;
  /** Loads are sized and fitted one at a time (two loads planned together could both think they fit). */
  private planning: Promise<unknown> = Promise.resolve();
  private readonly sweep: NodeJS.Timeout | undefined;
  private closed = false;
  readonly defaultModel: ResolvedModel;
  private readonly modelsDir: string;

  /**
   * Resolves every model up front so a missing file stops startup with a clear message
   * (resolveModel throws ModelNotFoundError saying how to pull it).
   */
  constructor(
    options: { model: string; extraModels: string[]; aliases: string[]; modelsDir?: string | undefined },
    private readonly engineOptions: EngineOptions,
    private readonly lifecycle: ModelLifecycleOptions = {},
  ) {
    const created = Math.floor(Date.now() / 1000);
    this.modelsDir = modelsDir(options.modelsDir);
    const resolve = (nameOrPath: string) => resolveModel(nameOrPath, options.modelsDir ? { dir: options.modelsDir } : {});
    this.defaultModel = resolve(options.model);
    const models = [this.defaultModel, ...options.extraModels.map((m) => resolve(m))];
    for (const model of models) this.byId.set(model.name, { id: model.name, model, created });
    for (const alias of options.aliases) {
      const [id, target] = alias.split("=", 2) as [string, string | undefined];
      const model = target ? models.find((m) => m.name === target) ?? resolve(target) : this.defaultModel;
      if (!models.includes(model)) models.push(model);
      this.byId.set(id, { id, model, created });
    }
    const resident = new Set((lifecycle.preload ?? []).map((id) => this.byId.get(id)?.model.name ?? resolve(id).name));
    for (const name of resident) if (!models.some((m) => m.name === name)) throw new RangeError(`the preloaded model '${name}' is not served`);
    for (const model of models) if (!this.entries.has(model.name)) this.entries.set(model.name, new ModelEntry(model, resident.has(model.name)));
    const idleMs = lifecycle.idleUnloadMs ?? 0;
    if (idleMs > 0) {
      this.sweep = setInterval(() => this.unloadIdle(), Math.min(SWEEP_MAX_MS, Math.max(SWEEP_MIN_MS, idleMs / 4)));
      this.sweep.unref();
    }
  }

  /** Every id clients may use, aliases included. */
  list(): ServedModel[] {
    return [...this.byId.values()];
  }

  find(id: string): ServedModel | undefined {
    return this.byId.get(id);
  }

  /**
   * Why a model id is not served: a catalog model says so and how an operator would serve it (a request never
   * downloads one); any other id is OpenAI's unknown model.
   */
  notServed(id: string): ModelNotInstalledError | ModelNotServedError {
    if (!catalogEntry(id)) return new ModelNotServedError(id);
    return new ModelNotInstalledError(id, existsSync(modelPaths(id, this.modelsDir).path));
  }

  /** Observes the loads, unloads and jobs of the engines loaded from now on. */
  observe(observer: ModelObserver): void {
    this.observer = observer;
  }

  /** The engines loaded now, by model name. */
  loaded(): Array<{ model: string; engine: TranscriptionEngine }> {
    return [...this.entries.values()].flatMap((entry) => (entry.engine ? [{ model: entry.name, engine: entry.engine }] : []));
  }

  /** The engine of a served id or model name if it is loaded now (never loads). */
  loadedEngine(id: string): TranscriptionEngine | undefined {
    return this.entryOf(id)?.engine;
  }

  /** The preloaded models' names (kept loaded; /ready waits for them). */
  get preloaded(): string[] {
    return [...this.entries.values()].filter((entry) => entry.resident).map((entry) => entry.name);
  }

  /** Each served local model's state, memory (sized first when it never was) and use, in the order they were configured. */
  statuses(): Promise<ModelStatus[]> {
    return Promise.all([...this.entries.values()].map((entry) => this.statusOf(entry)));
  }

  /** One served id's model status (an alias gives its model's). */
  status(id: string): Promise<ModelStatus> | undefined {
    const entry = this.entryOf(id);
    return entry ? this.statusOf(entry) : undefined;
  }

  private async statusOf(entry: ModelEntry): Promise<ModelStatus> {
    await this.size(entry).catch(() => undefined);
    return entry.status();
  }

  /** The model's memory estimate, made once. */
  private async size(entry: ModelEntry): Promise<MemoryEstimate> {
    entry.estimate ??= await estimateModelMemory(entry.model.path, (await entry.engineKind()) ?? "whisper", this.engineOptions);
    return entry.estimate;
  }

  /**
   * The model's engine, held until the lease is released: loaded first when it is not (unloading idle models when the
   * budget needs room). Waits for the load up to the load wait, then rejects with ModelLoadingError (the load goes
   * on); ModelMemoryError when it cannot fit beside the models in use.
   */
  async acquire(served: ServedModel): Promise<ModelLease> {
    const entry = this.entryOf(served.id)!;
    entry.holders++;
    entry.touch();
    let engine: TranscriptionEngine;
    try {
      engine = await this.ensureLoaded(entry, this.lifecycle.loadWaitMs);
    } catch (error) {
      this.giveBack(entry);
      throw error;
    }
    let held = true;
    return {
      engine,
      release: () => {
        if (!held) return;
        held = false;
        this.giveBack(entry);
      },
    };
  }

  /**
   * Holds a model without loading it (a realtime session, a batch job): while held it is never unloaded. Returns the
   * release (idempotent).
   */
  pin(id: string): () => void {
    const entry = this.entryOf(id);
    if (!entry) return () => undefined;
    entry.holders++;
    entry.touch();
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      this.giveBack(entry);
    };
  }

  /** The loaded engine for a model (loading it, without a deadline), not held: for the CLI and benches. */
  engine(served: ServedModel): Promise<TranscriptionEngine> {
    return this.ensureLoaded(this.entryOf(served.id)!, undefined);
  }

  /**
   * Sizes every served model: why the budget can never hold them (a model that alone needs more, or the preloaded
   * ones together), or undefined when it can.
   */
  async oversized(): Promise<string | undefined> {
    const budget = this.lifecycle.memoryBudgetBytes;
    if (budget === undefined) return undefined;
    const mb = (bytes: number) => `${Math.round(bytes / 1_048_576)} MB`;
    let resident = 0;
    for (const entry of this.entries.values()) {
      const { totalBytes } = await this.size(entry);
      if (totalBytes > budget) return `the model '${entry.name}' needs about ${mb(totalBytes)}, more than the ${mb(budget)} budget`;
      if (entry.resident) resident += totalBytes;
    }
    if (resident > budget) return `the preloaded models need about ${mb(resident)} together, more than the ${mb(budget)} budget`;
    return undefined;
  }

  /** Loads the preloaded models (one after the other); resolves when they are all loaded. */
  async preload(): Promise<void> {
    for (const entry of this.entries.values()) if (entry.resident) await this.ensureLoaded(entry, undefined);
  }

  /** Loads the default model; resolves when the server can transcribe. */
  async loadDefault(): Promise<TranscriptionEngine> {
    return this.engine(this.byId.get(this.defaultModel.name)!);
  }

  /** Closes every engine that loaded (one that failed to load has nothing to close). */
  async close(): Promise<void> {
    this.closed = true;
    if (this.sweep) clearInterval(this.sweep);
    await this.planning.catch(() => undefined);
    for (const entry of this.entries.values()) {
      await entry.loading?.catch(() => undefined);
      if (entry.engine) await this.unload(entry, "closed");
    }
  }

  private entryOf(id: string): ModelEntry | undefined {
    const served = this.byId.get(id);
    return served ? this.entries.get(served.model.name) : this.entries.get(id);
  }

  private giveBack(entry: ModelEntry): void {
    entry.holders = Math.max(0, entry.holders - 1);
    entry.touch();
  }

  /** The engine once loaded; a load in progress is joined, not started again. `waitMs`: how long to wait for it. */
  private async ensureLoaded(entry: ModelEntry, waitMs: number | undefined): Promise<TranscriptionEngine> {
    if (entry.engine) return entry.engine;
    if (this.closed) throw new Error("the model registry is closed");
    entry.loading ??= this.load(entry);
    if (waitMs === undefined) return entry.loading;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new ModelLoadingError(entry.name, Math.round(waitMs / 100) / 10, entry.loadRetryAfterSeconds())), waitMs);
    });
    try {
      return await Promise.race([entry.loading, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Sizes the model, makes room for it within the budget, loads it. */
  private async load(entry: ModelEntry): Promise<TranscriptionEngine> {
    entry.loadStartedMs = performance.now();
    const name = entry.name;
    try {
      const fitted = this.planning.then(() => this.makeRoom(entry));
      this.planning = fitted.catch(() => undefined);
      await fitted;
      const started = performance.now();
      const rssBefore = process.memoryUsage.rss();
      // A catalog model's alignment heads are known by name (large-v1 and large-v2 share a shape); the operator's
      // setting, when not auto, applies to every model.
      const heads = this.engineOptions.alignmentHeads ?? "auto";
      const preset = catalogEntry(name)?.alignmentHeads;
      const alignmentHeads = heads === "auto" && preset ? preset : heads;
      const engine = await loadEngine(entry.model.path, { ...this.engineOptions, alignmentHeads, onJob: (job) => this.observer?.job(name, job) });
      entry.measuredLoadBytes = Math.max(0, process.memoryUsage.rss() - rssBefore);
      entry.lastLoadSeconds = (performance.now() - started) / 1000;
      entry.engine = engine;
      entry.loading = undefined;
      entry.touch();
      this.observer?.modelLoaded(name, entry.lastLoadSeconds, true);
      this.observer?.modelMemory?.(name, entry.estimate?.totalBytes ?? 0);
      if (this.closed) await this.unload(entry, "closed");
      return engine;
    } catch (error) {
      entry.loading = undefined;
      if (!(error instanceof ModelMemoryError)) this.observer?.modelLoaded(name, (performance.now() - entry.loadStartedMs) / 1000, false);
      throw error;
    }
  }

  /**
   * Sizes the model (its estimate counts against the budget from now on) and unloads the idle models least recently
   * used until it fits; ModelMemoryError when it cannot fit beside the models in use.
   */
  private async makeRoom(entry: ModelEntry): Promise<void> {
    const { totalBytes } = await this.size(entry);
    const budget = this.lifecycle.memoryBudgetBytes;
    if (budget === undefined) return;
    // One model at a time, planned again after each: a model taken while another was being unloaded stays.
    for (;;) {
      const others = [...this.entries.values()].filter((other) => other !== entry);
      const uses = others.map((other) => other.use()).filter((use): use is ModelUse => use !== undefined);
      const plan = planEviction(uses, totalBytes, budget);
      if (!plan.fits) throw new ModelMemoryError(entry.name, totalBytes, plan.heldBytes, budget, MEMORY_RETRY_AFTER_SECONDS);
      const victim = plan.evict[0];
      if (victim === undefined) return;
      await this.unload(this.entries.get(victim)!, "evicted");
    }
  }

  /** Unloads the models idle for the idle time. */
  private unloadIdle(): void {
    if (this.closed) return;
    const uses = [...this.entries.values()].map((entry) => entry.use()).filter((use): use is ModelUse => use !== undefined);
    for (const name of idleModels(uses, performance.now(), this.lifecycle.idleUnloadMs ?? 0)) {
      const entry = this.entries.get(name)!;
      void this.unload(entry, "idle").catch(() => undefined);
    }
  }

  /** Takes the engine out of service at once (new requests load the model again), then frees it. */
  private async unload(entry: ModelEntry, reason: UnloadReason): Promise<void> {
    const engine = entry.engine;
    if (!engine) return;
    entry.engine = undefined;
    this.observer?.modelUnloaded?.(entry.name, reason);
    this.observer?.modelMemory?.(entry.name, 0);
    await engine.close();
  }
}
