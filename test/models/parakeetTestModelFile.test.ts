// The generated Parakeet test model's file, read back with an independent reader of whisper.cpp's ggml Parakeet format
// (parakeet_model_load): the header's fields at the loader's offsets, the tensor table the loader expects (names,
// shapes, and the types upstream's converter writes), the 0.6b shape against the size of upstream's published file,
// the engine kind src/engine/modelKind.ts reads from it, determinism per seed, and the shared cache.
import { promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { modelKindOf, readModelKind } from "../../src/engine/modelKind.js";
import { resolveModel } from "../../src/models/modelStore.js";
import { encodeHeader } from "../../src/models/testModel/ggmlFile.js";
import { testModelHparams } from "../../src/models/testModel/index.js";
import {
  decodeParakeetHeader,
  generateParakeetTestModel,
  getParakeetTestModelPath,
  PARAKEET_TEST_MODEL_FORMAT_VERSION,
  parakeetTensorSpecs,
  parakeetTestHeader,
  parakeetTestHparams,
  parakeetTestModelSize,
  PUNCTUATION_PIECES,
  WORD_START,
} from "../../src/models/testModel/parakeet/index.js";

/** Upstream's conversions of nvidia/parakeet-tdt-0.6b-v3 (huggingface.co/ggml-org/parakeet-GGUF, as the catalog pins them). */
const PUBLISHED_F16_BYTES = 1_255_897_319;
const PUBLISHED_F32_BYTES = 2_508_463_079;

interface TensorRecord {
  name: string;
  ne: number[];
  type: number;
  bytes: number;
  offset: number;
}

/** Every tensor record after the header, as parakeet_model_load reads them until EOF (no padding anywhere). */
function readTensors(data: Buffer, from: number): TensorRecord[] {
  const records: TensorRecord[] = [];
  let o = from;
  while (o < data.length) {
    const nDims = data.readInt32LE(o);
    const nameLength = data.readInt32LE(o + 4);
    const type = data.readInt32LE(o + 8);
    o += 12;
    const ne = Array.from({ length: nDims }, (_, i) => data.readInt32LE(o + 4 * i));
    o += 4 * nDims;
    const name = data.toString("utf8", o, o + nameLength);
    o += nameLength;
    expect([0, 1], name).toContain(type);
    const bytes = ne.reduce((a, b) => a * b, 1) * (type === 1 ? 2 : 4);
    records.push({ name, ne, type, bytes, offset: o });
    o += bytes;
  }
  expect(o).toBe(data.length);
  return records;
}

let dir: string;
let tiny: Buffer;

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), "earshot-parakeet-model-"));
  const file = path.join(dir, "tiny.bin");
  await generateParakeetTestModel({ shape: "tiny", outPath: file, seed: 1 });
  tiny = await fs.readFile(file);
});

afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

describe("the Parakeet test model's header", () => {
  it("has the 15 hparams in the loader's order, then filters, window, durations and vocabulary", () => {
    const int = (offset: number) => tiny.readInt32LE(offset);
    const hp = parakeetTestHparams("tiny");
    expect(tiny.readUInt32LE(0)).toBe(0x67676d6c);
    // n_vocab, n_audio_ctx, n_audio_state, n_audio_head, n_audio_layer, n_mels, ftype, n_fft, subsampling_factor,
    // n_subsampling_channels, n_conv_kernel, n_pred_dim, n_pred_layers, n_tdt_durations, n_max_tokens
    expect(Array.from({ length: 15 }, (_, i) => int(4 + 4 * i))).toEqual([1024, 5000, 128, 4, 2, 128, 1, 512, 8, 32, 9, 128, 2, 5, 10]);
    expect([hp.nMels, hp.nFft]).toEqual([int(24), int(32)]);
    // the filters' n_mel and n_fb (n_fft / 2 + 1), right after the hparams
    expect([int(64), int(68)]).toEqual([128, 257]);

    const header = decodeParakeetHeader(tiny);
    expect(header.hparams).toEqual(hp);
    expect(header.melFilters.length).toBe(128 * 257);
    // Slaney-normalized triangles: every band has weight, none is negative
    for (let band = 0; band < 128; band++) {
      const row = header.melFilters.subarray(band * 257, (band + 1) * 257);
      expect(Math.min(...row)).toBeGreaterThanOrEqual(0);
      expect(Math.max(...row)).toBeGreaterThan(0);
    }
    // torch.hann_window(400, periodic=False): symmetric, zero at both ends, 1 in the middle
    expect(header.window.length).toBe(400);
    expect(header.window[0]).toBe(0);
    expect(header.window[399]).toBeCloseTo(0, 6);
    expect(header.window[100]).toBeCloseTo(header.window[299]!, 6);
    expect(Math.max(...header.window)).toBeCloseTo(1, 4);
    expect(header.durations).toEqual([0, 1, 2, 3, 4]);
    expect(readTensors(tiny, header.headerBytes).length).toBeGreaterThan(0);
  });

  it("holds a SentencePiece vocabulary: <unk> first, word starts and continuations, all distinct", () => {
    for (const shape of ["tiny", "0.6b"] as const) {
      const { vocab, hparams } = decodeParakeetHeader(parakeetTestHeader(shape));
      expect(vocab.length).toBe(hparams.nVocab);
      expect(vocab[0]).toBe("<unk>");
      expect(new Set(vocab).size).toBe(vocab.length);
      for (const piece of PUNCTUATION_PIECES) expect(vocab).toContain(piece);
      const pieces = vocab.slice(1 + PUNCTUATION_PIECES.length);
      const starts = pieces.filter((piece) => piece.startsWith(WORD_START));
      expect(starts.length / pieces.length).toBeGreaterThan(0.6);
      expect(starts.length / pieces.length).toBeLessThan(0.7);
      for (const piece of pieces) expect(piece.replace(WORD_START, "")).toMatch(/^[a-z]{2,4}$/);
    }
  });

  it("reads as a Parakeet model to src/engine/modelKind.ts, and the Whisper test model's header as Whisper", async () => {
    expect(modelKindOf(parakeetTestHeader("tiny").subarray(0, 72))).toBe("parakeet");
    expect(modelKindOf(parakeetTestHeader("0.6b").subarray(0, 72))).toBe("parakeet");
    const whisper = testModelHparams("tiny");
    expect(modelKindOf(encodeHeader(whisper, new Float32Array(80 * 201), 201, []).subarray(0, 72))).toBe("whisper");
    const file = path.join(dir, "kind.bin");
    await fs.writeFile(file, tiny);
    expect(await readModelKind(file)).toBe("parakeet");
  });
});

describe("the Parakeet test model's tensors", () => {
  it("are the set parakeet_model_load creates, shaped and typed as upstream's converter writes them", () => {
    const header = decodeParakeetHeader(tiny);
    const records = readTensors(tiny, header.headerBytes);
    const hp = header.hparams;
    // the loader's count: 12 pre-encode tensors, 29 per layer, the embedding and 3 per LSTM layer, 6 joint tensors
    expect(records.length).toBe(12 + 29 * hp.nAudioLayer + 1 + 3 * hp.nPredLayers + 6);
    expect(new Set(records.map((r) => r.name)).size).toBe(records.length);
    const byName = new Map(records.map((r) => [r.name, r]));
    const d = hp.nAudioState;
    const h = hp.nPredDim;
    const c = hp.nSubsamplingChannels;
    const expected: Array<[string, number[]]> = [
      ["encoder.pre_encode.out.weight", [(hp.nMels / hp.subsamplingFactor) * c, d]],
      ["encoder.pre_encode.conv.0.weight", [3, 3, 1, c]],
      ["encoder.pre_encode.conv.0.bias", [1, 1, c, 1]],
      ["encoder.pre_encode.conv.3.weight", [1, 1, c, c]],
      ["encoder.layers.1.feed_forward2.linear1.weight", [d, 4 * d]],
      ["encoder.layers.1.conv.depthwise_conv.weight", [hp.nConvKernel, d]],
      ["encoder.layers.1.conv.batch_norm.num_batches_tracked", []],
      ["encoder.layers.1.self_attn.pos_bias_u", [d / hp.nAudioHead, hp.nAudioHead]],
      ["decoder.prediction.embed.weight", [h, hp.nVocab + 1]],
      ["decoder.prediction.dec_rnn.lstm.weight_ih_l1", [h, 4 * h]],
      ["decoder.prediction.dec_rnn.lstm.bias_h_l1", [4 * h]],
      ["joint.enc.weight", [d, h]],
      ["joint.joint_net.2.weight", [h, hp.nVocab + 1 + hp.nTdtDurations]],
    ];
    for (const [name, ne] of expected) expect(byName.get(name)?.ne, name).toEqual(ne);
    // the converter: f32 for 1-D (and 0-D) tensors, anything named bias or norm, the 4-D pre-encode convolutions and
    // the depthwise convolution; f16 for every other matrix
    for (const record of records) {
      const f32 =
        record.ne.length < 2 || /bias|norm/.test(record.name) || (record.name.includes("pre_encode.conv") && record.ne.length === 4) || record.name.includes("depthwise_conv.weight");
      expect(record.type, record.name).toBe(f32 ? 0 : 1);
    }
    expect(tiny.length).toBe(parakeetTestModelSize("tiny"));
  });

  it("hold finite values only", () => {
    const records = readTensors(tiny, decodeParakeetHeader(tiny).headerBytes);
    for (const record of records) {
      if (record.type === 1) {
        for (let o = record.offset; o < record.offset + record.bytes; o += 2) {
          if ((tiny.readUInt16LE(o) & 0x7c00) === 0x7c00) throw new Error(`${record.name}: non-finite f16 at ${o}`);
        }
      } else {
        for (let o = record.offset; o < record.offset + record.bytes; o += 4) {
          if (!Number.isFinite(tiny.readFloatLE(o))) throw new Error(`${record.name}: non-finite f32 at ${o}`);
        }
      }
    }
  });

  it("at the 0.6b shape make a file the size of upstream's ggml-parakeet-tdt-0.6b-v3-f16.bin (computed, not written)", () => {
    const specs = parakeetTensorSpecs(parakeetTestHparams("0.6b"));
    const f16Elements = specs.filter((s) => s.type === 1).reduce((n, s) => n + s.ne.reduce((a, b) => a * b, 1), 0);
    // the f32 conversion differs from the f16 one by 2 bytes per f16 element: the same f16 tensors, exactly
    expect(2 * f16Elements).toBe(PUBLISHED_F32_BYTES - PUBLISHED_F16_BYTES);
    // the rest differs by the vocabulary's bytes only (ours ~2.9 kB longer than NVIDIA's 8192 pieces)
    expect(Math.abs(parakeetTestModelSize("0.6b") - PUBLISHED_F16_BYTES)).toBeLessThan(64 << 10);
  });
});

describe("generateParakeetTestModel and getParakeetTestModelPath", () => {
  it("are deterministic per seed", async () => {
    const again = path.join(dir, "again.bin");
    const other = path.join(dir, "other.bin");
    await generateParakeetTestModel({ shape: "tiny", outPath: again, seed: 1 });
    await generateParakeetTestModel({ shape: "tiny", outPath: other, seed: 2 });
    expect((await fs.readFile(again)).equals(tiny)).toBe(true);
    const second = await fs.readFile(other);
    expect(second.length).toBe(tiny.length);
    expect(second.equals(tiny)).toBe(false);
  });

  it("generate once, atomically, into the cache, under a name the model store reads as parakeet-test-<shape>-…", async () => {
    const cache = path.join(dir, "cache");
    const [a, b] = await Promise.all([getParakeetTestModelPath("tiny", { dir: cache, seed: 3 }), getParakeetTestModelPath("tiny", { dir: cache, seed: 3 })]);
    expect(a).toBe(b);
    expect(path.basename(a)).toBe(`ggml-parakeet-test-tiny-seed3-v${PARAKEET_TEST_MODEL_FORMAT_VERSION}.bin`);
    expect(await fs.readdir(cache)).toEqual([path.basename(a)]);
    expect((await fs.stat(a)).size).toBe(parakeetTestModelSize("tiny"));
    const { mtimeMs } = await fs.stat(a);
    expect(await getParakeetTestModelPath("tiny", { dir: cache, seed: 3 })).toBe(a);
    expect((await fs.stat(a)).mtimeMs).toBe(mtimeMs);
    expect(resolveModel(a, { dir: cache }).name).toBe(`parakeet-test-tiny-seed3-v${PARAKEET_TEST_MODEL_FORMAT_VERSION}`);
  });
});
