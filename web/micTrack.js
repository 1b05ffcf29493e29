// The microphone as a track for a WebRTC call: the browser encodes and sends it itself (Opus, no
// resampling here); an AnalyserNode on the same stream drives the level meter.
import { checkMicrophoneSupport } from "./errors.js";
import { SPEECH_AUDIO } from "./recorder.js";
import { levelFromRms } from "./ui.js";

/** How often the meter is read: a timer, so it keeps going in a background tab (like the worklet's 100 ms chunks). */
const LEVEL_EVERY_MS = 100;

/** Asks for the microphone; rejects with getUserMedia's error (NotAllowedError, NotFoundError, ...). */
export async function openMicrophone() {
  checkMicrophoneSupport({ needsRecorder: false });
  return navigator.mediaDevices.getUserMedia({ audio: SPEECH_AUDIO });
}

export class MicTrack {
  /**
   * @param {{onLevel?: (level: number) => void, onEnded?: () => void}} options
   */
  constructor(options) {
    this.options = options;
    /** @type {MediaStream | null} */
    this.stream = null;
    this.context = null;
    this.timer = 0;
    this.onTrackEnded = () => this.options.onEnded?.();
  }

  /** The audio track to send. */
  get track() {
    return this.stream?.getAudioTracks()[0] ?? null;
  }

  /** Takes the opened microphone `stream` and starts the meter. */
  start(stream) {
    this.stream = stream;
    for (const track of stream.getAudioTracks()) track.addEventListener("ended", this.onTrackEnded);
    try {
      this.context = new AudioContext();
      const analyser = this.context.createAnalyser();
      analyser.fftSize = 2048;
      this.context.createMediaStreamSource(stream).connect(analyser);
      const samples = new Float32Array(analyser.fftSize);
      this.context.resume().catch(() => undefined);
      this.timer = setInterval(() => {
        analyser.getFloatTimeDomainData(samples);
        let sum = 0;
        for (const sample of samples) sum += sample * sample;
        this.options.onLevel?.(levelFromRms(Math.sqrt(sum / samples.length)));
      }, LEVEL_EVERY_MS);
    } catch {
      // No meter (an old browser): the call itself still works.
    }
  }

  /** Stops the meter and hands the still-open stream over (to the WebSocket's worklet, when the call failed). */
  release() {
    clearInterval(this.timer);
    this.context?.close().catch(() => undefined);
    this.context = null;
    const stream = this.stream;
    for (const track of stream?.getAudioTracks() ?? []) track.removeEventListener("ended", this.onTrackEnded);
    this.stream = null;
    this.options.onLevel?.(0);
    return stream;
  }

  /** Releases the microphone. */
  stop() {
    for (const track of this.release()?.getTracks() ?? []) track.stop();
  }
}
