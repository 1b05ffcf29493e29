// How a realtime session's settings are read and rendered, without a server (src/api/realtimeSession.ts,
// realtimeSessionJson.ts): GA and beta session.update, the beta and GA shapes sent back, the offending parameter
// named, and the fields the SDK types define that change no transcript. Over the socket: sessionFields.test.ts.
import { describe, expect, it } from "vitest";

import { ApiError } from "../../src/api/errors.js";
import { applyBetaSession, applyGaSession, defaultSessionConfig } from "../../src/api/realtimeSession.js";
import { renderBetaSession, renderGaSession } from "../../src/api/realtimeSessionJson.js";

const identity = { id: "sess_1", expiresAt: 1000 };

describe("session settings", () => {
  it("applies GA updates partially and renders them back", () => {
    const base = defaultSessionConfig("base");
    const next = applyGaSession(base, {
      type: "transcription",
      audio: { input: { format: { type: "audio/pcma" }, transcription: { language: "EN", prompt: "Earshot" }, noise_reduction: { type: "near_field" } } },
      include: ["item.input_audio_transcription.logprobs"],
    });
    expect(base.format.type).toBe("audio/pcm");
    expect(next).toMatchObject({ model: "base", language: "en", prompt: "Earshot", noiseReduction: "near_field", includeLogprobs: true });
    expect(renderGaSession(next, identity)).toEqual({
      type: "transcription",
      id: "sess_1",
      object: "realtime.transcription_session",
      expires_at: 1000,
      audio: {
        input: {
          format: { type: "audio/pcma" },
          noise_reduction: { type: "near_field" },
          transcription: { model: "base", language: "en", prompt: "Earshot" },
          turn_detection: { type: "server_vad", threshold: 0.5, prefix_padding_ms: 300, silence_duration_ms: 500, idle_timeout_ms: null },
        },
      },
      include: ["item.input_audio_transcription.logprobs"],
    });
    // A later update that names only turn detection keeps the rest.
    const manual = applyGaSession(next, { type: "transcription", audio: { input: { turn_detection: null } } });
    expect(manual).toMatchObject({ language: "en", turnDetection: null, includeLogprobs: true });
  });

  it("maps semantic_vad's eagerness onto a silence duration", () => {
    const config = applyGaSession(defaultSessionConfig("base"), { audio: { input: { turn_detection: { type: "semantic_vad", eagerness: "low" } } } });
    expect(config.turnDetection).toMatchObject({ type: "semantic_vad", silenceDurationMs: 1500, eagerness: "low" });
    expect(renderGaSession(config, identity).audio.input.turn_detection).toEqual({ type: "semantic_vad", eagerness: "low" });
  });

  it("applies beta updates and renders the beta shape", () => {
    const config = applyBetaSession(defaultSessionConfig("base"), {
      input_audio_format: "g711_ulaw",
      input_audio_transcription: { model: "small", language: "german" },
      turn_detection: { type: "server_vad", threshold: 0.7, prefix_padding_ms: 200, silence_duration_ms: 900 },
    });
    expect(renderBetaSession(config, identity)).toEqual({
      id: "sess_1",
      object: "realtime.transcription_session",
      expires_at: 1000,
      modalities: ["text"],
      input_audio_format: "g711_ulaw",
      input_audio_transcription: { model: "small", language: "de", prompt: "" },
      turn_detection: { type: "server_vad", threshold: 0.7, prefix_padding_ms: 200, silence_duration_ms: 900, idle_timeout_ms: null },
      input_audio_noise_reduction: null,
      include: [],
    });
  });

  it("names the offending parameter of a bad update", () => {
    const attempt = (session: unknown) => {
      try {
        applyGaSession(defaultSessionConfig("base"), session);
      } catch (error) {
        expect(error).toBeInstanceOf(ApiError);
        return (error as ApiError).param;
      }
      throw new Error("accepted");
    };
    expect(attempt("text")).toBe("session");
    expect(attempt({ audio: { input: { turn_detection: { silence_duration_ms: -1 } } } })).toBe("session.audio.input.turn_detection.silence_duration_ms");
    expect(attempt({ audio: { input: { format: "mp3" } } })).toBe("session.audio.input.format");
    expect(attempt({ audio: { input: { transcription: { prompt: 5 } } } })).toBe("session.audio.input.transcription.prompt");
    expect(() => applyBetaSession(defaultSessionConfig("base"), { input_audio_format: "opus" }, "")).toThrow(
      expect.objectContaining({ param: "input_audio_format" }),
    );
  });
});

describe("fields the SDK types define that change no transcript", () => {
  const attempt = (apply: () => unknown): ApiError => {
    try {
      apply();
    } catch (error) {
      expect(error).toBeInstanceOf(ApiError);
      return error as ApiError;
    }
    throw new Error("accepted");
  };

  it("accepts delay, noise_reduction, create_response and interrupt_response, and echoes what OpenAI echoes", () => {
    const config = applyGaSession(defaultSessionConfig("base"), {
      type: "transcription",
      audio: {
        input: {
          noise_reduction: { type: "far_field" },
          transcription: { delay: "low" },
          turn_detection: { type: "server_vad", create_response: false, interrupt_response: false, idle_timeout_ms: 8000 },
        },
      },
    });
    expect(renderGaSession(config, { id: "sess_1", expiresAt: 1 }).audio.input).toMatchObject({
      noise_reduction: { type: "far_field" },
      transcription: { delay: "low" },
      turn_detection: { type: "server_vad", idle_timeout_ms: 8000 },
    });
    expect(renderGaSession(config, { id: "sess_1", expiresAt: 1 }).audio.input.turn_detection).not.toHaveProperty("create_response");
    // The beta shapes: modalities, and a client_secret in transcription_session.update.
    expect(() => applyBetaSession(defaultSessionConfig("base"), { modalities: ["text"], client_secret: { expires_at: { anchor: "created_at", seconds: 60 } } })).not.toThrow();
  });

  it("refuses fields nobody defines as unknown_parameter, naming them", () => {
    const ga = (session: unknown) => attempt(() => applyGaSession(defaultSessionConfig("base"), session));
    expect(ga({ type: "transcription", sparkle: true })).toMatchObject({ code: "unknown_parameter", param: "session.sparkle", message: "Unknown parameter: 'session.sparkle'." });
    expect(ga({ audio: { input: { transcription: { speed: 2 } } } })).toMatchObject({ code: "unknown_parameter", param: "session.audio.input.transcription.speed" });
    expect(ga({ audio: { input: { turn_detection: { type: "server_vad", patience: 1 } } } })).toMatchObject({ code: "unknown_parameter", param: "session.audio.input.turn_detection.patience" });
    expect(ga({ audio: { output: { voice: "alloy" } } })).toMatchObject({ code: "unknown_parameter", param: "session.audio.output" });
    // A conversation session is refused for its type, not for its own fields.
    expect(ga({ type: "realtime", instructions: "Be brief." })).toMatchObject({ code: "unsupported_session_type", param: "session.type" });
    expect(attempt(() => applyBetaSession(defaultSessionConfig("base"), { voice: "alloy" }))).toMatchObject({ code: "unknown_parameter", param: "session.voice" });
  });
});
