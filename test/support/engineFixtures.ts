// Shared fixtures for tests that run the real engine: the generated test model and 16 kHz speech.
import { decodeAudio } from "../../src/audio/index.js";
import { WhisperEngine, type EngineOptions } from "../../src/engine/WhisperEngine.js";
import { getTestModelPath } from "../../src/models/testModel/index.js";
import { encodeWav, longSpeech } from "./speech.js";

let speech16k: Promise<Float32Array> | undefined;

/** ~15 s of synthesized speech at 16 kHz mono, decoded by the real pipeline. */
export function speechPcm(): Promise<Float32Array> {
  speech16k ??= longSpeech().then(async (speech) => (await decodeAudio(encodeWav(speech.samples, speech.sampleRate))).samples);
  return speech16k;
}

/** `seconds` of audio made by repeating the speech clip. */
export async function speechOfLength(seconds: number): Promise<Float32Array> {
  const clip = await speechPcm();
  const out = new Float32Array(Math.round(seconds * 16_000));
  for (let offset = 0; offset < out.length; offset += clip.length) out.set(clip.subarray(0, Math.min(clip.length, out.length - offset)), offset);
  return out;
}

/** The real engine on the generated whisper-tiny-shaped model. */
export async function loadTestEngine(options: EngineOptions = {}): Promise<WhisperEngine> {
  return WhisperEngine.load(await getTestModelPath("tiny"), { threadsPerJob: 2, ...options });
}
