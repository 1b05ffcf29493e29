// A realtime transcription session over WebRTC, on OpenAI's wire: the page mints a client secret, offers
// the microphone track and the `oai-events` data channel to POST /v1/realtime/calls, and sets the answer
// SDP it gets back. The browser sends the track itself (Opus, no resampling here); events travel on the
// data channel exactly as on the WebSocket (realtime.js), behind the same small interface:
// connect(), open, send(event), close(), transport.
import { createRealtimeSecret, hangUpRealtimeCall, offerRealtimeCall, RequestError } from "./api.js";
import { transcriptionSession } from "./realtime.js";

/** How long a call may take from the offer to the session's first event before the page gives up on WebRTC. */
export const CALL_SETUP_TIMEOUT_MS = 5000;
/** How long Stop waits for the server to answer the hangup before closing the connection anyway. */
const HANGUP_TIMEOUT_MS = 2000;

/** The call could not be set up in this browser or network (ICE, DTLS or the data channel): the WebSocket may still work. */
export class CallSetupError extends Error {
  constructor(message) {
    super(message);
    this.name = "CallSetupError";
  }
}

export class RealtimeCall {
  /**
   * @param {{model: string, language?: string, track: MediaStreamTrack,
   *          onEvent: (event: any) => void, onClose: (info: {code?: number, reason: string}) => void}} options
   */
  constructor(options) {
    this.options = options;
    /** @type {RTCPeerConnection | null} */
    this.pc = null;
    /** @type {RTCDataChannel | null} */
    this.channel = null;
    this.secret = "";
    this.callUrl = "";
    this.connected = false;
    this.closed = false;
  }

  get transport() {
    return "webrtc";
  }

  get open() {
    return !this.closed && this.channel?.readyState === "open";
  }

  /**
   * Mints a secret, offers the call and resolves once the server has created the session on the data channel.
   * Rejects with the server's RequestError (401, 429, 404 ...) or a CallSetupError (the connection did not come up).
   */
  async connect() {
    const secret = await createRealtimeSecret(transcriptionSession({ ...this.options, pcm: false }));
    if (!secret?.value) throw new RequestError(500, "The server gave no client secret.", { code: "bad_response" });
    this.secret = secret.value;
    if (this.closed) throw new CallSetupError("The call was stopped.");
    const pc = new RTCPeerConnection();
    this.pc = pc;
    // The channel before the offer, so the offer carries it (as OpenAI's browser example does).
    const channel = pc.createDataChannel("oai-events");
    this.channel = channel;
    pc.addTrack(this.options.track);
    // The offer goes at once, without the browser's candidates (as OpenAI's example sends it): the answer carries
    // the server's, and the browser's checks reach them (behind NAT the browser's own addresses are no use anyway).
    const offer = await pc.createOffer();
    await pc.setLocalDescription(offer);
    const answer = await offerRealtimeCall(offer.sdp ?? "", this.secret);
    if (this.closed) {
      // Stopped while the offer was out: the server's call exists now, end it.
      void hangUpRealtimeCall(answer.url, this.secret, HANGUP_TIMEOUT_MS);
      throw new CallSetupError("The call was stopped.");
    }
    this.callUrl = answer.url;
    await pc.setRemoteDescription({ type: "answer", sdp: answer.sdp });

    await new Promise((resolve, reject) => {
      let settled = false;
      const fail = (error) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        reject(error);
      };
      const timer = setTimeout(
        () => fail(new CallSetupError(`no connection within ${CALL_SETUP_TIMEOUT_MS / 1000} s (ICE ${pc.iceConnectionState})`)),
        CALL_SETUP_TIMEOUT_MS,
      );
      channel.addEventListener("message", (message) => {
        let event;
        try {
          event = JSON.parse(message.data);
        } catch {
          return;
        }
        if (!settled && event.type === "session.created") {
          settled = true;
          clearTimeout(timer);
          this.connected = true;
          resolve(undefined);
        }
        if (!settled && event.type === "error") {
          fail(new RequestError(400, event.error?.message ?? "The server refused the session.", { code: event.error?.code }));
          return;
        }
        this.options.onEvent(event);
      });
      const ended = (reason) => {
        if (!settled) fail(new CallSetupError(reason));
        else this.ended(reason);
      };
      channel.addEventListener("close", () => ended("The server ended the call."));
      pc.addEventListener("connectionstatechange", () => {
        if (pc.connectionState === "failed") ended(`The connection failed (ICE ${pc.iceConnectionState}).`);
      });
    });
  }

  /** The call ended by itself (not by close()): tell the page once. */
  ended(reason) {
    if (this.closed) return;
    this.close();
    this.options.onClose({ reason });
  }

  send(event) {
    if (this.open) this.channel?.send(JSON.stringify(event));
  }

  /** Hangs up (POST hangup, which frees the server's session at once) and closes the connection. */
  close() {
    if (this.closed) return;
    this.closed = true;
    const pc = this.pc;
    const closeConnection = () => {
      this.channel?.close();
      pc?.close();
    };
    if (this.callUrl) void hangUpRealtimeCall(this.callUrl, this.secret, HANGUP_TIMEOUT_MS).finally(closeConnection);
    else closeConnection();
  }
}
