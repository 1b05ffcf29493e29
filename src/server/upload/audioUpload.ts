// The upload pipeline every upload route shares: admission before a byte of the body is read (429 when the server
// could not take it), the multipart form received as it streams in (busboy), the file decoded while it arrives, and
// with chunking a transcription started early when the fields before the file already ask for chunked work. Every
// upload holds its decode slot and decoded-audio memory lease until it is answered; on failure the decode and any
// early work stop at once, so FFmpeg, its temp files and the engine's slots are freed.
import type { FastifyReply, FastifyRequest } from "fastify";

import { ApiError, clientClosedRequest, invalidUploadContentType, memoryBudgetExhausted } from "../../api/errors.js";
import type { FormFields } from "../../api/transcriptionForm.js";
import { AudioMemoryError, type AudioMemoryGrant, type DecodeAudioOptions, type DecodedAudio } from "../../audio/index.js";
import type { Segment } from "../../engine/types.js";
import { MAX_SPEAKER_CHANNELS } from "../../transcription/channelTranscription.js";
import type { TranscriptionSettings } from "../../transcription/settings.js";
import { RunFeed } from "../../transcription/runFeed.js";
import type { OpenTranscription } from "../../transcription/TranscriptionService.js";
import { receiveUpload } from "../receiveUpload.js";
import type { ServerContext } from "../serverContext.js";
import type { UploadTicket } from "../uploadAdmission.js";

/** What the upload routes need of the server. */
export type UploadDeps = Pick<
  ServerContext,
  "admission" | "maxUploadBytes" | "uploadIdleTimeoutMs" | "uploadTimeoutMs" | "decode" | "transcription" | "metrics" | "defaultEngine"
>;

/** The routes that take an upload (admission, deadlines and the multipart check apply to them). */
export const UPLOAD_ROUTES = ["/v1/audio/transcriptions", "/v1/audio/translations", "/api/transcribe"] as const;

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

export interface UploadedTranscription {
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
export type UploadDecode = Pick<DecodeAudioOptions, "channels" | "maxChannels" | "keepInput">;

/** Route hook of the upload routes: a body that is not a multipart form is refused before it is read or parsed. */
export async function requireMultipart(request: FastifyRequest): Promise<void> {
  if (!/^multipart\/form-data\b/i.test(request.headers["content-type"] ?? "")) throw invalidUploadContentType(request.headers["content-type"]);
}

/**
 * The shared shape of every upload route: admit the upload (429 before its body is read when the server could not
 * take it), watch for the client going away,
 * receive the form (decoding the file as it streams in, and transcribing it early when the fields before the file
 * already `parse` to chunked work), check the whole form, and run `handle`; on failure the decode and any early work
 * stop at once, so FFmpeg, its temp files and the engine's slots are freed.
 */
export async function withAudioForm<T extends { settings: TranscriptionSettings }>(
  context: UploadDeps,
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
        // The samples decoded before the early run opens are held for it (dropped if it never does). The decoder is
        // not paused for the run: the memory grant below bounds what the two hold (see transcription/runFeed.ts).
        const feed = new RunFeed();
        early = startEarly(context, earlyRequest.settings, decodeSignal, sink).then((opened) => {
          feed.open(opened?.run);
          if (opened) onEarlyStart?.(earlyRequest, sink);
          return opened;
        });
        const decoding = context.decode(stream, {
          signal: decodeSignal,
          // The early run keeps its own copy of the samples as they come: charged too.
          memory: scaledGrant(ticket.memory, EARLY_RUN_MEMORY_FACTOR),
          ...(how.keepInput ? { keepInput: true } : {}),
          onSamples: feed.push,
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
export async function separatedChannels(upload: UploadedTranscription, signal: AbortSignal): Promise<Float32Array[]> {
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
async function startEarly(context: UploadDeps, settings: TranscriptionSettings | undefined, signal: AbortSignal, sink: SegmentSink): Promise<OpenTranscription | undefined> {
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
export async function transcriptionFor(
  context: UploadDeps,
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
function parseEarly<T extends { settings: TranscriptionSettings }>(context: UploadDeps, parse: (fields: FormFields) => T, fields: FormFields): T | undefined {
  try {
    return parse(new Map([...fields, ["model", fields.get("model") ?? [context.transcription.models.defaultModel.name]]]));
  } catch {
    return undefined;
  }
}
