// Starts Earshot's HTTP server: resolves and loads the models, sweeps the temp dirs a killed Earshot left, listens,
// and shuts down gracefully (in-flight requests get the drain deadline, then are aborted).
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

import type { FastifyInstance, FastifyServerOptions } from "fastify";

import { decodeAudio, DECODED_BYTES_PER_SECOND } from "../audio/index.js";
import { tempDirPrefix } from "../audio/tempDirs.js";
import type { TranscriptionEngine } from "../engine/engine.js";
import { jobSlots } from "../engine/jobSlots.js";
import { JobsRuntime } from "../jobs/jobsRuntime.js";
import { buildApp } from "./app.js";
import { ApiKeys } from "./auth.js";
import type { ModelRegistry } from "../transcription/ModelRegistry.js";
import { ConfigError, describeConfig, type ServerConfig } from "../config.js";
import { ClientSecretStore } from "./realtime/clientSecrets.js";
import { resolveTls, type TlsFiles } from "./tls.js";
import { openModels, startTranscription } from "./transcriptionSetup.js";
import { UploadAdmission } from "./uploadAdmission.js";
import { startWyomingListener, type WyomingListener } from "./wyoming/wyomingListener.js";
import { SAMPLE_RATE } from "../engine/sampleRate.js";

export interface RunningServer {
  app: FastifyInstance;
  /** e.g. http://127.0.0.1:8000 (https:// with TLS) */
  url: string;
  /** The certificate served, when TLS is on. */
  tls?: TlsFiles;
  models: ModelRegistry;
  /** The Wyoming listener, when EARSHOT_WYOMING is set: the port it listens on. */
  wyoming?: { port: number };
  /**
   * /ready answers 503 "draining" at once; new work is still taken for `drainAcceptSeconds` (a load balancer takes
   * the server out meanwhile). Then drains (new uploads and realtime sessions 503), lets in-flight requests and realtime
   * sessions' committed turns finish for up to the drain deadline (`drainTimeoutSeconds`), stops listening, aborts
   * what is still running then (their decoders and jobs stop, temp files go), and unloads the models. Calling it again returns the same promise.
   */
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
  const models = await openModels(config);

  // Before any model is loaded: a bad certificate stops startup with nothing to clean up.
  const tls = await resolveTls({ ...config, dir: options.tlsDir ?? path.join(path.dirname(config.modelsDir), "tls") });

  // The default model's engine while it is loaded (the models load and unload on demand: see ModelRegistry).
  const defaultEngine = (): TranscriptionEngine | undefined => models.loadedEngine(models.defaultModel.name);
  const setup = await startTranscription(config, models, options.tempDir).catch(async (error: unknown) => {
    await models.close();
    throw error;
  });
  const { transcription, loadVad, releaseVad, swept } = setup;
  const decodeOptions = { ...setup.decodeOptions, maxDurationSeconds: config.maxDecodedSeconds };
  const admission = new UploadAdmission({
    maxDecodes: config.maxConcurrentDecodes,
    budgetBytes: Math.floor(config.maxDecodedAudioMb * 1_048_576),
    // What a decoder allocates first (30 s of samples, or the whole cap when it is shorter).
    initialLeaseBytes: Math.ceil(Math.min(30, config.maxDecodedSeconds) * SAMPLE_RATE) * 4,
    engines: () => models.loaded().map(({ engine }) => engine),
    placesPerEngine: enginePlaces(config),
  });
  let jobs: JobsRuntime | undefined;
  const app = buildApp(
    {
      transcription,
      models,
      jobs: () => jobs,
      jobUploadTimeoutMs: config.jobsUploadTimeoutSeconds * 1000,
      loadVad,
      maxUploadBytes: Math.round(config.maxUploadMb * 1_048_576),
      admission,
      // FFmpeg runs at its default low priority when many decodes run at once (so they cannot starve the event
      // loop); while no more decodes run than there are job slots, at full priority: a chunked transcription
      // decodes and transcribes side by side, and a starved decoder would hold back its chunks.
      decode: (input, decode) =>
        decodeAudio(input, {
          ...decodeOptions,
          ...(admission.decodingNow <= (defaultEngine()?.info.parallelJobs ?? 1) ? { ffmpegNice: 0 } : {}),
          ...decode,
        }),
      uploadIdleTimeoutMs: config.uploadIdleTimeoutSeconds * 1000,
      uploadTimeoutMs: config.uploadTimeoutSeconds * 1000,
      apiKeys: new ApiKeys(config.apiKeys),
      corsOrigins: config.corsOrigins,
      clientSecrets: new ClientSecretStore({ key: config.secretKey }),
      realtimeLimits: {
        maxSessionSeconds: config.realtimeMaxSessionMinutes * 60,
        maxBufferSeconds: config.realtimeMaxBufferSeconds,
        maxMessageBytes: Math.round(config.realtimeMaxMessageMb * 1_048_576),
        idleTimeoutSeconds: config.realtimeIdleTimeoutSeconds,
        maxSessions: config.realtimeMaxSessions,
        maxSessionsPerKey: config.realtimeMaxSessionsPerKey,
        maxSocketsPerSecret: config.realtimeMaxSocketsPerSecret,
        maxSpeed: config.realtimeMaxSpeed,
      },
      webrtc: {
        udpPorts: config.webrtcUdpPorts,
        announceAddresses: config.webrtcAnnounceAddresses,
        connectTimeoutMs: config.webrtcConnectTimeoutSeconds * 1000,
      },
      defaultEngine,
      metricsExposure: config.metrics,
    },
    { logger: options.logger ?? { level: config.logLevel }, ...(tls ? { https: { key: tls.key, cert: tls.cert } } : {}) },
  );
  app.log.info({ config: describeConfig(config) }, "effective configuration");
  if (swept.length > 0) app.log.info({ removed: swept }, "removed the temp dirs of Earshot processes that are gone");
  app.addHook("onClose", releaseVad);
  if (config.apiKeys.length === 0) app.log.warn("no API keys configured (EARSHOT_API_KEYS): the API is open to anyone who can reach it");
  // Batch jobs: their store opens before the model loads (a data dir another server holds stops startup at once).
  try {
    jobs = JobsRuntime.open(config, { transcription, log: app.log.child({ component: "jobs" }), tempDir: options.tempDir });
  } catch (error) {
    throw new ConfigError(`could not open the batch jobs store (${config.redisUrl ? "EARSHOT_REDIS_URL" : config.dataDir}): ${(error as Error).message}`);
  }
  const closeJobs = () => jobs?.close() ?? Promise.resolve();

  try {
    await models.preload();
  } catch (error) {
    await closeJobs();
    await models.close();
    throw new ConfigError(`could not load the model ${(error as { modelPath?: string }).modelPath ?? models.defaultModel.path}: ${(error as Error).message}`);
  }
  for (const { model, engine } of models.loaded()) {
    const { build, threadsPerJob, parallelJobs, slotSharing, kind } = engine.info;
    app.log.info({ model, engine: kind, whisper: build.whisperVersion, threadsPerJob, parallelJobs, slotSharing, cpu: build.systemInfo.trim() }, "model loaded");
  }

  let address: string;
  try {
    address = await app.listen({ host: config.host, port: config.port });
  } catch (error) {
    // e.g. EADDRINUSE: do not leave the loaded model behind
    await app.close().catch(() => undefined);
    await closeJobs();
    await models.close();
    throw error;
  }
  let wyoming: WyomingListener | undefined;
  if (config.wyoming) {
    try {
      wyoming = await startWyomingListener({
        app,
        host: config.wyoming.host,
        port: config.wyoming.port,
        zeroconf: config.wyomingZeroconf,
        delay: config.wyomingDelay,
        models,
        limits: { maxBufferSeconds: config.realtimeMaxBufferSeconds, maxSessionSeconds: config.realtimeMaxSessionMinutes * 60 },
        draining: () => admission.draining,
      });
    } catch (error) {
      await app.close().catch(() => undefined);
      await closeJobs();
      await models.close();
      throw new ConfigError(`could not listen for Wyoming on ${config.wyoming.host}:${config.wyoming.port}: ${(error as Error).message}`);
    }
  }
  const url = address.replace("[::1]", "localhost");
  if (tls) app.log.info({ cert: tls.certPath, selfSigned: tls.selfSigned }, "serving HTTPS and WSS");
  app.log.info(
    {
      maxDecodedSeconds: config.maxDecodedSeconds,
      maxDecodedAudioMb: config.maxDecodedAudioMb,
      maxConcurrentDecodes: admission.maxDecodes,
      worstCaseDecodedAudioMb: Math.round((config.maxDecodedSeconds * DECODED_BYTES_PER_SECOND) / 1_048_576),
    },
    "upload limits",
  );
  // Queued jobs (those left by an earlier run too) start now.
  jobs.startWorker();
  let closing: Promise<void> | undefined;
  return {
    app,
    url,
    ...(tls ? { tls } : {}),
    models,
    ...(wyoming ? { wyoming: { port: wyoming.port } } : {}),
    close() {
      // A running batch job stops at once (within one encoder pass) and stays queued for the next start: shutdown
      // never waits for batch work. The API keeps answering job requests during the drain.
      const workerStopped = jobs?.stopWorker() ?? Promise.resolve();
      closing ??= leavePool(app, admission, config.drainAcceptSeconds * 1000)
        .then(() => drainAndClose(app, admission, config.drainTimeoutSeconds * 1000))
        // The Wyoming sessions drained with the others (app.realtime); those left at the deadline are cut here.
        .then(() => wyoming?.close())
        .then(() => decodesSettled(admission, options.tempDir ?? os.tmpdir(), DECODE_CLEANUP_MS))
        .then(() => workerStopped)
        .then(closeJobs)
        .then(() => models.close());
      return closing;
    },
  };
}

/** One engine's job slots and queue places with these settings (as the engine will size them). */
function enginePlaces(config: ServerConfig): number {
  const slots = jobSlots({ ...(config.parallelJobs ? { parallelJobs: config.parallelJobs } : {}), ...(config.threadsPerJob ? { threadsPerJob: config.threadsPerJob } : {}), maxQueuedJobs: config.maxQueuedJobs });
  return slots.parallelJobs + slots.maxQueuedJobs;
}

/** How long close() waits, after the connections are gone, for aborted decoders to exit and remove their temp files. */
const DECODE_CLEANUP_MS = 5_000;

/**
 * Resolves once no decode is running and this process's decoder temp dirs are gone (an aborted decoder kills its
 * FFmpeg, then removes its dir: its slot may be given back before that), or after `ms`.
 */
async function decodesSettled(admission: UploadAdmission, tempParent: string, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  const prefix = tempDirPrefix();
  const ownDirsLeft = () => {
    try {
      return fs.readdirSync(tempParent).some((name) => name.startsWith(prefix));
    } catch {
      return false;
    }
  };
  while ((admission.stats().decoding > 0 || ownDirsLeft()) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
}

/**
 * Shutdown's first step: /ready answers 503 "draining" while uploads and realtime sessions are still admitted for
 * `acceptMs`. A load balancer notices only at its next health checks; what it sends meanwhile is served, rather than
 * refused with a 503 it could not replay (a proxy replays only requests that fit in its buffer, not uploads).
 */
async function leavePool(app: FastifyInstance, admission: UploadAdmission, acceptMs: number): Promise<void> {
  admission.leave();
  if (acceptMs <= 0) return;
  app.log.info({ acceptSeconds: acceptMs / 1000 }, "shutting down: /ready answers 503, still taking work until the load balancer notices");
  await new Promise((resolve) => setTimeout(resolve, acceptMs));
}

/**
 * Drains, then closes the app. At once: /ready answers 503 ("draining"), new uploads and realtime sessions get 503
 * with Retry-After, realtime sessions stop taking audio (see RealtimeSession.drain); the server keeps listening so
 * that load balancers see the 503s. Uploads in flight (plain and streamed) and realtime sessions' committed turns
 * may finish within `drainMs`; then the app closes (no new connections). What is still running at the deadline
 * is aborted: its connection destroyed (a destroyed request aborts its decoder and its transcription), a
 * realtime session closed with 1001.
 */
async function drainAndClose(app: FastifyInstance, admission: UploadAdmission, drainMs: number): Promise<void> {
  admission.drain();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<"deadline">((resolve) => {
    timer = setTimeout(() => resolve("deadline"), drainMs);
  });
  let idleSweep: NodeJS.Timeout | undefined;
  try {
    const work = Promise.all([app.realtime.drain(), uploadsDone(admission, deadline)]).then(() => "drained" as const);
    let outcome: "drained" | "closed" | "deadline" = await Promise.race([work, deadline]);
    const closed = app.close();
    // Connections that finish their last response become idle: close them as they do, not after keep-alive.
    idleSweep = setInterval(() => app.server.closeIdleConnections(), 100);
    if (outcome !== "deadline") outcome = await Promise.race([closed.then(() => "closed" as const), deadline]);
    if (outcome === "deadline") {
      app.log.warn({ drainSeconds: drainMs / 1000 }, "drain deadline passed: aborting the requests still in flight");
      app.server.closeAllConnections();
      await closed;
    }
  } finally {
    clearTimeout(timer);
    clearInterval(idleSweep);
  }
}

/** Resolves once no upload is in flight (each admitted upload holds its ticket until its response has closed). */
async function uploadsDone(admission: UploadAdmission, until: Promise<unknown>): Promise<void> {
  let over = false;
  void until.then(() => (over = true));
  while (admission.stats().uploads > 0 && !over) await new Promise((resolve) => setTimeout(resolve, 20));
}
