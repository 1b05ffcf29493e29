// Earshot's Prometheus metrics, all defined here, on a registry of the app's own (several servers in one process
// do not clash). Label values are bounded: HTTP routes by their pattern (an unknown route is "unmatched"), models
// by the local model's name (one of the served ids), realtime events by a fixed list.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";

import type { EngineJob } from "../engine/engine.js";
import { DIARIZATION_OUTCOMES, type DiarizationOutcome } from "../transcription/voiceDiarization.js";
import type { StatePoolStats } from "../engine/StatePool.js";

export type MetricsExposure = "open" | "key" | "off";

/** The route label of a request that matched no route. */
export const UNMATCHED_ROUTE = "unmatched";

const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];
const RTF_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 5];
const METHODS = new Set(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]);
/** Realtime server events counted as turns: committed, then completed or failed. */
const TURN_EVENTS: Record<string, "committed" | "completed" | "failed"> = {
  "input_audio_buffer.committed": "committed",
  "conversation.item.input_audio_transcription.completed": "completed",
  "conversation.item.input_audio_transcription.failed": "failed",
};

/** What the metrics read at scrape time. */
export interface MetricsSources {
  /** Every loaded engine's job slots and queue, by model name. */
  engines(): Array<{ model: string; stats: StatePoolStats }>;
  /** Realtime sessions open now. */
  realtimeSessions(): number;
  /** Recordings being told apart by voice now. */
  diarizationsRunning?(): number;
}

export class ServerMetrics {
  readonly registry = new Registry();
  private readonly httpRequests: Counter<"method" | "route" | "status">;
  private readonly httpDuration: Histogram<"method" | "route">;
  private readonly audioReceived: Counter<"source">;
  private readonly audioTranscribed: Counter<"model">;
  private readonly jobs: Counter<"model" | "outcome">;
  private readonly jobDuration: Histogram<"model">;
  private readonly realTimeFactor: Histogram<"model">;
  private readonly turns: Counter<"event">;
  private readonly modelLoads: Counter<"model" | "outcome">;
  private readonly modelLoadDuration: Histogram<"model">;
  private readonly modelUnloads: Counter<"model" | "reason">;
  private readonly modelMemoryBytes: Gauge<"model">;
  private readonly diarizations: Counter<"outcome">;
  private readonly diarizationDuration: Histogram;

  constructor(sources: MetricsSources, options: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry });
    this.httpRequests = new Counter({
      name: "earshot_http_requests_total",
      help: "HTTP requests answered, by method, route pattern and status (499: the client went away).",
      labelNames: ["method", "route", "status"],
      registers,
    });
    this.httpDuration = new Histogram({
      name: "earshot_http_request_duration_seconds",
      help: "Time from a request's arrival to the end of its response, by method and route pattern.",
      labelNames: ["method", "route"],
      buckets: DURATION_BUCKETS,
      registers,
    });
    this.audioReceived = new Counter({
      name: "earshot_audio_received_seconds_total",
      help: "Seconds of audio received: decoded uploads (http) and realtime appends (realtime).",
      labelNames: ["source"],
      registers,
    });
    this.audioTranscribed = new Counter({
      name: "earshot_audio_transcribed_seconds_total",
      help: "Seconds of audio transcribed by engine jobs that completed.",
      labelNames: ["model"],
      registers,
    });
    this.jobs = new Counter({
      name: "earshot_engine_jobs_total",
      help: "Engine jobs (one whisper run: a file, a chunk, a realtime turn or partial) by outcome (ok, aborted, failed).",
      labelNames: ["model", "outcome"],
      registers,
    });
    this.jobDuration = new Histogram({
      name: "earshot_engine_job_duration_seconds",
      help: "Processing time of a completed engine job (on its job slot; queueing not included).",
      labelNames: ["model"],
      buckets: DURATION_BUCKETS,
      registers,
    });
    this.realTimeFactor = new Histogram({
      name: "earshot_engine_job_real_time_factor",
      help: "Processing seconds per second of audio of a completed engine job (below 1: faster than real time).",
      labelNames: ["model"],
      buckets: RTF_BUCKETS,
      registers,
    });
    // Read from each engine's stats at scrape time.
    const engineGauge = (name: string, help: string, read: (stats: StatePoolStats) => number) =>
      new Gauge({
        name,
        help,
        labelNames: ["model"],
        registers,
        collect() {
          this.reset();
          for (const { model, stats } of sources.engines()) this.set({ model }, read(stats));
        },
      });
    engineGauge("earshot_engine_queue_depth", "Engine jobs waiting for a job slot.", (stats) => stats.queued);
    engineGauge("earshot_engine_job_slots_busy", "Engine job slots running a job.", (stats) => stats.running);
    engineGauge("earshot_engine_job_slots", "Engine job slots (jobs decoded at once).", (stats) => stats.maxParallel);
    new Gauge({
      name: "earshot_realtime_sessions_open",
      help: "Realtime WebSocket sessions open.",
      registers,
      collect() {
        this.set(sources.realtimeSessions());
      },
    });
    new Gauge({
      name: "earshot_diarizations_running",
      help: "Recordings being told apart by voice now (at most EARSHOT_MAX_DIARIZATIONS).",
      registers,
      collect() {
        this.set(sources.diarizationsRunning?.() ?? 0);
      },
    });
    this.turns = new Counter({
      name: "earshot_realtime_turns_total",
      help: "Realtime turns by event: committed, completed (transcribed), failed.",
      labelNames: ["event"],
      registers,
    });
    this.modelLoads = new Counter({
      name: "earshot_model_loads_total",
      help: "Model loads by outcome (ok, failed).",
      labelNames: ["model", "outcome"],
      registers,
    });
    this.modelLoadDuration = new Histogram({
      name: "earshot_model_load_duration_seconds",
      help: "Time to load a model.",
      labelNames: ["model"],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
      registers,
    });
    this.modelUnloads = new Counter({
      name: "earshot_model_unloads_total",
      help: "Model unloads by reason: idle (unused for EARSHOT_MODEL_IDLE_UNLOAD_SECONDS), evicted (made room for another within EARSHOT_MODELS_MEMORY_MB), closed (shutdown).",
      labelNames: ["model", "reason"],
      registers,
    });
    this.modelMemoryBytes = new Gauge({
      name: "earshot_model_memory_bytes",
      help: "Memory a model counts against the models' budget while loaded (the estimate: weights and working states); 0 while unloaded.",
      labelNames: ["model"],
      registers,
    });
    this.diarizations = new Counter({
      name: "earshot_diarizations_total",
      help: "Recordings told apart by voice (diarized_json, rttm), by outcome: ok, failed, aborted, or refused (no diarization slot free).",
      labelNames: ["outcome"],
      registers,
    });
    this.diarizationDuration = new Histogram({
      name: "earshot_diarization_duration_seconds",
      help: "Wall time of a recording's diarization by voice (speaker models and clustering, beside its transcription).",
      buckets: DURATION_BUCKETS,
      registers,
    });
    for (const event of Object.values(TURN_EVENTS)) this.turns.inc({ event }, 0);
    for (const outcome of DIARIZATION_OUTCOMES) this.diarizations.inc({ outcome }, 0);
  }

  /** A diarization by voice ended (or was refused). */
  diarized(outcome: DiarizationOutcome, seconds: number): void {
    this.diarizations.inc({ outcome });
    if (outcome === "ok") this.diarizationDuration.observe(seconds);
  }

  /** A response ended (`route`: the route's pattern, undefined for no route). */
  httpRequest(method: string, route: string | undefined, status: number, seconds: number): void {
    const labels = { method: METHODS.has(method) ? method : "other", route: route ?? UNMATCHED_ROUTE };
    this.httpRequests.inc({ ...labels, status: String(status) });
    this.httpDuration.observe(labels, seconds);
  }

  received(source: "http" | "realtime", seconds: number): void {
    if (seconds > 0) this.audioReceived.inc({ source }, seconds);
  }

  /** An engine job ended. */
  job(model: string, job: EngineJob): void {
    this.jobs.inc({ model, outcome: job.outcome });
    if (job.outcome !== "ok") return;
    this.audioTranscribed.inc({ model }, job.audioSeconds);
    this.jobDuration.observe({ model }, job.processingSeconds);
    if (job.audioSeconds > 0) this.realTimeFactor.observe({ model }, job.processingSeconds / job.audioSeconds);
  }

  /** A realtime server event was sent (turn events are counted). */
  realtimeEvent(type: string): void {
    const event = TURN_EVENTS[type];
    if (event) this.turns.inc({ event });
  }

  modelLoaded(model: string, seconds: number, ok: boolean): void {
    this.modelLoads.inc({ model, outcome: ok ? "ok" : "failed" });
    if (ok) this.modelLoadDuration.observe({ model }, seconds);
  }

  modelUnloaded(model: string, reason: "idle" | "evicted" | "closed"): void {
    this.modelUnloads.inc({ model, reason });
  }

  modelMemory(model: string, bytes: number): void {
    this.modelMemoryBytes.set({ model }, bytes);
  }

  /** The exposition text and its content type. */
  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
