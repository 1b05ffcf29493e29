// Live captions' link to the server: the microphone and one realtime transport behind one small interface
// (startMicrophone, connect, open, send, stopMicrophone, close), so the panel does not care which is used.
// WebRTC when the browser has it (the microphone track goes as it is: realtimeCall.js); the WebSocket with
// the PCM worklet otherwise (realtime.js, micStream.js), and also when a call cannot be set up (the server
// has no /v1/realtime/calls, or the connection does not come up): `fallbackReason` then says why.
import { MicStream } from "./micStream.js";
import { MicTrack, openMicrophone } from "./micTrack.js";
import { RealtimeTranscriber } from "./realtime.js";
import { RealtimeCall } from "./realtimeCall.js";

/** Whether this browser can make WebRTC calls. */
export function hasWebRtc() {
  return typeof globalThis.RTCPeerConnection === "function";
}

/**
 * Whether a failed call should be tried again over the WebSocket: not when the server refused the page itself
 * (a key is needed, or it is full), which the WebSocket would be told too.
 */
function worthFallingBack(error) {
  return ![401, 403, 429].includes(error?.status);
}

export class LiveLink {
  /**
   * @param {{model: string, language?: string, onEvent: (event: any) => void, onClose: (info: {code?: number, reason: string}) => void,
   *          onLevel: (level: number) => void, onMicEnded: () => void}} options
   */
  constructor(options) {
    this.options = options;
    /** @type {"webrtc" | "websocket"} */
    this.transport = hasWebRtc() ? "webrtc" : "websocket";
    /** Why the WebSocket is used (null with WebRTC). */
    this.fallbackReason = hasWebRtc() ? null : "this browser has no WebRTC";
    /** @type {MicTrack | MicStream | null} */
    this.mic = null;
    /** @type {RealtimeCall | RealtimeTranscriber | null} */
    this.session = null;
    this.closed = false;
  }

  get open() {
    return Boolean(this.session?.open);
  }

  /** Opens the microphone; rejects with getUserMedia's error (NotAllowedError, NotFoundError, ...). */
  async startMicrophone() {
    if (this.transport === "webrtc") {
      const stream = await openMicrophone();
      const mic = new MicTrack({ onLevel: this.options.onLevel, onEnded: this.options.onMicEnded });
      mic.start(stream);
      this.mic = mic;
      if (this.closed) mic.stop();
      return;
    }
    await this.startWebSocketMicrophone(null);
  }

  /** Resolves once the server has created the session (over WebRTC, or the WebSocket it fell back to). */
  async connect() {
    if (this.transport === "webrtc" && this.mic instanceof MicTrack && this.mic.track) {
      const call = new RealtimeCall({ ...this.sessionOptions(), track: this.mic.track });
      this.session = call;
      try {
        await call.connect();
        return;
      } catch (error) {
        call.close();
        if (this.closed || !worthFallingBack(error)) throw error;
        this.fallbackReason = `WebRTC could not connect: ${error?.message ?? error}`;
        this.transport = "websocket";
        await this.startWebSocketMicrophone(this.mic.release());
      }
    }
    await this.session?.connect();
  }

  send(event) {
    this.session?.send(event);
  }

  /** Releases the microphone (the session stays open for the turns still being transcribed). */
  stopMicrophone() {
    this.mic?.stop();
    this.mic = null;
  }

  /** Releases the microphone and ends the session (a WebRTC call is hung up). */
  close() {
    this.closed = true;
    this.stopMicrophone();
    this.session?.close();
  }

  sessionOptions() {
    const { model, language, onEvent } = this.options;
    return {
      model,
      language,
      onEvent,
      onClose: (info) => {
        if (!this.closed) this.options.onClose(info);
      },
    };
  }

  /** The WebSocket's session first, so the worklet's first chunks are queued until it opens; then the microphone. */
  async startWebSocketMicrophone(stream) {
    const session = new RealtimeTranscriber(this.sessionOptions());
    this.session = session;
    const mic = new MicStream({ onChunk: (pcm) => session.sendAudio(pcm), onLevel: this.options.onLevel, onEnded: this.options.onMicEnded });
    this.mic = mic;
    await mic.start(stream);
    if (this.closed) mic.stop();
  }
}
