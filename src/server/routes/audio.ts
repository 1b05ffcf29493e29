// POST /v1/audio/transcriptions, POST /v1/audio/translations and the simple browser upload
// POST /api/transcribe. Decoding starts while the upload streams in.
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";

import { decodeAudio, type DecodedAudio } from "../../audio/index.js";
import type { Segment, TranscriptionResult } from "../../engine/types.js";
import { formatSseEvent, renderTranscription, resultTokens, textDeltaEvent, textDoneEvent, tokenLogprobs, tokenUsage } from "../../formats/index.js";
import { normalizeLanguage } from "../../formats/languages.js";
import { ApiError, toApiError } from "../apiErrors.js";
import type { ServerContext } from "../serverContext.js";
import { receiveUpload, type ReceivedUpload } from "../receiveUpload.js";
import { parseTranscriptionRequest, type AudioTask } from "../transcriptionRequest.js";

/** An AbortController that fires when the client goes away before the response is complete. */
function clientGone(reply: FastifyReply): AbortController {
  const controller = new AbortController();
  reply.raw.on("close", () => {
    if (!reply.raw.writableFinished) controller.abort(new Error("client closed the request"));
  });
  return controller;
}

/**
 * The shared shape of every upload route: refuse at once when the queue is full, watch for the
 * client going away, receive the form (decoding the file as it streams in), and run `handle`;
 * when `handle` fails, the decode is cancelled so FFmpeg and its temp files go at once.
 */
async function withAudioForm(
  context: ServerContext,
  request: FastifyRequest,
  reply: FastifyReply,
  handle: (upload: ReceivedUpload<DecodedAudio>, signal: AbortSignal) => Promise<void>,
): Promise<void> {
  const engine = context.defaultEngine();
  if (engine?.saturated) throw ApiError.overloaded(engine.retryAfterSeconds());
  const signal = clientGone(reply).signal;
  const decodeAbort = new AbortController();
  try {
    const upload = await receiveUpload(request.raw, {
      maxFileBytes: context.maxUploadBytes,
      signal,
      consumeFile: (stream, fileSignal) =>
        decodeAudio(stream, { signal: AbortSignal.any([fileSignal, signal, decodeAbort.signal]), ...context.decodeOptions }),
    });
    // Awaited by `handle`, or cancelled below: never an unhandled rejection on an early exit.
    upload.file?.catch(() => undefined);
    await handle(upload, signal);
  } catch (error) {
    decodeAbort.abort();
    throw error;
  }
}

function handleAudio(context: ServerContext, task: AudioTask, request: FastifyRequest, reply: FastifyReply): Promise<void> {
  return withAudioForm(context, request, reply, async (upload, signal) => {
    const params = parseTranscriptionRequest(task, upload.fields);
    if (!upload.file) throw ApiError.missingParam("file");
    const served = context.models.find(params.model);
    if (!served) throw ApiError.modelNotFound(params.model);
    const engine = await context.models.engine(served);
    const audio = await upload.file;
    request.log.info({ model: served.id, seconds: Number(audio.duration.toFixed(2)), format: audio.format }, "audio decoded");

    if (params.stream) {
      await streamTranscription(reply, signal, async (onSegment) => engine.transcribe(audio.samples, params.options, { signal: signal, onSegment }), params.includeLogprobs);
      return;
    }
    const result = await engine.transcribe(audio.samples, params.options, { signal: signal });
    const rendered = renderTranscription(params.responseFormat, result, {
      includeLogprobs: params.includeLogprobs,
      timestampGranularities: params.timestampGranularities,
    });
    await reply.type(rendered.contentType).send(rendered.body);
  });
}

/**
 * Server-sent events as openai-node's Stream parses them: one `transcript.text.delta` per decoded
 * segment, then `transcript.text.done`. An error after the stream started goes out as `event: error`.
 */
async function streamTranscription(
  reply: FastifyReply,
  signal: AbortSignal,
  run: (onSegment: (segment: Segment) => void) => Promise<TranscriptionResult>,
  includeLogprobs: boolean,
): Promise<void> {
  reply.hijack();
  const headers = { ...reply.getHeaders(), "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache", connection: "keep-alive" };
  reply.raw.writeHead(200, headers as Record<string, string>);
  let first = true;
  try {
    const result = await run((segment) => {
      const delta = first ? segment.text.trimStart() : segment.text;
      first = false;
      reply.raw.write(formatSseEvent(textDeltaEvent(delta, includeLogprobs ? tokenLogprobs(segment.tokens) : undefined)));
    });
    let textTokens = 0;
    for (const token of resultTokens(result)) if (!token.special) textTokens++;
    const usage = tokenUsage({ inputTokens: result.timings.windows * 1500, outputTokens: textTokens, audioTokens: result.timings.windows * 1500, textTokens: 0 });
    const logprobs = includeLogprobs ? tokenLogprobs(resultTokens(result)) : undefined;
    reply.raw.end(formatSseEvent(textDoneEvent(result.text, logprobs, usage)));
  } catch (error) {
    if (signal.aborted) {
      reply.raw.destroy();
      return;
    }
    const apiError = toApiError(error);
    reply.log.error({ err: error }, "transcription failed while streaming");
    reply.raw.end(`event: error\ndata: ${JSON.stringify(apiError.body())}\n\n`);
  }
}

/** The simple browser pattern: multipart `file` (+ optional language, prompt) → {"transcript": "..."}. */
function handleSimpleUpload(context: ServerContext, request: FastifyRequest, reply: FastifyReply): Promise<void> {
  return withAudioForm(context, request, reply, async (upload, signal) => {
    if (!upload.file) throw ApiError.missingParam("file");
    const language = upload.fields.get("language")?.[0];
    const code = language && language !== "auto" ? normalizeLanguage(language) : undefined;
    if (language && language !== "auto" && !code) throw ApiError.invalidParam("language", `Invalid language '${language}'.`, "unsupported_language");
    const modelId = upload.fields.get("model")?.[0];
    const served = modelId ? context.models.find(modelId) : context.models.find(context.models.defaultModel.name);
    if (!served) throw ApiError.modelNotFound(modelId ?? "");
    const engine = await context.models.engine(served);
    const audio = await upload.file;
    const prompt = upload.fields.get("prompt")?.[0];
    const result = await engine.transcribe(audio.samples, { ...(code ? { language: code } : {}), ...(prompt ? { prompt } : {}) }, { signal: signal });
    await reply.send({ transcript: result.text });
  });
}

export function registerAudioRoutes(app: FastifyInstance, context: ServerContext): void {
  app.post("/v1/audio/transcriptions", (request, reply) => handleAudio(context, "transcriptions", request, reply));
  app.post("/v1/audio/translations", (request, reply) => handleAudio(context, "translations", request, reply));
  app.post("/api/transcribe", (request, reply) => handleSimpleUpload(context, request, reply));
}
