// What a realtime session needs of its transport: the seam between SessionFlow (the ordered queue, back-pressure, the
// speed limit, the timers) and the connection under it. A WebSocket is one implementation (webSocketChannel.ts); a
// WebRTC call (its `oai-events` data channel and its audio track, webrtc/callChannel.ts) is another; a Wyoming
// connection (../wyoming/WyomingChannel.ts: Home Assistant's protocol translated to the session's events) the third.

/** What the channel tells the session; given once, by {@link SessionChannel.listen}. */
export interface ChannelListener {
  /** One client message, whole (a WebSocket frame, a data channel message). */
  message(bytes: Buffer, isBinary: boolean): void;
  /** Bytes arrived on the connection (before a message is whole): counted against the audio speed limit. */
  received(bytes: number): void;
  /**
   * May `seconds` of the track's audio be taken now? False: drop it (the session is backlogged or over its speed
   * limit, and has told the client; or it no longer takes audio). Asked before the audio is decoded.
   */
  admitAudio(seconds: number): boolean;
  /** Decoded 16 kHz audio from the channel's audio track, in the order it arrived. */
  audio(samples: Float32Array): void;
  /** The connection is gone (closed by either side, or failed). Called once. */
  closed(): void;
}

export interface SessionChannel {
  /** Which transport it is (refusals name it). */
  readonly kind: "websocket" | "webrtc" | "wyoming";
  /**
   * Whether the channel can stop taking the client's messages while the session is backlogged (a WebSocket stops
   * being read: TCP back-pressure). A data channel and an RTP track cannot: the session bounds what they may queue.
   */
  readonly pausable: boolean;
  /** Whether the audio arrives on a track of its own (WebRTC); `input_audio_buffer.append` is refused then. */
  readonly audioTrack: boolean;
  listen(listener: ChannelListener): void;
  /** Sends one server event (JSON text); nothing once the channel is closing. */
  send(text: string): void;
  /** Closes the connection after what was sent (`code` and `reason` where the transport has them). */
  close(code: number, reason: string): void;
  /** Ends the connection at once. */
  terminate(): void;
  /** Stops reading the client's messages, where the transport can ({@link pausable}). */
  pause(): void;
  resume(): void;
  /** Resolves once the connection has closed. */
  whenClosed(): Promise<void>;
  /**
   * The server is shutting down (RealtimeSession.drain, before it waits for the queue): a transport whose client
   * cannot be told to commit (Wyoming) commits the utterance in progress here, so that it is transcribed and answered.
   */
  drain?(): void;
}
