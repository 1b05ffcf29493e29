// Validates the form fields of /v1/audio/transcriptions and /v1/audio/translations the way the
// official SDK sends them: scalars as strings, arrays as repeated `key[]`, objects as `key[sub]`.
import type { TranscriptionOptions } from "../engine/WhisperEngine.js";
import { isAudioResponseFormat, isTimestampGranularity, type AudioResponseFormat, type TimestampGranularity } from "../formats/index.js";
import { normalizeLanguage } from "../formats/languages.js";
import { ApiError } from "./apiErrors.js";
import type { FormFields } from "./receiveUpload.js";

export type AudioTask = "transcriptions" | "translations";

export interface ChunkingStrategy {
  type: "auto" | "server_vad";
  prefixPaddingMs?: number;
  silenceDurationMs?: number;
  threshold?: number;
}

export interface TranscriptionRequest {
  model: string;
  responseFormat: AudioResponseFormat;
  stream: boolean;
  includeLogprobs: boolean;
  timestampGranularities: TimestampGranularity[];
  chunkingStrategy: ChunkingStrategy | undefined;
  options: TranscriptionOptions;
}

const TRANSCRIPTION_FIELDS = new Set([
  "model", "language", "prompt", "response_format", "temperature", "timestamp_granularities", "stream", "include", "chunking_strategy",
]);
const TRANSLATION_FIELDS = new Set(["model", "prompt", "response_format", "temperature"]);

/** `include[]` → `include`, `chunking_strategy[type]` → `chunking_strategy`. */
const baseName = (name: string) => name.replace(/\[.*$/, "");

function single(fields: FormFields, name: string): string | undefined {
  const values = fields.get(name);
  if (!values) return undefined;
  if (values.length > 1) throw ApiError.invalidParam(name, `'${name}' was given more than once.`);
  return values[0];
}

function list(fields: FormFields, name: string): string[] {
  return [...(fields.get(`${name}[]`) ?? []), ...(fields.get(name) ?? [])];
}

function parseBoolean(name: string, value: string | undefined): boolean {
  if (value === undefined || value === "" || value === "false") return false;
  if (value === "true") return true;
  throw ApiError.invalidParam(name, `Invalid value for '${name}': expected true or false, got '${value}'.`);
}

function parseNumber(name: string, value: string, min: number, max: number): number {
  const number = Number(value);
  if (value.trim() === "" || !Number.isFinite(number) || number < min || number > max) {
    throw ApiError.invalidParam(name, `Invalid value for '${name}': expected a number between ${min} and ${max}, got '${value}'.`);
  }
  return number;
}

function parseChunkingStrategy(fields: FormFields): ChunkingStrategy | undefined {
  const plain = single(fields, "chunking_strategy");
  let object: Record<string, string> | undefined;
  if (plain !== undefined) {
    if (plain === "auto") return { type: "auto" };
    try {
      object = JSON.parse(plain) as Record<string, string>;
    } catch {
      throw ApiError.invalidParam("chunking_strategy", `Invalid value for 'chunking_strategy': expected "auto" or an object, got '${plain}'.`);
    }
  } else {
    for (const [name, values] of fields) {
      const sub = /^chunking_strategy\[(\w+)\]$/.exec(name)?.[1];
      if (sub) (object ??= {})[sub] = values[0]!;
    }
  }
  if (!object) return undefined;
  if (object.type !== "server_vad") {
    throw ApiError.invalidParam("chunking_strategy", `Invalid value for 'chunking_strategy.type': expected 'server_vad', got '${object.type}'.`);
  }
  const strategy: ChunkingStrategy = { type: "server_vad" };
  if (object.prefix_padding_ms !== undefined) strategy.prefixPaddingMs = parseNumber("chunking_strategy", String(object.prefix_padding_ms), 0, 10_000);
  if (object.silence_duration_ms !== undefined) strategy.silenceDurationMs = parseNumber("chunking_strategy", String(object.silence_duration_ms), 0, 10_000);
  if (object.threshold !== undefined) strategy.threshold = parseNumber("chunking_strategy", String(object.threshold), 0, 1);
  return strategy;
}

/** Throws a 400 ApiError naming the offending parameter. */
export function parseTranscriptionRequest(task: AudioTask, fields: FormFields): TranscriptionRequest {
  const known = task === "transcriptions" ? TRANSCRIPTION_FIELDS : TRANSLATION_FIELDS;
  for (const name of fields.keys()) {
    if (!known.has(baseName(name))) {
      throw ApiError.invalidParam(baseName(name), `Unrecognized request argument supplied: ${baseName(name)}`, "unknown_parameter");
    }
  }

  const model = single(fields, "model");
  if (!model) throw ApiError.missingParam("model");

  const responseFormat = single(fields, "response_format") ?? "json";
  if (!isAudioResponseFormat(responseFormat)) {
    throw ApiError.invalidParam("response_format", `Invalid value for 'response_format': '${responseFormat}'. Supported values are: 'json', 'text', 'srt', 'verbose_json', and 'vtt'.`);
  }

  const options: TranscriptionOptions = { task: task === "translations" ? "translate" : "transcribe" };
  const language = single(fields, "language");
  if (language) {
    const code = normalizeLanguage(language);
    if (!code) throw ApiError.invalidParam("language", `Invalid language '${language}'. Language parameter must be specified in ISO-639-1 format.`, "unsupported_language");
    options.language = code;
  }
  const prompt = single(fields, "prompt");
  if (prompt) options.prompt = prompt;
  const temperature = single(fields, "temperature");
  if (temperature !== undefined && temperature !== "") options.temperature = parseNumber("temperature", temperature, 0, 1);

  const timestampGranularities = list(fields, "timestamp_granularities");
  for (const value of timestampGranularities) {
    if (!isTimestampGranularity(value)) {
      throw ApiError.invalidParam("timestamp_granularities", `Invalid value for 'timestamp_granularities': '${value}'. Supported values are: 'word' and 'segment'.`);
    }
  }
  if (timestampGranularities.length > 0 && responseFormat !== "verbose_json") {
    throw ApiError.invalidParam("timestamp_granularities", "timestamp_granularities is only supported with response_format 'verbose_json'.", "invalid_value");
  }
  options.wordTimestamps = timestampGranularities.includes("word");

  const include = list(fields, "include");
  for (const value of include) {
    if (value !== "logprobs") throw ApiError.invalidParam("include", `Invalid value for 'include': '${value}'. Supported values are: 'logprobs'.`);
  }
  const includeLogprobs = include.includes("logprobs");
  const stream = parseBoolean("stream", single(fields, "stream"));
  if (includeLogprobs && !stream && responseFormat !== "json") {
    throw ApiError.invalidParam("include", "logprobs are only supported with response_format 'json'.", "invalid_value");
  }

  return {
    model,
    responseFormat,
    stream,
    includeLogprobs,
    timestampGranularities: timestampGranularities as TimestampGranularity[],
    chunkingStrategy: parseChunkingStrategy(fields),
    options,
  };
}
