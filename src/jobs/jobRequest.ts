// The form of POST /v1/audio/jobs: the fields of /v1/audio/transcriptions (or, with task=translate, those of
// /v1/audio/translations), validated by the same parser, plus `task`, `webhook_url` and `metadata[key]`.
import type { AudioResponseFormat } from "../formats/index.js";
import { ApiError } from "../api/errors.js";
import { parseTranscriptionRequest, type FormFields } from "../api/transcriptionForm.js";
import type { TranscriptionSettings } from "../transcription/settings.js";
import { validateWebhookUrl } from "./webhookUrl.js";
import type { JobRenderOptions, JobSpeakers, JobTask } from "./types.js";

/** OpenAI's metadata rules. */
export const MAX_METADATA_KEYS = 16;
export const MAX_METADATA_KEY_LENGTH = 64;
export const MAX_METADATA_VALUE_LENGTH = 512;
/** Keys that name an object's prototype machinery: refused, whatever object the metadata is kept in. */
const RESERVED_METADATA_KEYS = new Set(["__proto__", "constructor", "prototype"]);

export interface JobRequest {
  task: JobTask;
  settings: TranscriptionSettings;
  render: JobRenderOptions;
  /** Speakers by voice (`diarized_json` or `rttm`). */
  speakers?: JobSpeakers | undefined;
  metadata: Record<string, string> | null;
  webhookUrl: string | null;
}

/** Throws a 400 ApiError naming the offending parameter. */
export function parseJobRequest(fields: FormFields, webhookAllowlist: readonly string[]): JobRequest {
  const rest: FormFields = new Map();
  let metadata: Record<string, string> | null = null;
  let task: JobTask = "transcribe";
  let webhookUrl: string | null = null;
  for (const [name, values] of fields) {
    if (name === "task") {
      const value = only(name, values);
      if (value !== "transcribe" && value !== "translate") throw ApiError.invalidParam("task", `Invalid value for 'task': '${value}'. Supported values are: 'transcribe' and 'translate'.`);
      task = value;
    } else if (name === "webhook_url") {
      webhookUrl = validateWebhookUrl(only(name, values), webhookAllowlist);
    } else if (name === "metadata" || name.startsWith("metadata[")) {
      const key = /^metadata\[([^\]]*)\]$/.exec(name)?.[1];
      if (key === undefined) throw ApiError.invalidParam("metadata", "Give metadata as 'metadata[key]=value' fields.");
      if (key === "" || key.length > MAX_METADATA_KEY_LENGTH) throw ApiError.invalidParam("metadata", `Each metadata key must be 1 to ${MAX_METADATA_KEY_LENGTH} characters.`);
      if (RESERVED_METADATA_KEYS.has(key)) throw ApiError.invalidParam("metadata", `'${key}' cannot be a metadata key.`);
      const value = only(`metadata[${key}]`, values);
      if (value.length > MAX_METADATA_VALUE_LENGTH) throw ApiError.invalidParam("metadata", `Metadata value of '${key}' is longer than ${MAX_METADATA_VALUE_LENGTH} characters.`);
      // No prototype: a key is only ever an own property (nothing inherited to read or overwrite).
      metadata ??= Object.create(null) as Record<string, string>;
      metadata[key] = value;
      if (Object.keys(metadata).length > MAX_METADATA_KEYS) throw ApiError.invalidParam("metadata", `At most ${MAX_METADATA_KEYS} metadata keys are allowed.`);
    } else {
      rest.set(name, values);
    }
  }
  const parsed = parseTranscriptionRequest(task === "translate" ? "translations" : "transcriptions", rest);
  if (parsed.stream) throw ApiError.invalidParam("stream", "stream is not supported for batch jobs: follow the job with GET /v1/audio/jobs/{id}, or a webhook_url.", "invalid_value");
  // Speakers: a job's audio is kept mono, so they are told apart by voice (the speaker models; checked at submit).
  const speakers: JobSpeakers | undefined =
    parsed.responseFormat === "diarized_json"
      ? { names: parsed.knownSpeakerNames, references: parsed.knownSpeakerReferences, ...(parsed.speakerCount ? { count: parsed.speakerCount } : {}) }
      : undefined;
  // Batch jobs are always VAD-chunked: no chunk is longer than 30 s, so a live request waits at most for one.
  const settings: TranscriptionSettings = { ...parsed.settings, chunking: parsed.settings.chunking ?? { type: "auto" } };
  return {
    task,
    settings,
    ...(speakers ? { speakers } : {}),
    render: {
      responseFormat: parsed.rttm ? "rttm" : (parsed.responseFormat as AudioResponseFormat | "diarized_json"),
      timestampGranularities: parsed.timestampGranularities,
      includeLogprobs: parsed.includeLogprobs,
      includeLanguages: parsed.settings.languages !== undefined,
    },
    metadata,
    webhookUrl,
  };
}

function only(name: string, values: readonly string[]): string {
  if (values.length > 1) throw ApiError.invalidParam(name.replace(/\[.*$/, ""), `'${name}' was given more than once.`);
  return values[0] ?? "";
}
