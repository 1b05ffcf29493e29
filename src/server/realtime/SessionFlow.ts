// The transport side of a realtime session, over its channel (sessionChannel.ts: a WebSocket, or a WebRTC call's data
// channel and audio track): client messages in (checked, parsed, queued and handed to the session one at a time, in
// order, with the track's audio in the same queue), server events out, and the flow control between them. When the
// work behind the messages piles up (events queued, audio queued, committed turns in flight) or the client sends audio
// faster than `maxSpeed` × real time (after a short burst, counted on the connection's bytes), the socket stops being
// read (TCP back-pressure) instead of buffering without bound. A channel that cannot stop (RTP, a data channel) is
// bounded instead: meanwhile its track's audio is dropped (one `error` event per stretch, `input_audio_dropped`), and
// its messages beyond a hard bound are refused (`event_queue_full`).
//
// The session idle timeout is idleCountdown.ts: only what the client does that succeeds restarts it ({@link touch}).
//
// Failures stay in the session: a refused message gets an `error` event; anything else thrown while handling one, or
// the channel's data, closes this session with 1011 after a `server_error` event, never the process.
import type { FastifyBaseLogger } from "fastify";

import { ApiError, appendOverWebRtc, binaryMessage, eventQueueFull, inputAudioDropped, toApiError } from "../../api/errors.js";
import { type ClientMessage, parseClientMessage } from "../../api/realtimeClientEvents.js";
import { errorEvent, type RealtimeServerEvent } from "../../formats/realtimeEvents.js";
import { SAMPLE_RATE } from "../../engine/sampleRate.js";
import type { ServerMetrics } from "../metrics.js";
import { Throttle } from "./audioRateLimit.js";
import { IdleCountdown } from "./idleCountdown.js";
import type { RealtimeLimits } from "./realtimeLimits.js";
import type { SessionChannel } from "./sessionChannel.js";
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
/** Track audio dropped within this long of the last drop belongs to the same stretch (one error event). */
const DROP_STRETCH_MS = 1000;
/** A channel that cannot stop (see SessionChannel.pausable) refuses client events beyond this many queued. */
const QUEUE_HARD_LIMIT = 4 * QUEUE_HIGH_WATER;

export interface SessionFlowOptions {
  channel: SessionChannel;
  limits: Pick<RealtimeLimits, "maxSessionSeconds" | "maxMessageBytes" | "idleTimeoutSeconds" | "maxSpeed">;
  log: FastifyBaseLogger;
  /** Shared by the server's sessions: runs their decoding in slices, taking turns. */
  scheduler: SliceScheduler;
  metrics?: Pick<ServerMetrics, "realtimeEvent"> | undefined;
  /** Handles one client message; messages are handed over one at a time, in order. What it throws is answered. */
  handle(message: ClientMessage): Promise<void>;
  /** Takes the channel's track audio (16 kHz), in order with the messages. */
  takeAudio(samples: Float32Array): Promise<void>;
  /** Whether the session still takes audio (not once it drains): the track's audio is dropped otherwise. */
  takingAudio(): boolean;
  /** Committed turns whose events are not all out yet. */
  turnsInFlight(): number;
  /** Bytes one second of audio takes in the session's input format (before base64). */
  bytesPerSecond(): number;
  /** The session ended (its channel closed, it failed or expired): everything stops. Called once. */
  onClose(): void;
}

/** One entry of the ordered queue: a client message, or a stretch of the track's audio. */
interface QueuedWork {
  run(): Promise<void>;
  /** Bytes it holds while queued. */
  bytes: number;
  /** Seconds of audio it carries, counted while it waits behind the entry being handled. */
  waitingAudioSeconds: number;
  /** The client event's `event_id` (an error about it names it). */
  eventId: unknown;
  /** What it is, for the log. */
  what: string;
}

export class SessionFlow {
  private readonly channel: SessionChannel;
  private readonly closed = new AbortController();
  private tail: Promise<void> = Promise.resolve();
  private queued = 0;
  /** Bytes of the client messages (and of a call's track audio) queued or being handled. */
  private queuedBytes = 0;
  /** Seconds of audio queued behind the event being handled: appends (estimated from their base64 length), track audio. */
  private queuedAudioSeconds = 0;
  /** The socket is not read because events pile up (flow control) ... */
  private backlogged = false;
  /** ... or because the client sends audio faster than the speed limit. */
  private readonly throttle: Throttle;
  /** Whether the socket is paused: `backlogged || throttled`. */
  private paused = false;
  /** The track's audio not yet handed over, while it waits in the queue: later audio joins it. */
  private waitingAudio: { chunks: Float32Array[]; work: QueuedWork } | undefined;
  /** When the track's audio was last dropped (performance.now()); drops closer together are one stretch. */
  private lastDropAt: number | undefined;
  private readonly idle: IdleCountdown;
  private readonly sessionTimer: NodeJS.Timeout;

  constructor(private readonly options: SessionFlowOptions) {
    this.channel = options.channel;
    this.throttle = new Throttle(options.limits.maxSpeed, BURST_SECONDS, () => this.applyPause(), (work) => this.guard(work));
    this.channel.listen({
      message: (bytes, isBinary) => this.guard(() => this.onMessage(bytes, isBinary)),
      received: (bytes) => this.guard(() => this.onReceived(bytes)),
      admitAudio: (seconds) => this.admitAudio(seconds),
      audio: (samples) => this.guard(() => this.onAudio(samples)),
      closed: () => this.dispose(),
    });
    this.sessionTimer = setTimeout(
      () => this.guard(() => this.expire("session_expired", `Your session hit the maximum duration of ${options.limits.maxSessionSeconds} seconds.`)),
      options.limits.maxSessionSeconds * 1000,
    );
    this.sessionTimer.unref();
    this.idle = new IdleCountdown({
      seconds: options.limits.idleTimeoutSeconds,
      // Not idle while its own backlog (or the speed limit) holds the channel unread, nor while it handles the client's events.
      held: () => this.paused || this.queued > 0,
      largeMessageBytes: () => (options.bytesPerSecond() * 4) / 3,
      expire: () => this.expireIdle(),
      guard: (work) => this.guard(work),
    });
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

  /** Bytes of the client messages (and of a call's track audio) queued or being handled. */
  get heldBytes(): number {
    return this.queuedBytes;
  }

  send(event: RealtimeServerEvent): void {
    this.options.metrics?.realtimeEvent(event.type);
    this.channel.send(JSON.stringify(event));
  }

  sendError(error: ApiError, clientEventId: unknown): void {
    this.send(errorEvent({ type: error.type, code: error.code, message: error.message, param: error.param, event_id: typeof clientEventId === "string" ? clientEventId : null }));
  }

  /** Restarts the idle countdown: the client did something that succeeded (or the server holds its socket unread). */
  touch(): void {
    this.idle.touch();
  }

  /** Runs `work`; whatever it throws closes this session (1011) instead of reaching the channel's event emitter. */
  guard(work: () => void): void {
    try {
      work();
    } catch (error) {
      this.fail(error);
    }
  }

  /** Something failed that the session cannot go on from: a `server_error` event, then the channel closes with 1011. */
  fail(error: unknown): void {
    if (this.closed.signal.aborted) return;
    this.options.log.error({ err: error }, "realtime session failed");
    try {
      this.sendError(ApiError.serverError("The server had an error while processing the session; it has been closed."), null);
      this.channel.close(1011, "server error");
    } catch (closeError) {
      this.options.log.debug({ err: closeError }, "realtime channel close failed");
      this.channel.terminate();
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

  /** Closes the channel with `code` and ends the session. */
  close(code: number, reason: string): void {
    this.channel.close(code, reason);
    this.dispose();
  }

  /** Resolves once the channel has closed. */
  channelClosed(): Promise<void> {
    return this.channel.whenClosed();
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
    this.idle.stop();
    clearTimeout(this.sessionTimer);
    this.throttle.stop();
    this.queuedAudioSeconds = 0;
    this.waitingAudio = undefined;
    this.backlogged = false;
    this.applyPause();
    this.options.onClose();
  }

  private expire(code: string, message: string): void {
    this.sendError(ApiError.invalidRequest(message, code), null);
    this.close(1000, code);
  }

  private expireIdle(): void {
    this.expire("idle_timeout", `The session was idle for ${this.options.limits.idleTimeoutSeconds} seconds and has been closed.`);
  }

  /** A client message was refused: an `error` event; the session closes instead if it was idle but for that message. */
  private refused(error: ApiError, clientEventId: unknown): void {
    this.sendError(error, clientEventId);
    if (this.idle.inGrace) this.expireIdle();
  }

  private onMessage(bytes: Buffer, isBinary: boolean): void {
    if (this.closed.signal.aborted) return;
    if (isBinary) {
      this.refused(binaryMessage(this.channel.kind), null);
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
    if (this.channel.audioTrack && message.event.type === "input_audio_buffer.append") {
      this.refused(appendOverWebRtc(), message.event.event_id);
      return;
    }
    // A channel that cannot stop being read holds at most this much (it is tiny: appends are refused on it).
    if (!this.channel.pausable && (this.queued >= QUEUE_HARD_LIMIT || this.queuedBytes + bytes.length > limit)) {
      this.refused(eventQueueFull(QUEUE_HARD_LIMIT), message.event.event_id);
      return;
    }
    this.enqueueMessage(message, bytes.length);
  }

  /** Seconds of audio an append carries, from its base64 length (0 for other events). */
  private audioSecondsOf({ event, audio }: ClientMessage): number {
    if (event.type !== "input_audio_buffer.append") return 0;
    const length = audio?.length ?? (typeof event.audio === "string" ? event.audio.length : 0);
    return (length * 0.75) / this.options.bytesPerSecond();
  }

  private enqueueMessage(message: ClientMessage, bytes: number): void {
    const { event } = message;
    this.enqueue({
      run: () => this.options.handle(message),
      bytes,
      // Audio waiting behind the event being handled (an append handled at once is not waiting).
      waitingAudioSeconds: this.queued > 0 ? this.audioSecondsOf(message) : 0,
      eventId: event.event_id,
      what: event.type,
    });
  }

  /** Handles events one after another; stops reading the socket while too many wait. */
  private enqueue(work: QueuedWork): void {
    this.queued++;
    this.queuedBytes += work.bytes;
    this.queuedAudioSeconds += work.waitingAudioSeconds;
    this.updateFlow();
    this.tail = this.tail
      .then(() => {
        this.queuedAudioSeconds = Math.max(0, this.queuedAudioSeconds - work.waitingAudioSeconds);
        work.waitingAudioSeconds = 0;
        this.updateFlow();
        return this.closed.signal.aborted ? undefined : work.run();
      })
      .catch((error: unknown) => {
        // A closed session's work ends in whatever its last step threw: nobody to tell.
        if (this.closed.signal.aborted) return;
        // A refusal (the client's event was wrong) is answered as such; anything else is the server's failure.
        const apiError = toApiError(error);
        if (apiError.status < 500) this.refused(apiError, work.eventId);
        else {
          this.options.log.error({ err: error, event: work.what }, "realtime event failed");
          this.sendError(ApiError.serverError("The server had an error while processing the event."), work.eventId);
        }
      })
      .finally(() => {
        this.queued--;
        this.queuedBytes -= work.bytes;
        this.updateFlow();
      })
      // The chain must never reject: the next event is chained on it (and an unhandled rejection ends the process).
      .catch((error: unknown) => this.fail(error));
  }

  /**
   * Whether `seconds` of the track's audio may come in now. Not while the session is backlogged or over its speed
   * limit (what would leave a socket unread): RTP cannot wait, so that audio is dropped, and the client is told once
   * per stretch of dropped audio. Audio let in is charged to the speed limit.
   */
  private admitAudio(seconds: number): boolean {
    if (this.closed.signal.aborted || !this.options.takingAudio()) return false;
    if (!this.paused) {
      this.throttle.charge(seconds);
      return true;
    }
    // A flood keeps the speed limit on and off by turns (a packet let in, the next ones dropped): drops less than
    // DROP_STRETCH_MS apart are one stretch, and one event.
    const now = performance.now();
    if (this.lastDropAt === undefined || now - this.lastDropAt > DROP_STRETCH_MS) {
      const why = this.backlogged ? "backlog" : "speed";
      this.options.log.info({ why }, "realtime track audio dropped");
      this.sendError(inputAudioDropped(why, this.options.limits.maxSpeed), null);
    }
    this.lastDropAt = now;
    return false;
  }

  /** The track's audio joins the queue (with the audio still waiting there, if any), in order with the messages. */
  private onAudio(samples: Float32Array): void {
    if (this.closed.signal.aborted || samples.length === 0) return;
    const seconds = samples.length / SAMPLE_RATE;
    const waiting = this.waitingAudio;
    if (waiting) {
      waiting.chunks.push(samples);
      waiting.work.bytes += samples.byteLength;
      waiting.work.waitingAudioSeconds += seconds;
      this.queuedBytes += samples.byteLength;
      this.queuedAudioSeconds += seconds;
      this.updateFlow();
      return;
    }
    const chunks = [samples];
    const work: QueuedWork = {
      run: () => {
        if (this.waitingAudio?.chunks === chunks) this.waitingAudio = undefined;
        this.touch();
        return this.options.takeAudio(chunks.length === 1 ? chunks[0]! : concat(chunks));
      },
      bytes: samples.byteLength,
      waitingAudioSeconds: this.queued > 0 ? seconds : 0,
      eventId: null,
      what: "track audio",
    };
    this.waitingAudio = { chunks, work };
    this.enqueue(work);
  }

  /** Bytes arrived on the connection: counted as audio (in the session's format) against the speed limit. */
  private onReceived(bytes: number): void {
    if (this.closed.signal.aborted) return;
    // Counted for the idle countdown, which a large message still arriving postpones.
    this.idle.received(bytes);
    this.throttle.charge(bytes / ((this.options.bytesPerSecond() * 4) / 3));
  }

  /** Reads the channel or stops reading it, as `backlogged` and `throttled` say. */
  private applyPause(): void {
    const pause = (this.backlogged || this.throttle.throttled) && !this.closed.signal.aborted;
    if (pause === this.paused) return;
    this.paused = pause;
    if (pause) this.channel.pause();
    else this.channel.resume();
  }
}

function concat(chunks: Float32Array[]): Float32Array {
  let length = 0;
  for (const chunk of chunks) length += chunk.length;
  const out = new Float32Array(length);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}
