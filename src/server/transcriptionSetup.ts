// What `earshot serve` (server.ts) and `earshot worker` (workerServer.ts) both set up before anything else: the
// models (none loaded yet) once FFmpeg is known to run, then the one TranscriptionService with its VAD loaded on
// first use, after sweeping the temp dirs that killed Earshot processes left.
import os from "node:os";

import { checkFfmpeg, sweepStaleTempDirs } from "../audio/index.js";
import { SileroVadModel } from "../audio/vad/index.js";
import { ConfigError, settingLabel, type ServerConfig } from "../config.js";
import { AUTO_MODELS_MEMORY_SHARE } from "../config/groups/modelLoadingSettings.js";
import { ModelError } from "../models/errors.js";
import { ModelRegistry, type ModelLifecycleOptions } from "../transcription/ModelRegistry.js";
import { TranscriptionService } from "../transcription/TranscriptionService.js";
import { VoiceDiarization } from "../transcription/voiceDiarization.js";
import type { ModelPaths } from "../diarization/index.js";
import type { SpeakerModelKind } from "../models/catalogEntry.js";
import { defaultSpeakerModelPath, speakerModelPath } from "../models/speakerModelPath.js";
import { readOnnxMetadata } from "../models/onnx/onnxMetadata.js";

/** How the configured models come and go (docs/model-loading.md). */
export function modelLifecycle(config: ServerConfig): ModelLifecycleOptions {
  const budgetMb = config.modelsMemoryMb === "auto" ? (os.totalmem() * AUTO_MODELS_MEMORY_SHARE) / 1_048_576 : config.modelsMemoryMb;
  return {
    preload: config.preloadModels ?? [config.model],
    idleUnloadMs: config.modelIdleUnloadSeconds * 1000,
    memoryBudgetBytes: Math.floor(budgetMb * 1_048_576),
    loadWaitMs: config.modelLoadWaitSeconds * 1000,
  };
}

/** The configured models (resolved, not loaded), after checking FFmpeg; a ConfigError says what is wrong. */
export async function openModels(config: ServerConfig): Promise<ModelRegistry> {
  let models: ModelRegistry;
  try {
    models = new ModelRegistry(
      config,
      {
        ...(config.parallelJobs ? { parallelJobs: config.parallelJobs } : {}),
        ...(config.threadsPerJob ? { threadsPerJob: config.threadsPerJob } : {}),
        maxQueuedJobs: config.maxQueuedJobs,
        useGpu: config.gpuOffload,
        slotSharing: config.slotSharing,
        wordAlignment: config.wordAlignment,
        alignmentHeads: config.alignmentHeads,
      },
      modelLifecycle(config),
    );
  } catch (error) {
    if (error instanceof ModelError) throw new ConfigError(error.message);
    if (error instanceof RangeError) throw new ConfigError(`invalid ${settingLabel("preloadModels")}: ${error.message}`);
    throw error;
  }
  // Every served model is sized now (from its header): a file that is no model stops startup here, naming it.
  const oversized = await models.oversized().catch(async (error: Error) => {
    await models.close();
    throw new ConfigError(`could not load the model: ${error.message}`);
  });
  if (oversized) {
    await models.close();
    throw new ConfigError(`invalid ${settingLabel("modelsMemoryMb")}: ${oversized}`);
  }
  await checkFfmpeg(config.ffmpegPath ? { ffmpegPath: config.ffmpegPath } : {}).catch((error: Error) => {
    throw new ConfigError(`FFmpeg is not usable (${config.ffmpegPath ?? "bundled"}): ${error.message}`);
  });
  return models;
}

export interface TranscriptionSetup {
  transcription: TranscriptionService;
  /** Where FFmpeg is and where its temp files go: the options every decode of this process starts from. */
  decodeOptions: { ffmpegPath?: string; tempDir?: string };
  /** The Silero VAD, loaded on first call (a failed load is tried again at the next). */
  loadVad(): Promise<SileroVadModel>;
  /** Releases the VAD and the speaker models if they were loaded. */
  releaseVad(): Promise<void>;
  /** The stale temp dirs removed (to be logged). */
  swept: string[];
}

/**
 * Sweeps the decoder temp dirs of Earshot processes that were killed (kill -9, a crash) before they could remove
 * them, then makes the TranscriptionService over `models` (decoding temp files under `tempDir`, default the OS's).
 */
export async function startTranscription(config: ServerConfig, models: ModelRegistry, tempDir?: string): Promise<TranscriptionSetup> {
  let vad: Promise<SileroVadModel> | undefined;
  const loadVad = () => {
    vad ??= SileroVadModel.load().catch((error: unknown) => {
      vad = undefined;
      throw error;
    });
    return vad;
  };
  const swept = await sweepStaleTempDirs(tempDir);
  const decodeOptions = { ...(config.ffmpegPath ? { ffmpegPath: config.ffmpegPath } : {}), ...(tempDir ? { tempDir } : {}) };
  const speakerPaths = speakerModels(config);
  if (speakerPaths) await checkSpeakerModels(config, speakerPaths);
  const voices = new VoiceDiarization({
    paths: speakerPaths,
    threads: config.diarizationThreads,
    threshold: config.diarizationThreshold,
    matchThreshold: config.speakerMatchThreshold,
    maxRuns: config.maxDiarizations,
  });
  const transcription = new TranscriptionService({ models, decodeOptions, defaultChunking: config.chunking, loadVad, voices });
  return {
    transcription,
    decodeOptions,
    loadVad,
    async releaseVad() {
      if (vad) await (await vad.catch(() => undefined))?.release();
      await voices.close();
    },
    swept,
  };
}

/**
 * The speaker models' files: the configured ones (a ConfigError when one is not there), else the catalog defaults
 * when both are in the models directory, else none (diarized_json by channel only).
 */
export function speakerModels(config: Pick<ServerConfig, "modelsDir" | "segmentationModel" | "speakerEmbeddingModel">): ModelPaths | undefined {
  const resolve = (key: "segmentationModel" | "speakerEmbeddingModel", kind: SpeakerModelKind) => {
    const configured = config[key];
    if (configured === undefined) return defaultSpeakerModelPath(config.modelsDir, kind);
    try {
      return speakerModelPath(config.modelsDir, configured, kind);
    } catch (error) {
      throw new ConfigError(`invalid ${settingLabel(key)}: ${(error as Error).message}`);
    }
  };
  const segmentation = resolve("segmentationModel", "segmentation");
  const embedding = resolve("speakerEmbeddingModel", "speaker-embedding");
  if (segmentation && embedding) return { segmentation, embedding };
  if (config.segmentationModel !== undefined || config.speakerEmbeddingModel !== undefined) {
    const missing = segmentation ? "speakerEmbeddingModel" : "segmentationModel";
    throw new ConfigError(`${settingLabel(missing)} is needed too: telling voices apart takes both speaker models`);
  }
  return undefined;
}

/**
 * The speaker model files are ONNX models (read from their header and metadata, not loaded: they load on the first
 * recording told apart by voice); a ConfigError naming the setting otherwise, so a wrong file stops startup.
 */
async function checkSpeakerModels(config: Pick<ServerConfig, "segmentationModel" | "speakerEmbeddingModel">, paths: ModelPaths): Promise<void> {
  const check = async (key: "segmentationModel" | "speakerEmbeddingModel", path: string) => {
    await readOnnxMetadata(path).catch((error: Error) => {
      throw new ConfigError(`invalid ${settingLabel(key)}: ${path}: ${error.message}`);
    });
  };
  await check("segmentationModel", paths.segmentation);
  await check("speakerEmbeddingModel", paths.embedding);
}
