// Validates the form fields of /v1/audio/transcriptions and /v1/audio/translations the way the
// official SDK sends them: scalars as strings, arrays as repeated `key[]`, objects as `key[sub]`.
import type { Task } from "../engine/types.js";
import { isAudioResponseFormat, isTimestampGranularity, type AudioResponseFormat, type TimestampGranularity } from "../formats/index.js";
import { ApiError } from "./apiErrors.js";
import {
  chunkingSetting,
  keywordsSetting,
  languageSetting,
  languagesSetting,
  temperatureSetting,
  type ChunkingStrategy,
  type TranscriptionSettings,
} from "./settings.js";

/** Field values by name; repeated fields (`include[]`) keep every value in order. */
export type FormFields = Map<string, string[]>;

export type AudioTask = "transcriptions" | "translations";

export interface TranscriptionRequest {
  settings: TranscriptionSettings;
  responseFormat: AudioResponseFormat;
  stream: boolean;
  includeLogprobs: boolean;
  timestampGranularities: TimestampGranularity[];
}

const TRANSCRIPTION_FIELDS = new Set([
  "model", "language", "prompt", "response_format", "temperature", "timestamp_granularities", "stream", "include", "chunking_strategy",
  "languages", "keywords",
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

/** `chunking_strategy` as a plain field ("auto" or JSON) or as `chunking_strategy[key]` fields. */
function parseChunkingStrategy(fields: FormFields): ChunkingStrategy | undefined {
  const plain = single(fields, "chunking_strategy");
  if (plain !== undefined) {
    if (plain === "none") throw ApiError.invalidParam("chunking_strategy", `Invalid value for 'chunking_strategy': expected "auto" or an object, got 'none'.`);
    return chunkingSetting(plain) ?? undefined;
  }
  let object: Record<string, string> | undefined;
  for (const [name, values] of fields) {
    const sub = /^chunking_strategy\[(\w+)\]$/.exec(name)?.[1];
    if (sub) (object ??= {})[sub] = values[0]!;
  }
  return object ? (chunkingSetting(object) ?? undefined) : undefined;
}

/** Throws a 400 ApiError naming the offending parameter. */
export function parseTranscriptionRequest(kind: AudioTask, fields: FormFields): TranscriptionRequest {
  const known = kind === "transcriptions" ? TRANSCRIPTION_FIELDS : TRANSLATION_FIELDS;
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

  const task: Task = kind === "translations" ? "translate" : "transcribe";
  const settings: TranscriptionSettings = {
    model,
    task,
    language: languageSetting(single(fields, "language")),
    prompt: single(fields, "prompt") || undefined,
    temperature: temperatureSetting(single(fields, "temperature")),
  };
  const languages = languagesSetting(list(fields, "languages"));
  if (languages) settings.languages = languages;
  const keywords = keywordsSetting(list(fields, "keywords"));
  if (keywords) settings.keywords = keywords;

  const timestampGranularities = list(fields, "timestamp_granularities");
  for (const value of timestampGranularities) {
    if (!isTimestampGranularity(value)) {
      throw ApiError.invalidParam("timestamp_granularities", `Invalid value for 'timestamp_granularities': '${value}'. Supported values are: 'word' and 'segment'.`);
    }
  }
  if (timestampGranularities.length > 0 && responseFormat !== "verbose_json") {
    throw ApiError.invalidParam("timestamp_granularities", "timestamp_granularities is only supported with response_format 'verbose_json'.", "invalid_value");
  }
  settings.wordTimestamps = timestampGranularities.includes("word");
  const chunking = parseChunkingStrategy(fields);
  if (chunking) settings.chunking = chunking;

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
    settings,
    responseFormat,
    stream,
    includeLogprobs,
    timestampGranularities: timestampGranularities as TimestampGranularity[],
  };
}
