// Which decoding options each engine can honour: the one table both the engines (a backstop) and the transcription
// layer (which refuses a request before any work, naming the request field) read. Whisper takes every option.
// A Parakeet TDT model is a transducer decoded greedily: no prompt, no sampling temperature, no beam, no translation;
// it recognises the languages it was trained on by itself and cannot be steered to one.
import type { EngineKind, TranscriptionOptions } from "./engine.js";

/** Parakeet TDT 0.6B v3's 25 European languages (NVIDIA's model card), as ISO-639-1 codes. */
export const PARAKEET_V3_LANGUAGES: readonly string[] = [
  "bg", "hr", "cs", "da", "nl", "en", "et", "fi", "fr", "de", "el", "hu", "it",
  "lv", "lt", "mt", "pl", "pt", "ro", "sk", "sl", "es", "sv", "ru", "uk",
];

/** What a loaded or not-yet-loaded model is, as far as its options go. */
export interface ModelFacts {
  kind: EngineKind;
  /** False for a model of one language (English). */
  multilingual: boolean;
}

/** An option the model cannot honour, and why (in words for the client). */
export interface OptionRefusal {
  option: "task" | "prompt" | "temperature" | "beamSize" | "language" | "languages";
  message: string;
  code: "unsupported_parameter" | "unsupported_language";
}

/** The languages a model recognises: undefined for "any of Whisper's". */
export function modelLanguages(facts: ModelFacts): readonly string[] | undefined {
  if (facts.kind === "whisper") return facts.multilingual ? undefined : ["en"];
  return facts.multilingual ? PARAKEET_V3_LANGUAGES : ["en"];
}

/** Whether the model conditions on text (a prompt, keywords, earlier turns' words). */
export function takesPrompt(facts: ModelFacts): boolean {
  return facts.kind === "whisper";
}

/** The first option of `options` the model cannot honour, or undefined when it can do them all. */
export function refusedOption(facts: ModelFacts, options: TranscriptionOptions): OptionRefusal | undefined {
  if (facts.kind === "whisper") return undefined;
  const model = "A Parakeet model";
  if (options.task === "translate") return { option: "task", message: `${model} transcribes only; it cannot translate. Use a Whisper model for translations.`, code: "unsupported_parameter" };
  if (options.prompt !== undefined && options.prompt !== "") return { option: "prompt", message: `${model} takes no prompt: a transducer cannot be conditioned on text. Leave prompt (and keywords) out, or use a Whisper model.`, code: "unsupported_parameter" };
  if ((options.temperature ?? 0) > 0) return { option: "temperature", message: `${model} decodes greedily; only temperature 0 is supported.`, code: "unsupported_parameter" };
  if ((options.beamSize ?? 1) > 1) return { option: "beamSize", message: `${model} decodes greedily; beam search is not supported.`, code: "unsupported_parameter" };
  const languages = modelLanguages(facts)!;
  const outside = (code: string) => !languages.includes(code.toLowerCase());
  const unsupported = (code: string): string => `${model} of ${facts.multilingual ? "25 European languages" : "English only"} does not recognise "${code}" (it recognises ${languages.join(", ")}).`;
  if (options.language && options.language !== "auto" && outside(options.language)) return { option: "language", message: unsupported(options.language), code: "unsupported_language" };
  const candidate = options.languages?.find(outside);
  if (candidate) return { option: "languages", message: unsupported(candidate), code: "unsupported_language" };
  return undefined;
}
