// One served model's life in the registry: unloaded → loading → loaded → (idle or evicted) unloaded again. It holds
// the engine while loaded, counts who holds the model (leases of transcription runs, pins of realtime sessions and
// batch jobs), and keeps the figures the eviction policy and /v1/models read. The decisions (when to load, what to
// unload) are ModelRegistry's.
import type { EngineKind, TranscriptionEngine } from "../engine/engine.js";
import { readModelKind } from "../engine/modelKind.js";
import type { ResolvedModel } from "../models/modelStore.js";
import type { ModelUse } from "./modelEviction.js";
import type { MemoryEstimate } from "./modelMemory.js";

export type ModelState = "unloaded" | "loading" | "loaded";

/** What /v1/models, /ready and the metrics tell of a model. */
export interface ModelStatus {
  name: string;
  /** Undefined when the file's header could not be read. */
  kind: EngineKind | undefined;
  state: ModelState;
  /** Loaded at start and kept (EARSHOT_PRELOAD_MODELS). */
  resident: boolean;
  /** The memory counted against the budget while loaded or loading (the estimate), in bytes. */
  estimatedBytes: number | undefined;
  /** Growth of the process's resident memory across the last load (the weights; approximate under load). */
  measuredLoadBytes: number | undefined;
  /** Requests, realtime sessions and batch jobs holding the model now. */
  holders: number;
  /** Engine jobs running and waiting on it (0 while not loaded). */
  running: number;
  queued: number;
  /** Seconds the last successful load took. */
  lastLoadSeconds: number | undefined;
}

export class ModelEntry {
  engine: TranscriptionEngine | undefined;
  loading: Promise<TranscriptionEngine> | undefined;
  /** When the load in progress started (performance.now()). */
  loadStartedMs = 0;
  lastLoadSeconds: number | undefined;
  measuredLoadBytes: number | undefined;
  estimate: MemoryEstimate | undefined;
  holders = 0;
  lastUsedMs = performance.now();
  private kind: Promise<EngineKind | undefined> | undefined;

  constructor(
    readonly model: ResolvedModel,
    readonly resident: boolean,
  ) {}

  get name(): string {
    return this.model.name;
  }

  get state(): ModelState {
    if (this.engine) return "loaded";
    return this.loading ? "loading" : "unloaded";
  }

  /** The engine kind from the file's header (read once; cheap, no load). */
  engineKind(): Promise<EngineKind | undefined> {
    this.kind ??= readModelKind(this.model.path).catch(() => undefined);
    return this.kind;
  }

  /** Someone took the model, or gave it back: its idle time starts over. */
  touch(): void {
    this.lastUsedMs = performance.now();
  }

  /** Seconds until the load in progress is likely done (the last load's time, else 5 s), at least 1. */
  loadRetryAfterSeconds(): number {
    const expected = this.lastLoadSeconds ?? 5;
    const elapsed = (performance.now() - this.loadStartedMs) / 1000;
    return Math.max(1, Math.ceil(expected - elapsed));
  }

  /** The policy's view; undefined while the model holds no memory (unloaded, or loading before it was sized). */
  use(): ModelUse | undefined {
    if (this.state === "unloaded" || !this.estimate) return undefined;
    const stats = this.engine?.stats();
    return {
      name: this.name,
      bytes: this.estimate.totalBytes,
      holders: this.holders,
      engineJobs: stats ? stats.running + stats.queued + stats.batchQueued : 0,
      resident: this.resident,
      loading: this.state === "loading",
      lastUsedMs: this.lastUsedMs,
    };
  }

  async status(): Promise<ModelStatus> {
    const stats = this.engine?.stats();
    return {
      name: this.name,
      kind: this.engine?.info.kind ?? (await this.engineKind()),
      state: this.state,
      resident: this.resident,
      estimatedBytes: this.estimate?.totalBytes,
      measuredLoadBytes: this.measuredLoadBytes,
      holders: this.holders,
      running: stats?.running ?? 0,
      queued: stats ? stats.queued + stats.batchQueued : 0,
      lastLoadSeconds: this.lastLoadSeconds,
    };
  }
}
