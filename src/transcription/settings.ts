// What to transcribe and how, in one shape for every entry point: the HTTP form fields (request.ts), the CLI's
// flags and a realtime session's transcription settings all become TranscriptionSettings, validated by the same
// functions, so a language, a temperature or a chunking strategy means the same thing everywhere.
import type { Task } from "../engine/types.js";
import { normalizeLanguage } from "./languages.js";
import { InvalidSettingError } from "./errors.js";
import { ENGINE_PROMPT_BYTES, ENGINE_PROMPT_RUN_BYTES, KEYWORD_FORBIDDEN, MAX_KEYWORD_LENGTH, MAX_KEYWORDS, MAX_LANGUAGES, MAX_PROMPT_BYTES, quoted } from "./fieldLimits.js";

/** OpenAI's `chunking_strategy`: "auto", or server_vad with its three settings (undefined: the defaults). */
export interface ChunkingStrategy {
  type: "auto" | "server_vad";
  prefixPaddingMs?: number;
  silenceDurationMs?: number;
  threshold?: number;
}

/** A server-wide or per-call choice: chunk with VAD ("auto"), or decode as one block ("none"). */
export type ChunkingMode = "auto" | "none";

export interface TranscriptionSettings {
  /** The model id the client asked for (a served name or alias). */
  model: string;
  task: Task;
  /** ISO-639-1; undefined: detect. */
  language?: string | undefined;
  /** ISO-639-1 codes the detection may choose from (OpenAI `languages[]`); one code: that language. */
  languages?: string[] | undefined;
  /** Words to bias recognition toward (OpenAI `keywords[]`): put in the decoder prompt ahead of `prompt`. */
  keywords?: string[] | undefined;
  prompt?: string | undefined;
  /**
   * Text said just before this audio (a realtime turn's confirmed words), never a client's field: put in the decoder
   * prompt after `prompt` where the model conditions on text, dropped where it cannot (Parakeet), unlike a client's
   * prompt, which such a model refuses.
   */
  context?: string | undefined;
  temperature?: number | undefined;
  wordTimestamps?: boolean | undefined;
  /** Beam width (CLI only; the HTTP API decodes greedily as OpenAI documents nothing else). */
  beamSize?: number | undefined;
  /** null: one block; undefined: the server's default. */
  chunking?: ChunkingStrategy | null | undefined;
  /** "fit": a quick provisional pass with the encoder over the audio's own length (realtime live partials). */
  encoderContext?: "full" | "fit" | undefined;
}

/** A language as a client may write it ("en", "English", "auto"): the ISO code, or undefined for detection. */
export function languageSetting(value: string | undefined, param = "language"): string | undefined {
  if (value === undefined || value === "" || value === "auto") return undefined;
  const code = normalizeLanguage(value);
  if (!code) throw new InvalidSettingError(param, `Invalid language ${quoted(value)}. Language parameter must be specified in ISO-639-1 format.`, "unsupported_language");
  return code;
}

/** `languages[]`: each as {@link languageSetting} reads it, duplicates dropped. */
export function languagesSetting(values: readonly string[], param = "languages"): string[] | undefined {
  if (values.length === 0) return undefined;
  if (values.length > MAX_LANGUAGES) throw new InvalidSettingError(param, `'${param}' holds ${values.length} entries; at most ${MAX_LANGUAGES} are allowed.`);
  const codes: string[] = [];
  for (const value of values) {
    const code = languageSetting(value, param);
    if (!code) throw new InvalidSettingError(param, `Invalid value in '${param}': ${quoted(value)}. Each entry must be an ISO-639-1 language code.`, "unsupported_language");
    if (!codes.includes(code)) codes.push(code);
  }
  return codes;
}

/**
 * `language` beside `languages[]`: refused, as OpenAI refuses it ("`languages` replaces `language`: do not send both",
 * its speech-to-text guide for gpt-transcribe). Refused for every model here, the field meaning the same everywhere.
 * Called with the values in effect (a form's, or a realtime session's once an update is applied), `param` naming the
 * `languages` field; an empty or "auto" `language` is no language (detection) and conflicts with nothing.
 */
export function checkLanguageFields(language: string | null | undefined, languages: readonly string[] | undefined, param = "languages"): void {
  if (language && languages && languages.length > 0) {
    const languageParam = param.replace(/languages$/, "language");
    throw new InvalidSettingError(
      param,
      `'${param}' and '${languageParam}' cannot be used together: 'languages' replaces 'language', give one of them.`,
    );
  }
}

/**
 * `keywords[]`: trimmed, empty ones dropped; more than MAX_KEYWORDS, one longer than MAX_KEYWORD_LENGTH, or one holding
 * a character of KEYWORD_FORBIDDEN is a 400 (or a realtime error event) naming the param.
 */
export function keywordsSetting(values: readonly string[], param = "keywords"): string[] | undefined {
  const keywords = values.map((v) => v.trim()).filter((v) => v !== "");
  if (keywords.length > MAX_KEYWORDS) throw new InvalidSettingError(param, `'${param}' holds ${keywords.length} entries; at most ${MAX_KEYWORDS} are allowed.`);
  // Checked on the value as sent, before trimming: OpenAI refuses a keyword holding a line break at either end too.
  const forbidden = values.findIndex((v) => KEYWORD_FORBIDDEN.test(v));
  if (forbidden >= 0) {
    throw new InvalidSettingError(param, `Entry ${forbidden} of '${param}' holds '<', '>', a carriage return or a line feed: each keyword must be one line without angle brackets.`);
  }
  const long = keywords.find((k) => k.length > MAX_KEYWORD_LENGTH);
  if (long) throw new InvalidSettingError(param, `Each entry of '${param}' must be at most ${MAX_KEYWORD_LENGTH} characters.`);
  return keywords.length > 0 ? keywords : undefined;
}

/** `prompt`: up to MAX_PROMPT_BYTES (UTF-8), else a 400; "" is no prompt. */
export function promptSetting(value: string | null | undefined, param = "prompt"): string | undefined {
  if (value === undefined || value === null || value === "") return undefined;
  // Measured without encoding it: at most 3 bytes per UTF-16 unit, so only a long one is counted exactly.
  if (value.length * 3 > MAX_PROMPT_BYTES && Buffer.byteLength(value) > MAX_PROMPT_BYTES) {
    throw new InvalidSettingError(
      param,
      `'${param}' is ${Buffer.byteLength(value)} bytes; at most ${MAX_PROMPT_BYTES} are allowed (whisper reads only its last 224 tokens).`,
      "string_above_max_length",
    );
  }
  return value;
}

/**
 * The decoder prompt: the keywords first, then the caller's prompt, then the context, cut to the tail whisper reads (see
 * ENGINE_PROMPT_BYTES). whisper conditions on the last 224 prompt tokens only (half its text context), so when keywords
 * and prompt together are longer, the start is dropped, keywords first; the cut drops it before the engine spends its
 * slot tokenizing it.
 */
export function decoderPrompt(settings: Pick<TranscriptionSettings, "keywords" | "prompt" | "context">): string | undefined {
  const keywords = settings.keywords?.length ? `${settings.keywords.join(", ")}.` : "";
  const prompt = [keywords, settings.prompt ?? "", settings.context?.trim() ?? ""].filter((part) => part !== "").join(" ");
  return prompt === "" ? undefined : promptTail(prompt);
}

/** How whisper's tokenizer splits text into words (its regex, on bytes): runs of one of these classes. */
function runClass(code: number): number {
  if (code >= 0x80) return 3;
  if ((code >= 0x41 && code <= 0x5a) || (code >= 0x61 && code <= 0x7a)) return 0;
  if (code >= 0x30 && code <= 0x39) return 1;
  if (code === 0x20 || (code >= 0x09 && code <= 0x0d)) return 2;
  return 3;
}

/**
 * The end of `prompt` that reaches the engine: at most ENGINE_PROMPT_BYTES (UTF-8), holding no more tokenizer work than
 * one run of ENGINE_PROMPT_RUN_BYTES (whisper's tokenizer costs the cube of each word's length: the sum of the cubes of
 * the kept runs' lengths is bounded). Whole characters only (a surrogate pair is never split).
 */
export function promptTail(prompt: string): string {
  const maxWork = ENGINE_PROMPT_RUN_BYTES ** 3;
  let bytes = 0;
  /** Work of the runs before the current one (the one the scan is in), and the current run's class and length. */
  let doneWork = 0;
  let runKind = -1;
  let runBytes = 0;
  let start = prompt.length;
  while (start > 0) {
    let at = start - 1;
    const code = prompt.charCodeAt(at);
    // A low surrogate with its high surrogate before it: one 4-byte character.
    if (code >= 0xdc00 && code <= 0xdfff && at > 0) {
      const high = prompt.charCodeAt(at - 1);
      if (high >= 0xd800 && high <= 0xdbff) at--;
    }
    const size = start - at === 2 ? 4 : code < 0x80 ? 1 : code < 0x800 ? 2 : 3;
    const kind = runClass(code);
    const before = kind === runKind ? doneWork : doneWork + runBytes ** 3;
    const run = kind === runKind ? runBytes + size : size;
    if (bytes + size > ENGINE_PROMPT_BYTES || before + run ** 3 > maxWork) break;
    bytes += size;
    doneWork = before;
    runKind = kind;
    runBytes = run;
    start = at;
  }
  return start === 0 ? prompt : prompt.slice(start);
}

export function numberSetting(param: string, value: string, min: number, max: number): number {
  const number = Number(value);
  if (value.trim() === "" || !Number.isFinite(number) || number < min || number > max) {
    throw new InvalidSettingError(param, `Invalid value for '${param}': expected a number between ${min} and ${max}, got '${value}'.`);
  }
  return number;
}

export function temperatureSetting(value: string | undefined): number | undefined {
  return value === undefined || value === "" ? undefined : numberSetting("temperature", value, 0, 1);
}

/**
 * `chunking_strategy` in any of the SDK's encodings: the string "auto", a JSON object, or `chunking_strategy[key]`
 * fields (passed here as an object of strings). "none" is Earshot's own spelling for one block (CLI, server default).
 */
export function chunkingSetting(value: string | Record<string, unknown> | undefined, param = "chunking_strategy"): ChunkingStrategy | null | undefined {
  if (value === undefined) return undefined;
  let object: Record<string, unknown>;
  if (typeof value === "string") {
    if (value === "auto") return { type: "auto" };
    if (value === "none") return null;
    try {
      const parsed: unknown = JSON.parse(value);
      if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new Error("not an object");
      object = parsed as Record<string, unknown>;
    } catch {
      throw new InvalidSettingError(param, `Invalid value for '${param}': expected "auto" or an object, got '${value}'.`);
    }
  } else {
    object = value;
  }
  if (object.type === "auto") return { type: "auto" };
  if (object.type !== "server_vad") {
    throw new InvalidSettingError(param, `Invalid value for '${param}.type': expected 'server_vad', got '${String(object.type)}'.`);
  }
  const strategy: ChunkingStrategy = { type: "server_vad" };
  const read = (key: string, min: number, max: number) => (object[key] === undefined || object[key] === null ? undefined : numberSetting(param, String(object[key]), min, max));
  const prefixPaddingMs = read("prefix_padding_ms", 0, 10_000);
  const silenceDurationMs = read("silence_duration_ms", 0, 10_000);
  const threshold = read("threshold", 0, 1);
  if (prefixPaddingMs !== undefined) strategy.prefixPaddingMs = prefixPaddingMs;
  if (silenceDurationMs !== undefined) strategy.silenceDurationMs = silenceDurationMs;
  if (threshold !== undefined) strategy.threshold = threshold;
  for (const key of Object.keys(object)) {
    if (!["type", "prefix_padding_ms", "silence_duration_ms", "threshold"].includes(key)) {
      throw new InvalidSettingError(param, `Invalid value for '${param}': unknown key '${key}'.`, "unknown_parameter");
    }
  }
  return strategy;
}
