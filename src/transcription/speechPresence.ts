// Whether audio holds any speech at all, by Silero VAD: the check that keeps whisper from writing text for a
// file of silence. It stops at the first stretch of speech, so on ordinary recordings it costs a few frames. A run
// that wants word times maps all of the speech instead (mapSpeech), which answers the same question.
import { SILERO_FRAME_SAMPLES, type SileroVadModel, TurnDetector } from "../audio/vad/index.js";
import { TranscriptionAbortedError } from "../engine/errors.js";
import { SpeechMap } from "./speechMap.js";

const FRAMES_PER_PUSH = 64;

/** True as soon as server_vad (default settings) would start a turn; false when the whole audio has none. */
export async function hasSpeech(audio: Float32Array, vad: SileroVadModel, signal?: AbortSignal): Promise<boolean> {
  const stream = vad.createStream();
  try {
    const detector = new TurnDetector();
    const step = SILERO_FRAME_SAMPLES * FRAMES_PER_PUSH;
    for (let offset = 0; offset < audio.length; offset += step) {
      if (signal?.aborted) throw new TranscriptionAbortedError();
      const frames = await stream.push(audio.subarray(offset, Math.min(audio.length, offset + step)));
      for (const frame of frames) if (detector.push(frame).some((event) => event.type === "speech_started")) return true;
    }
    for (const frame of await stream.flush()) if (detector.push(frame).some((event) => event.type === "speech_started")) return true;
    return false;
  } finally {
    stream.close();
  }
}

/**
 * Where the whole audio holds speech (for snapping word times): every frame through the VAD. Empty spans: no speech.
 * About 2 ms of one core per second of audio.
 */
export async function mapSpeech(audio: Float32Array, vad: SileroVadModel, signal?: AbortSignal): Promise<SpeechMap> {
  const stream = vad.createStream();
  const map = new SpeechMap();
  try {
    const step = SILERO_FRAME_SAMPLES * FRAMES_PER_PUSH * 4;
    for (let offset = 0; offset < audio.length; offset += step) {
      if (signal?.aborted) throw new TranscriptionAbortedError();
      for (const frame of await stream.push(audio.subarray(offset, Math.min(audio.length, offset + step)))) map.push(frame.probability);
    }
    for (const frame of await stream.flush()) map.push(frame.probability);
    return map;
  } finally {
    stream.close();
  }
}
