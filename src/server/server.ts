// Starts Earshot's HTTP server: resolves and loads the models, listens, and shuts down gracefully.
import path from "node:path";

import type { FastifyInstance, FastifyServerOptions } from "fastify";

import { checkFfmpeg } from "../audio/index.js";
import { SileroVadModel } from "../audio/vad/index.js";
import type { WhisperEngine } from "../engine/WhisperEngine.js";
import { ModelError } from "../models/errors.js";
import { buildApp } from "./app.js";
import { ModelRegistry } from "../transcription/ModelRegistry.js";
import { TranscriptionService } from "../transcription/TranscriptionService.js";
import { ConfigError, describeConfig, type ServerConfig } from "../config.js";
import { ClientSecretStore } from "./realtime/clientSecrets.js";
import { resolveTls, type TlsFiles } from "./tls.js";

export interface RunningServer {
  app: FastifyInstance;
  /** e.g. http://127.0.0.1:8000 (https:// with TLS) */
  url: string;
  /** The certificate served, when TLS is on. */
  tls?: TlsFiles;
  models: ModelRegistry;
  close(): Promise<void>;
}

export interface StartServerOptions {
  logger?: FastifyServerOptions["logger"];
  /** Parent directory for decoding temp files (tests point it at a directory they watch). */
  tempDir?: string;
  /** Where a generated self-signed certificate is kept; default beside the models directory. */
  tlsDir?: string;
}

export async function startServer(config: ServerConfig, options: StartServerOptions = {}): Promise<RunningServer> {
  let models: ModelRegistry;
  try {
    models = new ModelRegistry(config, {
      ...(config.parallelJobs ? { parallelJobs: config.parallelJobs } : {}),
      ...(config.threadsPerJob ? { threadsPerJob: config.threadsPerJob } : {}),
      maxQueuedJobs: config.maxQueuedJobs,
      useGpu: config.gpuOffload,
    });
  } catch (error) {
    if (error instanceof ModelError) throw new ConfigError(error.message);
    throw error;
  }
  await checkFfmpeg(config.ffmpegPath ? { ffmpegPath: config.ffmpegPath } : {}).catch((error: Error) => {
    throw new ConfigError(`FFmpeg is not usable (${config.ffmpegPath ?? "bundled"}): ${error.message}`);
  });

  // Before any model is loaded: a bad certificate stops startup with nothing to clean up.
  const tls = await resolveTls({ ...config, dir: options.tlsDir ?? path.join(path.dirname(config.modelsDir), "tls") });

  let defaultEngine: WhisperEngine | undefined;
  let vad: Promise<SileroVadModel> | undefined;
  const loadVad = () => {
    vad ??= SileroVadModel.load().catch((error: unknown) => {
      vad = undefined;
      throw error;
    });
    return vad;
  };
  const transcription = new TranscriptionService({
    models,
    decodeOptions: { ...(config.ffmpegPath ? { ffmpegPath: config.ffmpegPath } : {}), ...(options.tempDir ? { tempDir: options.tempDir } : {}) },
    defaultChunking: config.chunking,
    loadVad,
  });
  const app = buildApp(
    {
      transcription,
      models,
      loadVad,
      maxUploadBytes: Math.round(config.maxUploadMb * 1_048_576),
      apiKeys: config.apiKeys,
      corsOrigins: config.corsOrigins,
      clientSecrets: new ClientSecretStore(),
      realtimeLimits: {
        maxSessionSeconds: config.realtimeMaxSessionMinutes * 60,
        maxBufferSeconds: config.realtimeMaxBufferSeconds,
        maxMessageBytes: Math.round(config.realtimeMaxMessageMb * 1_048_576),
        idleTimeoutSeconds: config.realtimeIdleTimeoutSeconds,
      },
      defaultEngine: () => defaultEngine,
    },
    { logger: options.logger ?? { level: config.logLevel }, ...(tls ? { https: { key: tls.key, cert: tls.cert } } : {}) },
  );
  app.log.info({ config: describeConfig(config) }, "effective configuration");
  app.addHook("onClose", async () => {
    if (vad) await (await vad.catch(() => undefined))?.release();
  });
  if (config.apiKeys.length === 0) app.log.warn("no API keys configured (EARSHOT_API_KEYS): the API is open to anyone who can reach it");

  try {
    defaultEngine = await models.loadDefault();
  } catch (error) {
    throw new ConfigError(`could not load the model ${models.defaultModel.path}: ${(error as Error).message}`);
  }
  const { build, threadsPerJob, parallelJobs } = defaultEngine.info;
  app.log.info(
    { model: models.defaultModel.name, whisper: build.whisperVersion, threadsPerJob, parallelJobs, cpu: build.systemInfo.trim() },
    "model loaded",
  );

  let address: string;
  try {
    address = await app.listen({ host: config.host, port: config.port });
  } catch (error) {
    // e.g. EADDRINUSE: do not leave the loaded model behind
    await app.close().catch(() => undefined);
    await models.close();
    throw error;
  }
  const url = address.replace("[::1]", "localhost");
  if (tls) app.log.info({ cert: tls.certPath, selfSigned: tls.selfSigned }, "serving HTTPS and WSS");
  return {
    app,
    url,
    ...(tls ? { tls } : {}),
    models,
    async close() {
      await app.close();
      await models.close();
    },
  };
}
