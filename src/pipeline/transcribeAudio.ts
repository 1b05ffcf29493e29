import { decodeAudio, type AudioInput, type DecodeAudioOptions, type DecodedAudio } from "../audio/index.js";
import type { TranscribeHooks, TranscriptionOptions, WhisperEngine } from "../engine/WhisperEngine.js";
import type { TranscriptionResult } from "../engine/types.js";

export interface TranscribeAudioHooks extends TranscribeHooks {
  /** Called once the audio is decoded, before decoding speech starts. */
  onDecoded?: (audio: DecodedAudio) => void;
}

/** How to decode: which ffmpeg (default: $EARSHOT_FFMPEG_PATH, else the bundled one) and where its temp files go. */
export type TranscribeAudioDecodeOptions = Pick<DecodeAudioOptions, "ffmpegPath" | "tempDir">;

/** Decodes any supported audio (content-sniffed, via FFmpeg) and transcribes it. */
export async function transcribeAudio(
  engine: WhisperEngine,
  input: AudioInput,
  options: TranscriptionOptions = {},
  hooks: TranscribeAudioHooks = {},
  decodeOptions: TranscribeAudioDecodeOptions = {},
): Promise<{ audio: DecodedAudio; result: TranscriptionResult }> {
  const audio = await decodeAudio(input, { ...decodeOptions, ...(hooks.signal ? { signal: hooks.signal } : {}) });
  hooks.onDecoded?.(audio);
  const result = await engine.transcribe(audio.samples, options, hooks);
  return { audio, result };
}
