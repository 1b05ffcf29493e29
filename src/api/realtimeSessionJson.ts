// A realtime session's settings as OpenAI's wire shows them: the GA session object and the beta transcription session
// object (session.created / .updated, the client-secret routes).
import { LOGPROBS_INCLUDE, type TranscriptionSessionConfig, type TurnDetectionConfig } from "./realtimeSession.js";

/** Identity and lifetime of a session as the API shows it. */
export interface SessionIdentity {
  id: string;
  /** Unix seconds. */
  expiresAt: number;
}

function wireTranscription(config: TranscriptionSessionConfig) {
  return {
    model: config.model,
    language: config.language,
    ...(config.languages.length > 0 ? { languages: config.languages } : {}),
    ...(config.keywords.length > 0 ? { keywords: config.keywords } : {}),
    prompt: config.prompt,
    ...(config.delay ? { delay: config.delay } : {}),
    ...(config.livePartials ? { live_partials: true } : {}),
  };
}

function wireTurnDetection(turn: TurnDetectionConfig | null) {
  if (!turn) return null;
  if (turn.type === "semantic_vad") return { type: "semantic_vad" as const, eagerness: turn.eagerness ?? "auto" };
  return {
    type: "server_vad" as const,
    threshold: turn.threshold,
    prefix_padding_ms: turn.prefixPaddingMs,
    silence_duration_ms: turn.silenceDurationMs,
    idle_timeout_ms: turn.idleTimeoutMs,
  };
}

/** The GA session object (`session.created`, `session.updated`, `client_secrets`). */
export function renderGaSession(config: TranscriptionSessionConfig, identity: SessionIdentity) {
  const formatObject = config.format.type === "audio/pcm" ? { type: "audio/pcm", rate: config.format.sampleRate } : { type: config.format.type };
  return {
    type: "transcription" as const,
    id: identity.id,
    object: "realtime.transcription_session",
    expires_at: identity.expiresAt,
    audio: {
      input: {
        format: formatObject,
        noise_reduction: config.noiseReduction ? { type: config.noiseReduction } : null,
        transcription: wireTranscription(config),
        turn_detection: wireTurnDetection(config.turnDetection),
      },
    },
    include: config.includeLogprobs ? [LOGPROBS_INCLUDE] : [],
  };
}

/** The beta session object (`transcription_session.created` / `.updated`, `transcription_sessions`). */
export function renderBetaSession(config: TranscriptionSessionConfig, identity: SessionIdentity) {
  return {
    id: identity.id,
    object: "realtime.transcription_session",
    expires_at: identity.expiresAt,
    modalities: ["text"],
    input_audio_format: config.format.betaName,
    input_audio_transcription: wireTranscription(config),
    turn_detection: wireTurnDetection(config.turnDetection),
    input_audio_noise_reduction: config.noiseReduction ? { type: config.noiseReduction } : null,
    include: config.includeLogprobs ? [LOGPROBS_INCLUDE] : [],
  };
}

/** The session object in the dialect the client speaks. */
export function renderSession(beta: boolean, config: TranscriptionSessionConfig, identity: SessionIdentity) {
  return beta ? renderBetaSession(config, identity) : renderGaSession(config, identity);
}
