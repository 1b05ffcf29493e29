// Voice activity detection for the realtime API: streaming Silero VAD and OpenAI server_vad turn detection.

export {
  SILERO_FRAME_MS,
  SILERO_FRAME_SAMPLES,
  SileroVadModel,
  type SileroVadModelOptions,
  SileroVadStream,
  type VadFrame,
  defaultSileroModelPath,
} from "./sileroVad.js";
export {
  DEFAULT_MIN_SPEECH_DURATION_MS,
  DEFAULT_PREFIX_PADDING_MS,
  DEFAULT_SILENCE_DURATION_MS,
  DEFAULT_VAD_THRESHOLD,
  type FrameProbability,
  HYSTERESIS,
  TurnDetector,
  type TurnDetectorOptions,
  type TurnDetectorPhase,
  type TurnEvent,
} from "./turnDetector.js";
