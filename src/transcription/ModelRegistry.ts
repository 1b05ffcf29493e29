// The models the server offers under OpenAI model ids: each local model by name, plus aliases
// (whisper-1, gpt-4o-transcribe, ...) so existing client code runs unchanged. The default model
// is loaded at startup; other models load on first use and stay loaded.
import type { EngineJob, TranscriptionEngine } from "../engine/engine.js";
import { loadEngine } from "../engine/loadEngine.js";
import type { EngineOptions } from "../engine/WhisperEngine.js";
import { catalogEntry } from "../models/catalog.js";
import { resolveModel, type ResolvedModel } from "../models/modelStore.js";

export interface ServedModel {
  /** The id clients send as `model`. */
  id: string;
  /** The local model it runs on. */
  model: ResolvedModel;
  /** Unix seconds, for OpenAI's model object. */
  created: number;
}

/** Told of model loads and engine jobs (metrics); `model` is the local model's name, one of the served ids. */
export interface ModelObserver {
  modelLoaded(model: string, seconds: number, ok: boolean): void;
  job(model: string, job: EngineJob): void;
}

export class ModelRegistry {
  private readonly byId = new Map<string, ServedModel>();
  private readonly engines = new Map<string, Promise<TranscriptionEngine>>();
  /** The engines that finished loading, by model name. */
  private readonly ready = new Map<string, TranscriptionEngine>();
  private observer: ModelObserver | undefined;
  readonly defaultModel: ResolvedModel;

  /**
   * Resolves every model up front so a missing file stops startup with a clear message
   * (resolveModel throws ModelNotFoundError saying how to pull it).
   */
  constructor(
    options: { model: string; extraModels: string[]; aliases: string[]; modelsDir?: string | undefined },
    private readonly engineOptions: EngineOptions,
  ) {
    const created = Math.floor(Date.now() / 1000);
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
  }

  /** Every id clients may use, aliases included. */
  list(): ServedModel[] {
    return [...this.byId.values()];
  }

  find(id: string): ServedModel | undefined {
    return this.byId.get(id);
  }

  /** Observes the loads and jobs of the engines loaded from now on. */
  observe(observer: ModelObserver): void {
    this.observer = observer;
  }

  /** The engines loaded so far, by model name. */
  loaded(): Array<{ model: string; engine: TranscriptionEngine }> {
    return [...this.ready].map(([model, engine]) => ({ model, engine }));
  }

  /** The loaded engine for a model (loading it on first use). */
  engine(served: ServedModel): Promise<TranscriptionEngine> {
    let engine = this.engines.get(served.model.path);
    if (!engine) {
      const name = served.model.name;
      const started = performance.now();
      // A catalog model's alignment heads are known by name (large-v1 and large-v2 share a shape); the operator's
      // setting, when not auto, applies to every model.
      const heads = this.engineOptions.alignmentHeads ?? "auto";
      const preset = catalogEntry(name)?.alignmentHeads;
      const alignmentHeads = heads === "auto" && preset ? preset : heads;
      engine = loadEngine(served.model.path, { ...this.engineOptions, alignmentHeads, onJob: (job) => this.observer?.job(name, job) });
      engine.then(
        (loaded) => {
          this.ready.set(name, loaded);
          this.observer?.modelLoaded(name, (performance.now() - started) / 1000, true);
        },
        () => {
          this.engines.delete(served.model.path);
          this.observer?.modelLoaded(name, (performance.now() - started) / 1000, false);
        },
      );
      this.engines.set(served.model.path, engine);
    }
    return engine;
  }

  /** Loads the default model; resolves when the server can transcribe. */
  async loadDefault(): Promise<TranscriptionEngine> {
    return this.engine(this.byId.get(this.defaultModel.name)!);
  }

  /** Closes every engine that loaded (one that failed to load has nothing to close). */
  async close(): Promise<void> {
    const settled = await Promise.allSettled(this.engines.values());
    for (const engine of settled) if (engine.status === "fulfilled") await engine.value.close();
    this.engines.clear();
    this.ready.clear();
  }
}
