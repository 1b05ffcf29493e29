// A Wyoming connection (Home Assistant's speech-to-text protocol, over TCP) as a realtime session's channel: the third
// transport into the one RealtimeSession, beside the WebSocket and the WebRTC call. The session runs in manual commit
// mode with live text; this channel translates both ways:
// - in: `transcribe {name?, language?}` → a session.update (model, language); `audio-start {rate, width, channels}`
//   opens an utterance whose `audio-chunk` payloads (PCM16, any channel count, 8-48 kHz) are mixed down, resampled to
//   16 kHz and handed to the session as track audio (the ordered path a WebRTC call's audio takes); `audio-stop` → a
//   commit; `describe` → `info`; `ping` → `pong`;
// - out: the session's `...delta` events → `transcript-chunk {text}` (after the utterance's `transcript-start`), its
//   `...completed` → `transcript {text, language?}` then `transcript-stop`; a session error → `error {text, code}`.
// Deltas are append-only and the final delta comes before `completed`, so the chunks joined are the final transcript.
//
// Anything that breaks the protocol (framing, an unknown event, audio without audio-start, a format not taken, an
// utterance over the buffer limit) closes this connection with an `error` event and a logged reason; nothing else is
// affected. The socket is paused while the session is backlogged or over its speed limit (TCP back-pressure).
import type { Socket } from "node:net";

import type { FastifyBaseLogger } from "fastify";

import { PcmStreamDecoder, pcmFormatProblem } from "../../audio/realtime/pcmStream.js";
import type { ChannelListener, SessionChannel } from "../realtime/sessionChannel.js";
import { encodeWyomingEvent, type WyomingBounds, type WyomingEvent, WyomingProtocolError, WyomingReader } from "./wyomingFraming.js";

/** Bytes written and not yet taken by the client; beyond, the connection is cut (a client that does not read). */
const UNREAD_MAX_BYTES = 4 * 1024 * 1024;
/** After a close, the last events get this long to leave before the socket is destroyed. */
const CLOSE_FLUSH_MS = 2000;

const DELTA = "conversation.item.input_audio_transcription.delta";
const COMPLETED = "conversation.item.input_audio_transcription.completed";
const FAILED = "conversation.item.input_audio_transcription.failed";

export interface WyomingChannelOptions {
  socket: Socket;
  log: FastifyBaseLogger;
  bounds: WyomingBounds;
  /** The `info` event's data (describe's answer). */
  info(): Record<string, unknown>;
  /** Whether `name` is a model id the server offers (a `transcribe` naming another keeps the session's model). */
  servesModel(name: string): boolean;
  /** Seconds of audio one utterance may hold (the realtime buffer limit). */
  maxUtteranceSeconds: number;
}

/** The utterance between audio-start and audio-stop. */
interface Utterance {
  decoder: PcmStreamDecoder;
  /** Whether audio of it reached the session (a commit needs some). */
  heard: boolean;
}

export class WyomingChannel implements SessionChannel {
  readonly kind = "wyoming";
  readonly pausable = true;
  readonly audioTrack = true;
  private listener: ChannelListener | undefined;
  private readonly reader: WyomingReader;
  /** Events read and not yet handled (while the session holds the channel paused). */
  private readonly inbox: WyomingEvent[] = [];
  private paused = false;
  private ended = false;
  private closing = false;
  private utterance: Utterance | undefined;
  /** Committed at the drain: what the client still sends of that utterance is let go. */
  private drained = false;
  /** The language the client asked for (sent back with the transcript). */
  private language: string | undefined;
  private readonly closed: Promise<void>;

  constructor(private readonly options: WyomingChannelOptions) {
    const { socket } = options;
    this.reader = new WyomingReader(options.bounds);
    this.closed = new Promise((resolve) => socket.once("close", () => resolve()));
    socket.setNoDelay(true);
    socket.on("error", (error) => options.log.debug({ err: error }, "wyoming socket error"));
    socket.once("close", () => {
      this.ended = true;
      this.listener?.closed();
    });
  }

  listen(listener: ChannelListener): void {
    this.listener = listener;
    this.options.socket.on("data", (chunk: Buffer) => this.onData(chunk));
  }

  /** One server event of the session, as the Wyoming events it means (or none). */
  send(text: string): void {
    if (this.ended || this.closing) return;
    const event = JSON.parse(text) as { type: string; delta?: string; transcript?: string; error?: { message?: string; code?: string } };
    switch (event.type) {
      case DELTA:
        if (event.delta) this.write("transcript-chunk", { text: event.delta });
        return;
      case COMPLETED:
        this.write("transcript", { text: event.transcript ?? "", ...(this.language ? { language: this.language } : {}) });
        this.write("transcript-stop");
        return;
      case FAILED:
        this.write("error", { text: event.error?.message ?? "The transcription failed.", code: event.error?.code ?? "transcription_failed" });
        return;
      case "error":
        // An utterance too short to transcribe is answered with an empty transcript (the client waits for one).
        if (event.error?.code === "input_audio_buffer_commit_empty") {
          this.write("transcript", { text: "" });
          this.write("transcript-stop");
          return;
        }
        this.write("error", { text: event.error?.message ?? "error", code: event.error?.code ?? "error" });
        return;
      default:
        return;
    }
  }

  close(code: number, reason: string): void {
    if (this.ended || this.closing) return;
    this.closing = true;
    this.options.log.debug({ code, reason }, "closing the wyoming connection");
    const { socket } = this.options;
    socket.end();
    setTimeout(() => socket.destroy(), CLOSE_FLUSH_MS).unref();
  }

  terminate(): void {
    this.options.socket.destroy();
  }

  pause(): void {
    this.paused = true;
    this.options.socket.pause();
  }

  resume(): void {
    this.paused = false;
    this.options.socket.resume();
    this.handleInbox();
  }

  whenClosed(): Promise<void> {
    return this.closed;
  }

  /** Shutdown: the utterance in progress is committed as it stands (its transcript is sent before the close). */
  drain(): void {
    if (!this.utterance) return;
    this.drained = true;
    this.stopUtterance();
  }

  private onData(chunk: Buffer): void {
    if (this.ended || this.closing) return;
    try {
      this.inbox.push(...this.reader.push(chunk));
    } catch (error) {
      if (error instanceof WyomingProtocolError) return this.refuse(error.message);
      throw error;
    }
    this.handleInbox();
  }

  private handleInbox(): void {
    while (!this.paused && !this.ended && !this.closing && this.inbox.length > 0) this.handle(this.inbox.shift()!);
  }

  private handle(event: WyomingEvent): void {
    switch (event.type) {
      case "describe":
        return this.write("info", this.options.info());
      case "ping":
        return this.write("pong", typeof event.data.text === "string" ? { text: event.data.text } : {});
      case "transcribe":
        return this.transcribe(event.data);
      case "audio-start":
        return this.startUtterance(event.data);
      case "audio-chunk":
        return this.audioChunk(event);
      case "audio-stop":
        if (!this.utterance) return this.drained ? undefined : this.refuse("audio-stop without audio-start");
        return this.stopUtterance();
      default:
        return this.refuse(`unknown event '${event.type.slice(0, 100)}'`);
    }
  }

  private transcribe(data: Record<string, unknown>): void {
    const { name, language } = data;
    const transcription: Record<string, unknown> = { language: typeof language === "string" && language ? language : null };
    if (typeof name === "string" && this.options.servesModel(name)) transcription.model = name;
    this.language = typeof language === "string" && language ? language : undefined;
    this.message({ type: "session.update", session: { type: "transcription", audio: { input: { transcription } } } });
  }

  private startUtterance(data: Record<string, unknown>): void {
    const problem = pcmFormatProblem(data);
    if (problem) return this.refuse(`audio-start: ${problem}`);
    // An utterance started again without its audio-stop starts over.
    if (this.utterance?.heard) this.message({ type: "input_audio_buffer.clear" });
    this.drained = false;
    this.utterance = { decoder: new PcmStreamDecoder({ rate: data.rate as number, width: 2, channels: data.channels as number }), heard: false };
    this.write("transcript-start", this.language ? { language: this.language } : {});
  }

  private audioChunk(event: WyomingEvent): void {
    const utterance = this.utterance;
    if (!utterance) return this.drained ? undefined : this.refuse("audio-chunk without audio-start");
    const listener = this.listener;
    if (!event.payload || !listener) return;
    const seconds = utterance.decoder.secondsIn(event.payload.length);
    if (utterance.decoder.seconds + seconds > this.options.maxUtteranceSeconds) {
      return this.refuse(`the utterance is longer than ${this.options.maxUtteranceSeconds} s (EARSHOT_REALTIME_MAX_BUFFER_SECONDS)`);
    }
    // Not taken while the server drains (the session no longer takes audio).
    if (!listener.admitAudio(seconds)) return;
    const samples = utterance.decoder.push(event.payload);
    if (samples.length > 0) {
      utterance.heard = true;
      listener.audio(samples);
    }
  }

  private stopUtterance(): void {
    const utterance = this.utterance!;
    this.utterance = undefined;
    const tail = utterance.decoder.flush();
    if (tail.length > 0 && utterance.heard) this.listener?.audio(tail);
    this.message({ type: "input_audio_buffer.commit" });
  }

  /** A client event of the realtime API, into the session's ordered queue. */
  private message(event: Record<string, unknown>): void {
    this.listener?.message(Buffer.from(JSON.stringify(event)), false);
  }

  private write(type: string, data?: Record<string, unknown>): void {
    const { socket } = this.options;
    if (this.ended || socket.destroyed) return;
    if (socket.writableLength > UNREAD_MAX_BYTES) {
      this.options.log.info("wyoming connection closed: the client does not read its events");
      socket.destroy();
      return;
    }
    socket.write(encodeWyomingEvent(type, data));
  }

  /** The client broke the protocol: an `error` event, then the connection closes (the reason logged). */
  private refuse(reason: string): void {
    if (this.ended || this.closing) return;
    this.options.log.info({ reason }, "wyoming connection closed: bad input");
    this.write("error", { text: reason, code: "bad_input" });
    this.inbox.length = 0;
    this.close(1008, reason);
  }
}
