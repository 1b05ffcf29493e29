// The transport side of a realtime session over a WebSocket: client messages in (checked, parsed, queued and handed
// to the session one at a time, in order), server events out, and the flow control between them. When the work
// behind the messages piles up (events queued, audio queued, committed turns in flight) or the client sends audio
// faster than `maxSpeed` × real time (after a short burst, counted on the connection's bytes), the socket stops being
// read (TCP back-pressure) instead of buffering without bound.
//
// Session idle timeout (EARSHOT_REALTIME_IDLE_TIMEOUT_SECONDS, the wall clock): only what the client does that
// succeeds restarts it ({@link SessionFlow.touch}: valid audio, a commit, a clear, an applied session.update). A refused
// message does not, so a client cannot hold a session with a few invalid bytes now and then. A large message still
// arriving when the countdown runs out (a second of audio's worth of bytes since it last restarted) postpones it
// until it has arrived; if that message is then refused, the session closes.
//
// Failures stay in the session: a refused message gets an `error` event; anything else thrown while handling one, or
// the socket's data, closes this session with 1011 after a `server_error` event, never the process.
import type { Duplex } from "node:stream";

import type { FastifyBaseLogger } from "fastify";
import type { WebSocket } from "ws";

import { ApiError, toApiError } from "../../api/errors.js";
import { type ClientMessage, parseClientMessage } from "../../api/realtimeClientEvents.js";
import { errorEvent, type RealtimeServerEvent } from "../../formats/realtimeEvents.js";
import type { ServerMetrics } from "../metrics.js";
import { AudioRateLimit } from "./audioRateLimit.js";
import type { RealtimeLimits } from "./realtimeLimits.js";
import type { SliceScheduler } from "./sliceScheduler.js";

/** Client events queued behind the one being handled before the socket stops being read, and when it resumes. */
const QUEUE_HIGH_WATER = 32;
const QUEUE_LOW_WATER = 4;
/** Committed turns being transcribed (or waiting to be) before the socket stops being read. */
const MAX_TURNS_IN_FLIGHT = 8;
/** Audio a session may send at full speed before `maxSpeed` applies (and again after it has kept to it). */
const BURST_SECONDS = 10;
/** Audio in appends queued behind the one being handled before the socket stops being read, and when it resumes. */
const QUEUED_AUDIO_HIGH_SECONDS = 10;
const QUEUED_AUDIO_LOW_SECONDS = 2;
/** While the socket is not being read, a ping this often finds out whether the client is still there. */
const PAUSED_PING_MS = 2000;

export interface SessionFlowOptions {
  socket: WebSocket;
  /** The connection under `socket`: its bytes are counted against the session's audio speed limit. */
  transport?: Duplex | undefined;
  limits: Pick<RealtimeLimits, "maxSessionSeconds" | "maxMessageBytes" | "idleTimeoutSeconds" | "maxSpeed">;
  log: FastifyBaseLogger;
  /** Shared by the server's sessions: runs their decoding in slices, taking turns. */
  scheduler: SliceScheduler;
  metrics?: Pick<ServerMetrics, "realtimeEvent"> | undefined;
  /** Handles one client message; messages are handed over one at a time, in order. What it throws is answered. */
  handle(message: ClientMessage): Promise<void>;
  /** Committed turns whose events are not all out yet. */
  turnsInFlight(): number;
  /** Bytes one second of audio takes in the session's input format (before base64). */
  bytesPerSecond(): number;
  /** The session ended (its socket closed, it failed or expired): everything stops. Called once. */
  onClose(): void;
}

export class SessionFlow {
  private readonly socket: WebSocket;
  private readonly closed = new AbortController();
  private tail: Promise<void> = Promise.resolve();
  private queued = 0;
  /** Bytes of the client messages queued or being handled. */
  private queuedBytes = 0;
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
  /** Bytes received on the connection since the idle countdown last restarted. */
  private receivedSinceTouch = 0;
  /** The idle countdown ran out while a large message was arriving: if that message is refused, the session closes. */
  private idleGrace = false;

  constructor(private readonly options: SessionFlowOptions) {
    this.socket = options.socket;
    this.rate = new AudioRateLimit(options.limits.maxSpeed, BURST_SECONDS);
    // The socket keeps ws's default binaryType ("nodebuffer"): every message is one Buffer.
    this.socket.on("message", (data, isBinary) => this.guard(() => this.onMessage(data as Buffer, isBinary)));
    this.socket.on("close", () => this.dispose());
    this.socket.on("error", (error) => options.log.debug({ err: error }, "realtime socket error"));
    options.transport?.on("data", (chunk: Buffer) => this.guard(() => this.onReceived(chunk.length)));
    this.sessionTimer = setTimeout(
      () => this.guard(() => this.expire("session_expired", `Your session hit the maximum duration of ${options.limits.maxSessionSeconds} seconds.`)),
      options.limits.maxSessionSeconds * 1000,
    );
    this.sessionTimer.unref();
    this.idleTimer = setTimeout(() => this.guard(() => this.onIdle()), options.limits.idleTimeoutSeconds * 1000);
    this.idleTimer.unref();
  }

  /** Aborted once the session has ended. */
  get signal(): AbortSignal {
    return this.closed.signal;
  }

  /** Whether client events are waiting or being handled. */
  get busy(): boolean {
    return this.queued > 0;
  }

  /** Whether the socket is not being read (back-pressure). */
  get readingPaused(): boolean {
    return this.paused;
  }

  /** Bytes of the client messages queued or being handled. */
  get heldBytes(): number {
    return this.queuedBytes;
  }

  send(event: RealtimeServerEvent): void {
    this.options.metrics?.realtimeEvent(event.type);
    if (this.socket.readyState === this.socket.OPEN) this.socket.send(JSON.stringify(event));
  }

  sendError(error: ApiError, clientEventId: unknown): void {
    this.send(errorEvent({ type: error.type, code: error.code, message: error.message, param: error.param, event_id: typeof clientEventId === "string" ? clientEventId : null }));
  }

  /** Restarts the idle countdown: the client did something that succeeded (or the server holds its socket unread). */
  touch(): void {
    this.receivedSinceTouch = 0;
    this.idleGrace = false;
    this.idleTimer.refresh();
  }

  /** Runs `work`; whatever it throws closes this session (1011) instead of reaching the socket's event emitter. */
  guard(work: () => void): void {
    try {
      work();
    } catch (error) {
      this.fail(error);
    }
  }

  /** Something failed that the session cannot go on from: a `server_error` event, then the socket closes with 1011. */
  fail(error: unknown): void {
    if (this.closed.signal.aborted) return;
    this.options.log.error({ err: error }, "realtime session failed");
    try {
      this.sendError(ApiError.serverError("The server had an error while processing the session; it has been closed."), null);
      this.socket.close(1011, "server error");
    } catch (closeError) {
      this.options.log.debug({ err: closeError }, "realtime socket close failed");
      this.socket.terminate();
    }
    this.dispose();
  }

  /** Runs a slice of CPU work when the scheduler gives this session its turn; rejects once the session is closed. */
  step<T>(work: () => T): Promise<T> {
    return this.options.scheduler.run(work, this.closed.signal);
  }

  /** Resolves once no client event waits or is being handled (or the session has ended). */
  async settled(): Promise<void> {
    while (this.queued > 0 && !this.closed.signal.aborted) await this.tail;
  }

  /** Closes the socket with `code` and ends the session. */
  close(code: number, reason: string): void {
    this.socket.close(code, reason);
    this.dispose();
  }

  /** Resolves once the socket has closed. */
  socketClosed(): Promise<void> {
    return new Promise<void>((resolve) => {
      if (this.socket.readyState === this.socket.CLOSED) resolve();
      else this.socket.once("close", () => resolve());
    });
  }

  /** Reads the socket again, or stops, as the queues and the turns in flight now say. */
  updateFlow(): void {
    if (this.closed.signal.aborted) return;
    const turns = this.options.turnsInFlight();
    const busy = this.queued > QUEUE_HIGH_WATER || turns > MAX_TURNS_IN_FLIGHT || this.queuedAudioSeconds > QUEUED_AUDIO_HIGH_SECONDS;
    const idle = this.queued <= QUEUE_LOW_WATER && turns <= MAX_TURNS_IN_FLIGHT && this.queuedAudioSeconds <= QUEUED_AUDIO_LOW_SECONDS;
    if (busy && !this.backlogged) {
      this.backlogged = true;
      this.applyPause();
    } else if (idle && this.backlogged) {
      this.backlogged = false;
      this.applyPause();
    }
  }

  /** The session ends: timers stop, queued events are dropped, the closing handshake is let through. */
  dispose(): void {
    if (this.closed.signal.aborted) return;
    this.closed.abort();
    clearTimeout(this.idleTimer);
    clearTimeout(this.sessionTimer);
    clearTimeout(this.throttleTimer);
    this.queuedAudioSeconds = 0;
    this.backlogged = false;
    this.throttled = false;
    this.applyPause();
    this.options.onClose();
  }

  private expire(code: string, message: string): void {
    this.sendError(ApiError.invalidRequest(message, code), null);
    this.close(1000, code);
  }

  /** The idle countdown ran out. */
  private onIdle(): void {
    // Not idle while its own backlog (or the speed limit) holds the socket unread, nor while it handles the client's events.
    if (this.paused || this.queued > 0) return this.touch();
    // A large message on its way: wait for it, but it must be valid to count (see refused).
    if (this.receivedSinceTouch >= (this.options.bytesPerSecond() * 4) / 3) {
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

  private onMessage(bytes: Buffer, isBinary: boolean): void {
    if (this.closed.signal.aborted) return;
    if (isBinary) {
      this.refused(ApiError.invalidRequest("Binary WebSocket messages are not supported: send JSON events as text (audio as base64 in input_audio_buffer.append).", "invalid_event"), null);
      return;
    }
    const limit = this.options.limits.maxMessageBytes;
    if (bytes.length > limit) {
      this.refused(ApiError.invalidRequest(`The message is ${bytes.length} bytes; the limit is ${limit}. Send audio in smaller input_audio_buffer.append events.`, "message_too_large"), null);
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
    if (typeof message.event.type !== "string") {
      this.refused(ApiError.missingParam("type"), message.event.event_id);
      return;
    }
    this.enqueue(message, bytes.length);
  }

  /** Seconds of audio an append carries, from its base64 length (0 for other events). */
  private audioSecondsOf({ event, audio }: ClientMessage): number {
    if (event.type !== "input_audio_buffer.append") return 0;
    const length = audio?.length ?? (typeof event.audio === "string" ? event.audio.length : 0);
    return (length * 0.75) / this.options.bytesPerSecond();
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
        return this.closed.signal.aborted ? undefined : this.options.handle(message);
      })
      .catch((error: unknown) => {
        // A closed session's work ends in whatever its last step threw: nobody to tell.
        if (this.closed.signal.aborted) return;
        // A refusal (the client's event was wrong) is answered as such; anything else is the server's failure.
        const apiError = toApiError(error);
        if (apiError.status < 500) this.refused(apiError, event.event_id);
        else {
          this.options.log.error({ err: error, event: event.type }, "realtime event failed");
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

  /** Bytes arrived on the connection: counted as audio (in the session's format) against the speed limit. */
  private onReceived(bytes: number): void {
    if (this.closed.signal.aborted) return;
    // Counted for the idle countdown, which a large message still arriving postpones (see onIdle).
    this.receivedSinceTouch += bytes;
    const wait = this.rate.charge(bytes / ((this.options.bytesPerSecond() * 4) / 3));
    if (wait > 0) this.throttleFor(wait);
  }

  private throttleFor(seconds: number): void {
    if (this.throttleTimer) return;
    this.throttled = true;
    this.applyPause();
    this.throttleTimer = setTimeout(
      () =>
        this.guard(() => {
          this.throttleTimer = undefined;
          const wait = this.rate.waitSeconds();
          if (wait > 0 && !this.closed.signal.aborted) return this.throttleFor(wait);
          this.throttled = false;
          this.applyPause();
        }),
      Math.max(1, Math.ceil(seconds * 1000)),
    );
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
}
