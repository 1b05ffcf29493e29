import type { SileroVadModel } from "../audio/vad/index.js";
import type { WhisperEngine } from "../engine/WhisperEngine.js";
import type { ModelRegistry } from "../transcription/ModelRegistry.js";
import type { TranscriptionService } from "../transcription/TranscriptionService.js";
import type { ClientSecretStore } from "./realtime/clientSecrets.js";
import type { RealtimeLimits } from "./realtime/RealtimeSession.js";

/** What the routes share: the transcription service and its models, the limits, auth. */
export interface ServerContext {
  transcription: TranscriptionService;
  models: ModelRegistry;
  /** The process's Silero VAD (loaded on first use, released when the app closes). */
  loadVad: () => Promise<SileroVadModel>;
  maxUploadBytes: number;
  apiKeys: readonly string[];
  corsOrigins: readonly string[];
  /** Ephemeral secrets for realtime sockets. */
  clientSecrets: ClientSecretStore;
  realtimeLimits: RealtimeLimits;
  /** The default model's engine once it is loaded. */
  defaultEngine(): WhisperEngine | undefined;
}
