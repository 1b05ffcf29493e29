// Known speakers (`known_speaker_names[]` with `known_speaker_references[]`): each reference clip is embedded from the
// speech in it, and each name goes to the speaker whose centroid is most like its clip, one name a speaker, when the
// cosine similarity reaches the threshold. Speakers nobody names keep their letters.
import { cosine } from "./clustering.js";
import type { SpeakerModels } from "./SpeakerModels.js";

/** Less lone speech than this in a reference clip: it holds no voice to match. */
const MIN_REFERENCE_SPEECH_SECONDS = 0.5;

export interface KnownSpeaker {
  name: string;
  /** Unit embedding of the clip's speech. */
  embedding: Float32Array;
}

/**
 * The unit embedding of the one voice in a reference clip (16 kHz mono, at most one segmentation window long: longer
 * clips are cut): the frames where a single local speaker speaks, the most speaking one. Undefined when the clip holds
 * less than half a second of such speech.
 */
export async function referenceEmbedding(models: SpeakerModels, samples: Float32Array, signal?: AbortSignal): Promise<Float32Array | undefined> {
  const { windowSamples, frameCount, frameShift, receptiveField, localSpeakers, sampleRate } = models.info.grid;
  const clip = samples.subarray(0, windowSamples);
  const window = new Float32Array(windowSamples);
  window.set(clip);
  const active = await models.segment(window, 1, signal);
  const lone: number[][] = Array.from({ length: localSpeakers }, () => []);
  for (let frame = 0; frame < frameCount; frame++) {
    const speaking = [];
    for (let s = 0; s < localSpeakers; s++) if (active[frame * localSpeakers + s]) speaking.push(s);
    if (speaking.length === 1) lone[speaking[0]!]!.push(frame);
  }
  const frames = lone.reduce((most, these) => (these.length > most.length ? these : most), []);
  const speech: number[] = [];
  for (const frame of frames) {
    const centre = frame * frameShift + receptiveField / 2;
    const from = Math.max(0, Math.round(centre - frameShift / 2));
    const to = Math.min(clip.length, Math.round(centre + frameShift / 2));
    for (let i = from; i < to; i++) speech.push(clip[i]!);
  }
  if (speech.length < MIN_REFERENCE_SPEECH_SECONDS * sampleRate) return undefined;
  return models.embed(Float32Array.from(speech), signal);
}

/**
 * The name of each speaker (by index; undefined: unnamed): best-matching pairs first, each name and each speaker used
 * once, a pair only at `minSimilarity` or more.
 */
export function nameSpeakers(centroids: ReadonlyArray<Float32Array | undefined>, known: readonly KnownSpeaker[], minSimilarity: number): Array<string | undefined> {
  const pairs: Array<{ speaker: number; name: number; similarity: number }> = [];
  centroids.forEach((centroid, speaker) => {
    if (!centroid) return;
    known.forEach((reference, name) => {
      const similarity = cosine(centroid, reference.embedding);
      if (similarity >= minSimilarity) pairs.push({ speaker, name, similarity });
    });
  });
  pairs.sort((a, b) => b.similarity - a.similarity);
  const names: Array<string | undefined> = centroids.map(() => undefined);
  const used = new Set<number>();
  for (const { speaker, name } of pairs) {
    if (names[speaker] !== undefined || used.has(name)) continue;
    names[speaker] = known[name]!.name;
    used.add(name);
  }
  return names;
}
