import { createHash } from "node:crypto";
import { promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  TEST_MODEL_FORMAT_VERSION,
  TEST_MODEL_SEGMENTS,
  generateTestModel,
  getTestModelPath,
  testModelHparams,
  whisperSpecialTokens,
  whisperTensorSpecs,
} from "../../src/models/testModel/index.js";

// ---------------------------------------------------------------------------------------------
// A minimal, independent reader of legacy ggml whisper files (mirrors whisper_model_load).

interface TensorEntry {
  name: string;
  ne: number[];
  type: number;
  offset: number;
  bytes: number;
}

interface ParsedModel {
  data: Buffer;
  hparams: number[];
  nMel: number;
  nFft: number;
  mel: Float32Array;
  vocab: Buffer[];
  headerBytes: number;
  tensors: Map<string, TensorEntry>;
  tensorOrder: string[];
}

function parseModel(data: Buffer): ParsedModel {
  let o = 0;
  const i32 = (): number => {
    const v = data.readInt32LE(o);
    o += 4;
    return v;
  };
  expect(data.readUInt32LE(0)).toBe(0x67676d6c);
  o = 4;
  const hparams = Array.from({ length: 11 }, i32);
  const nMel = i32();
  const nFft = i32();
  const mel = new Float32Array(nMel * nFft);
  for (let i = 0; i < mel.length; i++) mel[i] = data.readFloatLE(o + 4 * i);
  o += mel.length * 4;
  const nVocab = i32();
  const vocab: Buffer[] = [];
  for (let i = 0; i < nVocab; i++) {
    const len = data.readUInt32LE(o);
    o += 4;
    vocab.push(data.subarray(o, o + len));
    o += len;
  }
  const headerBytes = o;
  const tensors = new Map<string, TensorEntry>();
  const tensorOrder: string[] = [];
  while (o < data.length) {
    const nDims = i32();
    const nameLen = i32();
    const type = i32();
    const ne = Array.from({ length: nDims }, i32);
    const name = data.subarray(o, o + nameLen).toString("utf8");
    o += nameLen;
    const bytes = ne.reduce((a, b) => a * b, 1) * (type === 1 ? 2 : 4);
    expect(tensors.has(name), `duplicate tensor ${name}`).toBe(false);
    tensors.set(name, { name, ne, type, offset: o, bytes });
    tensorOrder.push(name);
    o += bytes;
  }
  expect(o).toBe(data.length);
  return { data, hparams, nMel, nFft, mel, vocab, headerBytes, tensors, tensorOrder };
}

const HALF_TO_FLOAT = (() => {
  const table = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const e = (h >>> 10) & 0x1f;
    const m = h & 0x3ff;
    table[h] = e === 0 ? sign * m * 2 ** -24 : e === 31 ? (m ? NaN : sign * Infinity) : sign * (1 + m / 1024) * 2 ** (e - 15);
  }
  return table;
})();

function tensorValues(model: ParsedModel, name: string): Float32Array {
  const t = model.tensors.get(name);
  if (!t) throw new Error(`missing tensor ${name}`);
  const count = t.ne.reduce((a, b) => a * b, 1);
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    out[i] = t.type === 1 ? HALF_TO_FLOAT[model.data.readUInt16LE(t.offset + 2 * i)]! : model.data.readFloatLE(t.offset + 4 * i);
  }
  return out;
}

function sha256(data: Buffer): string {
  return createHash("sha256").update(data).digest("hex");
}

// ---------------------------------------------------------------------------------------------

let dir: string;
let tinyPath: string;
let tiny: ParsedModel;

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), "earshot-testmodel-test-"));
  tinyPath = path.join(dir, "tiny-seed1.bin");
  await generateTestModel({ shape: "tiny", outPath: tinyPath, seed: 1 });
  tiny = parseModel(await fs.readFile(tinyPath));
});

afterAll(async () => {
  if (dir) await fs.rm(dir, { recursive: true, force: true });
});

describe("generateTestModel", () => {
  it("writes whisper tiny's hparams, mel filters and a byte-complete vocabulary", () => {
    expect(tiny.hparams).toEqual([51865, 1500, 384, 6, 4, 448, 384, 6, 4, 80, 1]);
    expect([tiny.nMel, tiny.nFft]).toEqual([80, 201]);
    // librosa Slaney filters: first band peaks at bin 1, every band is a non-negative triangle
    expect(tiny.mel[1]).toBeCloseTo(0.0248626, 6);
    expect(tiny.mel.every((v) => v >= 0)).toBe(true);
    for (let m = 0; m < 80; m++) expect(tiny.mel.subarray(m * 201, (m + 1) * 201).some((v) => v > 0)).toBe(true);

    expect(tiny.vocab).toHaveLength(50257);
    const singleBytes = new Set(tiny.vocab.slice(0, 256).map((t) => (t.length === 1 ? t[0] : -1)));
    expect(singleBytes.size).toBe(256);
    expect(singleBytes.has(-1)).toBe(false);
    expect(tiny.vocab[220]!.toString()).toBe(" ");
    expect(tiny.vocab[50256]!.length).toBe(0); // multilingual files store "" where GPT-2 had <|endoftext|>
    expect(new Set(tiny.vocab.map((t) => t.toString("latin1"))).size).toBe(50257);
  });

  it("has exactly whisper tiny's tensor table", () => {
    expect(tiny.tensors.size).toBe(7 + 15 * 4 + 4 + 24 * 4);
    const expectShape = (name: string, ne: number[], type: number): void => {
      const t = tiny.tensors.get(name);
      expect(t, name).toBeDefined();
      expect(t!.ne, name).toEqual(ne);
      expect(t!.type, name).toBe(type);
    };
    expectShape("encoder.positional_embedding", [384, 1500], 0);
    expectShape("encoder.conv1.weight", [3, 80, 384], 1);
    expectShape("encoder.conv1.bias", [1, 384], 0);
    expectShape("encoder.conv2.weight", [3, 384, 384], 1);
    expectShape("encoder.ln_post.weight", [384], 0);
    expectShape("encoder.blocks.3.mlp.0.weight", [384, 1536], 1);
    expectShape("encoder.blocks.3.mlp.2.weight", [1536, 384], 1);
    expectShape("encoder.blocks.0.attn.key.weight", [384, 384], 1);
    expect(tiny.tensors.has("encoder.blocks.0.attn.key.bias")).toBe(false);
    expectShape("decoder.positional_embedding", [384, 448], 0);
    expectShape("decoder.token_embedding.weight", [384, 51865], 1);
    expectShape("decoder.ln.bias", [384], 0);
    expectShape("decoder.blocks.3.cross_attn.value.weight", [384, 384], 1);
    expectShape("decoder.blocks.3.cross_attn_ln.bias", [384], 0);
    expect(tiny.tensors.has("decoder.blocks.4.mlp_ln.weight")).toBe(false);
    // every matrix is f16, every vector / positional embedding / conv bias is f32, like the real file
    for (const t of tiny.tensors.values()) {
      const f32 = t.ne.length === 1 || t.name.endsWith("positional_embedding") || t.name.endsWith("conv1.bias") || t.name.endsWith("conv2.bias");
      expect(t.type, t.name).toBe(f32 ? 0 : 1);
    }
    // the real ggml-tiny.bin is ~77.7 MB
    expect(tiny.data.length).toBeGreaterThan(75e6);
    expect(tiny.data.length).toBeLessThan(80e6);
  });

  it("is deterministic per seed", async () => {
    const again = path.join(dir, "tiny-seed1-again.bin");
    const other = path.join(dir, "tiny-seed2.bin");
    await generateTestModel({ shape: "tiny", outPath: again, seed: 1 });
    await generateTestModel({ shape: "tiny", outPath: other, seed: 2 });
    const [a, b] = await Promise.all([fs.readFile(again), fs.readFile(other)]);
    expect(sha256(a)).toBe(sha256(tiny.data));
    expect(sha256(b)).not.toBe(sha256(tiny.data));
    expect(b.length).toBe(tiny.data.length);
    // only the weights differ
    expect(b.subarray(0, tiny.headerBytes).equals(tiny.data.subarray(0, tiny.headerBytes))).toBe(true);
    await Promise.all([fs.rm(again), fs.rm(other)]);
  });

  it("reuses the header, mel filters and vocabulary of a vocab-only file", async () => {
    const vocabOnly = path.join(dir, "vocab-only.bin");
    const out = path.join(dir, "tiny-from-vocab.bin");
    await fs.writeFile(vocabOnly, tiny.data.subarray(0, tiny.headerBytes));
    await generateTestModel({ shape: "tiny", outPath: out, seed: 1, vocabFrom: vocabOnly });
    expect(sha256(await fs.readFile(out))).toBe(sha256(tiny.data));
    await expect(generateTestModel({ shape: "base", outPath: out, vocabFrom: vocabOnly })).rejects.toThrow(/does not match/);
    await fs.rm(out);
  });

  it("writes base and .en shapes", async () => {
    const basePath = path.join(dir, "base.bin");
    await generateTestModel({ shape: "base", outPath: basePath });
    const base = parseModel(await fs.readFile(basePath));
    expect(base.hparams).toEqual([51865, 1500, 512, 8, 6, 448, 512, 8, 6, 80, 1]);
    expect(base.tensors.size).toBe(7 + 15 * 6 + 4 + 24 * 6);
    expect(base.tensors.get("decoder.blocks.5.mlp.0.weight")!.ne).toEqual([512, 2048]);
    expect(base.tensors.get("encoder.conv2.weight")!.ne).toEqual([3, 512, 512]);
    expect(base.data.length).toBeGreaterThan(140e6);
    expect(base.data.length).toBeLessThan(155e6);
    await fs.rm(basePath);

    expect(testModelHparams("tiny.en").nVocab).toBe(51864);
    expect(testModelHparams("base.en").nTextLayer).toBe(6);
  });

  it("knows large-v3-turbo's shape (the benchmarks' Whisper beside Parakeet 0.6B) without generating its 1.6 GB", () => {
    const hp = testModelHparams("large-v3-turbo");
    expect(hp).toEqual({ nVocab: 51866, nAudioCtx: 1500, nAudioState: 1280, nAudioHead: 20, nAudioLayer: 32, nTextCtx: 448, nTextState: 1280, nTextHead: 20, nTextLayer: 4, nMels: 128, ftype: 1 });
    // 100 languages: the task and timestamp tokens sit two above large-v2's
    expect(whisperSpecialTokens(hp.nVocab)).toMatchObject({ eot: 50257, sot: 50258, langEn: 50259, transcribe: 50360, beg: 50365 });
    const specs = whisperTensorSpecs(hp);
    expect(specs.length).toBe(7 + 15 * 32 + 4 + 24 * 4);
    const bytes = specs.reduce((n, s) => n + s.ne.reduce((a, b) => a * b, 1) * (s.type === 1 ? 2 : 4), 0);
    // upstream's ggml-large-v3-turbo.bin is 1,624,555,275 bytes, of which ~1 MB header and tensor names
    expect(bytes).toBeGreaterThan(1_620e6);
    expect(bytes).toBeLessThan(1_625e6);
  });
});

// ---------------------------------------------------------------------------------------------
// Approximate decoder forward pass: token + position embedding, decoder block 0's MLP (where the
// chain lives) and the final norm + tied output projection. Attention and the other blocks are
// left out: their output projections are tiny by construction.

describe("decoder chain", () => {
  const d = 384;
  let E: Float32Array;
  let P: Float32Array;
  let W0: Float32Array;
  let b0: Float32Array;
  let W2: Float32Array;
  let b2: Float32Array;
  let lnW: Float32Array;
  let lnB: Float32Array;
  let mlpLnW: Float32Array;
  let mlpLnB: Float32Array;

  beforeAll(() => {
    E = tensorValues(tiny, "decoder.token_embedding.weight");
    P = tensorValues(tiny, "decoder.positional_embedding");
    W0 = tensorValues(tiny, "decoder.blocks.0.mlp.0.weight");
    b0 = tensorValues(tiny, "decoder.blocks.0.mlp.0.bias");
    W2 = tensorValues(tiny, "decoder.blocks.0.mlp.2.weight");
    b2 = tensorValues(tiny, "decoder.blocks.0.mlp.2.bias");
    lnW = tensorValues(tiny, "decoder.ln.weight");
    lnB = tensorValues(tiny, "decoder.ln.bias");
    mlpLnW = tensorValues(tiny, "decoder.blocks.0.mlp_ln.weight");
    mlpLnB = tensorValues(tiny, "decoder.blocks.0.mlp_ln.bias");
  });

  const layerNorm = (x: Float64Array, w: Float32Array, b: Float32Array): Float64Array => {
    const mean = x.reduce((a, v) => a + v, 0) / x.length;
    const variance = x.reduce((a, v) => a + (v - mean) ** 2, 0) / x.length;
    const inv = 1 / Math.sqrt(variance + 1e-5);
    return x.map((v, i) => (v - mean) * inv * w[i]! + b[i]!);
  };
  const gelu = (v: number): number => 0.5 * v * (1 + Math.tanh(0.7978845608 * (v + 0.044715 * v * v * v)));

  /** Logits for the next token after `token` at `position`. */
  function logits(token: number, position: number): Float64Array {
    const x = new Float64Array(d);
    for (let i = 0; i < d; i++) x[i] = E[token * d + i]! + P[position * d + i]!;
    const h = layerNorm(x, mlpLnW, mlpLnB);
    const hidden = new Float64Array(4 * d);
    for (let k = 0; k < 4 * d; k++) {
      let s = b0[k]!;
      for (let i = 0; i < d; i++) s += W0[k * d + i]! * h[i]!;
      hidden[k] = gelu(s);
    }
    for (let i = 0; i < d; i++) {
      let s = b2[i]!;
      for (let k = 0; k < 4 * d; k++) s += W2[i * 4 * d + k]! * hidden[k]!;
      x[i] = x[i]! + s;
    }
    const z = layerNorm(x, lnW, lnB);
    const out = new Float64Array(51865);
    for (let v = 0; v < out.length; v++) {
      let s = 0;
      for (let i = 0; i < d; i++) s += E[v * d + i]! * z[i]!;
      out[v] = s;
    }
    return out;
  }

  /** Greedy next token among the allowed ids, and its margin over the runner-up in nats. */
  function next(token: number, position: number, allowed: (id: number) => boolean = () => true): { id: number; margin: number } {
    const l = logits(token, position);
    let best = -1;
    let second = -Infinity;
    for (let v = 0; v < l.length; v++) {
      if (!allowed(v)) continue;
      if (best < 0 || l[v]! > l[best]!) {
        if (best >= 0) second = Math.max(second, l[best]!);
        best = v;
      } else second = Math.max(second, l[v]!);
    }
    return { id: best, margin: l[best]! - second };
  }

  it("emits two timed segments then end-of-text from any prompt length", () => {
    const sp = whisperSpecialTokens(51865);
    const word = (w: string): number => tiny.vocab.findIndex((t) => t.toString() === w);
    const words = " one two three four five six".split(/(?= )/).map(word);
    expect(words.every((id) => id >= 0)).toBe(true);
    const ts = (seconds: number): number => sp.beg + Math.round(seconds / 0.02);
    const [s1, s2] = TEST_MODEL_SEGMENTS as [(typeof TEST_MODEL_SEGMENTS)[number], (typeof TEST_MODEL_SEGMENTS)[number]];
    const expected = [ts(s1.start), ...words.slice(0, 3), ts(s1.end), ts(s2.start), ...words.slice(3), ts(s2.end), sp.eot];

    expect(next(sp.sot, 0).id).toBe(sp.langEn); // language detection says "en"
    for (const start of [3, 57, 300]) {
      const got: number[] = [];
      let token = sp.transcribe;
      for (let i = 0; i < expected.length; i++) {
        const step = next(token, start - 1 + i);
        expect(step.margin).toBeGreaterThan(30);
        got.push(step.id);
        token = step.id;
      }
      expect(got).toEqual(expected);
    }
  });

  it("falls back to plain text when timestamps are suppressed", () => {
    const sp = whisperSpecialTokens(51865);
    const noTs = (id: number): boolean => id < sp.beg;
    const got: number[] = [];
    let token = sp.not;
    for (let i = 0; i < 7; i++) {
      const step = next(token, 4 + i, noTs);
      expect(step.margin).toBeGreaterThan(30);
      got.push(step.id);
      token = step.id;
    }
    const text = got.slice(0, 6).map((id) => tiny.vocab[id]!.toString()).join("");
    expect(text).toBe(" one two three four five six");
    expect(got[6]).toBe(sp.eot);
  });
});

describe("getTestModelPath", () => {
  it("generates once, atomically, into the cache directory", async () => {
    const cache = path.join(dir, "cache");
    const paths = await Promise.all([getTestModelPath("tiny", { dir: cache, seed: 1 }), getTestModelPath("tiny", { dir: cache, seed: 1 })]);
    expect(paths[0]).toBe(paths[1]);
    expect(path.basename(paths[0]!)).toContain("tiny");
    expect(path.basename(paths[0]!)).toContain(`v${TEST_MODEL_FORMAT_VERSION}`);
    expect(sha256(await fs.readFile(paths[0]!))).toBe(sha256(tiny.data));
    expect(await fs.readdir(cache)).toEqual([path.basename(paths[0]!)]);
    // cached: a second call returns without rewriting
    const { mtimeMs } = await fs.stat(paths[0]!);
    expect(await getTestModelPath("tiny", { dir: cache, seed: 1 })).toBe(paths[0]);
    expect((await fs.stat(paths[0]!)).mtimeMs).toBe(mtimeMs);
    // a truncated file is regenerated
    await fs.truncate(paths[0]!, 1000);
    expect(await getTestModelPath("tiny", { dir: cache, seed: 1 })).toBe(paths[0]);
    expect((await fs.stat(paths[0]!)).size).toBe(tiny.data.length);
  });
});
