// One realtime transcription session: client events in, server events out. Audio is decoded to 16 kHz as it arrives,
// Silero VAD + server_vad turn detection cut it into turns (or the client commits them), and each committed turn is
// transcribed on the shared engine while the next one is being spoken. A bad event gets an `error` event and the
// session goes on. The session is the dispatcher over three parts, each with one job:
// - SessionFlow: the channel (a WebSocket, or a WebRTC call), the ordered queue of client events, back-pressure, the
//   speed limit and the timers;
// - TurnTracker: server VAD (turns, idle timeout, the silence kept before a turn);
// - TurnTranscriber: committed turns' transcriptions in commit order, and live text (deltas while a turn is spoken).
//
// CPU: an append's audio is validated, decoded, resampled and run through the VAD in slices of half a second, each
// slice's decoding a task of the server's SliceScheduler (so a 15 MB append never holds the event loop). When the
// session closes, everything stops: the slice in progress is its last, queued events are dropped and the buffers let
// go. A session.update builds everything the new settings need before it swaps any of it in: a refused one changes
// nothing.
import { setTimeout as sleep } from "node:timers/promises";

import type { FastifyBaseLogger } from "fastify";

import { ApiError } from "../../api/errors.js";
import type { ClientEvent, ClientMessage } from "../../api/realtimeClientEvents.js";
import { applyBetaSession, applyGaSession, type TranscriptionSessionConfig, turnDetectorFor, turnSettings, wantsLiveText } from "../../api/realtimeSession.js";
import { renderSession, type SessionIdentity } from "../../api/realtimeSessionJson.js";
import { createInputDecoder, type InputAudioChunk, type InputAudioDecoder } from "../../audio/realtime/inputAudioFormat.js";
import { type Base64Text, InvalidAudioChunkError } from "../../audio/realtime/pcm16.js";
import type { SileroVadModel } from "../../audio/vad/index.js";
import { clearedEvent, committedEvent, itemEvent, realtimeId, type RealtimeServerEvent, sessionEvent, userAudioItem } from "../../formats/realtimeEvents.js";
import { InvalidSettingError } from "../../transcription/errors.js";
import type { TranscriptionService } from "../../transcription/TranscriptionService.js";
import type { ServerMetrics } from "../metrics.js";
import type { RealtimeDialect, RealtimeLimits } from "./realtimeLimits.js";
import { SessionAudio } from "./sessionAudio.js";
import type { SessionChannel } from "./sessionChannel.js";
import { SessionFlow } from "./SessionFlow.js";
import type { SliceScheduler } from "./sliceScheduler.js";
import { MIN_COMMIT_SAMPLES, type OpenTurn, openTurn, TurnTracker } from "./TurnTracker.js";
import { liveDelayLevel } from "./liveDelay.js";
import type { AgreementRule } from "./wordAgreement.js";
import { TurnTranscriber } from "./TurnTranscriber.js";
import { SAMPLE_RATE } from "../../engine/sampleRate.js";

export interface RealtimeSessionOptions {
  /** The session's transport: a WebSocket (webSocketChannel.ts) or a WebRTC call (webrtc/callChannel.ts). */
  channel: SessionChannel;
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
/** Audio decoded (and run through the VAD) in one slice: about 2-4 ms of CPU. */
const SLICE_SECONDS = 0.5;
/** Base64 characters checked in one slice (~1.5 ms). */
const VALIDATE_CHARS = 256 * 1024;

export class RealtimeSession {
  private config: TranscriptionSessionConfig;
  private readonly audio = new SessionAudio();
  private decoder: InputAudioDecoder;
  private readonly flow: SessionFlow;
  private readonly turns: TurnTracker;
  private readonly transcriber: TurnTranscriber;
  private lastItemId: string | null = null;
  /** Manual commit mode with live text: the buffer since the last commit or clear, as the turn being spoken. */
  private manualTurn: OpenTurn | undefined;
  /** The server is shutting down (see {@link drain}); `drainRefused` once an append has been told so. */
  private draining = false;
  private drainRefused = false;
  /** Gives back the session's hold on its model (never unloaded while the session is open). */
  private unpinModel: () => void;

  /** Never throws: settings it cannot start with close the session (1011) after an `error` event. */
  constructor(private readonly options: RealtimeSessionOptions) {
    this.config = options.config;
    this.unpinModel = options.transcription.models.pin(this.config.model);
    // The default format until start() builds the session's own (always valid: a fallback that cannot fail).
    this.decoder = createInputDecoder();
    this.flow = new SessionFlow({
      channel: options.channel,
      limits: options.limits,
      log: options.log,
      scheduler: options.scheduler,
      metrics: options.metrics,
      handle: (message) => this.handle(message),
      takeAudio: (decoded) => this.takeAudio(decoded),
      takingAudio: () => !this.draining,
      turnsInFlight: () => this.transcriber.pending,
      bytesPerSecond: () => this.decoder.bytesPerSecond,
      onClose: () => this.dispose(),
    });
    const send = (event: RealtimeServerEvent) => this.flow.send(event);
    this.turns = new TurnTracker({
      audio: this.audio,
      loadVad: options.loadVad,
      signal: this.flow.signal,
      maxBufferSeconds: options.limits.maxBufferSeconds,
      liveText: () => this.liveRule(),
      send,
      commit: (itemId, from, to, speech) => this.commitTurn(itemId, from, to, speech),
      onAudio: (turn) => this.transcriber.live(turn, this.audio, this.config),
    });
    this.transcriber = new TurnTranscriber({
      transcription: options.transcription,
      dialect: options.dialect,
      log: options.log,
      signal: this.flow.signal,
      send,
      onTurnDone: () => this.flow.updateFlow(),
      fail: (error) => this.flow.fail(error),
    });
    this.flow.guard(() => this.start());
  }

  /** Builds what the settings need (decoder, turn detector), then announces the session. */
  private start(): void {
    this.decoder = createInputDecoder(this.config.format.betaName);
    this.turns.configure(this.config.turnDetection);
    const beta = this.options.dialect === "beta";
    this.flow.send(sessionEvent(beta ? "transcription_session.created" : "session.created", renderSession(beta, this.config, this.options.identity)));
  }

  /**
   * Bytes of client data the session holds: the audio buffer (uncommitted audio and the short stretch kept before a
   * turn), the messages queued or being handled, and the audio of transcriptions in progress. Not counted: the
   * resampler's and the VAD's fixed working buffers (a few tens of KB, bounded by the half-second decoding slice).
   */
  get heldBytes(): number {
    return this.audio.heldBytes + this.flow.heldBytes + this.transcriber.heldBytes;
  }

  /** Whether client events are waiting or being handled. */
  get busy(): boolean {
    return this.flow.busy;
  }

  /** Whether the socket is not being read (back-pressure). */
  get readingPaused(): boolean {
    return this.flow.readingPaused;
  }

  /**
   * The server is shutting down: audio is no longer taken (the first append after this gets an error event
   * `server_shutting_down`, later ones are dropped without one, as is a WebRTC call's track audio; commit, clear and
   * session.update still work). The
   * events already received are handled; with server VAD, the turn in progress is committed when it holds at least
   * 100 ms (manual commit mode commits nothing by itself). Every committed turn is transcribed and its events sent,
   * then the socket is closed with 1001. Resolves once the socket has closed (the server's drain deadline ends a
   * drain that takes too long by closing the socket, which aborts what is left).
   */
  async drain(): Promise<void> {
    if (!this.draining) {
      this.draining = true;
      this.options.log.info("draining: no more audio; finishing the committed turns");
      this.options.channel.drain?.();
    }
    const closed = this.flow.channelClosed();
    await this.flow.settled();
    if (!this.flow.signal.aborted) this.turns.stopTurn(this.audio.endSample);
    // Events a client sends meanwhile (a manual commit) are handled before the socket closes.
    while ((this.transcriber.pending > 0 || this.flow.busy) && !this.flow.signal.aborted) await sleep(20);
    if (!this.flow.signal.aborted) this.flow.close(1001, "server shutting down");
    await closed;
  }

  /** The session ended (SessionFlow): detection stops, the buffers are let go. */
  private dispose(): void {
    this.unpinModel();
    this.endManualTurn();
    this.turns.dispose();
    this.audio.dropBefore(this.audio.endSample);
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
        return this.flow.touch();
      case "input_audio_buffer.clear":
        this.clear();
        return this.flow.touch();
      case "session.update":
      case "transcription_session.update":
        return this.update(event);
      default:
        if (CONVERSATION_EVENTS.has(event.type)) {
          throw ApiError.invalidRequest(`'${event.type}' is not supported in a transcription session.`, "unsupported_event", "type");
        }
        throw ApiError.invalidParam("type", `Invalid value: '${event.type.slice(0, 100)}'. Supported values are: ${SUPPORTED_EVENTS.map((t) => `'${t}'`).join(", ")}.`);
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
    const transcriptionParam = beta ? "session.input_audio_transcription" : "session.audio.input.transcription";
    if (!this.options.transcription.models.find(next.model)) throw ApiError.modelNotFound(next.model, `${transcriptionParam}.model`);
    // What the model cannot take (a prompt for a Parakeet model) is refused now, not at every turn.
    try {
      this.options.transcription.servedFor(turnSettings(next));
    } catch (error) {
      if (error instanceof InvalidSettingError) throw ApiError.invalidParam(`${transcriptionParam}.${error.param}`, error.message, error.code);
      throw error;
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
    if (next.model !== previous.model) {
      const unpinPrevious = this.unpinModel;
      this.unpinModel = this.options.transcription.models.pin(next.model);
      unpinPrevious();
    }
    this.decoder = decoder;
    if (turnChanged) {
      this.endManualTurn();
      this.turns.configure(next.turnDetection, !previous.turnDetection, detector);
    }
    this.flow.touch();
    this.flow.send(updated);
    if (tail && tail.length > 0) {
      this.audio.append(tail);
      if (this.turns.active) await this.turns.detect(tail);
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
      while (!chunk.validated) await this.flow.step(() => chunk.validate(VALIDATE_CHARS));
    } catch (error) {
      if (error instanceof InvalidAudioChunkError) {
        throw ApiError.invalidParam("audio", `Invalid 'audio': ${error.message}. The chunk was not added to the buffer.`, error.code);
      }
      throw error;
    }
    const maxSamples = this.options.limits.maxBufferSeconds * SAMPLE_RATE;
    if (!this.turns.active && this.audio.length + chunk.pendingOutputSamples() > maxSamples) {
      throw ApiError.invalidParam(
        "audio",
        `The input audio buffer is full (${this.options.limits.maxBufferSeconds} s of uncommitted audio); this chunk was not added. Commit or clear the buffer.`,
        "input_audio_buffer_full",
      );
    }
    // Valid audio is activity; an empty append is not.
    if (chunk.inputSamples > 0) this.flow.touch();
    const sliceSamples = Math.round(SLICE_SECONDS * decoder.inputSampleRate);
    while (!chunk.done) {
      const decoded = await this.flow.step(() => chunk.read(sliceSamples));
      if (this.flow.signal.aborted) return;
      await this.takeAudio(decoded);
    }
  }

  /**
   * Decoded 16 kHz audio joins the session's buffer, whichever way it came (a base64 append, a WebRTC track): counted,
   * and through the server VAD when it is on.
   */
  private async takeAudio(decoded: Float32Array): Promise<void> {
    this.audio.append(decoded);
    this.options.metrics?.received("realtime", decoded.length / SAMPLE_RATE);
    if (this.turns.active) await this.turns.detect(decoded);
    else this.manualLive();
  }

  /** The agreement rule of live text, when the session wants it. */
  private liveRule(): AgreementRule | undefined {
    return wantsLiveText(this.config) ? liveDelayLevel(this.config.delay) : undefined;
  }

  /**
   * Manual commit mode: the buffer is the turn being spoken. With live text, it gets its item id when audio first
   * arrives (the id the commit will use, so deltas and the commit name the same item) and live passes as it grows.
   */
  private manualLive(): void {
    const rule = this.liveRule();
    if (!rule || this.audio.length === 0) return;
    this.manualTurn ??= openTurn(realtimeId("item"), this.audio.startSample, rule);
    this.transcriber.live(this.manualTurn, this.audio, this.config, false);
  }

  /** The manual turn ends (committed or cleared): its live pass stops. */
  private endManualTurn(): void {
    this.manualTurn?.ended.abort();
    this.manualTurn = undefined;
  }

  private commit(): void {
    // Without VAD the resampler's last few samples are wanted now; with it they arrive with the next chunk.
    if (!this.turns.active) this.audio.append(this.decoder.flush());
    const turn = this.turns.turn;
    const from = turn ? turn.startSample : this.audio.startSample;
    const to = this.audio.endSample;
    if (to - from < MIN_COMMIT_SAMPLES) {
      const ms = (Math.max(0, to - from) / SAMPLE_RATE) * 1000;
      throw ApiError.invalidRequest(
        `Error committing input audio buffer: buffer too small. Expected at least 100ms of audio, but buffer only has ${ms.toFixed(2)}ms of audio.`,
        "input_audio_buffer_commit_empty",
      );
    }
    this.commitTurn(turn?.itemId ?? this.manualTurn?.itemId ?? realtimeId("item"), from, to, false);
    // Detection starts over after a manual commit (a turn in progress was committed as it stood).
    if (this.turns.active) this.turns.restart();
  }

  private clear(): void {
    this.endManualTurn();
    if (!this.turns.active) this.decoder.flush();
    this.audio.dropBefore(this.audio.endSample);
    if (this.turns.active) this.turns.restart();
    this.flow.send(clearedEvent());
  }

  /** The audio [from, to) becomes item `itemId`: committed, announced, and transcribed in commit order. */
  private commitTurn(itemId: string, fromSample: number, toSample: number, speech: boolean): void {
    const samples = this.audio.slice(fromSample, toSample);
    // The live text sent for this turn so far (server VAD's open turn, or the manual buffer's).
    const open = [this.turns.turn, this.manualTurn].find((turn) => turn?.itemId === itemId);
    this.audio.dropBefore(toSample);
    this.turns.setTurn(undefined);
    this.endManualTurn();
    const previous = this.lastItemId;
    this.lastItemId = itemId;
    this.flow.send(committedEvent(itemId, previous));
    if (this.options.dialect === "beta") this.flow.send(itemEvent("conversation.item.created", userAudioItem(itemId, null, "completed"), previous));
    else this.flow.send(itemEvent("conversation.item.added", userAudioItem(itemId, null, "completed"), previous));
    this.transcriber.transcribe(itemId, previous, samples, this.config, speech, open?.live && { text: open.live, fromSample });
    this.flow.updateFlow();
  }
}
