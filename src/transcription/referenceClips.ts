// `known_speaker_references[]`: the clips decoded and held to OpenAI's bounds (2 to 10 s), and each one's voice
// embedded by the speaker models. Every refusal is a 400 naming the field and the entry.
import type { DecodedAudio } from "../audio/index.js";
import { referenceEmbedding, type KnownSpeaker, type SpeakerModels } from "../diarization/index.js";
import { SAMPLE_RATE } from "../engine/sampleRate.js";
import { InvalidSettingError } from "./errors.js";

/** A `known_speaker_references[]` clip's bounds, seconds (OpenAI's). */
export const MIN_REFERENCE_SECONDS = 2;
export const MAX_REFERENCE_SECONDS = 10;

const PARAM = "known_speaker_references";

/** The clips decoded to 16 kHz mono by `decode`, in order. */
export async function decodeReferenceClips(clips: readonly Uint8Array[], decode: (clip: Uint8Array) => Promise<DecodedAudio>, signal?: AbortSignal): Promise<Float32Array[]> {
  const decoded: Float32Array[] = [];
  for (const [index, clip] of clips.entries()) {
    const audio = await decode(clip).catch((error: unknown) => {
      if (signal?.aborted) throw error;
      throw new InvalidSettingError(PARAM, `known_speaker_references[${index}] could not be decoded as audio: ${(error as Error).message}`, "invalid_value");
    });
    const seconds = audio.samples.length / SAMPLE_RATE;
    if (seconds < MIN_REFERENCE_SECONDS || seconds > MAX_REFERENCE_SECONDS) {
      throw new InvalidSettingError(PARAM, `known_speaker_references[${index}] is ${seconds.toFixed(2)} s long: a reference clip must be between ${MIN_REFERENCE_SECONDS} and ${MAX_REFERENCE_SECONDS} seconds.`, "invalid_value");
    }
    decoded.push(audio.samples);
  }
  return decoded;
}

/** Each clip's voice with its name (`names[i]`); a clip with no speech in it is a 400. */
export async function knownSpeakers(models: SpeakerModels, clips: readonly Float32Array[], names: readonly string[], signal?: AbortSignal): Promise<KnownSpeaker[]> {
  const known: KnownSpeaker[] = [];
  for (const [index, clip] of clips.entries()) {
    const embedding = await referenceEmbedding(models, clip, signal);
    if (!embedding) throw new InvalidSettingError(PARAM, `known_speaker_references[${index}] holds no speech to recognise a voice by.`, "invalid_value");
    known.push({ name: names[index] ?? `reference ${index + 1}`, embedding });
  }
  return known;
}
