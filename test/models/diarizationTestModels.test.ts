// The generated diarization models under onnxruntime-node: sherpa-onnx's inputs, outputs and metadata in every shape,
// the tiny segmentation model's speech and pauses on eSpeak speech, and the tiny embedding model telling eSpeak
// voices apart through the Kaldi fbank and mean normalization the pipeline uses.
import { promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";

import * as ort from "onnxruntime-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { decodeAudio } from "../../src/audio/index.js";
import { computeFbank, subtractFrameMean } from "../../src/diarization/fbank.js";
import { readOnnxMetadata } from "../../src/models/onnx/onnxMetadata.js";
import {
  getSegmentationTestModelPath,
  getSpeakerEmbeddingTestModelPath,
  SEGMENTATION_RECEPTIVE_FIELD_SHIFT,
  SEGMENTATION_RECEPTIVE_FIELD_SIZE,
} from "../../src/models/testModel/diarization/index.js";
import { encodeWav, synthesizeSpeech, type SynthesizeOptions } from "../support/speech.js";
import { voiced } from "../support/speechLayout.js";

const RATE = 16000;
const WINDOW = 160000;

let dir: string;
beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), "earshot-diarization-models-"));
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

/** eSpeak speech at 16 kHz (through FFmpeg's resampler, as uploads are decoded). */
async function speech(text: string, voice: SynthesizeOptions = {}): Promise<Float32Array> {
  const { samples, sampleRate } = await synthesizeSpeech(text, voice);
  return (await decodeAudio(encodeWav(samples, sampleRate))).samples;
}

/** Seeded noise at `dbfs` RMS. */
function noise(length: number, dbfs: number): Float32Array {
  const rms = 10 ** (dbfs / 20);
  let seed = 7;
  return Float32Array.from({ length }, () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31 - 0.5) * rms * Math.sqrt(12));
}

async function session(file: string): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(file, { intraOpNumThreads: 1, interOpNumThreads: 1 });
}

const SEGMENTATION_METADATA = {
  sample_rate: "16000",
  window_size: "160000",
  receptive_field_size: "991",
  receptive_field_shift: "270",
  num_speakers: "3",
  powerset_max_classes: "2",
  num_classes: "7",
  model_type: "pyannote-segmentation-3.0",
};

describe("the generated segmentation models", () => {
  for (const shape of ["tiny", "pyannote-3.0"] as const) {
    it(`${shape}: x [N, 1, 160000] → y [N, 589, 7] log-probabilities, with sherpa-onnx's metadata`, async () => {
      const file = await getSegmentationTestModelPath(shape, { dir });
      expect(await readOnnxMetadata(file)).toMatchObject(SEGMENTATION_METADATA);
      const model = await session(file);
      expect(model.inputNames).toEqual(["x"]);
      expect(model.outputNames).toEqual(["y"]);
      const x = Float32Array.from(noise(2 * WINDOW, -30));
      const { y } = await model.run({ x: new ort.Tensor("float32", x, [2, 1, WINDOW]) });
      expect(y!.dims).toEqual([2, 589, 7]);
      expect(589).toBe(Math.floor((WINDOW - SEGMENTATION_RECEPTIVE_FIELD_SIZE) / SEGMENTATION_RECEPTIVE_FIELD_SHIFT) + 1);
      const scores = y!.data as Float32Array;
      for (let row = 0; row < 2 * 589; row += 17) {
        const probabilities = Array.from(scores.subarray(row * 7, row * 7 + 7), Math.exp);
        expect(probabilities.reduce((a, b) => a + b)).toBeCloseTo(1, 4);
      }
      await model.release();
    });
  }

  it("pyannote-3.0 is PyanNet's size", async () => {
    const { size } = await fs.stat(await getSegmentationTestModelPath("pyannote-3.0", { dir }));
    // sherpa-onnx-pyannote-segmentation-3-0's model.onnx is 5.9 MB: ~1.47 M float32 weights
    expect(size).toBeGreaterThan(5.8e6);
    expect(size).toBeLessThan(6.1e6);
  });

  it("tiny marks speech, silence, quiet noise and a 0.3-s pause frame by frame", async () => {
    const first = await speech("Testing one two three.");
    const second = await speech("The quick brown fox.");
    const [firstFrom, firstTo] = voiced(first);
    const [secondFrom, secondTo] = voiced(second);
    // 1 s of −60 dBFS noise, the first utterance's voice, a 0.3-s pause of that noise, the second's, then zeros
    const x = new Float32Array(WINDOW);
    const lead = RATE;
    x.set(noise(lead, -60));
    x.set(first.subarray(firstFrom, firstTo), lead);
    const pauseFrom = lead + firstTo - firstFrom;
    const pauseTo = pauseFrom + 0.3 * RATE;
    x.set(noise(pauseTo - pauseFrom, -60), pauseFrom);
    x.set(second.subarray(secondFrom, secondTo), pauseTo);
    const end = pauseTo + secondTo - secondFrom;
    expect(end).toBeLessThan(WINDOW - RATE);

    const model = await session(await getSegmentationTestModelPath("tiny", { dir }));
    const { y } = await model.run({ x: new ort.Tensor("float32", x, [1, 1, WINDOW]) });
    await model.release();
    const scores = y!.data as Float32Array;
    const best = (f: number) => {
      const row = Array.from(scores.subarray(f * 7, f * 7 + 7));
      return row.indexOf(Math.max(...row));
    };
    const centre = (f: number) => f * SEGMENTATION_RECEPTIVE_FIELD_SHIFT + (SEGMENTATION_RECEPTIVE_FIELD_SIZE - 1) / 2;
    const frames = Array.from({ length: 589 }, (_, f) => f);
    const classes = frames.map(best);
    expect(new Set(classes)).toEqual(new Set([0, 1]));

    // no speech where the whole receptive field is noise or zeros, and confidently so
    const quiet = frames.filter((f) => centre(f) + 495 < lead || (centre(f) - 495 > pauseFrom && centre(f) + 495 < pauseTo) || centre(f) - 495 > end);
    expect(quiet.length).toBeGreaterThan(200);
    for (const f of quiet) expect(Math.exp(scores[f * 7]!), `frame ${f}`).toBeGreaterThan(0.99);

    // speech over the utterances (eSpeak's stop closures may leave a frame or two out)
    const spoken = frames.filter((f) => (centre(f) > lead && centre(f) < pauseFrom) || (centre(f) > pauseTo && centre(f) < end));
    const marked = spoken.filter((f) => classes[f] === 1).length;
    expect(marked / spoken.length).toBeGreaterThan(0.9);

    // the pause's edges within 2 frames (34 ms) of where they are
    const pauseFrames = frames.filter((f) => centre(f) > pauseFrom - 0.1 * RATE && centre(f) < pauseTo + 0.1 * RATE && classes[f] === 0);
    const expectedFirst = Math.ceil((pauseFrom - 495) / SEGMENTATION_RECEPTIVE_FIELD_SHIFT);
    const expectedLast = Math.floor((pauseTo - 495) / SEGMENTATION_RECEPTIVE_FIELD_SHIFT);
    console.log(`pause: frames ${pauseFrames[0]}..${pauseFrames.at(-1)} marked none, ${expectedFirst}..${expectedLast} expected; ${marked}/${spoken.length} speech frames marked`);
    expect(Math.abs(pauseFrames[0]! - expectedFirst)).toBeLessThanOrEqual(2);
    expect(Math.abs(pauseFrames.at(-1)! - expectedLast)).toBeLessThanOrEqual(2);
    expect(pauseFrames.length).toBe(pauseFrames.at(-1)! - pauseFrames[0]! + 1);
  });
});

const EMBEDDING_METADATA = { framework: "wespeaker", sample_rate: "16000", output_dim: "256", normalize_samples: "0", language: "English" };

describe("the generated speaker embedding models", () => {
  for (const [shape, frames] of [["tiny", 300], ["resnet34", 200]] as const) {
    it(`${shape}: feats [B, T, 80] → embs [B, 256], with sherpa-onnx's metadata`, async () => {
      const file = await getSpeakerEmbeddingTestModelPath(shape, { dir });
      expect(await readOnnxMetadata(file)).toMatchObject(EMBEDDING_METADATA);
      const model = await session(file);
      expect(model.inputNames).toEqual(["feats"]);
      expect(model.outputNames).toEqual(["embs"]);
      for (const t of [frames, frames + 37]) {
        const feats = Float32Array.from({ length: 2 * t * 80 }, (_, i) => Math.sin(i * 0.37) * 3);
        const { embs } = await model.run({ feats: new ort.Tensor("float32", feats, [2, t, 80]) });
        expect(embs!.dims).toEqual([2, 256]);
        const values = embs!.data as Float32Array;
        expect(values.every(Number.isFinite)).toBe(true);
        expect(values.some((value) => value !== 0)).toBe(true);
      }
      await model.release();
    });
  }

  it("tiny: the same voice on different sentences scores above different voices", async () => {
    // This WebAssembly eSpeak has no voice variants ("+f2" sounds like "+m3"): voices differ by accent and pitch.
    const voices: SynthesizeOptions[] = [
      { voice: "en-us", pitch: 20 },
      { voice: "en-gb-x-rp", pitch: 80 },
      { voice: "en-us", pitch: 90 },
      { voice: "en-gb-scotland", pitch: 95 },
    ];
    const sentences = [
      "The quick brown fox jumps over the lazy dog.",
      "We will meet again tomorrow morning at the station near the old bridge.",
      "Please send me the report before the end of the week. Thank you very much.",
      "Numbers like seven and eleven and forty two are easy to say",
    ];
    const model = await session(await getSpeakerEmbeddingTestModelPath("tiny", { dir }));
    const clips: Array<{ voice: number; embedding: Float32Array }> = [];
    for (const [voice, options] of voices.entries()) {
      for (const sentence of sentences) {
        const { frames, features } = computeFbank(await speech(sentence, options), { sampleScale: 32768 });
        subtractFrameMean(features, frames, 80);
        const { embs } = await model.run({ feats: new ort.Tensor("float32", features, [1, frames, 80]) });
        clips.push({ voice, embedding: embs!.data as Float32Array });
      }
    }
    await model.release();
    const cosine = (a: Float32Array, b: Float32Array) => {
      let dot = 0, aa = 0, bb = 0;
      for (let i = 0; i < a.length; i++) {
        dot += a[i]! * b[i]!;
        aa += a[i]! ** 2;
        bb += b[i]! ** 2;
      }
      return dot / Math.sqrt(aa * bb);
    };
    const same: number[] = [];
    const different: number[] = [];
    const matrix = clips.map((a, i) => clips.map((b, j) => {
      const value = cosine(a.embedding, b.embedding);
      if (i < j) (a.voice === b.voice ? same : different).push(value);
      return value.toFixed(2).padStart(5);
    }).join(" "));
    console.log(`cosines (rows: 4 voices × 4 sentences)\n${matrix.join("\n")}\nsame voice ≥ ${Math.min(...same).toFixed(3)}, different voices ≤ ${Math.max(...different).toFixed(3)}`);
    // measured: same ≥ 0.82, different ≤ 0.76
    expect(Math.min(...same) - Math.max(...different)).toBeGreaterThan(0.03);
  });
});
