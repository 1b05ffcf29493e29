import type { DecodeAudioOptions } from "../audio/index.js";
import type { WhisperEngine } from "../engine/WhisperEngine.js";
import type { ModelRegistry } from "./ModelRegistry.js";

/** What the routes share: the models, the limits, and how to decode. */
export interface ServerContext {
  models: ModelRegistry;
  maxUploadBytes: number;
  decodeOptions: Pick<DecodeAudioOptions, "ffmpegPath" | "tempDir">;
  apiKeys: readonly string[];
  corsOrigins: readonly string[];
  /** The default model's engine once it is loaded. */
  defaultEngine(): WhisperEngine | undefined;
}
