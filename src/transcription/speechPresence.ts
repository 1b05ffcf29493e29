// Whether audio holds any speech at all, by Silero VAD: the check that keeps whisper from writing text for a
// file of silence. It stops at the first stretch of speech, so on ordinary recordings it costs a few frames.
import { SILERO_FRAME_SAMPLES, type SileroVadModel, TurnDetector } from "../audio/vad/index.js";
import { TranscriptionAbortedError } from "../engine/errors.js";

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
