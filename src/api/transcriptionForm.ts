// Validates the form fields of /v1/audio/transcriptions and /v1/audio/translations the way the
// official SDK sends them: scalars as strings, arrays as repeated `key[]`, objects as `key[sub]`.
import type { Task } from "../engine/types.js";
import { sniffFormat } from "../audio/sniffFormat.js";
import {
  isAudioResponseFormat,
  isTimestampGranularity,
  isTranscriptionResponseFormat,
  type TimestampGranularity,
  type TranscriptionResponseFormat,
} from "../formats/index.js";
import { ApiError } from "./errors.js";
import { MAX_KNOWN_SPEAKERS, MAX_SPEAKER_NAME_LENGTH } from "../transcription/channelTranscription.js";
import type { SpeakerCount } from "../diarization/index.js";
import { quoted } from "../transcription/fieldLimits.js";
import {
  checkLanguageFields,
  chunkingSetting,
  keywordsSetting,
  languageSetting,
  languagesSetting,
  promptSetting,
  temperatureSetting,
  type ChunkingStrategy,
  type TranscriptionSettings,
} from "../transcription/settings.js";

/** Field values by name; repeated fields (`include[]`) keep every value in order. */
export type FormFields = Map<string, string[]>;

export type AudioTask = "transcriptions" | "translations";

export interface TranscriptionRequest {
  settings: TranscriptionSettings;
  /** One of the five formats; `diarized_json` for transcriptions only. */
  responseFormat: TranscriptionResponseFormat;
  stream: boolean;
  includeLogprobs: boolean;
  timestampGranularities: TimestampGranularity[];
  /** `known_speaker_names[]` (trimmed): the speaker of each channel, in channel order, with `diarized_json`. */
  knownSpeakerNames: string[];
  /** `known_speaker_references[]`: validated audio data URLs, one a name: by voice, each names the speaker like it. */
  knownSpeakerReferences: string[];
  /** Earshot's `rttm` format: diarized_json's speakers as NIST RTTM lines (for pipelines that score diarization). */
  rttm: boolean;
  /** Earshot's `num_speakers`, `min_speakers`, `max_speakers`: how many speakers the recording holds (by voice). */
  speakerCount?: SpeakerCount | undefined;
}

/** The most speakers `num_speakers` / `max_speakers` may name. */
export const MAX_SPEAKER_COUNT = 32;

const TRANSCRIPTION_FIELDS = new Set([
  "model", "language", "prompt", "response_format", "temperature", "timestamp_granularities", "stream", "include", "chunking_strategy",
  "languages", "keywords", "known_speaker_names", "known_speaker_references",
  // Earshot's extensions (docs/http-api.md "Speakers").
  "num_speakers", "min_speakers", "max_speakers",
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

/**
 * `true` or `false` in any letter case: the SDKs send `true`, OpenAI's own curl example `stream=True` (as Python writes
 * it), and OpenAI takes both. Anything else ("1", "yes") is a 400 naming the field; empty is false.
 */
function parseBoolean(name: string, value: string | undefined): boolean {
  if (value === undefined || value === "") return false;
  const lower = value.toLowerCase();
  if (lower === "true") return true;
  if (lower === "false") return false;
  throw ApiError.invalidParam(name, `Invalid value for '${name}': expected true or false, got ${quoted(value)}.`);
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

  const asked = single(fields, "response_format") ?? "json";
  // Earshot's `rttm` is diarized_json's speakers in another shape.
  const rttm = asked === "rttm" && kind === "transcriptions";
  const responseFormat = rttm ? "diarized_json" : asked;
  // diarized_json: transcriptions only.
  if (!isTranscriptionResponseFormat(responseFormat) || (kind === "translations" && !isAudioResponseFormat(responseFormat))) {
    const supported = kind === "transcriptions" ? "'json', 'text', 'srt', 'verbose_json', 'vtt', and 'diarized_json' (and Earshot's 'rttm')" : "'json', 'text', 'srt', 'verbose_json', and 'vtt'";
    throw ApiError.invalidParam("response_format", `Invalid value for 'response_format': '${responseFormat}'. Supported values are: ${supported}.`);
  }
  const diarized = responseFormat === "diarized_json";
  if (rttm && parseBoolean("stream", single(fields, "stream"))) {
    throw ApiError.invalidParam("stream", "response_format 'rttm' is not streamed: ask for 'diarized_json' to stream speakers' segments.", "invalid_value");
  }

  const task: Task = kind === "translations" ? "translate" : "transcribe";
  const settings: TranscriptionSettings = {
    model,
    task,
    language: languageSetting(single(fields, "language")),
    prompt: promptSetting(single(fields, "prompt")),
    temperature: temperatureSetting(single(fields, "temperature")),
  };
  const languages = languagesSetting(list(fields, "languages"));
  checkLanguageFields(settings.language, languages);
  if (languages) settings.languages = languages;
  const keywords = keywordsSetting(list(fields, "keywords"));
  if (keywords) settings.keywords = keywords;

  const timestampGranularities = list(fields, "timestamp_granularities");
  for (const value of timestampGranularities) {
    if (!isTimestampGranularity(value)) {
      throw ApiError.invalidParam("timestamp_granularities", `Invalid value for 'timestamp_granularities': '${value}'. Supported values are: 'word' and 'segment'.`);
    }
  }
  // As OpenAI answers, whatever the model: `segment` (its documented default, which clients send with every format) is
  // accepted with json, text, srt and vtt, where it adds nothing; `word` needs verbose_json; diarized_json takes neither
  // (OpenAI: "not available for gpt-4o-transcribe-diarize", the model behind that format).
  if (timestampGranularities.length > 0 && diarized) {
    throw ApiError.invalidParam("timestamp_granularities", "timestamp_granularities is not supported with response_format 'diarized_json'.", "invalid_value");
  }
  if (timestampGranularities.includes("word") && responseFormat !== "verbose_json") {
    throw ApiError.invalidParam("timestamp_granularities", "Word timestamps (timestamp_granularities 'word') are only supported with response_format 'verbose_json'.", "invalid_value");
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
  if (includeLogprobs && diarized) {
    throw ApiError.invalidParam("include", "logprobs are not supported with response_format 'diarized_json'.", "invalid_value");
  }
  if (includeLogprobs && !stream && responseFormat !== "json") {
    throw ApiError.invalidParam("include", "logprobs are only supported with response_format 'json'.", "invalid_value");
  }

  const knownSpeakerNames = speakerNames(list(fields, "known_speaker_names"));
  const knownSpeakerReferences = speakerReferences(list(fields, "known_speaker_references"));
  if (knownSpeakerNames.length > 0 && knownSpeakerReferences.length > 0 && knownSpeakerNames.length !== knownSpeakerReferences.length) {
    throw ApiError.invalidParam(
      "known_speaker_references",
      `'known_speaker_references' has ${knownSpeakerReferences.length} entries and 'known_speaker_names' ${knownSpeakerNames.length}: give one reference per name.`,
    );
  }

  const speakerCount = speakerCountOf(fields, diarized);

  return {
    settings,
    responseFormat,
    stream,
    includeLogprobs,
    timestampGranularities: timestampGranularities as TimestampGranularity[],
    knownSpeakerNames,
    knownSpeakerReferences,
    rttm,
    ...(speakerCount ? { speakerCount } : {}),
  };
}

/** `num_speakers` (exact) or `min_speakers` / `max_speakers` (bounds): whole numbers 1-32, with diarized formats only. */
function speakerCountOf(fields: FormFields, diarized: boolean): SpeakerCount | undefined {
  const count = (name: string): number | undefined => {
    const value = single(fields, name);
    if (value === undefined) return undefined;
    if (!diarized) throw ApiError.invalidParam(name, `'${name}' is only supported with response_format 'diarized_json' or 'rttm'.`);
    const number = Number(value.trim());
    if (value.trim() === "" || !Number.isInteger(number) || number < 1 || number > MAX_SPEAKER_COUNT) {
      throw ApiError.invalidParam(name, `Invalid value for '${name}': '${value}'. It must be a whole number from 1 to ${MAX_SPEAKER_COUNT}.`);
    }
    return number;
  };
  const exact = count("num_speakers");
  const min = count("min_speakers");
  const max = count("max_speakers");
  if (exact !== undefined && (min !== undefined || max !== undefined)) {
    throw ApiError.invalidParam("num_speakers", "Give either 'num_speakers' or 'min_speakers'/'max_speakers', not both.");
  }
  if (min !== undefined && max !== undefined && min > max) {
    throw ApiError.invalidParam("min_speakers", `'min_speakers' (${min}) is above 'max_speakers' (${max}).`);
  }
  if (exact === undefined && min === undefined && max === undefined) return undefined;
  return { ...(exact !== undefined ? { exact } : {}), ...(min !== undefined ? { min } : {}), ...(max !== undefined ? { max } : {}) };
}

/** `known_speaker_names[]`: at most 4 short, distinct, non-empty names (trimmed). */
function speakerNames(values: readonly string[]): string[] {
  const param = "known_speaker_names";
  if (values.length > MAX_KNOWN_SPEAKERS) throw ApiError.invalidParam(param, `'${param}' holds ${values.length} entries; at most ${MAX_KNOWN_SPEAKERS} are allowed.`);
  const names = values.map((value) => value.trim());
  for (const name of names) {
    if (name === "") throw ApiError.invalidParam(param, `Each entry of '${param}' must be a non-empty name (for example 'agent' or 'customer').`);
    if (name.length > MAX_SPEAKER_NAME_LENGTH) throw ApiError.invalidParam(param, `Each entry of '${param}' must be at most ${MAX_SPEAKER_NAME_LENGTH} characters.`);
  }
  const repeated = names.find((name, i) => names.indexOf(name) !== i);
  if (repeated !== undefined) throw ApiError.invalidParam(param, `'${param}' names '${repeated}' more than once.`);
  return names;
}

/** A data URL of audio: `data:audio/<type>[;param=value...];base64,<data>`. */
const AUDIO_DATA_URL = /^data:audio\/[a-z0-9.+-]+(?:;[a-z0-9-]+=[^;,]+)*;base64,([a-z0-9+/]*={0,2})$/i;

/** The audio bytes of a `known_speaker_references[]` data URL (already validated by the form). */
export function dataUrlBytes(value: string): Buffer {
  return Buffer.from(AUDIO_DATA_URL.exec(value)?.[1] ?? "", "base64");
}

/** `known_speaker_references[]`: at most 4 base64 data URLs of audio in a format the server decodes. */
function speakerReferences(values: readonly string[]): string[] {
  const param = "known_speaker_references";
  if (values.length > MAX_KNOWN_SPEAKERS) throw ApiError.invalidParam(param, `'${param}' holds ${values.length} entries; at most ${MAX_KNOWN_SPEAKERS} are allowed.`);
  values.forEach((value, index) => {
    const data = AUDIO_DATA_URL.exec(value.trim())?.[1];
    const bytes = data && data.length % 4 === 0 ? Buffer.from(data, "base64") : undefined;
    if (!bytes || bytes.length === 0) {
      throw ApiError.invalidParam(param, `Entry ${index} of '${param}' is not a data URL of audio ('data:audio/wav;base64,...').`);
    }
    if (!sniffFormat(bytes)) {
      throw ApiError.invalidParam(param, `Entry ${index} of '${param}' is not audio in a supported format (flac, m4a, mp3, mp4, ogg, wav, webm).`);
    }
  });
  return values.map((value) => value.trim());
}
