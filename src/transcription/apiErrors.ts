// OpenAI-shaped API errors: {"error":{"message","type","param","code"}} with the right status.
import { AudioDecodeError } from "../audio/errors.js";
import { EngineOverloadedError, TranscriptionAbortedError, UnsupportedLanguageError } from "../engine/errors.js";

export type ApiErrorType = "invalid_request_error" | "authentication_error" | "not_found_error" | "rate_limit_error" | "server_error";

export interface ApiErrorBody {
  error: { message: string; type: ApiErrorType; param: string | null; code: string | null };
}

/** OpenAI's words for a model id nobody serves. */
export function modelNotFoundMessage(model: string): string {
  return `The model '${model}' does not exist or you do not have access to it.`;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly type: ApiErrorType,
    readonly param: string | null = null,
    readonly code: string | null = null,
    /** Extra response headers (Retry-After, WWW-Authenticate). */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = "ApiError";
  }

  body(): ApiErrorBody {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }

  static invalidParam(param: string, message: string, code = "invalid_value"): ApiError {
    return new ApiError(400, message, "invalid_request_error", param, code);
  }

  static missingParam(param: string): ApiError {
    return new ApiError(400, `Missing required parameter: '${param}'.`, "invalid_request_error", param, "missing_required_parameter");
  }

  static unauthorized(message: string): ApiError {
    return new ApiError(401, message, "authentication_error", null, "invalid_api_key", { "WWW-Authenticate": 'Bearer realm="earshot"' });
  }

  static modelNotFound(model: string): ApiError {
    return new ApiError(404, modelNotFoundMessage(model), "invalid_request_error", "model", "model_not_found");
  }

  static routeNotFound(method: string, url: string): ApiError {
    return new ApiError(404, `Invalid URL (${method} ${url})`, "invalid_request_error", null, "unknown_url");
  }

  static fileTooLarge(limitBytes: number): ApiError {
    const mb = (limitBytes / 1_048_576).toFixed(limitBytes % 1_048_576 === 0 ? 0 : 1);
    return new ApiError(413, `Maximum content size limit (${mb} MB) exceeded.`, "invalid_request_error", "file", "file_too_large");
  }

  static overloaded(retryAfterSeconds: number): ApiError {
    return new ApiError(429, `The server is busy transcribing; retry after ${retryAfterSeconds} s.`, "rate_limit_error", null, "server_busy", {
      "Retry-After": String(retryAfterSeconds),
    });
  }

  static notReady(message: string): ApiError {
    return new ApiError(503, message, "server_error", null, "not_ready", { "Retry-After": "5" });
  }

  static internal(): ApiError {
    return new ApiError(500, "The server had an error while processing your request.", "server_error", null, "internal_error");
  }
}

const audioErrorStatus: Record<AudioDecodeError["code"], { status: number; message?: string }> = {
  empty_file: { status: 400, message: "The audio file is empty." },
  unsupported_format: {
    status: 415,
    message: "Invalid file format. Supported formats: ['flac', 'm4a', 'mp3', 'mp4', 'mpeg', 'mpga', 'oga', 'ogg', 'wav', 'webm']",
  },
  decode_failed: { status: 415 },
  no_audio: { status: 400, message: "The audio file contains no audio samples." },
  no_audio_stream: { status: 415, message: "The file has no audio stream." },
  too_long: { status: 413 },
  too_many_channels: { status: 400 },
  timeout: { status: 500 },
  ffmpeg_unavailable: { status: 500 },
};

/** Maps anything thrown while serving a request to an ApiError; unknown errors become a plain 500. */
export function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  if (error instanceof AudioDecodeError) {
    const mapped = audioErrorStatus[error.code];
    if (mapped.status >= 500) return ApiError.internal();
    return new ApiError(mapped.status, mapped.message ?? `Could not decode the audio: ${error.message}`, "invalid_request_error", "file", error.code);
  }
  if (error instanceof EngineOverloadedError) return ApiError.overloaded(error.retryAfterSeconds);
  if (error instanceof UnsupportedLanguageError) return ApiError.invalidParam("language", `Unsupported language: '${error.language}'.`, "unsupported_language");
  if (error instanceof TranscriptionAbortedError) return new ApiError(499, "The client closed the request.", "invalid_request_error", null, "client_closed_request");
  // Fastify's own request errors (bad JSON, a JSON body over its limit, ...) carry their 4xx status and code.
  const { statusCode, code, message } = error as { statusCode?: unknown; code?: unknown; message?: unknown };
  if (typeof statusCode === "number" && statusCode >= 400 && statusCode < 500) {
    return new ApiError(statusCode, String(message), "invalid_request_error", null, typeof code === "string" ? code : null);
  }
  return ApiError.internal();
}
