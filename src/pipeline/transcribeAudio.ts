import { decodeAudio, type AudioInput, type DecodedAudio } from "../audio/index.js";
import type { TranscribeHooks, TranscriptionOptions, WhisperEngine } from "../engine/WhisperEngine.js";
import type { TranscriptionResult } from "../engine/types.js";

export interface TranscribeAudioHooks extends TranscribeHooks {
  /** Called once the audio is decoded, before decoding speech starts. */
  onDecoded?: (audio: DecodedAudio) => void;
}

/** Decodes any supported audio (content-sniffed, via FFmpeg) and transcribes it. */
export async function transcribeAudio(
  engine: WhisperEngine,
  input: AudioInput,
  options: TranscriptionOptions = {},
  hooks: TranscribeAudioHooks = {},
): Promise<{ audio: DecodedAudio; result: TranscriptionResult }> {
  const audio = await decodeAudio(input, hooks.signal ? { signal: hooks.signal } : {});
  hooks.onDecoded?.(audio);
  const result = await engine.transcribe(audio.samples, options, hooks);
  return { audio, result };
}
