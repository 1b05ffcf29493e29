// POST /v1/audio/transcriptions, POST /v1/audio/translations and the simple browser upload
// POST /api/transcribe: thin wire adapters over the transcription service. Decoding starts while the upload
// streams in; with chunking, so does transcription when the form's fields come before the file. Every upload is
// admitted (or refused 429) before a byte of its body is read, and holds its decode slot and decoded-audio memory
// lease until it is answered.
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";

import { AudioMemoryError, type AudioMemoryGrant, type DecodeAudioOptions, type DecodedAudio } from "../../audio/index.js";
import type { Segment, TranscriptionResult } from "../../engine/types.js";
import {
  diarizedSegment,
  diarizedText,
  formatSseEvent,
  renderDiarizedJson,
  renderTranscription,
  resultTokens,
  textDeltaEvent,
  textDoneEvent,
  tokenLogprobs,
  tokenUsage,
  type SpeakerTurn,
} from "../../formats/index.js";
import { ApiError, clientClosedRequest, invalidUploadContentType, memoryBudgetExhausted, toApiError } from "../../api/errors.js";
import { MAX_SPEAKER_CHANNELS, type ChannelsTranscription } from "../../transcription/channelTranscription.js";
import { parseTranscriptionRequest, type AudioTask, type FormFields } from "../../api/transcriptionForm.js";
import { languageSetting, promptSetting, type TranscriptionSettings } from "../../transcription/settings.js";
import type { OpenTranscription } from "../../transcription/TranscriptionService.js";
import type { ServerContext } from "../serverContext.js";
import { receiveUpload } from "../receiveUpload.js";
import { type UploadTicket } from "../uploadAdmission.js";

/** An AbortController that fires when the client goes away before the response is complete. */
function clientGone(reply: FastifyReply): AbortController {
  const controller = new AbortController();
  reply.raw.on("close", () => {
    if (!reply.raw.writableFinished) controller.abort(new Error("client closed the request"));
  });
  return controller;
}

/** Segments decoded before the route knows what to do with them (the `stream` field may follow the file). */
class SegmentSink {
  private held: Segment[] | undefined = [];
  private listener: ((segment: Segment) => void) | undefined;

  readonly push = (segment: Segment): void => {
    if (this.listener) this.listener(segment);
    else this.held?.push(segment);
  };

  /** From now on segments go to `listener`, those held first. */
  attach(listener: (segment: Segment) => void): void {
    for (const segment of this.held ?? []) listener(segment);
    this.held = undefined;
    this.listener = listener;
  }

  /** Nobody will stream them: stop holding. */
  discard(): void {
    this.held = undefined;
  }
}

interface UploadedTranscription {
  audio: DecodedAudio;
  /** The upload was decoded with its channels separated (the fields before the file asked for speakers). */
  separated: boolean;
  /** The upload's share of the decoded-audio budget (for a second decode of it). */
  memory: AudioMemoryGrant;
  /** The transcription that started while the upload came in, if the fields before the file allowed one. */
  early: OpenTranscription | undefined;
  sink: SegmentSink;
}

/** How an upload is decoded, from what the fields before the file say. */
type UploadDecode = Pick<DecodeAudioOptions, "channels" | "maxChannels" | "keepInput">;

/** The answer when fields after the file change a request whose events were already streaming. */
function fieldsAfterFile(): ApiError {
  return ApiError.invalidParam("stream", "Fields after the file changed a request whose events were already streaming: send every field before the file.", "fields_after_file");
}

/** Route hook of the upload routes: a body that is not a multipart form is refused before it is read or parsed. */
async function requireMultipart(request: FastifyRequest): Promise<void> {
  if (!/^multipart\/form-data\b/i.test(request.headers["content-type"] ?? "")) throw invalidUploadContentType(request.headers["content-type"]);
}

/**
 * The shared shape of every upload route: admit the upload (429 before its body is read when the server could not
 * take it), watch for the client going away,
 * receive the form (decoding the file as it streams in, and transcribing it early when the fields before the file
 * already `parse` to chunked work), check the whole form, and run `handle`; on failure the decode and any early work
 * stop at once, so FFmpeg, its temp files and the engine's slots are freed.
 */
async function withAudioForm<T extends { settings: TranscriptionSettings }>(
  context: ServerContext,
  request: FastifyRequest,
  reply: FastifyReply,
  parse: (fields: FormFields) => T,
  handle: (parsed: T, upload: UploadedTranscription, signal: AbortSignal) => Promise<void>,
  /** Called when an early transcription starts, with what the fields before the file asked for. */
  onEarlyStart?: (early: T, sink: SegmentSink) => void,
  /** How to decode the file, from the fields before it (parsed when they parse); default a mono mix. */
  decodeFor?: (early: T | undefined, fieldsBeforeFile: FormFields) => UploadDecode,
): Promise<void> {
  const ticket = context.admission.admit();
  // Answered, failed or gone: the decoded samples are dropped, and so is their lease.
  reply.raw.once("close", () => ticket.release());
  const signal = clientGone(reply).signal;
  const decodeAbort = new AbortController();
  const sink = new SegmentSink();
  let early: Promise<OpenTranscription | undefined> = Promise.resolve(undefined);
  let separated = false;
  try {
    const upload = await receiveUpload(request.raw, {
      maxFileBytes: context.maxUploadBytes,
      signal,
      idleTimeoutMs: context.uploadIdleTimeoutMs,
      totalTimeoutMs: context.uploadTimeoutMs,
      // A stalled upload can be dropped to make room for a new one (see UploadAdmission.admit).
      onReading: (idleMs, drop) => {
        ticket.idleMs = idleMs;
        ticket.evict = drop;
      },
      consumeFile: (stream, fileSignal, fieldsBeforeFile) => {
        const decodeSignal = AbortSignal.any([fileSignal, signal, decodeAbort.signal]);
        const earlyRequest = parseEarly(context, parse, fieldsBeforeFile);
        const how = decodeFor?.(earlyRequest, fieldsBeforeFile) ?? {};
        separated = how.channels === "separate";
        // Work can start before the upload ends only when the fields before the file ask for chunking (of a mix).
        const chunkedEarly = !separated && earlyRequest !== undefined && context.transcription.chunkingOf(earlyRequest.settings) !== null;
        if (!chunkedEarly) return trackDecode(ticket, reply, context.decode(stream, { signal: decodeSignal, memory: ticket.memory, ...how }));
        const pending: Float32Array[] = [];
        let run: OpenTranscription | undefined;
        let opening = true;
        early = startEarly(context, earlyRequest.settings, decodeSignal, sink).then((opened) => {
          run = opened;
          opening = false;
          for (const samples of pending.splice(0)) run?.run.push(samples);
          if (opened) onEarlyStart?.(earlyRequest, sink);
          return opened;
        });
        const decoding = context.decode(stream, {
          signal: decodeSignal,
          // The early run keeps its own copy of the samples as they come: charged too.
          memory: scaledGrant(ticket.memory, EARLY_RUN_MEMORY_FACTOR),
          ...(how.keepInput ? { keepInput: true } : {}),
          onSamples: (samples) => {
            if (run) run.run.push(samples);
            else if (opening) pending.push(samples);
          },
        });
        return trackDecode(ticket, reply, decoding);
      },
    });
    // Awaited below, or cancelled: never an unhandled rejection on an early exit.
    upload.file?.catch(() => undefined);
    // The same answer on every upload route, whatever else the form lacks.
    if (!upload.file) {
      ticket.decodeDone();
      throw ApiError.missingParam("file");
    }
    const parsed = parse(upload.fields);
    const audio = await upload.file;
    request.log.info({ model: parsed.settings.model, seconds: Number(audio.duration.toFixed(2)), format: audio.format }, "audio decoded");
    context.metrics?.received("http", audio.duration);
    await handle(parsed, { audio, separated, memory: ticket.memory, early: await early, sink }, signal);
  } catch (error) {
    decodeAbort.abort();
    (await early.catch(() => undefined))?.run.cancel();
    if (signal.aborted) throw clientClosedRequest();
    if (error instanceof AudioMemoryError) throw memoryBudgetExhausted(context.defaultEngine()?.retryAfterSeconds() ?? 5);
    throw error;
  }
}

/**
 * What a decode fed to an early (chunked) run is charged per byte of its own buffer: the buffer, and the run's copy
 * of the samples received so far.
 */
const EARLY_RUN_MEMORY_FACTOR = 2;

function scaledGrant(grant: AudioMemoryGrant, factor: number): AudioMemoryGrant {
  return { ensure: (bytes) => grant.ensure(bytes * factor) };
}

/**
 * The decode slot is given back as soon as the decode ends, whatever the request does next; an input kept for a
 * second decode is removed once the request is answered (or gone).
 */
function trackDecode(ticket: UploadTicket, reply: FastifyReply, decoding: Promise<DecodedAudio>): Promise<DecodedAudio> {
  decoding.then(
    (audio) => {
      ticket.decodeDone();
      const kept = audio.keptInput;
      if (!kept) return;
      if (reply.raw.closed) void kept.release();
      else reply.raw.once("close", () => void kept.release());
    },
    () => ticket.decodeDone(),
  );
  return decoding;
}

/** A grant that charges `offset` bytes more than it is asked for (memory the request already holds otherwise). */
function offsetGrant(grant: AudioMemoryGrant, offset: number): AudioMemoryGrant {
  return { ensure: (bytes) => grant.ensure(offset + bytes) };
}

/**
 * The upload's channels, separated: as decoded when the fields before the file asked for speakers; else decoded
 * again from the input kept for it (the official SDK sends the file first), the mix's memory still charged. A mono
 * input gives its one channel (which transcribeChannels refuses with a 400).
 */
async function separatedChannels(upload: UploadedTranscription, signal: AbortSignal): Promise<Float32Array[]> {
  const { audio } = upload;
  if (upload.separated || audio.inputChannels === 1) return audio.channels;
  if (!audio.keptInput) throw new Error("the upload was not kept for a decode of its channels");
  const again = await audio.keptInput.decode({
    signal,
    memory: offsetGrant(upload.memory, audio.samples.byteLength),
    channels: "separate",
    maxChannels: MAX_SPEAKER_CHANNELS,
  });
  return again.channels;
}

/** The early transcription, when the settings known at the file's start ask for chunking (so work can start now). */
async function startEarly(context: ServerContext, settings: TranscriptionSettings | undefined, signal: AbortSignal, sink: SegmentSink): Promise<OpenTranscription | undefined> {
  if (!settings || !context.transcription.chunkingOf(settings)) return undefined;
  try {
    return await context.transcription.open(settings, { signal, onSegment: sink.push });
  } catch {
    // Whatever made it fail (an unknown model, ...) is reported once the whole form is in.
    return undefined;
  }
}

/**
 * The transcription for the final settings: the early one when it was started with the same work in mind, else a
 * new one fed the whole audio.
 */
async function transcriptionFor(
  context: ServerContext,
  settings: TranscriptionSettings,
  upload: UploadedTranscription,
  signal: AbortSignal,
): Promise<OpenTranscription> {
  const { early } = upload;
  if (early && context.transcription.sameWork(early.settings, settings)) return early;
  early?.run.cancel();
  const sink = new SegmentSink();
  upload.sink = sink;
  return context.transcription.open(settings, { signal, onSegment: sink.push });
}

/**
 * What the fields before the file say, the default model standing in for one not sent yet (if the model that
 * comes later runs on the same file, the early work stands). Undefined when they do not parse: the whole form
 * reports why.
 */
function parseEarly<T extends { settings: TranscriptionSettings }>(context: ServerContext, parse: (fields: FormFields) => T, fields: FormFields): T | undefined {
  try {
    return parse(new Map([...fields, ["model", fields.get("model") ?? [context.transcription.models.defaultModel.name]]]));
  } catch {
    return undefined;
  }
}

function handleAudio(context: ServerContext, kind: AudioTask, request: FastifyRequest, reply: FastifyReply): Promise<void> {
  let sse: SseResponse | undefined;
  return withAudioForm(
    context,
    request,
    reply,
    (fields) => parseTranscriptionRequest(kind, fields),
    async (params, upload, signal) => {
      if (params.responseFormat === "diarized_json") {
        // Deltas of a mono transcription already went out: they cannot become speakers' segments.
        if (sse) throw fieldsAfterFile();
        upload.early?.run.cancel();
        upload.sink.discard();
        const channels = await separatedChannels(upload, signal);
        // The events start with the first segment: a refusal before it (one channel, busy) is a plain HTTP error.
        const events = () => (sse ??= new SseResponse(reply, false));
        const transcription = await context.transcription.transcribeChannels(channels, params.settings, {
          signal,
          speakerNames: params.knownSpeakerNames,
          ...(params.stream ? { onSegment: (segment: SpeakerTurn, index: number) => events().speakerSegment(segment, index) } : {}),
        });
        if (params.stream) events().diarizedDone(transcription);
        else await reply.type("application/json").send(JSON.stringify(renderDiarizedJson(transcription.duration, transcription.segments)));
        return;
      }
      const transcription = await transcriptionFor(context, params.settings, upload, signal);
      const finish = () => transcription.run.finish(upload.audio.samples);
      if (sse) {
        // The events went out while the upload came in: only the work they came from can end them.
        if (!params.stream || transcription !== upload.early) throw fieldsAfterFile();
        sse.done(await finish());
        return;
      }
      if (params.stream) {
        sse = new SseResponse(reply, params.includeLogprobs, params.settings.languages !== undefined);
        upload.sink.attach(sse.delta);
        sse.done(await finish());
        return;
      }
      upload.sink.discard();
      const result = await finish();
      const rendered = renderTranscription(params.responseFormat, result, {
        includeLogprobs: params.includeLogprobs,
        timestampGranularities: params.timestampGranularities,
        includeLanguages: params.settings.languages !== undefined,
      });
      await reply.type(rendered.contentType).send(rendered.body);
    },
    // Streaming asked for before the file: the events start while the upload is still coming in.
    (early, sink) => {
      if (!early.stream || sse) return;
      sse = new SseResponse(reply, early.includeLogprobs, early.settings.languages !== undefined);
      sink.attach(sse.delta);
    },
    (early, fieldsBeforeFile): UploadDecode => {
      if (kind !== "transcriptions") return {};
      if (early?.responseFormat === "diarized_json") return { channels: "separate", maxChannels: MAX_SPEAKER_CHANNELS };
      // The format may come after the file (the official SDK sends the file first): a multi-channel input is kept
      // (on disk) for a decode of its channels, should the fields after the file ask for diarized_json.
      return fieldsBeforeFile.has("response_format") ? {} : { keepInput: true };
    },
  ).catch((error: unknown) => {
    if (!sse) throw error;
    sse.fail(error, reply);
  });
}

/**
 * Server-sent events as openai-node's Stream parses them: one `transcript.text.delta` per decoded segment, then
 * `transcript.text.done`. Once the events have started, an error goes out as `event: error`.
 */
class SseResponse {
  private first = true;
  private ended = false;

  constructor(
    private readonly reply: FastifyReply,
    private readonly includeLogprobs: boolean,
    private readonly includeLanguages = false,
  ) {
    reply.hijack();
    const headers = { ...reply.getHeaders(), "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache", connection: "keep-alive" };
    reply.raw.writeHead(200, headers as Record<string, string>);
  }

  readonly delta = (segment: Segment): void => {
    if (this.ended) return;
    const text = this.first ? segment.text.trimStart() : segment.text;
    this.first = false;
    this.reply.raw.write(formatSseEvent(textDeltaEvent(text, this.includeLogprobs ? tokenLogprobs(segment.tokens) : undefined)));
  };

  /** One diarized segment: its text as a delta (with the segment's id), then the `transcript.text.segment` event. */
  readonly speakerSegment = (segment: SpeakerTurn, index: number): void => {
    if (this.ended) return;
    const wire = diarizedSegment(segment, index);
    const text = this.first ? segment.text.trimStart() : segment.text;
    this.first = false;
    this.reply.raw.write(formatSseEvent(textDeltaEvent(text, undefined, wire.id)) + formatSseEvent(wire));
  };

  done(result: TranscriptionResult): void {
    if (this.ended) return;
    this.ended = true;
    const logprobs = this.includeLogprobs ? tokenLogprobs(resultTokens(result)) : undefined;
    this.reply.raw.end(formatSseEvent(textDoneEvent(result.text, logprobs, streamUsage([result]), this.includeLanguages ? result.language : undefined)));
  }

  diarizedDone(transcription: ChannelsTranscription): void {
    if (this.ended) return;
    this.ended = true;
    this.reply.raw.end(formatSseEvent(textDoneEvent(diarizedText(transcription.segments), undefined, streamUsage(transcription.results))));
  }

  fail(error: unknown, reply: FastifyReply): void {
    if (this.ended) return;
    this.ended = true;
    if (reply.raw.destroyed || !reply.raw.writable) {
      reply.raw.destroy();
      return;
    }
    const apiError = toApiError(error);
    if (apiError.status >= 500) reply.log.error({ err: error }, "transcription failed while streaming");
    reply.raw.end(`event: error\ndata: ${JSON.stringify(apiError.body())}\n\n`);
  }
}

/** The token usage of `transcript.text.done`: 1500 audio tokens a decoded window, one output token a text token. */
function streamUsage(results: readonly TranscriptionResult[]) {
  let windows = 0;
  let textTokens = 0;
  for (const result of results) {
    windows += result.timings.windows;
    for (const token of resultTokens(result)) if (!token.special) textTokens++;
  }
  return tokenUsage({ inputTokens: windows * 1500, outputTokens: textTokens, audioTokens: windows * 1500, textTokens: 0 });
}

/** The simple browser pattern: multipart `file` (+ optional model, language, prompt) → {"transcript": "..."}. */
function simpleSettings(context: ServerContext, fields: FormFields): { settings: TranscriptionSettings } {
  const language = languageSetting(fields.get("language")?.[0]);
  // The same bound as every other door's prompt (transcription/fieldLimits.ts).
  const prompt = promptSetting(fields.get("prompt")?.[0]);
  return { settings: { model: fields.get("model")?.[0] ?? context.transcription.models.defaultModel.name, task: "transcribe", language, prompt } };
}

function handleSimpleUpload(context: ServerContext, request: FastifyRequest, reply: FastifyReply): Promise<void> {
  return withAudioForm(
    context,
    request,
    reply,
    (fields) => simpleSettings(context, fields),
    async ({ settings }, upload, signal) => {
      const transcription = await transcriptionFor(context, settings, upload, signal);
      upload.sink.discard();
      const result = await transcription.run.finish(upload.audio.samples);
      await reply.send({ transcript: result.text });
    },
  );
}

/** The routes that take an upload (admission, deadlines and the multipart check apply to them). */
export const UPLOAD_ROUTES = ["/v1/audio/transcriptions", "/v1/audio/translations", "/api/transcribe"] as const;

export function registerAudioRoutes(app: FastifyInstance, context: ServerContext): void {
  const upload = { onRequest: requireMultipart };
  app.post("/v1/audio/transcriptions", upload, (request, reply) => handleAudio(context, "transcriptions", request, reply));
  app.post("/v1/audio/translations", upload, (request, reply) => handleAudio(context, "translations", request, reply));
  app.post("/api/transcribe", upload, (request, reply) => handleSimpleUpload(context, request, reply));
}
