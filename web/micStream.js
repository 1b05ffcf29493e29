// The microphone as a stream of 24 kHz mono PCM16 chunks, through the pcm16-24k AudioWorklet (for the
// realtime WebSocket, which takes PCM; a WebRTC call sends the track itself: micTrack.js).
import { checkMicrophoneSupport } from "./errors.js";
import { openMicrophone } from "./micTrack.js";
import { levelFromRms } from "./ui.js";

export const PCM_RATE = 24_000;

export class MicStream {
  /**
   * @param {{onChunk: (pcm: ArrayBuffer) => void, onLevel?: (level: number) => void, onEnded?: () => void}} options
   */
  constructor(options) {
    this.options = options;
    this.stream = null;
    this.context = null;
    this.node = null;
  }

  /**
   * Starts on `stream` (an opened microphone, which this then owns), or opens the microphone; rejects with
   * getUserMedia's error (NotAllowedError, NotFoundError, ...).
   */
  async start(stream = null) {
    this.stream = stream;
    try {
      checkMicrophoneSupport({ needsRecorder: false, needsWorklet: true });
    } catch (error) {
      this.stop();
      throw error;
    }
    this.stream ??= await openMicrophone();
    try {
      this.context = new AudioContext({ latencyHint: "interactive" });
      await this.context.audioWorklet.addModule(new URL("./pcm-worklet.js", import.meta.url));
      const source = this.context.createMediaStreamSource(this.stream);
      this.node = new AudioWorkletNode(this.context, "pcm16-24k", {
        numberOfInputs: 1,
        numberOfOutputs: 1,
        outputChannelCount: [1],
        processorOptions: { targetRate: PCM_RATE, chunkMs: 100 },
      });
      this.node.port.onmessage = (event) => {
        if (event.data?.type !== "audio") return;
        // The last chunk arrives after stop(), which has already set the level to 0.
        if (this.stream) this.options.onLevel?.(levelFromRms(event.data.rms));
        this.options.onChunk(event.data.pcm);
      };
      // The worklet writes silence; connecting it keeps the graph pulling it in every browser.
      const mute = this.context.createGain();
      mute.gain.value = 0;
      source.connect(this.node).connect(mute).connect(this.context.destination);
      await this.context.resume();
    } catch (error) {
      this.stop();
      throw error;
    }
    for (const track of this.stream.getAudioTracks()) track.addEventListener("ended", () => this.options.onEnded?.());
  }

  /** Sends what the worklet holds, then releases the microphone. */
  stop() {
    this.node?.port.postMessage({ type: "stop" });
    for (const track of this.stream?.getTracks() ?? []) track.stop();
    const context = this.context;
    // Give the worklet's last chunk a moment to arrive before closing.
    if (context) setTimeout(() => context.close().catch(() => undefined), 150);
    this.stream = null;
    this.context = null;
    this.options.onLevel?.(0);
  }
}
