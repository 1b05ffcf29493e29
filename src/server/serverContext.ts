import type { Readable } from "node:stream";

import type { DecodeAudioOptions, DecodedAudio } from "../audio/index.js";
import type { SileroVadModel } from "../audio/vad/index.js";
import type { TranscriptionEngine } from "../engine/engine.js";
import type { JobsRuntime } from "../jobs/jobsRuntime.js";
import type { ModelRegistry } from "../transcription/ModelRegistry.js";
import type { TranscriptionService } from "../transcription/TranscriptionService.js";
import type { ApiKeys } from "./auth.js";
import type { MetricsExposure, ServerMetrics } from "./metrics.js";
import type { ClientSecretStore } from "./realtime/clientSecrets.js";
import type { RealtimeLimits } from "./realtime/realtimeLimits.js";
import type { WebRtcSettings } from "./realtime/webrtc/peerConnection.js";
import type { UploadAdmission } from "./uploadAdmission.js";

/** What the routes share: the transcription service and its models, the limits, auth. */
export interface ServerContext {
  transcription: TranscriptionService;
  models: ModelRegistry;
  /** The process's Silero VAD (loaded on first use, released when the app closes). */
  loadVad: () => Promise<SileroVadModel>;
  maxUploadBytes: number;
  /** Admission of uploads (decode slots, the decoded-audio memory budget) before their body is read. */
  admission: UploadAdmission;
  /**
   * Decodes an upload with the server's FFmpeg, temp dir and decoded-seconds cap (refused from the header when it
   * declares more).
   */
  decode(input: Readable, options: Pick<DecodeAudioOptions, "signal" | "onSamples" | "memory" | "channels" | "maxChannels" | "keepInput">): Promise<DecodedAudio>;
  /** An upload that sends nothing for this long gets a 408. */
  uploadIdleTimeoutMs: number;
  /** An upload not received whole this long after it started gets a 408. */
  uploadTimeoutMs: number;
  /** The API keys (none: an open API); see auth.ts. */
  apiKeys: ApiKeys;
  corsOrigins: readonly string[];
  /** Ephemeral secrets for realtime sockets. */
  clientSecrets: ClientSecretStore;
  realtimeLimits: RealtimeLimits;
  /** Where WebRTC calls receive their media (UDP ports, announced addresses) and their connect deadline. */
  webrtc: WebRtcSettings;
  /** The default model's engine once it is loaded. */
  defaultEngine(): TranscriptionEngine | undefined;
  /** GET /metrics: open (default), behind the API keys, or off (404). */
  metricsExposure?: MetricsExposure;
  /** The app's metrics (set by buildApp unless metrics are off). */
  metrics?: ServerMetrics;
  /** Batch jobs (POST /v1/audio/jobs, ...), once open; the routes answer 503 while there are none. */
  jobs?: () => JobsRuntime | undefined;
  /** A job upload not received whole this long after it started gets a 408 (Node's request timeout allows for it). */
  jobUploadTimeoutMs?: number;
}
