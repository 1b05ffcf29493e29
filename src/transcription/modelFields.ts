// A request's settings against what its model can do (src/engine/engineFields.ts), refused before any work with a
// 400 naming the request field: a prompt to a Parakeet model, a translation, a temperature above 0, a language the
// model does not know. Read from the model file's header, so a model not loaded yet is not loaded for a refusal.
import type { TranscriptionOptions } from "../engine/engine.js";
import { refusedOption, type ModelFacts } from "../engine/engineFields.js";
import { InvalidSettingError } from "./errors.js";
import type { TranscriptionSettings } from "./settings.js";

/** The request field each engine option comes from. */
function requestField(option: string, settings: TranscriptionSettings): string {
  switch (option) {
    case "task":
      return "model";
    case "prompt":
      return settings.prompt ? "prompt" : "keywords";
    case "beamSize":
      return "beam_size";
    default:
      return option;
  }
}

/** Throws InvalidSettingError naming the first request field `facts`' model cannot honour (`options`: the settings in the engine's terms). */
export function checkModelFields(facts: ModelFacts, settings: TranscriptionSettings, options: TranscriptionOptions): void {
  const refusal = refusedOption(facts, options);
  if (refusal) throw new InvalidSettingError(requestField(refusal.option, settings), refusal.message, refusal.code);
}
