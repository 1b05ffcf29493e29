// Settings table, group "Models and engine": what is served, and how whisper.cpp runs it.
import { z } from "zod";

import { configuredBaseUrl } from "../../models/catalog.js";
import { list, positiveInt, yesNo } from "../schemas.js";
import type { Setting } from "../setting.js";

/** OpenAI's transcription model ids (openai-node's AudioModel and the 2026 ids): each an alias of the default model. */
export const DEFAULT_ALIASES = [
  "whisper-1",
  "gpt-4o-transcribe",
  "gpt-4o-mini-transcribe",
  "gpt-4o-mini-transcribe-2025-12-15",
  "gpt-4o-transcribe-diarize",
  "gpt-transcribe",
  "gpt-live-transcribe",
  "gpt-realtime-whisper",
] as const;

export const engineSettings = {
  model: {
    env: "EARSHOT_MODEL",
    flag: "-m, --model <name|path>",
    commands: ["serve", "worker", "transcribe"],
    schema: z.string().min(1).default("base"),
    doc: "the model: a name (see earshot models list) or a ggml file's path (on the server: the default model, behind the aliases)",
    note: "A name is looked up in the models directory (`earshot models pull <name>` installs it); a missing or broken file stops startup, naming it.",
  },
  extraModels: {
    env: "EARSHOT_EXTRA_MODELS",
    flag: "--extra-models <list>",
    commands: ["serve", "worker"],
    schema: list.default([]),
    doc: "more models to serve beside the default, comma-separated (names or paths)",
  },
  aliases: {
    env: "EARSHOT_MODEL_ALIASES",
    flag: "--aliases <list>",
    commands: ["serve", "worker"],
    schema: list.default([...DEFAULT_ALIASES]),
    doc: "model ids served by other models, comma-separated: alias (the default model) or alias=model",
  },
  modelsDir: {
    env: "EARSHOT_MODELS_DIR",
    flag: "--models-dir <dir>",
    commands: ["serve", "worker", "transcribe", "models"],
    schema: z.string().min(1).optional(),
    doc: "where models are stored and where a model name is looked up",
    note: "`~` is expanded; a relative path is taken from the working directory.",
    defaultText: "`$XDG_CACHE_HOME/earshot/models`, else `~/.cache/earshot/models`",
  },
  modelsBaseUrl: {
    env: "EARSHOT_MODELS_BASE_URL",
    flag: "--base-url <url>",
    commands: ["models"],
    schema: z.string().min(1).optional().transform(configuredBaseUrl),
    doc: "server that earshot models pull downloads every model file from (a mirror): Whisper and Parakeet files under their published names, speaker models under their local names (`pyannote-segmentation-3.0.onnx`)",
    note: "Trailing slashes are removed. Downloads resume and are checked against SHA-256 wherever they come from. See [models](models.md#mirrors).",
    defaultText: "each model's own source: ggerganov/whisper.cpp for Whisper, ggml-org/parakeet-GGUF for Parakeet, csukuangfj/sherpa-onnx-pyannote-segmentation-3-0 and sherpa-onnx's GitHub release for the speaker models",
  },
  parallelJobs: {
    env: "EARSHOT_PARALLEL_JOBS",
    flag: "--parallel-jobs <n>",
    commands: ["serve", "worker", "transcribe"],
    schema: positiveInt.optional(),
    doc: "engine job slots: transcriptions (or chunks) run at once",
    defaultText: "cores / threads per job",
  },
  threadsPerJob: {
    env: "EARSHOT_THREADS",
    flag: "--threads-per-job <n>",
    commands: ["serve", "worker", "transcribe"],
    flagOn: ["serve", "worker"],
    ownFlags: { transcribe: "--threads <n>" },
    schema: positiveInt.optional(),
    doc: "CPU threads per engine job",
    defaultText: "min(4, cores)",
  },
  maxQueuedJobs: {
    env: "EARSHOT_MAX_QUEUED_JOBS",
    flag: "--max-queued-jobs <n>",
    commands: ["serve"],
    schema: z.coerce.number().int().min(0).default(16),
    doc: "requests waiting for a job slot; the next gets 429",
    note: "Checked before the body is read: admitted uploads never outnumber the slots and queue places. Batch jobs neither count against it nor are refused by it.",
  },
  gpuOffload: {
    env: "EARSHOT_GPU_OFFLOAD",
    flag: "--no-gpu-offload",
    commands: ["serve", "worker", "transcribe"],
    schema: yesNo.default(true),
    doc: "a CUDA build runs on the GPU; off (0, --no-gpu-offload) keeps it on the CPU",
    note: "On the GPU the model's weights live there, every job slot is a `whisper_state` there, and shared job slots are off. The build itself is chosen by `EARSHOT_GPU` (below).",
  },
  slotSharing: {
    env: "EARSHOT_SLOT_SHARING",
    flag: "--no-slot-sharing",
    commands: ["serve", "worker", "transcribe"],
    schema: yesNo.default(true),
    doc: "a CPU job slot of two threads or more may run two chunks side by side, its threads split; off (0, --no-slot-sharing): one job at a time on all its threads, as whisper-cli",
  },
  wordAlignment: {
    env: "EARSHOT_WORD_ALIGNMENT",
    flag: "--word-alignment <method>",
    commands: ["serve", "worker", "transcribe"],
    schema: z.enum(["dtw", "heuristic"]).default("dtw"),
    doc: "how word times are made: dtw (whisper's attention alignment, one extra decoder pass per 30 s for requests that ask for words) or heuristic (whisper.cpp's token timestamps: free, less accurate)",
    note: "Either way words are kept inside their segment and moved out of the silences the VAD finds. See [how words are timed](http-api.md#word-timestamps).",
  },
  alignmentHeads: {
    env: "EARSHOT_ALIGNMENT_HEADS",
    flag: "--alignment-heads <heads>",
    commands: ["serve", "worker", "transcribe"],
    schema: z.string().min(1).default("auto"),
    doc: "the cross-attention heads DTW reads: auto (the preset of the model's shape, else every head of its upper text layers), a preset (tiny, base.en, large-v3-turbo, ...), top:N, or layer:head pairs (3:1,4:2)",
  },
  chunking: {
    env: "EARSHOT_CHUNKING",
    flag: "--chunking <mode>",
    commands: ["serve", "transcribe"],
    flagOn: ["serve"],
    ownFlags: { transcribe: "--chunking <mode>" },
    schema: z.enum(["auto", "none"]).default("none"),
    doc: "chunking of requests that set no chunking_strategy: none (one block, as OpenAI) or auto (VAD chunks, silence skipped, run in parallel)",
    note: "Also `/api/transcribe` (the browser app). `earshot transcribe --chunking` also takes a `server_vad` JSON object.",
  },
  ffmpegPath: {
    env: "EARSHOT_FFMPEG_PATH",
    flag: "--ffmpeg-path <path>",
    commands: ["serve", "worker", "transcribe"],
    schema: z.string().min(1).optional(),
    doc: "FFmpeg binary",
    defaultText: "the bundled one (`@ffmpeg-installer/ffmpeg`)",
  },
} as const satisfies Record<string, Setting>;
