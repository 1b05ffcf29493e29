// Microphone recording with MediaRecorder, in a container this browser can write, with a level
// meter and the elapsed time. Chunks are collected every second, so a failure mid-way keeps what
// was recorded so far.
import { checkMicrophoneSupport } from "./errors.js";
import { levelFromRms } from "./ui.js";

/** Recording types in order of preference; the first this browser supports wins. */
const MIME_TYPES = [
  "audio/ogg;codecs=opus", // Firefox
  "audio/webm;codecs=opus", // Chrome, Edge (and recent Safari)
  "audio/mp4", // Safari
  "audio/webm",
  "audio/ogg",
];

/** The MediaRecorder type to ask for ("" lets the browser choose). */
export function pickRecordingType() {
  if (typeof MediaRecorder === "undefined" || typeof MediaRecorder.isTypeSupported !== "function") return "";
  return MIME_TYPES.find((type) => MediaRecorder.isTypeSupported(type)) ?? "";
}

/** The file extension for a recording's MIME type. */
export function extensionFor(type) {
  if (type.includes("ogg")) return "ogg";
  if (type.includes("mp4") || type.includes("aac")) return "m4a";
  if (type.includes("wav")) return "wav";
  return "webm";
}

/** Microphone constraints for speech. */
export const SPEECH_AUDIO = { echoCancellation: true, noiseSuppression: true, autoGainControl: true, channelCount: { ideal: 1 } };

export class Recorder {
  /**
   * @param {{onLevel?: (level: number) => void, onTick?: (seconds: number) => void, onInterrupted?: (error: Error) => void}} callbacks
   */
  constructor(callbacks = {}) {
    this.callbacks = callbacks;
    /** @type {Blob[]} */
    this.chunks = [];
    this.stream = null;
    this.recorder = null;
    this.audioContext = null;
    this.startedAt = 0;
    this.frame = 0;
    this.clock = 0;
    this.stopped = null;
  }

  get recording() {
    return this.recorder?.state === "recording";
  }

  /** The seconds recorded so far. */
  get elapsed() {
    return this.startedAt ? (performance.now() - this.startedAt) / 1000 : 0;
  }

  /** Asks for the microphone and starts recording; rejects with getUserMedia's error (NotAllowedError, ...). */
  async start() {
    checkMicrophoneSupport();
    this.stream = await navigator.mediaDevices.getUserMedia({ audio: SPEECH_AUDIO });
    try {
      const mimeType = pickRecordingType();
      this.recorder = new MediaRecorder(this.stream, { ...(mimeType ? { mimeType } : {}), audioBitsPerSecond: 64_000 });
    } catch (error) {
      this.releaseMicrophone();
      throw error;
    }
    this.chunks = [];
    let finish;
    this.stopped = new Promise((resolve) => (finish = resolve));
    this.recorder.addEventListener("dataavailable", (event) => {
      if (event.data.size > 0) this.chunks.push(event.data);
    });
    this.recorder.addEventListener("stop", () => {
      this.releaseMicrophone();
      finish(this.blob());
    });
    this.recorder.addEventListener("error", (event) => {
      this.callbacks.onInterrupted?.(event.error ?? new Error("the recorder failed"));
    });
    // An unplugged microphone ends the track: keep what was recorded.
    for (const track of this.stream.getAudioTracks()) {
      track.addEventListener("ended", () => {
        if (this.recording) {
          this.callbacks.onInterrupted?.(new Error("the microphone was disconnected"));
        }
      });
    }
    this.recorder.start(1000);
    this.startedAt = performance.now();
    // A timer rather than animation frames: the clock keeps going in a background tab.
    this.clock = setInterval(() => this.callbacks.onTick?.(this.elapsed), 250);
    this.watchLevel();
  }

  /** Stops and resolves with the whole recording. */
  async stop() {
    if (this.recorder && this.recorder.state !== "inactive") this.recorder.stop();
    return this.stopped ?? this.blob();
  }

  /** The recording so far as one Blob. */
  blob() {
    const type = this.recorder?.mimeType || this.chunks[0]?.type || "audio/webm";
    return new Blob(this.chunks, { type });
  }

  watchLevel() {
    try {
      this.audioContext = new AudioContext();
      const source = this.audioContext.createMediaStreamSource(this.stream);
      const analyser = this.audioContext.createAnalyser();
      analyser.fftSize = 2048;
      source.connect(analyser);
      const samples = new Float32Array(analyser.fftSize);
      const tick = () => {
        if (!this.recording) return;
        analyser.getFloatTimeDomainData(samples);
        let sum = 0;
        for (const sample of samples) sum += sample * sample;
        this.callbacks.onLevel?.(levelFromRms(Math.sqrt(sum / samples.length)));
        this.frame = requestAnimationFrame(tick);
      };
      this.frame = requestAnimationFrame(tick);
    } catch {
      // No meter (an old browser): the recording itself still works.
    }
  }

  releaseMicrophone() {
    cancelAnimationFrame(this.frame);
    clearInterval(this.clock);
    for (const track of this.stream?.getTracks() ?? []) track.stop();
    this.audioContext?.close().catch(() => undefined);
    this.audioContext = null;
    this.callbacks.onLevel?.(0);
  }
}
