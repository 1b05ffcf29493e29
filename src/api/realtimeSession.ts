// A realtime transcription session's settings, in both of the API's dialects: the GA `session` object
// (`{type:"transcription", audio:{input:{format, noise_reduction, transcription, turn_detection}}, include}`) and
// the beta flat one (`input_audio_format`, `input_audio_transcription`, `turn_detection`,
// `input_audio_noise_reduction`, `include`). Updates are partial: what a client leaves out stays as it was.
// Shapes follow openai-node (src/resources/realtime/realtime.ts, client-secrets.ts and
// src/resources/beta/realtime/transcription-sessions.ts), plus OpenAI's 2026 `languages[]` / `keywords[]` in the
// transcription settings. A field the SDK types define is accepted even where it cannot change a transcript (listed
// below); any other field is refused as `unknown_parameter`, as OpenAI refuses it.
//
// Every value is checked here against what the code below accepts (the shared field limits of
// transcription/fieldLimits.ts, the turn detector's own constructor, the decoder's formats), so that a config this
// module returns can always be put to work: a session built from it, or updated to it, never fails halfway.
import { z } from "zod";

import { type InputAudioFormatInfo, InputAudioFormatError, resolveInputAudioFormat } from "../audio/realtime/inputAudioFormat.js";
import { DEFAULT_PREFIX_PADDING_MS, DEFAULT_SILENCE_DURATION_MS, DEFAULT_VAD_THRESHOLD, TurnDetector } from "../audio/vad/index.js";
import { InvalidSettingError } from "../transcription/errors.js";
import { ApiError, toApiError } from "./errors.js";
import { quoted } from "../transcription/fieldLimits.js";
import { checkLanguageFields, keywordsSetting, languageSetting, languagesSetting, promptSetting, type TranscriptionSettings } from "../transcription/settings.js";

export const LOGPROBS_INCLUDE = "item.input_audio_transcription.logprobs";

/**
 * `semantic_vad` has no semantic model here: it runs as server_vad with a silence duration set by its
 * eagerness (OpenAI: "low will wait longer for the user to continue speaking, high will respond more quickly").
 */
export const SEMANTIC_VAD_SILENCE_MS: Readonly<Record<"low" | "medium" | "high" | "auto", number>> = {
  low: 1500,
  medium: 800,
  auto: 800,
  high: 300,
};

export interface TurnDetectionConfig {
  type: "server_vad" | "semantic_vad";
  threshold: number;
  prefixPaddingMs: number;
  silenceDurationMs: number;
  /** semantic_vad only. */
  eagerness?: "low" | "medium" | "high" | "auto";
  /**
   * server_vad only: after this much audio (on the session's audio timeline) with no speech since the last turn
   * ended (or detection started), the buffer is committed with `input_audio_buffer.timeout_triggered`. null: never.
   */
  idleTimeoutMs: number | null;
}

/** OpenAI's bounds for `turn_detection.idle_timeout_ms`. */
export const IDLE_TIMEOUT_MIN_MS = 5_000;
export const IDLE_TIMEOUT_MAX_MS = 30_000;

// Fields the SDK's session types define that are accepted (validated) but not acted on, as none of them can change
// a transcript: audio.input.noise_reduction (beta input_audio_noise_reduction), echoed;
// turn_detection.create_response / interrupt_response (a transcription session creates no responses), eagerness
// with server_vad, threshold / prefix_padding_ms / silence_duration_ms with semantic_vad, none of them echoed;
// beta modalities (echoed as ["text"]) and beta client_secret in transcription_session.update (not echoed).

export type TranscriptionDelay = "minimal" | "low" | "medium" | "high" | "xhigh";

export interface TranscriptionSessionConfig {
  format: InputAudioFormatInfo;
  noiseReduction: "near_field" | "far_field" | null;
  /** The model id the client asked for (an id the server offers; checked by the session). */
  model: string;
  /** ISO-639-1, or null to detect it per turn. */
  language: string | null;
  /** OpenAI `languages[]`: ISO-639-1 codes detection may choose from (one: that language). Empty: any. */
  languages: string[];
  /** OpenAI `keywords[]`: words to bias recognition toward, put ahead of the prompt. */
  keywords: string[];
  prompt: string;
  /**
   * OpenAI `delay` (the live models' latency/accuracy trade-off): how soon live text is sent while a turn is spoken
   * (server/realtime/liveDelay.ts). Setting it asks for live text with any model.
   */
  delay: TranscriptionDelay | null;
  /** Earshot extension: live text, plus the `...partial` event (agreed and unstable text) while a turn is spoken. */
  livePartials: boolean;
  /** null: the client commits turns itself. */
  turnDetection: TurnDetectionConfig | null;
  includeLogprobs: boolean;
}

/**
 * OpenAI's live transcription models: they send `...delta` events while the audio is still arriving. Here they are
 * aliases of a served model like the other OpenAI ids (EARSHOT_MODEL_ALIASES); the session gives them live text.
 */
export const LIVE_MODELS: ReadonlySet<string> = new Set(["gpt-live-transcribe", "gpt-realtime-whisper"]);

/**
 * Whether a session sends live text (`...delta` while a turn is being spoken, in either turn mode): a live model,
 * `delay` set, or Earshot's `live_partials`.
 */
export function wantsLiveText(config: TranscriptionSessionConfig): boolean {
  return LIVE_MODELS.has(config.model) || config.delay !== null || config.livePartials;
}

function defaultTurnDetection(): TurnDetectionConfig {
  return {
    type: "server_vad",
    threshold: DEFAULT_VAD_THRESHOLD,
    prefixPaddingMs: DEFAULT_PREFIX_PADDING_MS,
    silenceDurationMs: DEFAULT_SILENCE_DURATION_MS,
    idleTimeoutMs: null,
  };
}

export function defaultSessionConfig(model: string): TranscriptionSessionConfig {
  return {
    format: resolveInputAudioFormat(),
    noiseReduction: null,
    model,
    language: null,
    languages: [],
    keywords: [],
    prompt: "",
    delay: null,
    livePartials: false,
    turnDetection: defaultTurnDetection(),
    includeLogprobs: false,
  };
}

const noiseReductionSchema = z.strictObject({ type: z.enum(["near_field", "far_field"]).optional() }).nullable();

const transcriptionSchema = z.strictObject({
  model: z.string().min(1).optional(),
  language: z.string().nullable().optional(),
  languages: z.array(z.string()).nullable().optional(),
  keywords: z.array(z.string()).nullable().optional(),
  prompt: z.string().nullable().optional(),
  delay: z.enum(["minimal", "low", "medium", "high", "xhigh"]).nullable().optional(),
  live_partials: z.boolean().optional(),
});

const turnDetectionSchema = z
  .strictObject({
    type: z.enum(["server_vad", "semantic_vad"]).optional(),
    threshold: z.number().min(0).max(1).optional(),
    prefix_padding_ms: z.number().int().min(0).max(10_000).optional(),
    silence_duration_ms: z.number().int().min(0).max(10_000).optional(),
    idle_timeout_ms: z.number().int().min(IDLE_TIMEOUT_MIN_MS).max(IDLE_TIMEOUT_MAX_MS).nullable().optional(),
    eagerness: z.enum(["low", "medium", "high", "auto"]).optional(),
    create_response: z.boolean().optional(),
    interrupt_response: z.boolean().optional(),
  })
  .nullable();

const includeSchema = z.array(z.string()).nullable();

const gaSessionSchema = z.strictObject({
  type: z.string().optional(),
  audio: z
    .strictObject({
      input: z
        .strictObject({
          format: z.unknown().optional(),
          noise_reduction: noiseReductionSchema.optional(),
          transcription: transcriptionSchema.nullable().optional(),
          turn_detection: turnDetectionSchema.optional(),
        })
        .optional(),
    })
    .optional(),
  include: includeSchema.optional(),
});

const betaSessionSchema = z.strictObject({
  input_audio_format: z.unknown().optional(),
  input_audio_noise_reduction: noiseReductionSchema.optional(),
  input_audio_transcription: transcriptionSchema.nullable().optional(),
  turn_detection: turnDetectionSchema.optional(),
  include: includeSchema.optional(),
  modalities: z.array(z.enum(["text", "audio"])).optional(),
  // Typed by the SDK's beta TranscriptionSessionUpdate; a secret's lifetime is set when it is minted.
  client_secret: z
    .strictObject({ expires_at: z.strictObject({ anchor: z.literal("created_at").optional(), seconds: z.number().optional() }).optional() })
    .nullable()
    .optional(),
});

/** `root.key`, or `key` when the object is the request body itself (root ""). */
function at(root: string, key: string): string {
  return root ? `${root}.${key}` : key;
}

export function parse<T>(schema: z.ZodType<T>, value: unknown, root: string): T {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const path = [root, ...issue.path.map(String)];
  if (issue.code === "unrecognized_keys") {
    // A key is echoed in the error; a megabyte-long one is not.
    const param = [...path, String(issue.keys[0]).slice(0, 100)].filter(Boolean).join(".");
    throw ApiError.invalidParam(param, `Unknown parameter: '${param}'.`, "unknown_parameter");
  }
  const param = path.filter(Boolean).join(".");
  throw ApiError.invalidParam(param, `Invalid '${param}': ${issue.message}.`);
}

function format(value: unknown, param: string): InputAudioFormatInfo {
  try {
    return resolveInputAudioFormat(value);
  } catch (error) {
    if (error instanceof InputAudioFormatError) throw ApiError.invalidParam(param, error.message);
    throw error;
  }
}

function turnDetection(value: z.output<typeof turnDetectionSchema>, param: string): TurnDetectionConfig | null {
  if (value === null) return null;
  const type = value.type ?? "server_vad";
  const eagerness = value.eagerness ?? "auto";
  if (type === "semantic_vad" && value.idle_timeout_ms != null) {
    throw ApiError.invalidParam(`${param}.idle_timeout_ms`, "Idle timeout is only supported for 'server_vad' turn detection.");
  }
  return {
    type,
    threshold: value.threshold ?? DEFAULT_VAD_THRESHOLD,
    prefixPaddingMs: value.prefix_padding_ms ?? DEFAULT_PREFIX_PADDING_MS,
    silenceDurationMs: type === "semantic_vad" ? SEMANTIC_VAD_SILENCE_MS[eagerness] : (value.silence_duration_ms ?? DEFAULT_SILENCE_DURATION_MS),
    ...(type === "semantic_vad" ? { eagerness } : {}),
    idleTimeoutMs: type === "server_vad" ? (value.idle_timeout_ms ?? null) : null,
  };
}

/** The turn detector a session runs for `turn`: built here only, so that what is validated is what runs. */
export function turnDetectorFor(turn: TurnDetectionConfig): TurnDetector {
  return new TurnDetector({ threshold: turn.threshold, prefixPaddingMs: turn.prefixPaddingMs, silenceDurationMs: turn.silenceDurationMs });
}

/** Refuses turn detection settings the detector itself would refuse (named by `param`), before any session uses them. */
function checkTurnDetection(turn: TurnDetectionConfig | null, param: string): TurnDetectionConfig | null {
  if (!turn) return turn;
  try {
    turnDetectorFor(turn);
  } catch (error) {
    if (error instanceof RangeError) throw ApiError.invalidParam(param, `Invalid '${param}': ${error.message}.`);
    throw error;
  }
  return turn;
}

/** A shared settings validator's refusal as the wire error it becomes (an error event, or a 400 at mint time). */
function validated<T>(check: () => T): T {
  try {
    return check();
  } catch (error) {
    if (error instanceof InvalidSettingError) throw toApiError(error);
    throw error;
  }
}

function applyTranscription(config: TranscriptionSessionConfig, value: z.output<typeof transcriptionSchema> | null, param: string): void {
  if (value === null) return;
  if (value.model !== undefined) config.model = value.model;
  if (value.language !== undefined) {
    // The same rule as the HTTP API's `language` field: an ISO code or name, or nothing/"auto" for detection.
    try {
      config.language = languageSetting(value.language ?? undefined) ?? null;
    } catch {
      throw ApiError.invalidParam(`${param}.language`, `Unsupported language ${quoted(value.language)}: use an ISO-639-1 code such as 'en'.`);
    }
  }
  // The same validators as the HTTP API's `languages[]` / `keywords[]`; null or [] clears them.
  if (value.languages !== undefined) {
    const list = value.languages ?? [];
    config.languages = validated(() => languagesSetting(list, `${param}.languages`)) ?? [];
  }
  // As the HTTP form: `language` beside `languages` is refused, checked on what the session would run with.
  validated(() => checkLanguageFields(config.language, config.languages, `${param}.languages`));
  if (value.keywords !== undefined) {
    const list = value.keywords ?? [];
    config.keywords = validated(() => keywordsSetting(list, `${param}.keywords`)) ?? [];
  }
  // The same bound as the HTTP API's `prompt`.
  if (value.prompt !== undefined) config.prompt = validated(() => promptSetting(value.prompt, `${param}.prompt`)) ?? "";
  if (value.delay !== undefined) config.delay = value.delay;
  if (value.live_partials !== undefined) config.livePartials = value.live_partials;
}

function applyInclude(config: TranscriptionSessionConfig, include: string[] | null, param: string): void {
  const list = include ?? [];
  for (const [index, item] of list.entries()) {
    if (item !== LOGPROBS_INCLUDE) {
      throw ApiError.invalidParam(`${param}[${index}]`, `Invalid value: ${quoted(item)}. Supported values are: '${LOGPROBS_INCLUDE}'.`);
    }
  }
  config.includeLogprobs = list.includes(LOGPROBS_INCLUDE);
}

/**
 * Applies a GA `session` object (from `session.update` or `client_secrets`) to a copy of `current`. `root` names
 * the object in error params ("session"). Throws ApiError; `current` is never changed.
 */
export function applyGaSession(current: TranscriptionSessionConfig, raw: unknown, root = "session"): TranscriptionSessionConfig {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw ApiError.invalidParam(root, `'${root}' must be an object.`);
  }
  // The session type first: a conversation session's own fields are no reason to call it malformed.
  const type = (raw as Record<string, unknown>).type;
  if (typeof type === "string" && type !== "transcription") {
    throw ApiError.invalidParam(
      at(root, "type"),
      `Earshot serves transcription sessions only: '${root}.type' must be 'transcription' (got '${type}').`,
      "unsupported_session_type",
    );
  }
  const session = parse(gaSessionSchema, raw, root);
  const next: TranscriptionSessionConfig = { ...current };
  const input = session.audio?.input;
  if (input) {
    if (input.format !== undefined) next.format = format(input.format, at(root, "audio.input.format"));
    if (input.noise_reduction !== undefined) next.noiseReduction = input.noise_reduction?.type ?? null;
    if (input.transcription !== undefined) applyTranscription(next, input.transcription, at(root, "audio.input.transcription"));
    if (input.turn_detection !== undefined) {
      const param = at(root, "audio.input.turn_detection");
      next.turnDetection = checkTurnDetection(turnDetection(input.turn_detection, param), param);
    }
  }
  if (session.include !== undefined) applyInclude(next, session.include, at(root, "include"));
  return next;
}

/** Applies a beta (flat) transcription session object to a copy of `current`. Throws ApiError. */
export function applyBetaSession(current: TranscriptionSessionConfig, raw: unknown, root = "session"): TranscriptionSessionConfig {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw ApiError.invalidParam(root, `'${root}' must be an object.`);
  }
  const session = parse(betaSessionSchema, raw, root);
  const next: TranscriptionSessionConfig = { ...current };
  if (session.input_audio_format !== undefined) next.format = format(session.input_audio_format, at(root, "input_audio_format"));
  if (session.input_audio_noise_reduction !== undefined) next.noiseReduction = session.input_audio_noise_reduction?.type ?? null;
  if (session.input_audio_transcription !== undefined) {
    applyTranscription(next, session.input_audio_transcription, at(root, "input_audio_transcription"));
  }
  if (session.turn_detection !== undefined) {
    const param = at(root, "turn_detection");
    next.turnDetection = checkTurnDetection(turnDetection(session.turn_detection, param), param);
  }
  if (session.include !== undefined) applyInclude(next, session.include, at(root, "include"));
  return next;
}

/** A turn's transcription settings: the session's, decoded as one block (the turn is already cut by the VAD). */
export function turnSettings(config: TranscriptionSessionConfig): TranscriptionSettings {
  return {
    model: config.model,
    task: "transcribe",
    language: config.language ?? undefined,
    ...(config.languages.length > 0 ? { languages: config.languages } : {}),
    ...(config.keywords.length > 0 ? { keywords: config.keywords } : {}),
    prompt: config.prompt || undefined,
    chunking: null,
  };
}
