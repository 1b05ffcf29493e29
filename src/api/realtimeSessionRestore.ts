// A realtime session's settings as a client secret carries them, checked again when the secret is redeemed: a secret
// minted by another version or replica may hold settings this one does not accept.
import { z } from "zod";

import { ApiError } from "./errors.js";
import { applyBetaSession, defaultSessionConfig, LOGPROBS_INCLUDE, parse, type TranscriptionSessionConfig } from "./realtimeSession.js";

// A config as a client secret carries it (the JSON of a TranscriptionSessionConfig, from whichever version or
// replica minted it). Every field is required and no other is allowed: a secret from a version with another shape is
// refused, not half-read.
const storedConfigSchema = z.strictObject({
  format: z.strictObject({ type: z.string(), betaName: z.string(), sampleRate: z.number(), bytesPerSample: z.number() }),
  noiseReduction: z.enum(["near_field", "far_field"]).nullable(),
  model: z.string().min(1),
  language: z.string().nullable(),
  languages: z.array(z.string()),
  keywords: z.array(z.string()),
  prompt: z.string(),
  delay: z.enum(["minimal", "low", "medium", "high", "xhigh"]).nullable(),
  livePartials: z.boolean(),
  turnDetection: z
    .strictObject({
      type: z.enum(["server_vad", "semantic_vad"]),
      threshold: z.number(),
      prefixPaddingMs: z.number(),
      silenceDurationMs: z.number(),
      eagerness: z.enum(["low", "medium", "high", "auto"]).optional(),
      idleTimeoutMs: z.number().nullable(),
    })
    .nullable(),
  includeLogprobs: z.boolean(),
});

/**
 * A config a client secret carried, checked again as if a client had just sent it: its shape first, then every value
 * through the same validators as `session.update` (applied as a complete beta session over the defaults), so that
 * what a secret minted by another version or replica holds is what this one accepts. Throws ApiError.
 */
export function restoreSessionConfig(stored: unknown): TranscriptionSessionConfig {
  const config = parse(storedConfigSchema, stored, "session");
  const turn = config.turnDetection;
  const wire = {
    input_audio_format: config.format.betaName,
    input_audio_noise_reduction: config.noiseReduction ? { type: config.noiseReduction } : null,
    input_audio_transcription: {
      model: config.model,
      language: config.language,
      languages: config.languages,
      keywords: config.keywords,
      prompt: config.prompt,
      delay: config.delay,
      live_partials: config.livePartials,
    },
    // Every value the config holds, semantic_vad's threshold and padding included (the wire echo leaves them out).
    turn_detection: turn && {
      type: turn.type,
      threshold: turn.threshold,
      prefix_padding_ms: turn.prefixPaddingMs,
      ...(turn.type === "semantic_vad"
        ? { eagerness: turn.eagerness ?? "auto" }
        : { silence_duration_ms: turn.silenceDurationMs, idle_timeout_ms: turn.idleTimeoutMs }),
    },
    include: config.includeLogprobs ? [LOGPROBS_INCLUDE] : [],
  };
  const restored = applyBetaSession(defaultSessionConfig(config.model), wire, "session");
  // The format info must be this version's own for that format, not merely name it.
  const { type, sampleRate, bytesPerSample } = restored.format;
  if (config.format.type !== type || config.format.sampleRate !== sampleRate || config.format.bytesPerSample !== bytesPerSample) {
    throw ApiError.invalidParam("session.input_audio_format", "The stored input audio format does not match this server's.");
  }
  return restored;
}
