// A WebRTC call as a realtime session's channel: JSON events on the `oai-events` data channel the client created
// (server events sent once it opens, held until then), the microphone's Opus track decoded to 16 kHz and handed to the
// session in order with the events. Neither can be paused: the session drops the track's audio while it is behind
// (SessionFlow.admitAudio) and bounds the events it queues; this channel bounds what it holds itself (events waiting
// for the data channel to open, events the client does not read, data channel fragments a peer never completes).
import type { FastifyBaseLogger } from "fastify";
import type { RTCDataChannel, RTCPeerConnection, RtpPacket } from "werift";

import type { OpusTrackDecoder } from "../../../audio/realtime/opusTrack.js";
import type { ChannelListener, SessionChannel } from "../sessionChannel.js";

/** The data channel the client creates for the events (OpenAI's name). */
export const EVENTS_CHANNEL = "oai-events";
/** Events held for the data channel until it opens, in bytes; beyond, the call ends. */
const OUTBOX_MAX_BYTES = 1024 * 1024;
/** Events sent and not yet taken by the client (its SCTP window closed); beyond, the call ends. */
const UNREAD_MAX_BYTES = 16 * 1024 * 1024;
/** On close, the events already sent get this long to reach the client before the connection goes. */
const CLOSE_FLUSH_MS = 2000;
/** After the data channel's close is sent, the client's answer to it is awaited this long. */
const CLOSE_RESET_MS = 1000;
/** An ended call's connection lingers this long, for the SCTP and DTLS answers still on their way out. */
const LINGER_MS = 250;
/** How often the data channel's receive side is checked (see watchReceiveWindow). */
const RECEIVE_CHECK_MS = 200;

export interface CallChannelOptions {
  pc: RTCPeerConnection;
  decoder: OpusTrackDecoder;
  /** The RTP payload type of Opus in the offer (the answer keeps it). */
  opusPayloadType: number;
  /** Bytes the SCTP association may hold of messages still arriving: the session's message limit. */
  maxMessageBytes: number;
  log: FastifyBaseLogger;
  /** The `oai-events` data channel opened: the call is connected. */
  onOpen(): void;
}

export class CallChannel implements SessionChannel {
  readonly kind = "webrtc";
  readonly pausable = false;
  readonly audioTrack = true;
  private listener: ChannelListener | undefined;
  private events: RTCDataChannel | undefined;
  private outbox: string[] = [];
  private outboxBytes = 0;
  private isOpen = false;
  private ended = false;
  private closing = false;
  private readonly receiveCheck: NodeJS.Timeout;
  private readonly closed: Promise<void>;
  private resolveClosed!: () => void;
  /** The call's peer connection. */
  readonly pc: RTCPeerConnection;

  constructor(private readonly options: CallChannelOptions) {
    this.pc = options.pc;
    this.closed = new Promise((resolve) => (this.resolveClosed = resolve));
    const { pc } = options;
    pc.onTrack.subscribe((track) => {
      if (track.kind === "audio") track.onReceiveRtp.subscribe((rtp) => this.onRtp(rtp));
    });
    pc.onDataChannel.subscribe((channel) => this.onDataChannel(channel));
    pc.connectionStateChange.subscribe((state) => {
      // "disconnected" may pass (ICE consent comes back); a call that stays silent ends by the idle timeout.
      if (state === "failed" || state === "closed") this.end(`connection ${state}`);
    });
    this.receiveCheck = setInterval(() => this.watchReceiveWindow(), RECEIVE_CHECK_MS);
    this.receiveCheck.unref();
  }

  listen(listener: ChannelListener): void {
    this.listener = listener;
  }

  send(text: string): void {
    if (this.ended || this.closing) return;
    const events = this.events;
    if (events?.readyState === "open") {
      if (events.bufferedAmount > UNREAD_MAX_BYTES) return this.end("the client does not read its events");
      events.send(text);
      return;
    }
    this.outboxBytes += Buffer.byteLength(text);
    if (this.outboxBytes > OUTBOX_MAX_BYTES) return this.end("events piled up before the data channel opened");
    this.outbox.push(text);
  }

  close(code: number, reason: string): void {
    if (this.ended || this.closing) return;
    this.closing = true;
    this.options.log.debug({ code, reason }, "closing the call");
    // The last events (idle_timeout, a turn's completed) reach the client before the connection goes; then the data
    // channel is closed (an SCTP stream reset: the client's channel closes at once, where the end of the peer
    // connection alone would reach it only when ICE gives up), and its "closed" ends the call.
    const deadline = Date.now() + CLOSE_FLUSH_MS;
    const wait = setInterval(() => {
      const events = this.events;
      if (events?.readyState === "open" && events.bufferedAmount > 0 && Date.now() < deadline) return;
      clearInterval(wait);
      if (events?.readyState !== "open") return this.end(reason);
      events.close();
      setTimeout(() => this.end(reason), CLOSE_RESET_MS).unref();
    }, 20);
    wait.unref();
  }

  terminate(): void {
    this.end("terminated");
  }

  pause(): void {}

  resume(): void {}

  whenClosed(): Promise<void> {
    return this.closed;
  }

  private onDataChannel(channel: RTCDataChannel): void {
    if (channel.label !== EVENTS_CHANNEL || this.events || this.ended) {
      this.options.log.debug({ label: channel.label }, "data channel ignored");
      return;
    }
    this.events = channel;
    channel.onMessage.subscribe((data) => {
      if (this.ended) return;
      if (typeof data === "string") this.listener?.message(Buffer.from(data), false);
      else this.listener?.message(data, true);
    });
    channel.stateChanged.subscribe((state) => {
      if (state === "open") this.opened();
      else if (state === "closed") this.end("data channel closed");
    });
    if (channel.readyState === "open") this.opened();
  }

  private opened(): void {
    const events = this.events;
    if (this.ended || this.isOpen || !events) return;
    this.isOpen = true;
    for (const text of this.outbox) events.send(text);
    this.outbox = [];
    this.outboxBytes = 0;
    this.options.onOpen();
  }

  private onRtp(rtp: RtpPacket): void {
    const listener = this.listener;
    if (this.ended || !listener || rtp.header.payloadType !== this.options.opusPayloadType) return;
    try {
      const packet = this.options.decoder.next(rtp.payload, rtp.header.timestamp);
      if (!packet) return;
      if (!listener.admitAudio(packet.seconds)) return packet.pass();
      const samples = packet.decode();
      if (samples.length > 0) listener.audio(samples);
    } catch (error) {
      this.options.log.debug({ err: error }, "call audio packet dropped");
    }
  }

  /**
   * werift reassembles a data channel message without holding the peer to its receive window: a peer that sends
   * fragments of a message far larger than the message limit (never finishing it) is cut off here.
   */
  private watchReceiveWindow(): void {
    const association = this.options.pc.sctpTransport?.sctp as { advertisedRwnd?: unknown } | undefined;
    const window = association?.advertisedRwnd;
    if (typeof window === "number" && window < -this.options.maxMessageBytes) this.end("data channel message beyond the limit");
  }

  /** The connection is gone: everything the call holds is let go (peer connection, UDP sockets, decoder). */
  private end(why: string): void {
    if (this.ended) return;
    this.ended = true;
    this.options.log.debug({ why }, "call ended");
    clearInterval(this.receiveCheck);
    this.outbox = [];
    this.options.decoder.free();
    this.listener?.closed();
    // The last SCTP answers (the client's stream reset of a closing data channel) leave before the connection goes.
    setTimeout(() => {
      this.pc
        .close()
        .catch((error: unknown) => this.options.log.debug({ err: error }, "peer connection close failed"))
        .finally(() => this.resolveClosed());
    }, LINGER_MS).unref();
  }
}
