// A realtime transcription session over Earshot's WebSocket (OpenAI's Realtime protocol,
// transcription intent). The page mints a short-lived secret first, so no API key ever goes
// into the WebSocket handshake.
import { createRealtimeSecret, RequestError } from "./api.js";
import { PCM_RATE } from "./micStream.js";

/** PCM16 bytes → base64. */
function toBase64(buffer) {
  const bytes = new Uint8Array(buffer);
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

/**
 * The transcription session: server VAD turns and live text (the standard deltas, plus Earshot's partial event
 * with the unstable words). Over the WebSocket the page sends 24 kHz PCM16; a WebRTC call's audio is its Opus
 * track, so `pcm: false` leaves the format out.
 */
export function transcriptionSession({ model, language, pcm = true }) {
  return {
    type: "transcription",
    audio: {
      input: {
        ...(pcm ? { format: { type: "audio/pcm", rate: PCM_RATE } } : {}),
        transcription: { model, ...(language ? { language } : {}), live_partials: true },
        turn_detection: { type: "server_vad" },
      },
    },
  };
}

export class RealtimeTranscriber {
  /**
   * @param {{model: string, language?: string, onEvent: (event: any) => void, onClose: (info: {code: number, reason: string}) => void}} options
   */
  constructor(options) {
    this.options = options;
    this.socket = null;
    /** Audio produced before the socket opened (at most a few seconds). */
    this.pending = [];
  }

  get transport() {
    return "websocket";
  }

  get open() {
    return this.socket?.readyState === WebSocket.OPEN;
  }

  /** Mints a secret and opens the socket; resolves once the server has created the session. */
  async connect() {
    const session = transcriptionSession(this.options);
    const secret = await createRealtimeSecret(session);
    if (!secret?.value) throw new RequestError(500, "The server gave no client secret.", { code: "bad_response" });
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const socket = new WebSocket(`${scheme}://${location.host}/v1/realtime?intent=transcription`, ["realtime", `openai-insecure-api-key.${secret.value}`]);
    this.socket = socket;
    await new Promise((resolve, reject) => {
      let settled = false;
      socket.addEventListener("message", (message) => {
        let event;
        try {
          event = JSON.parse(message.data);
        } catch {
          return;
        }
        if (!settled && event.type === "session.created") {
          settled = true;
          // The session is already configured by the secret.
          for (const chunk of this.pending.splice(0)) this.sendAudio(chunk);
          resolve(undefined);
        }
        if (!settled && event.type === "error") {
          settled = true;
          reject(new RequestError(400, event.error?.message ?? "The server refused the session.", { code: event.error?.code }));
          return;
        }
        this.options.onEvent(event);
      });
      socket.addEventListener("close", (event) => {
        if (!settled) {
          settled = true;
          reject(new RequestError(0, event.reason || "The realtime connection closed.", { code: `ws_${event.code}` }));
        }
        this.options.onClose({ code: event.code, reason: event.reason });
      });
    });
  }

  send(event) {
    if (this.open) this.socket.send(JSON.stringify(event));
  }

  /** Sends one PCM16 chunk (queued until the session exists). */
  sendAudio(pcm) {
    if (!this.open) {
      if (this.socket?.readyState === WebSocket.CONNECTING || !this.socket) {
        this.pending.push(pcm);
        if (this.pending.length > 100) this.pending.shift();
      }
      return;
    }
    this.socket.send(JSON.stringify({ type: "input_audio_buffer.append", audio: toBase64(pcm) }));
  }

  close() {
    if (this.socket && this.socket.readyState <= WebSocket.OPEN) this.socket.close(1000, "done");
  }
}
