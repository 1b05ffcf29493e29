// Ephemeral client secrets for the realtime WebSocket, minted with a real API key:
// - GA   POST /v1/realtime/client_secrets        {expires_after:{anchor, seconds}, session} → {value, expires_at, session}
// - beta POST /v1/realtime/transcription_sessions {client_secret:{expires_at:{anchor, seconds}}, ...session}
//                                                  → session with client_secret:{value, expires_at}
import type { FastifyInstance } from "fastify";

import { realtimeId } from "../../formats/realtimeEvents.js";
import { ApiError, invalidJsonBody, modelNotFoundMessage } from "../../api/errors.js";
import {
  type ClientSecret,
  ClientSecretTooLargeError,
  DEFAULT_SECRET_TTL_SECONDS,
  MAX_SECRET_TTL_SECONDS,
  MIN_SECRET_TTL_SECONDS,
} from "./clientSecrets.js";
import { applyBetaSession, applyGaSession, defaultSessionConfig, type TranscriptionSessionConfig } from "../../api/realtimeSession.js";
import { renderBetaSession, renderGaSession } from "../../api/realtimeSessionJson.js";
import type { ServerContext } from "../serverContext.js";

function objectBody(body: unknown): Record<string, unknown> {
  if (body === undefined || body === null) return {};
  if (typeof body !== "object" || Array.isArray(body)) throw invalidJsonBody();
  return body as Record<string, unknown>;
}

/** `{anchor?: "created_at", seconds?}` → seconds (default 600, 10–7200). */
function lifetime(value: unknown, param: string): number {
  if (value === undefined || value === null) return DEFAULT_SECRET_TTL_SECONDS;
  if (typeof value !== "object" || Array.isArray(value)) throw ApiError.invalidParam(param, `Invalid '${param}': expected an object.`, "invalid_type");
  const { anchor, seconds } = value as { anchor?: unknown; seconds?: unknown };
  if (anchor !== undefined && anchor !== "created_at") throw ApiError.invalidParam(`${param}.anchor`, `Invalid '${param}.anchor': only 'created_at' is supported.`);
  if (seconds === undefined) return DEFAULT_SECRET_TTL_SECONDS;
  if (typeof seconds !== "number" || !Number.isInteger(seconds) || seconds < MIN_SECRET_TTL_SECONDS || seconds > MAX_SECRET_TTL_SECONDS) {
    throw ApiError.invalidParam(
      `${param}.seconds`,
      `Invalid '${param}.seconds': expected an integer between ${MIN_SECRET_TTL_SECONDS} and ${MAX_SECRET_TTL_SECONDS} (got ${JSON.stringify(seconds)}).`,
    );
  }
  return seconds;
}

/** Session settings as `apply` makes them, their model one the server serves (400 naming `modelParam` otherwise). */
export function sessionConfig(context: Pick<ServerContext, "models">, apply: () => TranscriptionSessionConfig, modelParam: string): TranscriptionSessionConfig {
  const config = apply();
  if (!context.models.find(config.model)) throw ApiError.invalidParam(modelParam, modelNotFoundMessage(config.model), "model_not_found");
  return config;
}

/** Mints a secret; settings too large for one are a 400 naming the transcription settings (`param`). */
function mint(make: () => ClientSecret, param: string): ClientSecret {
  try {
    return make();
  } catch (error) {
    if (error instanceof ClientSecretTooLargeError) throw ApiError.invalidParam(param, error.message, "client_secret_too_large");
    throw error;
  }
}

export function registerClientSecretRoutes(app: FastifyInstance, context: Pick<ServerContext, "models" | "clientSecrets">): void {
  const defaults = () => defaultSessionConfig(context.models.defaultModel.name);

  app.post("/v1/realtime/client_secrets", async (request) => {
    const body = objectBody(request.body);
    const ttl = lifetime(body.expires_after, "expires_after");
    const config = sessionConfig(
      context,
      () => (body.session === undefined ? defaults() : applyGaSession(defaults(), body.session)),
      "session.audio.input.transcription.model",
    );
    const secret = mint(() => context.clientSecrets.mint(config, realtimeId("sess"), ttl, request.caller), "session.audio.input.transcription");
    return { value: secret.value, expires_at: secret.expiresAt, session: renderGaSession(config, { id: secret.sessionId, expiresAt: secret.expiresAt }) };
  });

  app.post("/v1/realtime/transcription_sessions", async (request) => {
    const body = objectBody(request.body);
    const { client_secret: clientSecret, ...session } = body;
    const ttl = lifetime((clientSecret as { expires_at?: unknown } | undefined)?.expires_at, "client_secret.expires_at");
    const config = sessionConfig(context, () => applyBetaSession(defaults(), session, ""), "input_audio_transcription.model");
    const secret = mint(() => context.clientSecrets.mint(config, realtimeId("sess"), ttl, request.caller), "input_audio_transcription");
    return {
      ...renderBetaSession(config, { id: secret.sessionId, expiresAt: secret.expiresAt }),
      client_secret: { value: secret.value, expires_at: secret.expiresAt },
    };
  });
}
