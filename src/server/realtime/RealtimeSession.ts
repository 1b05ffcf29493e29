// One realtime transcription session over a WebSocket: client events in, server events out. Audio is decoded to
// 16 kHz as it arrives, Silero VAD + server_vad turn detection cut it into turns (or the client commits them),
// and each committed turn is transcribed on the shared engine while the next one is being spoken. Client events
// are handled strictly in order; when the work behind them piles up, the socket stops being read (TCP
// back-pressure) instead of buffering without bound. A bad event gets an `error` event and the session goes on.
//
// CPU: an append's audio is validated, decoded, resampled and run through the VAD in slices of half a second, each
// slice's decoding a task of the server's SliceScheduler (so a 15 MB append never holds the event loop). Audio may
// arrive at most `maxSpeed` × real time after a short burst (AudioRateLimit, counted on the socket's bytes): beyond
// that the socket is not read until the session is back within it. When the session closes, everything stops: the
// slice in progress is its last, queued events are dropped and the buffers let go.
//
// Idle timeout (server_vad `idle_timeout_ms`): measured on the session's audio timeline (samples received, the
// clock OpenAI's VAD times are on), not the wall clock, so audio sent faster than real time times out as soon as
// the idle stretch has arrived, and a paused sender never does. Once that much audio holds no speech since the
// last turn ended (or since detection started, or since the last timeout), the buffer is committed:
// `input_audio_buffer.timeout_triggered`, then committed/added and the transcription like any turn.
//
// Session idle timeout (EARSHOT_REALTIME_IDLE_TIMEOUT_SECONDS, the wall clock): only what the client does that
// succeeds restarts it: an append of valid audio (at least one sample), a commit, a clear or a session.update that is
// applied. A refused message does not, so a client cannot hold a session with a few invalid bytes now and then. A
// large message still arriving when the countdown runs out (a second of audio's worth of bytes since it last
// restarted) postpones it until it has arrived; if that message is then refused, the session closes.
//
// Failures stay in the session: a refused event gets an `error` event and changes nothing (session.update builds
// everything the new settings need before it swaps any of it in); anything else thrown while handling the client's
// events or the socket's data closes this session with 1011 after a `server_error` event, never the process.
import { setTimeout as sleep } from "node:timers/promises";

import type { Duplex } from "node:stream";

import type { FastifyBaseLogger } from "fastify";
import type { WebSocket } from "ws";

import { createInputDecoder, type InputAudioChunk, type InputAudioDecoder } from "../../audio/realtime/inputAudioFormat.js";
import { type Base64Text, InvalidAudioChunkError } from "../../audio/realtime/pcm16.js";
import { type FrameProbability, SileroVadModel, SileroVadStream, TurnDetector, type TurnEvent } from "../../audio/vad/index.js";
import { EngineOverloadedError, TranscriptionAbortedError } from "../../engine/errors.js";
import { SAMPLE_RATE, type WhisperEngine } from "../../engine/WhisperEngine.js";
import type { Segment } from "../../engine/types.js";
import { durationUsage, resultTokens, tokenLogprobs } from "../../formats/json.js";
import {
  clearedEvent,
  committedEvent,
  errorEvent,
  itemEvent,
  realtimeId,
  type RealtimeServerEvent,
  sessionEvent,
  speechStartedEvent,
  speechStoppedEvent,
  timeoutTriggeredEvent,
  transcriptionCompletedEvent,
  transcriptionDeltaEvent,
  transcriptionFailedEvent,
  transcriptionPartialEvent,
  userAudioItem,
} from "../../formats/realtimeEvents.js";
import { ApiError, toApiError } from "../../api/errors.js";
import type { TranscriptionSettings } from "../../transcription/settings.js";
import type { TranscriptionService } from "../../transcription/TranscriptionService.js";
import { AudioRateLimit } from "./audioRateLimit.js";
import { type ClientEvent, type ClientMessage, parseClientMessage } from "../../api/realtimeClientEvents.js";
import { SessionAudio } from "./sessionAudio.js";
import type { SliceScheduler } from "./sliceScheduler.js";
import {
  applyBetaSession,
  applyGaSession,
  renderSession,
  type SessionIdentity,
  type TranscriptionSessionConfig,
  turnDetectorFor,
} from "../../api/realtimeSession.js";
import { WordAgreement } from "./wordAgreement.js";
import { OrderedOutput } from "./orderedOutput.js";
import type { ServerMetrics } from "../metrics.js";

export interface RealtimeLimits {
  /** The session is closed after this long. */
  maxSessionSeconds: number;
  /** Uncommitted audio a session may hold (manual commit mode), and the longest VAD turn before a forced commit. */
  maxBufferSeconds: number;
  /** Largest client message handled; bigger ones get an error event (up to the socket's hard cap). */
  maxMessageBytes: number;
  /** The session is closed after this long without a client message. */
  idleTimeoutSeconds: number;
  /** Sessions open at once; the next upgrade is refused. */
  maxSessions: number;
  /** Sessions one API key may hold open at once (its client secrets' sessions included), when 2+ keys are configured. */
  maxSessionsPerKey: number;
  /** Sockets one client secret may hold open at once. */
  maxSocketsPerSecret: number;
  /** A session's audio is processed at most this many times faster than real time (after a short burst). */
  maxSpeed: number;
}

export type RealtimeDialect = "ga" | "beta";

export interface RealtimeSessionOptions {
  socket: WebSocket;
  /** The connection under `socket`: its bytes are counted against the session's audio speed limit. */
  transport?: Duplex;
  transcription: TranscriptionService;
  loadVad: () => Promise<SileroVadModel>;
  limits: RealtimeLimits;
  dialect: RealtimeDialect;
  config: TranscriptionSessionConfig;
  identity: SessionIdentity;
  log: FastifyBaseLogger;
  /** Shared by the server's sessions: runs their decoding in slices, taking turns. */
  scheduler: SliceScheduler;
  /** The server's metrics: audio received, turn events sent. */
  metrics?: Pick<ServerMetrics, "received" | "realtimeEvent"> | undefined;
}

const SUPPORTED_EVENTS = ["session.update", "transcription_session.update", "input_audio_buffer.append", "input_audio_buffer.commit", "input_audio_buffer.clear"];
/** Conversation events of OpenAI's API that a transcription session has no use for. */
const CONVERSATION_EVENTS = new Set([
  "conversation.item.create",
  "conversation.item.delete",
  "conversation.item.retrieve",
  "conversation.item.truncate",
  "response.create",
  "response.cancel",
  "output_audio_buffer.clear",
]);
/** OpenAI refuses to commit less than 100 ms. */
const MIN_COMMIT_SAMPLES = SAMPLE_RATE / 10;
/** Client events queued behind the one being handled before the socket stops being read, and when it resumes. */
const QUEUE_HIGH_WATER = 32;
const QUEUE_LOW_WATER = 4;
/** Committed turns being transcribed (or waiting to be) before the socket stops being read. */
const MAX_TURNS_IN_FLIGHT = 8;
/** Audio kept before a turn while nobody speaks, beyond the prefix padding. */
const SILENCE_KEEP_MS = 1000;
/** A live partial pass runs at most this often (in audio time) during a turn. */
const PARTIAL_INTERVAL_MS = 400;
/** How long a committed turn waits for a free engine slot before failing. */
const OVERLOAD_WAIT_LIMIT_MS = 120_000;
/** Audio decoded (and run through the VAD) in one slice: about 2-4 ms of CPU. */
const SLICE_SECONDS = 0.5;
/** Base64 characters checked in one slice (~1.5 ms). */
const VALIDATE_CHARS = 256 * 1024;
/** Audio a session may send at full speed before `maxSpeed` applies (and again after it has kept to it). */
const BURST_SECONDS = 10;
/** Audio in appends queued behind the one being handled before the socket stops being read, and when it resumes. */
const QUEUED_AUDIO_HIGH_SECONDS = 10;
const QUEUED_AUDIO_LOW_SECONDS = 2;
/** While the socket is not being read, a ping this often finds out whether the client is still there. */
const PAUSED_PING_MS = 2000;

/** The sessions open in this process (for {@link realtimeHeldBytes}). */
const openSessions = new Set<RealtimeSession>();

/** Bytes of client data the open realtime sessions of this process hold (see {@link RealtimeSession.heldBytes}). */
export function realtimeHeldBytes(): number {
  let bytes = 0;
  for (const session of openSessions) bytes += session.heldBytes;
  return bytes;
}

/** The turn being spoken (server VAD): from speech_started until it is committed. */
interface OpenTurn {
  itemId: string;
  startSample: number;
  /** Aborted when the turn is committed or dropped: stops its live partial pass. */
  ended: AbortController;
  /** Where the last live partial pass of the turn ended. */
  lastPartialSample: number;
  partials?: WordAgreement;
  /** What the last partial event showed as unstable. */
  unstable?: string;
}

export class RealtimeSession {
  private config: TranscriptionSessionConfig;
  private readonly socket: WebSocket;
  private readonly log: FastifyBaseLogger;
  private readonly audio = new SessionAudio();
  private decoder: InputAudioDecoder;
  private vadStream: SileroVadStream | undefined;
  /** Session sample at which the current VAD stream started. */
  private vadOffsetSamples = 0;
  private detector: TurnDetector | undefined;
  private turn: OpenTurn | undefined;
  /**
   * Idle timeout: where (ms on the session's audio timeline) the current stretch without speech began: the end of
   * the last speech frame of a turn, the end of the last turn, the start of turn detection or the last timeout.
   */
  private quietSinceMs = 0;
  private lastItemId: string | null = null;
  private readonly output: OrderedOutput<RealtimeServerEvent>;
  private readonly closed = new AbortController();
  private tail: Promise<void> = Promise.resolve();
  private queued = 0;
  /** Seconds of audio in the appends queued behind the event being handled (estimated from their base64 length). */
  private queuedAudioSeconds = 0;
  /** The socket is not read because events pile up (flow control) ... */
  private backlogged = false;
  /** ... or because the client sends audio faster than the speed limit. */
  private throttled = false;
  private throttleTimer: NodeJS.Timeout | undefined;
  /** Whether the socket is paused: `backlogged || throttled`. */
  private paused = false;
  private pausedPing: NodeJS.Timeout | undefined;
  private readonly rate: AudioRateLimit;
  private readonly idleTimer: NodeJS.Timeout;
  private readonly sessionTimer: NodeJS.Timeout;
  private partialRunning = false;
  /** The server is shutting down (see {@link drain}); `drainRefused` once an append has been told so. */
  private draining = false;
  private drainRefused = false;
  /** The language of the latest transcription: partial passes reuse it instead of detecting it each time. */
  private lastLanguage: string | undefined;
  /** Bytes received on the connection since the idle countdown last restarted. */
  private receivedSinceTouch = 0;
  /** The idle countdown ran out while a large message was arriving: if that message is refused, the session closes. */
  private idleGrace = false;
  /** Bytes of the client messages queued or being handled. */
  private queuedBytes = 0;
  /** Bytes of the audio copied out for transcriptions (committed turns, partial passes) not finished yet. */
  private transcribingBytes = 0;

  /** Never throws: settings it cannot start with close the session (1011) after an `error` event. */
  constructor(private readonly options: RealtimeSessionOptions) {
    this.socket = options.socket;
    this.log = options.log;
    this.config = options.config;
    // The default format until start() builds the session's own (always valid: a fallback that cannot fail).
    this.decoder = createInputDecoder();
    this.output = new OrderedOutput((event) => this.send(event));
    this.rate = new AudioRateLimit(options.limits.maxSpeed, BURST_SECONDS);
    // The socket keeps ws's default binaryType ("nodebuffer"): every message is one Buffer.
    this.socket.on("message", (data, isBinary) => this.guard(() => this.onMessage(data as Buffer, isBinary)));
    this.socket.on("close", () => this.dispose());
    this.socket.on("error", (error) => this.log.debug({ err: error }, "realtime socket error"));
    options.transport?.on("data", (chunk: Buffer) => this.guard(() => this.onReceived(chunk.length)));
    this.sessionTimer = setTimeout(
      () => this.guard(() => this.expire("session_expired", `Your session hit the maximum duration of ${options.limits.maxSessionSeconds} seconds.`)),
      options.limits.maxSessionSeconds * 1000,
    );
    this.sessionTimer.unref();
    this.idleTimer = setTimeout(() => this.guard(() => this.onIdle()), options.limits.idleTimeoutSeconds * 1000);
    this.idleTimer.unref();
    openSessions.add(this);
    this.guard(() => this.start());
  }

  /** Builds what the settings need (decoder, turn detector), then announces the session. */
  private start(): void {
    this.decoder = createInputDecoder(this.config.format.betaName);
    this.applyTurnDetection();
    const beta = this.options.dialect === "beta";
    this.send(sessionEvent(beta ? "transcription_session.created" : "session.created", renderSession(beta, this.config, this.options.identity)));
  }

  /**
   * Bytes of client data the session holds: the audio buffer (uncommitted audio and the short stretch kept before a
   * turn), the messages queued or being handled, and the audio of transcriptions in progress. Not counted: the
   * resampler's and the VAD's fixed working buffers (a few tens of KB, bounded by the half-second decoding slice).
   */
  get heldBytes(): number {
    return this.audio.heldBytes + this.queuedBytes + this.transcribingBytes;
  }

  /** Runs `work`; whatever it throws closes this session (1011) instead of reaching the socket's event emitter. */
  private guard(work: () => void): void {
    try {
      work();
    } catch (error) {
      this.fail(error);
    }
  }

  /** Something failed that the session cannot go on from: a `server_error` event, then the socket closes with 1011. */
  private fail(error: unknown): void {
    if (this.closed.signal.aborted) return;
    this.log.error({ err: error }, "realtime session failed");
    try {
      this.sendError(ApiError.serverError("The server had an error while processing the session; it has been closed."), null);
      this.socket.close(1011, "server error");
    } catch (closeError) {
      this.log.debug({ err: closeError }, "realtime socket close failed");
      this.socket.terminate();
    }
    this.dispose();
  }

  // ---- transport ----

  private send(event: RealtimeServerEvent): void {
    this.options.metrics?.realtimeEvent(event.type);
    if (this.socket.readyState === this.socket.OPEN) this.socket.send(JSON.stringify(event));
  }

  private sendError(error: ApiError, clientEventId: unknown): void {
    this.send(
      errorEvent({
        type: error.type,
        code: error.code,
        message: error.message,
        param: error.param,
        event_id: typeof clientEventId === "string" ? clientEventId : null,
      }),
    );
  }

  /** Restarts the idle countdown: the client did something that succeeded (or the server holds its socket unread). */
  private touch(): void {
    this.receivedSinceTouch = 0;
    this.idleGrace = false;
    this.idleTimer.refresh();
  }

  /** The idle countdown ran out. */
  private onIdle(): void {
    // Not idle while its own backlog (or the speed limit) holds the socket unread, nor while it handles the client's events.
    if (this.paused || this.queued > 0) return this.touch();
    // A large message on its way: wait for it, but it must be valid to count (see refused).
    if (this.receivedSinceTouch >= (this.decoder.bytesPerSecond * 4) / 3) {
      this.receivedSinceTouch = 0;
      this.idleGrace = true;
      this.idleTimer.refresh();
      return;
    }
    this.expireIdle();
  }

  private expireIdle(): void {
    this.expire("idle_timeout", `The session was idle for ${this.options.limits.idleTimeoutSeconds} seconds and has been closed.`);
  }

  /** A client message was refused: an `error` event; the session closes instead if it was idle but for that message. */
  private refused(error: ApiError, clientEventId: unknown): void {
    this.sendError(error, clientEventId);
    if (this.idleGrace) this.expireIdle();
  }

  private expire(code: string, message: string): void {
    this.sendError(ApiError.invalidRequest(message, code), null);
    this.socket.close(1000, code);
    this.dispose();
  }

  /** Whether client events are waiting or being handled. */
  get busy(): boolean {
    return this.queued > 0;
  }

  /** Whether the socket is not being read (back-pressure). */
  get readingPaused(): boolean {
    return this.paused;
  }

  /**
   * The server is shutting down: audio is no longer taken (the first append after this gets an error event
   * `server_shutting_down`, later ones are dropped without one; commit, clear and session.update still work). The
   * events already received are handled; with server VAD, the turn in progress is committed when it holds at least
   * 100 ms (manual commit mode commits nothing by itself). Every committed turn is transcribed and its events sent,
   * then the socket is closed with 1001. Resolves once the socket has closed (the server's drain deadline ends a
   * drain that takes too long by closing the socket, which aborts what is left).
   */
  async drain(): Promise<void> {
    if (!this.draining) {
      this.draining = true;
      this.log.info("draining: no more audio; finishing the committed turns");
    }
    const closed = new Promise<void>((resolve) => {
      if (this.socket.readyState === this.socket.CLOSED) resolve();
      else this.socket.once("close", () => resolve());
    });
    while (this.queued > 0 && !this.closed.signal.aborted) await this.tail;
    const turn = this.turn;
    if (turn && this.detector && !this.closed.signal.aborted && this.audio.endSample - turn.startSample >= MIN_COMMIT_SAMPLES) {
      this.send(speechStoppedEvent(turn.itemId, (this.audio.endSample / SAMPLE_RATE) * 1000));
      this.commitTurn(turn.itemId, turn.startSample, this.audio.endSample);
    }
    // Events a client sends meanwhile (a manual commit) are handled before the socket closes.
    while ((this.output.pending > 0 || this.queued > 0) && !this.closed.signal.aborted) await sleep(20);
    if (!this.closed.signal.aborted) {
      this.socket.close(1001, "server shutting down");
      this.dispose();
    }
    await closed;
  }

  /** The socket closed: all work stops (the slice in progress is the last), queued events are dropped, buffers let go. */
  private dispose(): void {
    if (this.closed.signal.aborted) return;
    this.closed.abort();
    openSessions.delete(this);
    clearTimeout(this.idleTimer);
    clearTimeout(this.sessionTimer);
    clearTimeout(this.throttleTimer);
    this.setTurn(undefined);
    this.detector = undefined;
    this.dropVadStream();
    this.audio.dropBefore(this.audio.endSample);
    this.queuedAudioSeconds = 0;
    // Let the closing handshake through (what else arrives is dropped).
    this.backlogged = false;
    this.throttled = false;
    this.applyPause();
  }

  private onMessage(bytes: Buffer, isBinary: boolean): void {
    if (this.closed.signal.aborted) return;
    if (isBinary) {
      this.refused(ApiError.invalidRequest("Binary WebSocket messages are not supported: send JSON events as text (audio as base64 in input_audio_buffer.append).", "invalid_event"), null);
      return;
    }
    if (bytes.length > this.options.limits.maxMessageBytes) {
      this.refused(
        ApiError.invalidRequest(
          `The message is ${bytes.length} bytes; the limit is ${this.options.limits.maxMessageBytes}. Send audio in smaller input_audio_buffer.append events.`,
          "message_too_large",
        ),
        null,
      );
      return;
    }
    let message: ClientMessage;
    try {
      message = parseClientMessage(bytes);
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      this.refused(error, null);
      return;
    }
    const { event } = message;
    if (typeof event.type !== "string") {
      this.refused(ApiError.missingParam("type"), event.event_id);
      return;
    }
    this.enqueue(message, bytes.length);
  }

  /** Seconds of audio an append carries, from its base64 length (0 for other events). */
  private audioSecondsOf({ event, audio }: ClientMessage): number {
    if (event.type !== "input_audio_buffer.append") return 0;
    const length = audio?.length ?? (typeof event.audio === "string" ? event.audio.length : 0);
    return (length * 0.75) / this.decoder.bytesPerSecond;
  }

  /** Handles events one after another; stops reading the socket while too many wait. */
  private enqueue(message: ClientMessage, bytes: number): void {
    const { event } = message;
    // Audio waiting behind the event being handled (an append handled at once is not waiting).
    const audioSeconds = this.queued > 0 ? this.audioSecondsOf(message) : 0;
    this.queued++;
    this.queuedBytes += bytes;
    this.queuedAudioSeconds += audioSeconds;
    this.updateFlow();
    this.tail = this.tail
      .then(() => {
        this.queuedAudioSeconds = Math.max(0, this.queuedAudioSeconds - audioSeconds);
        this.updateFlow();
        return this.closed.signal.aborted ? undefined : this.handle(message);
      })
      .catch((error: unknown) => {
        // A closed session's work ends in whatever its last step threw: nobody to tell.
        if (this.closed.signal.aborted) return;
        // A refusal (the client's event was wrong) is answered as such; anything else is the server's failure.
        const apiError = toApiError(error);
        if (apiError.status < 500) this.refused(apiError, event.event_id);
        else {
          this.log.error({ err: error, event: event.type }, "realtime event failed");
          this.sendError(ApiError.serverError("The server had an error while processing the event."), event.event_id);
        }
      })
      .finally(() => {
        this.queued--;
        this.queuedBytes -= bytes;
        this.updateFlow();
      })
      // The chain must never reject: the next event is chained on it (and an unhandled rejection ends the process).
      .catch((error: unknown) => this.fail(error));
  }

  private updateFlow(): void {
    if (this.closed.signal.aborted) return;
    const busy = this.queued > QUEUE_HIGH_WATER || this.output.pending > MAX_TURNS_IN_FLIGHT || this.queuedAudioSeconds > QUEUED_AUDIO_HIGH_SECONDS;
    const idle = this.queued <= QUEUE_LOW_WATER && this.output.pending <= MAX_TURNS_IN_FLIGHT && this.queuedAudioSeconds <= QUEUED_AUDIO_LOW_SECONDS;
    if (busy && !this.backlogged) {
      this.backlogged = true;
      this.applyPause();
    } else if (idle && this.backlogged) {
      this.backlogged = false;
      this.applyPause();
    }
  }

  /** Bytes arrived on the connection: counted as audio (in the session's format) against the speed limit. */
  private onReceived(bytes: number): void {
    if (this.closed.signal.aborted) return;
    // Counted for the idle countdown, which a large message still arriving postpones (see onIdle).
    this.receivedSinceTouch += bytes;
    const wait = this.rate.charge(bytes / ((this.decoder.bytesPerSecond * 4) / 3));
    if (wait > 0) this.throttleFor(wait);
  }

  private throttleFor(seconds: number): void {
    if (this.throttleTimer) return;
    this.throttled = true;
    this.applyPause();
    this.throttleTimer = setTimeout(() => this.guard(() => {
      this.throttleTimer = undefined;
      const wait = this.rate.waitSeconds();
      if (wait > 0 && !this.closed.signal.aborted) return this.throttleFor(wait);
      this.throttled = false;
      this.applyPause();
    }), Math.max(1, Math.ceil(seconds * 1000)));
  }

  /** Reads the socket or stops reading it, as `backlogged` and `throttled` say. */
  private applyPause(): void {
    const pause = (this.backlogged || this.throttled) && !this.closed.signal.aborted;
    if (pause === this.paused) return;
    this.paused = pause;
    if (pause) {
      this.socket.pause();
      // Nothing is read while paused, a close frame or the end of the connection included; a ping fails once the
      // client is gone, and the socket closes then instead of after the backlog.
      this.pausedPing = setInterval(() => {
        if (this.socket.readyState === this.socket.OPEN) this.socket.ping();
      }, PAUSED_PING_MS);
      this.pausedPing.unref();
    } else {
      clearInterval(this.pausedPing);
      this.pausedPing = undefined;
      this.socket.resume();
    }
  }

  /** Runs a slice of CPU work when the scheduler gives this session its turn; rejects once the session is closed. */
  private step<T>(work: () => T): Promise<T> {
    return this.options.scheduler.run(work, this.closed.signal);
  }

  // ---- client events ----

  private async handle(message: ClientMessage): Promise<void> {
    const { event } = message;
    switch (event.type) {
      case "input_audio_buffer.append":
        if (this.draining) {
          if (this.drainRefused) return;
          this.drainRefused = true;
          throw ApiError.invalidRequest(
            "The server is shutting down: no more audio is accepted. The turns already committed are being transcribed; the session then closes (1001).",
            "server_shutting_down",
          );
        }
        return this.append(message);
      case "input_audio_buffer.commit":
        this.commit();
        return this.touch();
      case "input_audio_buffer.clear":
        this.clear();
        return this.touch();
      case "session.update":
      case "transcription_session.update":
        return this.update(event);
      default:
        if (CONVERSATION_EVENTS.has(event.type)) {
          throw ApiError.invalidRequest(`'${event.type}' is not supported in a transcription session.`, "unsupported_event", "type");
        }
        throw ApiError.invalidParam(
          "type",
          `Invalid value: '${event.type.slice(0, 100)}'. Supported values are: ${SUPPORTED_EVENTS.map((t) => `'${t}'`).join(", ")}.`,
        );
    }
  }

  private async update(event: ClientEvent): Promise<void> {
    if (event.session === undefined) throw ApiError.missingParam("session");
    // The flat beta shape comes as transcription_session.update, or as session.update from a beta client;
    // a GA-shaped session (`type`, `audio`) is read as GA whoever sends it.
    const session = event.session;
    const gaShaped = typeof session === "object" && session !== null && ("type" in session || "audio" in session);
    const beta = event.type === "transcription_session.update" || (this.options.dialect === "beta" && !gaShaped);
    const next = beta ? applyBetaSession(this.config, event.session) : applyGaSession(this.config, event.session);
    if (!this.options.transcription.models.find(next.model)) {
      throw ApiError.modelNotFound(next.model, beta ? "session.input_audio_transcription.model" : "session.audio.input.transcription.model");
    }
    // All or nothing: everything the new settings need is built first; a failure up to here leaves the session
    // exactly as it was. The swap below cannot fail.
    const previous = this.config;
    const formatChanged = next.format.betaName !== previous.format.betaName;
    const turnChanged = JSON.stringify(next.turnDetection) !== JSON.stringify(previous.turnDetection);
    const decoder = formatChanged ? createInputDecoder(next.format.betaName) : this.decoder;
    const detector = turnChanged && next.turnDetection ? turnDetectorFor(next.turnDetection) : undefined;
    const type = event.type === "transcription_session.update" ? "transcription_session.updated" : "session.updated";
    const updated = sessionEvent(type, renderSession(beta, next, this.options.identity));

    // The old decoder's last samples (its resampler's delay) belong to the audio received so far.
    const tail = formatChanged ? this.decoder.flush() : undefined;
    this.config = next;
    this.decoder = decoder;
    if (turnChanged) this.applyTurnDetection(!previous.turnDetection, detector);
    this.touch();
    this.send(updated);
    if (tail && tail.length > 0) {
      this.audio.append(tail);
      if (this.detector) await this.detect(tail);
    }
  }

  /** Lets go of the VAD stream (its native context is freed once a running push ends); the next audio starts one. */
  private dropVadStream(): void {
    this.vadStream?.close();
    this.vadStream = undefined;
  }

  /**
   * (Re)starts turn detection for the current settings; a turn in progress is dropped. The VAD stream (its
   * recurrent state and timeline) is kept unless `newStream`: every sample the session receives goes to it.
   */
  private applyTurnDetection(newStream = true, detector?: TurnDetector): void {
    const turnDetection = this.config.turnDetection;
    // Built before anything changes (the settings were validated by building one: this cannot fail).
    const next = turnDetection ? (detector ?? turnDetectorFor(turnDetection)) : undefined;
    this.setTurn(undefined);
    if (!next) {
      this.detector = undefined;
      this.dropVadStream();
      return;
    }
    this.detector = next;
    this.quietSinceMs = (this.audio.endSample / SAMPLE_RATE) * 1000;
    if (newStream || !this.vadStream) {
      this.dropVadStream();
      this.vadOffsetSamples = this.audio.endSample;
    }
  }

  private async append({ event, audio }: ClientMessage): Promise<void> {
    let text: Base64Text;
    if (audio) text = audio;
    else {
      if (event.audio === undefined) throw ApiError.missingParam("audio");
      if (typeof event.audio !== "string") throw ApiError.invalidParam("audio", "Invalid 'audio': expected a base64 string.", "invalid_type");
      text = event.audio;
    }
    const decoder = this.decoder;
    let chunk: InputAudioChunk;
    try {
      // The whole chunk is checked before any of it is used: a bad one is refused as a whole.
      chunk = decoder.open(text);
      while (!chunk.validated) await this.step(() => chunk.validate(VALIDATE_CHARS));
    } catch (error) {
      if (error instanceof InvalidAudioChunkError) {
        throw ApiError.invalidParam("audio", `Invalid 'audio': ${error.message}. The chunk was not added to the buffer.`, error.code);
      }
      throw error;
    }
    const maxSamples = this.options.limits.maxBufferSeconds * SAMPLE_RATE;
    if (!this.detector && this.audio.length + chunk.pendingOutputSamples() > maxSamples) {
      throw ApiError.invalidParam(
        "audio",
        `The input audio buffer is full (${this.options.limits.maxBufferSeconds} s of uncommitted audio); this chunk was not added. Commit or clear the buffer.`,
        "input_audio_buffer_full",
      );
    }
    // Valid audio is activity; an empty append is not.
    if (chunk.inputSamples > 0) this.touch();
    const sliceSamples = Math.round(SLICE_SECONDS * decoder.inputSampleRate);
    while (!chunk.done) {
      const decoded = await this.step(() => chunk.read(sliceSamples));
      if (this.closed.signal.aborted) return;
      this.audio.append(decoded);
      this.options.metrics?.received("realtime", decoded.length / SAMPLE_RATE);
      if (this.detector) await this.detect(decoded);
    }
  }

  private async detect(samples: Float32Array): Promise<void> {
    const detector = this.detector!;
    this.vadStream ??= (await this.options.loadVad()).createStream();
    const stream = this.vadStream;
    const frames = await stream.push(samples);
    // Settings may have changed (or the buffer been cleared) while the frames were computed.
    if (detector !== this.detector || stream !== this.vadStream || this.closed.signal.aborted) return;
    const offsetMs = (this.vadOffsetSamples / SAMPLE_RATE) * 1000;
    for (const frame of frames) {
      // An idle timeout starts detection over (a new detector on the same stream) partway through the frames.
      const current = this.detector;
      if (!current) return;
      const timed: FrameProbability = { startMs: frame.startMs + offsetMs, endMs: frame.endMs + offsetMs, probability: frame.probability };
      for (const turnEvent of current.push(timed)) this.onTurnEvent(turnEvent);
      this.checkIdle(current, timed);
    }
    if (this.turn && this.audio.endSample - this.turn.startSample > this.options.limits.maxBufferSeconds * SAMPLE_RATE) {
      // A turn longer than the buffer allows is committed as it stands; speech that goes on starts a new turn.
      const turn = this.turn;
      this.send(speechStoppedEvent(turn.itemId, (this.audio.endSample / SAMPLE_RATE) * 1000));
      this.commitTurn(turn.itemId, turn.startSample, this.audio.endSample);
      this.applyTurnDetection(false);
    }
    if (!this.turn && this.detector?.phase === "silence") {
      const keep = ((this.config.turnDetection?.prefixPaddingMs ?? 0) + SILENCE_KEEP_MS) * (SAMPLE_RATE / 1000);
      let dropBefore = this.audio.endSample - keep;
      // With an idle timeout the quiet stretch is kept: the timeout commits it (so at most idle_timeout_ms of it).
      if (this.config.turnDetection?.idleTimeoutMs) dropBefore = Math.min(dropBefore, Math.round((this.quietSinceMs / 1000) * SAMPLE_RATE));
      this.audio.dropBefore(dropBefore);
    }
    this.maybeRunPartial();
  }

  private onTurnEvent(event: TurnEvent): void {
    if (event.type === "speech_started") {
      const itemId = realtimeId("item");
      const startSample = Math.max(this.audio.startSample, Math.round((event.audioStartMs / 1000) * SAMPLE_RATE));
      this.setTurn({
        itemId,
        startSample,
        ended: new AbortController(),
        lastPartialSample: startSample,
        ...(this.config.livePartials ? { partials: new WordAgreement() } : {}),
      });
      this.send(speechStartedEvent(itemId, event.audioStartMs));
      this.quietSinceMs = event.detectedAtMs;
      return;
    }
    const turn = this.turn;
    if (!turn) return;
    this.quietSinceMs = event.detectedAtMs;
    // OpenAI's audio_end_ms "includes the min_silence_duration_ms": the turn's audio runs until the silence was confirmed.
    const endSample = Math.round((event.detectedAtMs / 1000) * SAMPLE_RATE);
    this.send(speechStoppedEvent(turn.itemId, event.detectedAtMs));
    this.commitTurn(turn.itemId, turn.startSample, endSample);
  }

  /** Idle timeout bookkeeping after one frame: speech in a turn restarts the countdown; running out commits. */
  private checkIdle(detector: TurnDetector, frame: FrameProbability): void {
    // Speech is what keeps a turn going: frames at or above the detector's (hysteresis) threshold while in a turn.
    if (this.turn && frame.probability >= detector.negativeThreshold) this.quietSinceMs = Math.max(this.quietSinceMs, frame.endMs);
    const idleTimeoutMs = this.config.turnDetection?.idleTimeoutMs;
    if (idleTimeoutMs && frame.endMs - this.quietSinceMs >= idleTimeoutMs) this.idleTimeout(frame.endMs);
  }

  /**
   * `idle_timeout_ms` ran out at `atMs`: a turn the VAD has not ended yet ends there (speech_stopped), and what the
   * buffer holds up to there (at least 100 ms; it always holds the quiet stretch) is committed as one item, after
   * `input_audio_buffer.timeout_triggered`. Detection and the countdown start over from `atMs`.
   */
  private idleTimeout(atMs: number): void {
    const turn = this.turn;
    const from = turn ? turn.startSample : this.audio.startSample;
    const to = Math.min(this.audio.endSample, Math.round((atMs / 1000) * SAMPLE_RATE));
    const itemId = turn?.itemId ?? realtimeId("item");
    if (turn) this.send(speechStoppedEvent(turn.itemId, atMs));
    this.send(timeoutTriggeredEvent(itemId, this.quietSinceMs, atMs));
    if (to - from >= MIN_COMMIT_SAMPLES) this.commitTurn(itemId, from, to);
    this.applyTurnDetection(false);
    this.quietSinceMs = atMs;
  }

  private commit(): void {
    // Without VAD the resampler's last few samples are wanted now; with it they arrive with the next chunk.
    if (!this.detector) this.audio.append(this.decoder.flush());
    const turn = this.turn;
    const from = turn ? turn.startSample : this.audio.startSample;
    const to = this.audio.endSample;
    if (to - from < MIN_COMMIT_SAMPLES) {
      const ms = (Math.max(0, to - from) / SAMPLE_RATE) * 1000;
      throw ApiError.invalidRequest(
        `Error committing input audio buffer: buffer too small. Expected at least 100ms of audio, but buffer only has ${ms.toFixed(2)}ms of audio.`,
        "input_audio_buffer_commit_empty",
      );
    }
    this.commitTurn(turn?.itemId ?? realtimeId("item"), from, to);
    // Detection starts over after a manual commit (a turn in progress was committed as it stood).
    if (this.detector) this.applyTurnDetection(false);
  }

  private clear(): void {
    if (!this.detector) this.decoder.flush();
    this.audio.dropBefore(this.audio.endSample);
    if (this.detector) this.applyTurnDetection(false);
    this.send(clearedEvent());
  }

  // ---- turns ----

  /** The turn being spoken changes; the previous one ends (its partial pass, if any, is aborted). */
  private setTurn(next: OpenTurn | undefined): void {
    this.turn?.ended.abort();
    this.turn = next;
  }

  private commitTurn(itemId: string, fromSample: number, toSample: number): void {
    const samples = this.audio.slice(fromSample, toSample);
    this.audio.dropBefore(toSample);
    this.setTurn(undefined);
    const previous = this.lastItemId;
    this.lastItemId = itemId;
    this.send(committedEvent(itemId, previous));
    if (this.options.dialect === "beta") this.send(itemEvent("conversation.item.created", userAudioItem(itemId, null, "completed"), previous));
    else this.send(itemEvent("conversation.item.added", userAudioItem(itemId, null, "completed"), previous));
    this.output.open(itemId);
    this.updateFlow();
    this.transcribingBytes += samples.byteLength;
    void this.transcribeTurn(itemId, previous, samples, this.config)
      .finally(() => {
        this.transcribingBytes -= samples.byteLength;
        this.output.finish(itemId);
        this.updateFlow();
      })
      .catch((error: unknown) => this.fail(error));
  }

  /** A turn's transcription settings: the session's, decoded as one block (the turn is already cut by the VAD). */
  private settingsOf(config: TranscriptionSessionConfig): TranscriptionSettings {
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

  /**
   * The language a completed turn names (`languages: [{code}]`), when the session set `languages[]`: the detected one,
   * or for a turn with no speech (nothing detected) the first of the list.
   */
  private reportedLanguage(config: TranscriptionSessionConfig, detected: string): string | undefined {
    if (config.languages.length === 0) return undefined;
    return config.languages.includes(detected) || config.language === detected ? detected : config.languages[0];
  }

  /** The engine of the session's model (checked when the settings were accepted; models are never removed). */
  private engineFor(config: TranscriptionSessionConfig): Promise<WhisperEngine> {
    return this.options.transcription.engine(config.model);
  }

  private async transcribeTurn(itemId: string, previousItemId: string | null, samples: Float32Array, config: TranscriptionSessionConfig): Promise<void> {
    const signal = this.closed.signal;
    let first = true;
    const onSegment = (segment: Segment) => {
      const delta = first ? segment.text.trimStart() : segment.text;
      if (!delta) return;
      first = false;
      this.output.emit(itemId, transcriptionDeltaEvent(itemId, delta, config.includeLogprobs ? tokenLogprobs(segment.tokens) : undefined));
    };
    try {
      const engine = await this.engineFor(config);
      const result = await this.withSlot(engine, () => this.options.transcription.transcribePcm(samples, this.settingsOf(config), { signal, onSegment }));
      const transcript = result.text.trim();
      // A turn without speech names no detected language (an idle timeout commits such turns).
      if (transcript) this.lastLanguage = result.language;
      const logprobs = config.includeLogprobs ? tokenLogprobs(resultTokens(result)) : undefined;
      this.output.emit(
        itemId,
        transcriptionCompletedEvent(itemId, transcript, durationUsage(result.duration), logprobs, this.reportedLanguage(config, result.language)),
      );
      if (this.options.dialect === "ga") this.output.emit(itemId, itemEvent("conversation.item.done", userAudioItem(itemId, transcript), previousItemId));
    } catch (error) {
      if (signal.aborted || error instanceof TranscriptionAbortedError) return;
      // The same mapping as the HTTP API: OpenAI's type and code, never an internal error code on the wire.
      const apiError = toApiError(error);
      if (apiError.status >= 500) this.log.error({ err: error }, "realtime transcription failed");
      this.output.emit(
        itemId,
        transcriptionFailedEvent(itemId, { type: apiError.type, code: apiError.code ?? "transcription_failed", message: apiError.message, param: apiError.param }),
      );
    }
  }

  /** Runs `job`, waiting (bounded) for a free engine slot instead of failing when the engine's queue is full. */
  private async withSlot<T>(engine: WhisperEngine, job: () => Promise<T>): Promise<T> {
    const deadline = Date.now() + OVERLOAD_WAIT_LIMIT_MS;
    for (;;) {
      try {
        return await job();
      } catch (error) {
        if (!(error instanceof EngineOverloadedError) || Date.now() > deadline || this.closed.signal.aborted) throw error;
        const waitMs = Math.min(5000, Math.max(200, engine.retryAfterSeconds() * 1000));
        await sleep(waitMs, undefined, { signal: this.closed.signal });
      }
    }
  }

  // ---- live partials (Earshot extension) ----

  private maybeRunPartial(): void {
    const turn = this.turn;
    const partials = turn?.partials;
    if (!turn || !partials || this.partialRunning || this.closed.signal.aborted) return;
    const now = this.audio.endSample;
    if (now - turn.lastPartialSample < (PARTIAL_INTERVAL_MS / 1000) * SAMPLE_RATE) return;
    const config = this.config;
    this.partialRunning = true;
    turn.lastPartialSample = now;
    const samples = this.audio.slice(turn.startSample, now);
    this.transcribingBytes += samples.byteLength;
    void (async () => {
      const engine = await this.engineFor(config);
      // Best effort: partials never wait for, or delay, committed turns.
      const stats = engine.stats();
      if (stats.queued > 0 || stats.running >= stats.maxParallel || turn.ended.signal.aborted) return;
      const last = this.lastLanguage !== undefined && (config.languages.length === 0 || config.languages.includes(this.lastLanguage)) ? this.lastLanguage : undefined;
      const language = config.language ?? last;
      // Provisional passes run the encoder over the turn's own length only: several times faster for short turns.
      const settings: TranscriptionSettings = { ...this.settingsOf(config), language, encoderContext: "fit" };
      const result = await this.options.transcription.transcribePcm(samples, settings, { signal: AbortSignal.any([turn.ended.signal, this.closed.signal]) });
      if (turn.ended.signal.aborted) return;
      this.lastLanguage = result.language;
      const added = partials.update(result.text);
      if (added.length > 0 || partials.unstable !== (turn.unstable ?? "")) {
        turn.unstable = partials.unstable;
        const transcript = partials.text;
        const delta = added.length === 0 ? "" : (transcript.length > added.join(" ").length ? " " : "") + added.join(" ");
        this.send(transcriptionPartialEvent(turn.itemId, transcript, delta, partials.unstable));
      }
    })()
      .catch(() => undefined)
      .finally(() => {
        this.transcribingBytes -= samples.byteLength;
        this.partialRunning = false;
      });
  }
}
