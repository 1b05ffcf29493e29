// The one wire error of Earshot and its catalogue: every error a client can receive, over HTTP, in an SSE stream, as a
// realtime `error` event or in a batch job, is an ApiError made here, in OpenAI's shape
// {"error":{"message","type","param","code"}}, with its HTTP status and headers (Retry-After, WWW-Authenticate). A
// realtime session sends the same body as an event and ignores the status. The layers below speak typed errors of
// their own (audio, engine, transcription); `toApiError` is the one mapping from them to the wire.
import { DiarizationAbortedError, DiarizationOverloadedError } from "../diarization/index.js";
import { AudioDecodeError } from "../audio/errors.js";
import { EngineOverloadedError, TranscriptionAbortedError, UnsupportedLanguageError, UnsupportedOptionError } from "../engine/errors.js";
import { InvalidSettingError, ModelLoadingError, ModelMemoryError, ModelNotInstalledError, ModelNotServedError } from "../transcription/errors.js";

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

  // ---- requests: fields, events, routes ------------------------------------------------------------------------

  static invalidParam(param: string, message: string, code = "invalid_value"): ApiError {
    return new ApiError(400, message, "invalid_request_error", param, code);
  }

  static missingParam(param: string): ApiError {
    return new ApiError(400, `Missing required parameter: '${param}'.`, "invalid_request_error", param, "missing_required_parameter");
  }

  /** A request (or realtime client event) refused as a whole, naming no param or the one given. */
  static invalidRequest(message: string, code: string, param: string | null = null): ApiError {
    return new ApiError(400, message, "invalid_request_error", param, code);
  }

  static unauthorized(message: string): ApiError {
    return new ApiError(401, message, "authentication_error", null, "invalid_api_key", { "WWW-Authenticate": 'Bearer realm="earshot"' });
  }

  static modelNotFound(model: string, param = "model"): ApiError {
    return new ApiError(404, modelNotFoundMessage(model), "invalid_request_error", param, "model_not_found");
  }

  static routeNotFound(method: string, url: string): ApiError {
    return new ApiError(404, `Invalid URL (${method} ${url})`, "invalid_request_error", null, "unknown_url");
  }

  static fileTooLarge(limitBytes: number): ApiError {
    const mb = (limitBytes / 1_048_576).toFixed(limitBytes % 1_048_576 === 0 ? 0 : 1);
    return new ApiError(413, `Maximum content size limit (${mb} MB) exceeded.`, "invalid_request_error", "file", "file_too_large");
  }

  // ---- the server's state ----------------------------------------------------------------------------------------

  static overloaded(retryAfterSeconds: number): ApiError {
    return new ApiError(429, `The server is busy transcribing; retry after ${retryAfterSeconds} s.`, "rate_limit_error", null, "server_busy", {
      "Retry-After": String(retryAfterSeconds),
    });
  }

  /** 429 `rate_limit_exceeded`: a limit of the server or of the caller's share, retried after `retryAfterSeconds`. */
  static rateLimited(message: string, retryAfterSeconds = 5, code = "rate_limit_exceeded"): ApiError {
    return new ApiError(429, message, "rate_limit_error", null, code, { "Retry-After": String(retryAfterSeconds) });
  }

  static notReady(message: string): ApiError {
    return new ApiError(503, message, "server_error", null, "not_ready", { "Retry-After": "5" });
  }

  /** The server failed (a realtime session's failure is sent as this before it closes). */
  static serverError(message = "The server had an error while processing your request.", code = "server_error"): ApiError {
    return new ApiError(500, message, "server_error", null, code);
  }

  static internal(): ApiError {
    return ApiError.serverError("The server had an error while processing your request.", "internal_error");
  }
}

// ---- models on demand (docs/model-loading.md) ---------------------------------------------------------------------

/** The request's model is still loading after the load wait: retry once it is likely loaded. */
export function modelLoading(message: string, retryAfterSeconds: number): ApiError {
  return new ApiError(503, message, "server_error", null, "model_loading", { "Retry-After": String(retryAfterSeconds) });
}

/** The request's model does not fit in the models' memory budget beside the models in use now. */
export function modelMemoryExhausted(message: string, retryAfterSeconds: number): ApiError {
  return new ApiError(503, message, "server_error", null, "model_memory_exhausted", { "Retry-After": String(retryAfterSeconds) });
}

/** A catalog model this server does not serve: OpenAI's answer to an unknown model, saying why and what to do. */
export function modelNotInstalled(message: string, param = "model"): ApiError {
  return new ApiError(404, message, "invalid_request_error", param, "model_not_found");
}

// ---- HTTP: what never reaches a route, uploads, admission ----------------------------------------------------------

/** The longest request target (path and query) served; longer ones get 414 (Node's own limit: 16 KB of headers). */
export const MAX_URL_LENGTH = 8 * 1024;

export function uriTooLong(): ApiError {
  return new ApiError(414, `The request URL is too long (at most ${MAX_URL_LENGTH} characters).`, "invalid_request_error", null, "uri_too_long");
}

export function headersTooLarge(): ApiError {
  return new ApiError(431, "The request headers are too large.", "invalid_request_error", null, "request_header_fields_too_large");
}

export function malformedRequest(): ApiError {
  return new ApiError(400, "The request is not valid HTTP.", "invalid_request_error", null, "bad_request");
}

export function requestTimeout(): ApiError {
  return new ApiError(408, "The request took too long to arrive.", "invalid_request_error", null, "request_timeout");
}

/** A refusal of the HTTP framework's own (a URL it cannot decode, a JSON body it cannot parse), with its 4xx status. */
export function frameworkRefusal(status: number, message: string, code: string | null): ApiError {
  return new ApiError(status >= 400 && status < 500 ? status : 400, message, "invalid_request_error", null, code);
}

export function invalidJsonBody(): ApiError {
  return ApiError.invalidRequest("The request body must be a JSON object.", "invalid_body");
}

/** OpenAI's answer to an upload that is not multipart (a urlencoded or JSON body), before the body is read. */
export function invalidUploadContentType(contentType: string | undefined): ApiError {
  const given = contentType?.split(";")[0]?.trim() || "none";
  return ApiError.invalidParam(
    "file",
    `Invalid Content-Type header (${given}), expected multipart/form-data. (HINT: If you're using curl, you can pass -H 'Content-Type: multipart/form-data')`,
    "invalid_content_type",
  );
}

/** A streamed request whose fields after the file change what its events (already streaming) came from. */
export function fieldsAfterFile(): ApiError {
  return ApiError.invalidParam("stream", "Fields after the file changed a request whose events were already streaming: send every field before the file.", "fields_after_file");
}

/** 408: the upload stalled. */
export function uploadIdleTimeout(ms: number, why = ""): ApiError {
  return new ApiError(408, `The upload sent no data for ${ms / 1000} s${why}; the request was dropped.`, "invalid_request_error", null, "upload_idle_timeout");
}

/** 408: the upload took too long in all. */
export function uploadTimeout(ms: number): ApiError {
  return new ApiError(408, `The upload did not complete within ${ms / 1000} s; the request was dropped.`, "invalid_request_error", null, "upload_timeout");
}

/** 499 (logged at info, never answered): the client went away before its response. */
export function clientClosedRequest(): ApiError {
  return new ApiError(499, "The client closed the request.", "invalid_request_error", null, "client_closed_request");
}

/** A decode refused for memory (mid-decode, or from the duration the header declares): the server is busy. */
export function memoryBudgetExhausted(retryAfterSeconds: number): ApiError {
  return new ApiError(
    503,
    `The server is holding as much decoded audio as it is configured for; retry after ${retryAfterSeconds} s.`,
    "server_error",
    null,
    "decoded_audio_budget_exhausted",
    { "Retry-After": String(retryAfterSeconds) },
  );
}

/** What a new upload or realtime session gets while the server drains before it exits (a restart: try again soon). */
export function shuttingDown(): ApiError {
  return new ApiError(503, "The server is shutting down; retry the request (another instance may take it).", "server_error", null, "server_shutting_down", { "Retry-After": "5" });
}

// ---- realtime ----------------------------------------------------------------------------------------------------

export function originNotAllowed(origin: string): ApiError {
  return new ApiError(403, `Origin ${origin} is not allowed (EARSHOT_CORS_ORIGINS).`, "invalid_request_error", null, "origin_not_allowed");
}

export function tooManyRealtimeSessions(limit: number): ApiError {
  return ApiError.rateLimited(`Too many realtime sessions are open on this server (the limit is ${limit}); try again when one has closed.`);
}

/** A binary frame or data channel message: realtime client events are JSON text. */
export function binaryMessage(transport: "websocket" | "webrtc" | "wyoming"): ApiError {
  return ApiError.invalidRequest(
    transport === "websocket"
      ? "Binary WebSocket messages are not supported: send JSON events as text (audio as base64 in input_audio_buffer.append)."
      : "Binary data channel messages are not supported: send JSON events as text (the audio travels on the call's audio track).",
    "invalid_event",
  );
}

/** An append on a WebRTC call's data channel: the call's audio is its track. */
export function appendOverWebRtc(): ApiError {
  return ApiError.invalidRequest(
    "Over WebRTC the audio comes from the call's audio track; input_audio_buffer.append is not accepted on the data channel.",
    "unsupported_event",
    "type",
  );
}

/** A client event on a channel that cannot be left unread (WebRTC) while the session already holds this many. */
export function eventQueueFull(limit: number): ApiError {
  return new ApiError(429, `The session has ${limit} client events (or as many bytes as one message may hold) waiting; this one was not taken. Wait for the server's answers before sending more.`, "rate_limit_error", null, "event_queue_full");
}

/** A WebRTC call's track audio dropped: the session is behind (`backlog`), or the audio comes faster than the speed limit. */
export function inputAudioDropped(why: "backlog" | "speed", maxSpeed: number): ApiError {
  const reason =
    why === "backlog"
      ? "the session is behind (its events, audio or committed turns are queued beyond their bounds)"
      : `the audio arrives faster than ${maxSpeed} × real time (EARSHOT_REALTIME_MAX_SPEED)`;
  return new ApiError(429, `Audio from the call's track is being dropped: ${reason}. It is taken again once the session has caught up.`, "rate_limit_error", null, "input_audio_dropped");
}

// ---- realtime over WebRTC (POST /v1/realtime/calls) -----------------------------------------------------------------

/** 413: a call request's offer or session beyond its bound. */
export function callBodyTooLarge(param: string, limitBytes: number): ApiError {
  return new ApiError(413, `The '${param}' part of the call request is larger than ${Math.round(limitBytes / 1024)} KB.`, "invalid_request_error", param, "request_too_large");
}

/** A call request that is neither the raw offer nor the form. */
export function invalidCallContentType(contentType: string | undefined): ApiError {
  const given = contentType?.split(";")[0]?.trim() || "none";
  return ApiError.invalidParam(
    "sdp",
    `Invalid Content-Type header (${given}): send the SDP offer as application/sdp, or a multipart/form-data form with 'sdp' and 'session'.`,
    "invalid_content_type",
  );
}

/** 503: no UDP port could be bound for a call's media (EARSHOT_WEBRTC_UDP_PORTS all taken). */
export function noUdpPortFree(range: readonly [number, number] | undefined): ApiError {
  const where = range ? `in EARSHOT_WEBRTC_UDP_PORTS (${range[0]}-${range[1]})` : "";
  return new ApiError(503, `No UDP port is free ${where} for the call's media; try again when a call has ended.`.replace("  ", " "), "server_error", null, "no_udp_port_free", { "Retry-After": "5" });
}

/** 404: no call with this id that the caller may end (here: calls live on the replica that answered them). */
export function callNotFound(id: string): ApiError {
  return new ApiError(404, `No call found with id '${id.slice(0, 100)}'.`, "invalid_request_error", "call_id", "call_not_found");
}

// ---- batch jobs --------------------------------------------------------------------------------------------------

export function jobNotFound(id: string): ApiError {
  return new ApiError(404, `No job found with id '${id}'.`, "invalid_request_error", "id", "job_not_found");
}

/** 409 for the result of a job that has none (yet). */
export function jobHasNoResult(job: { id: string; status: string; error?: { message?: string } | null }): ApiError {
  const code = job.status === "failed" ? "job_failed" : job.status === "cancelled" ? "job_cancelled" : "job_not_finished";
  const message =
    job.status === "failed"
      ? `Job '${job.id}' failed, so it has no result: ${job.error?.message ?? "no reason given"}`
      : job.status === "cancelled"
        ? `Job '${job.id}' was cancelled, so it has no result.`
        : `Job '${job.id}' is ${job.status}: its result is ready once its status is 'succeeded'.`;
  return new ApiError(409, message, "invalid_request_error", null, code);
}

export function tooManyJobUploads(limit: number): ApiError {
  return ApiError.rateLimited(`${limit} job uploads are being received already; retry shortly.`, 5, "too_many_job_uploads");
}

/** 429: `count` unfinished jobs (with uploads in flight) reach the bound of all keys together. */
export function jobsQueueFull(count: number): ApiError {
  return ApiError.rateLimited(
    `${count} jobs are waiting, running or being uploaded, this server's limit (EARSHOT_JOBS_MAX_QUEUED); retry once some have finished.`,
    60,
    "jobs_queue_full",
  );
}

/** 429: this API key's own bound of unfinished jobs (other keys are not held back by it). */
export function ownerQueueFull(count: number, limit: number): ApiError {
  return ApiError.rateLimited(
    `This API key has ${count} jobs waiting, running or being uploaded, its limit of ${limit} (EARSHOT_JOBS_MAX_QUEUED_PER_KEY); ` +
      "retry once some of them have finished.",
    60,
  );
}

/** Seconds a client waits before retrying a job refused for room (room frees up as jobs finish). */
const STORAGE_RETRY_AFTER_SECONDS = 60;

/** 429: the audio of unfinished jobs would pass the budget `setting` names (it frees up as jobs finish). */
export function storedAudioBudgetFull(usedBytes: number, neededBytes: number, budgetBytes: number, setting: string): ApiError {
  const mb = (bytes: number) => Math.ceil(bytes / 1_048_576);
  return ApiError.rateLimited(
    `The job queue holds ${mb(usedBytes)} MB of audio waiting to be transcribed; this job needs up to ${mb(neededBytes)} MB more, ` +
      `past its limit of ${mb(budgetBytes)} MB (${setting}). Retry once some jobs have finished.`,
    STORAGE_RETRY_AFTER_SECONDS,
    "jobs_queue_full",
  );
}

/** 429: the audio of unfinished jobs kept in Redis is at its budget. */
export function redisAudioBudgetFull(usedBytes: number): ApiError {
  return ApiError.rateLimited(
    `The job queue already holds ${Math.round(usedBytes / 1_048_576)} MB of audio waiting to be transcribed, its limit (EARSHOT_REDIS_MAX_STORED_AUDIO_MB); retry later.`,
    STORAGE_RETRY_AFTER_SECONDS,
    "jobs_queue_full",
  );
}

/** 413: one job's FLAC is above what one Redis value may hold (EARSHOT_REDIS_MAX_JOB_AUDIO_MB). */
export function redisJobAudioTooLarge(bytes: number, limitBytes: number): ApiError {
  return new ApiError(
    413,
    `The job's audio is ${(bytes / 1_048_576).toFixed(1)} MB as FLAC, above this server's limit for one job on Redis (${limitBytes / 1_048_576} MB, EARSHOT_REDIS_MAX_JOB_AUDIO_MB).`,
    "invalid_request_error",
    "file",
    "file_too_large",
  );
}

/** 507: the disk the job's audio or record goes to has no room (nothing of the job is kept). */
export function insufficientStorage(why: string): ApiError {
  return new ApiError(507, `The server has no room to store the job (${why}); nothing was kept. Retry later.`, "server_error", null, "insufficient_storage", {
    "Retry-After": String(STORAGE_RETRY_AFTER_SECONDS),
  });
}

/** 503: the job queue cannot be reached (Redis down, unreachable, or too slow); `cause` says how. */
export function queueUnreachable(cause: string): ApiError {
  return new ApiError(503, `Batch jobs are unavailable: the job queue (Redis) cannot be reached (${cause}). Retry later.`, "server_error", null, "jobs_unavailable", {
    "Retry-After": "5",
  });
}

// ---- the one mapping from the layers below -----------------------------------------------------------------------

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
  if (error instanceof InvalidSettingError) return ApiError.invalidParam(error.param, error.message, error.code);
  if (error instanceof ModelNotServedError) return ApiError.modelNotFound(error.model);
  if (error instanceof ModelNotInstalledError) return modelNotInstalled(error.message);
  if (error instanceof ModelLoadingError) return modelLoading(error.message, error.retryAfterSeconds);
  if (error instanceof ModelMemoryError) return modelMemoryExhausted(error.message, error.retryAfterSeconds);
  if (error instanceof AudioDecodeError) {
    const mapped = audioErrorStatus[error.code];
    if (mapped.status >= 500) return ApiError.internal();
    return new ApiError(mapped.status, mapped.message ?? `Could not decode the audio: ${error.message}`, "invalid_request_error", "file", error.code);
  }
  if (error instanceof EngineOverloadedError) return ApiError.overloaded(error.retryAfterSeconds);
  if (error instanceof UnsupportedLanguageError) return ApiError.invalidParam("language", `Unsupported language: '${error.language}'.`, "unsupported_language");
  // The engine's backstop for a field the request check let through (its option names are close to the fields').
  if (error instanceof UnsupportedOptionError) return ApiError.invalidParam(error.option === "beamSize" ? "beam_size" : error.option === "task" ? "model" : error.option, error.message, "unsupported_parameter");
  if (error instanceof TranscriptionAbortedError || error instanceof DiarizationAbortedError) return clientClosedRequest();
  if (error instanceof DiarizationOverloadedError) {
    return ApiError.rateLimited(`The server is busy telling speakers apart in other recordings; retry after ${error.retryAfterSeconds} s.`, error.retryAfterSeconds, "diarization_overloaded");
  }
  // Fastify's own request errors (bad JSON, a JSON body over its limit, ...) carry their 4xx status and code.
  const { statusCode, code, message } = error as { statusCode?: unknown; code?: unknown; message?: unknown };
  if (typeof statusCode === "number" && statusCode >= 400 && statusCode < 500) {
    return frameworkRefusal(statusCode, String(message), typeof code === "string" ? code : null);
  }
  return ApiError.internal();
}
