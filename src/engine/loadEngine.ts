// Loads a model file on the engine its header names (modelKind.ts): the one door through which the server, the CLI
// and the benches get a TranscriptionEngine, whatever the model. Whisper-only options (flash attention, word
// alignment) are ignored by Parakeet.
import type { TranscriptionEngine } from "./engine.js";
import { ModelLoadError } from "./errors.js";
import { readModelKind } from "./modelKind.js";
import { ParakeetEngine } from "./ParakeetEngine.js";
import { WhisperEngine, type EngineOptions } from "./WhisperEngine.js";

/** Loads a Whisper or Parakeet ggml file; rejects with ModelLoadError when it is neither or does not load. */
export async function loadEngine(modelPath: string, options: EngineOptions = {}): Promise<TranscriptionEngine> {
  let kind;
  try {
    kind = await readModelKind(modelPath);
  } catch (error) {
    throw new ModelLoadError((error as Error).message, modelPath);
  }
  switch (kind) {
    case "whisper":
      return WhisperEngine.load(modelPath, options);
    case "parakeet":
      return ParakeetEngine.load(modelPath, options);
  }
}
