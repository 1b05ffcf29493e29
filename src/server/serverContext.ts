import type { DecodeAudioOptions } from "../audio/index.js";
import type { WhisperEngine } from "../engine/WhisperEngine.js";
import type { ModelRegistry } from "./ModelRegistry.js";
import type { ClientSecretStore } from "./realtime/clientSecrets.js";
import type { RealtimeLimits } from "./realtime/RealtimeSession.js";

/** What the routes share: the models, the limits, and how to decode. */
export interface ServerContext {
  models: ModelRegistry;
  maxUploadBytes: number;
  decodeOptions: Pick<DecodeAudioOptions, "ffmpegPath" | "tempDir">;
  apiKeys: readonly string[];
  corsOrigins: readonly string[];
  /** Ephemeral secrets for realtime sockets. */
  clientSecrets: ClientSecretStore;
  realtimeLimits: RealtimeLimits;
  /** The default model's engine once it is loaded. */
  defaultEngine(): WhisperEngine | undefined;
}
