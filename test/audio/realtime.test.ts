import type { RealtimeAudioFormats } from "openai/resources/realtime/realtime";
import type { TranscriptionSessionCreateParams } from "openai/resources/beta/realtime/transcription-sessions";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import {
  ALAW_TO_LINEAR,
  ULAW_TO_LINEAR,
  decodeAlaw,
  decodeAlawToFloat32,
  decodeUlaw,
  decodeUlawToFloat32,
  encodeAlaw,
  encodeUlaw,
} from "../../src/audio/realtime/g711.js";
import {
  DEFAULT_INPUT_AUDIO_FORMAT,
  InputAudioFormatError,
  type InputAudioFormatErrorCode,
  createInputDecoder,
  resolveInputAudioFormat,
} from "../../src/audio/realtime/inputAudioFormat.js";
import {
  InvalidAudioChunkError,
  type InvalidAudioChunkCode,
  decodeBase64Pcm16,
  encodeBase64Pcm16,
  float32ToPcm16,
  pcm16ToFloat32,
} from "../../src/audio/realtime/pcm16.js";
import { StreamingResampler } from "../../src/audio/realtime/streamingResampler.js";
import { runFfmpeg, shortSpeech } from "../support/speech.js";
import { SAMPLE_RATE } from "../../src/engine/sampleRate.js";

// ---------------------------------------------------------------------------------------------------------------
// Helpers

/** Figures worth seeing in the test log (quality and speed of the resampler). */
const measurements: string[] = [];

afterAll(() => {
  if (measurements.length) console.log(`realtime audio measurements:\n  ${measurements.join("\n  ")}`);
});

/** Deterministic pseudo-random numbers in [0, 1) (mulberry32). */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function noise(length: number, seed = 1): Float32Array {
  const next = random(seed);
  return Float32Array.from({ length }, () => next() * 1.6 - 0.8);
}

function tone(frequency: number, sampleRate: number, seconds: number, amplitude = 0.5): Float32Array {
  return Float32Array.from({ length: Math.round(sampleRate * seconds) }, (_, i) => amplitude * Math.sin((2 * Math.PI * frequency * i) / sampleRate));
}

function concat(chunks: Float32Array[]): Float32Array {
  const out = new Float32Array(chunks.reduce((n, c) => n + c.length, 0));
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}

/** Pushes `input` in chunks of the given sizes (cycled), then flushes; returns all output. */
function resampleChunked(resampler: StreamingResampler, input: Float32Array, sizes: number[]): Float32Array {
  const out: Float32Array[] = [];
  for (let i = 0, k = 0; i < input.length; k++) {
    const size = sizes[k % sizes.length] ?? 1;
    out.push(resampler.push(input.subarray(i, i + size)));
    i += size;
  }
  out.push(resampler.flush());
  return concat(out);
}

function resampleOnce(inputRate: number, outputRate: number, input: Float32Array): Float32Array {
  const resampler = new StreamingResampler({ inputRate, outputRate });
  return concat([resampler.push(input), resampler.flush()]);
}

/** Index of the first difference, or -1 when both hold the same values (bit for bit, as float32). */
function firstDifference(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return i;
  return -1;
}

/** Signal-to-noise ratio of `actual` against `expected` in dB over [from, to). */
function snrDb(expected: Float32Array, actual: Float32Array, from = 0, to = Math.min(expected.length, actual.length)): number {
  let signal = 0;
  let error = 0;
  for (let i = from; i < to; i++) {
    const e = expected[i] ?? 0;
    signal += e * e;
    error += (e - (actual[i] ?? 0)) ** 2;
  }
  return 10 * Math.log10(signal / error);
}

function rms(samples: Float32Array, from = 0, to = samples.length): number {
  let sum = 0;
  for (let i = from; i < to; i++) sum += (samples[i] ?? 0) ** 2;
  return Math.sqrt(sum / (to - from));
}

/**
 * Least-squares fit of `frequency` in `samples[from, to)`: amplitude, and phase relative to a sine starting at
 * sample 0 (0 = perfectly time-aligned).
 */
function fitTone(samples: Float32Array, sampleRate: number, frequency: number, from: number, to: number) {
  let ss = 0;
  let sc = 0;
  let cc = 0;
  let ys = 0;
  let yc = 0;
  for (let i = from; i < to; i++) {
    const w = (2 * Math.PI * frequency * i) / sampleRate;
    const s = Math.sin(w);
    const c = Math.cos(w);
    const y = samples[i] ?? 0;
    ss += s * s;
    sc += s * c;
    cc += c * c;
    ys += y * s;
    yc += y * c;
  }
  const det = ss * cc - sc * sc;
  const a = (ys * cc - yc * sc) / det; // sine coefficient
  const b = (yc * ss - ys * sc) / det; // cosine coefficient
  return { amplitude: Math.hypot(a, b), phase: Math.atan2(b, a) };
}

function expectCode(fn: () => unknown, type: typeof InvalidAudioChunkError, code: InvalidAudioChunkCode): void;
function expectCode(fn: () => unknown, type: typeof InputAudioFormatError, code: InputAudioFormatErrorCode): void;
function expectCode(fn: () => unknown, type: typeof InvalidAudioChunkError | typeof InputAudioFormatError, code: string): void {
  let thrown: unknown;
  try {
    fn();
  } catch (err) {
    thrown = err;
  }
  expect(thrown).toBeInstanceOf(type);
  expect((thrown as { code?: string }).code).toBe(code);
}

// ---------------------------------------------------------------------------------------------------------------

describe("pcm16", () => {
  it("round-trips base64 and keeps little-endian byte order", () => {
    const samples = Int16Array.of(0, 1, -1, 32767, -32768, 0x1234, -12345);
    const base64 = encodeBase64Pcm16(samples);
    expect(Buffer.from(base64, "base64").subarray(0, 12)).toEqual(Buffer.from([0, 0, 1, 0, 0xff, 0xff, 0xff, 0x7f, 0, 0x80, 0x34, 0x12]));
    expect(decodeBase64Pcm16(base64)).toEqual(samples);

    const many = Int16Array.from(noise(4801, 7), (x) => Math.round(x * 40000) || 0);
    expect(decodeBase64Pcm16(encodeBase64Pcm16(many))).toEqual(many);
    expect(decodeBase64Pcm16("")).toEqual(new Int16Array(0));
    // Unpadded base64 is accepted: "AQA" is 2 bytes.
    expect(decodeBase64Pcm16("AQA")).toEqual(Int16Array.of(1));
  });

  it("decodes into a fresh, aligned array even when Node's pooled buffer is at an odd offset", () => {
    // Small Buffers come from a shared pool at arbitrary offsets: decode several in a row.
    for (let n = 1; n < 8; n++) {
      const samples = Int16Array.from({ length: n }, (_, i) => i * 1000 - 3000);
      const decoded = decodeBase64Pcm16(encodeBase64Pcm16(samples));
      expect(decoded).toEqual(samples);
      expect(decoded.byteOffset).toBe(0);
      expect(decoded.buffer.byteLength).toBe(n * 2);
    }
  });

  it("rejects non-base64 and odd byte counts with typed errors", () => {
    for (const bad of ["AAA!", "AA AA", "AAAA\n", "AA-_", "A", "AAAAA", "AAA==", "=AAA", "AA=A", "AAAA===", "ÀÀÀÀ"]) {
      expectCode(() => decodeBase64Pcm16(bad), InvalidAudioChunkError, "invalid_base64");
    }
    expectCode(() => decodeBase64Pcm16(42 as unknown as string), InvalidAudioChunkError, "invalid_base64");
    expectCode(() => decodeBase64Pcm16("AA=="), InvalidAudioChunkError, "odd_byte_count"); // 1 byte
    expectCode(() => decodeBase64Pcm16("AAAA"), InvalidAudioChunkError, "odd_byte_count"); // 3 bytes
    expectCode(() => decodeBase64Pcm16("AAAAAAA"), InvalidAudioChunkError, "odd_byte_count"); // unpadded, 5 bytes
    expect(decodeBase64Pcm16("AAAAAA")).toEqual(new Int16Array(2)); // unpadded, 4 bytes
  });

  it("converts to floats and back exactly, for every 16-bit value", () => {
    const all = Int16Array.from({ length: 65536 }, (_, i) => i - 32768);
    const floats = pcm16ToFloat32(all);
    expect(floats[0]).toBe(-1);
    expect(floats[32768]).toBe(0);
    expect(floats[65535]).toBe(32767 / 32768);
    expect(float32ToPcm16(floats)).toEqual(all);
    expect(float32ToPcm16(Float32Array.of(1.5, -1.5, 1, Number.NaN, 0.5 / 32768, -0.49 / 32768))).toEqual(Int16Array.of(32767, -32768, 32767, 0, 1, 0));
  });
});

describe("G.711", () => {
  const ffmpegCodec = { mulaw: "pcm_mulaw", alaw: "pcm_alaw" } as const;

  async function ffmpegDecode(format: "mulaw" | "alaw", codes: Uint8Array): Promise<Int16Array> {
    const { stdout } = await runFfmpeg(["-loglevel", "error", "-f", format, "-ar", "8000", "-ac", "1", "-i", "pipe:0", "-f", "s16le", "pipe:1"], codes);
    return new Int16Array(stdout.buffer.slice(stdout.byteOffset, stdout.byteOffset + stdout.length));
  }

  async function ffmpegEncode(format: "mulaw" | "alaw", samples: Int16Array): Promise<Uint8Array> {
    const args = ["-loglevel", "error", "-f", "s16le", "-ar", "8000", "-ac", "1", "-i", "pipe:0"];
    const bytes = new Uint8Array(samples.buffer, samples.byteOffset, samples.byteLength);
    const { stdout } = await runFfmpeg([...args, "-c:a", ffmpegCodec[format], "-f", format, "pipe:1"], bytes);
    return new Uint8Array(stdout);
  }

  const ALL_CODES = Uint8Array.from({ length: 256 }, (_, i) => i);
  const ALL_LINEAR = Int16Array.from({ length: 65536 }, (_, i) => i - 32768);

  it("decodes all 256 μ-law codes exactly as ffmpeg's pcm_mulaw decoder", async () => {
    const reference = await ffmpegDecode("mulaw", ALL_CODES);
    expect(reference.length).toBe(256);
    expect(decodeUlaw(ALL_CODES)).toEqual(reference);
    expect(Array.from(ULAW_TO_LINEAR)).toEqual(Array.from(reference));
    // Spot values from the standard's table (scaled to 16 bits).
    expect([ULAW_TO_LINEAR[0x00], ULAW_TO_LINEAR[0x80], ULAW_TO_LINEAR[0xff], ULAW_TO_LINEAR[0x7f], ULAW_TO_LINEAR[0xfe]]).toEqual([
      -32124, 32124, 0, 0, 8,
    ]);
  });

  it("decodes all 256 A-law codes exactly as ffmpeg's pcm_alaw decoder", async () => {
    const reference = await ffmpegDecode("alaw", ALL_CODES);
    expect(reference.length).toBe(256);
    expect(decodeAlaw(ALL_CODES)).toEqual(reference);
    expect([ALAW_TO_LINEAR[0xd5], ALAW_TO_LINEAR[0x55], ALAW_TO_LINEAR[0xaa], ALAW_TO_LINEAR[0x2a]]).toEqual([8, -8, 32256, -32256]);
  });

  it("encodes every 16-bit value exactly as ffmpeg's encoders", async () => {
    expect(encodeUlaw(ALL_LINEAR)).toEqual(await ffmpegEncode("mulaw", ALL_LINEAR));
    expect(encodeAlaw(ALL_LINEAR)).toEqual(await ffmpegEncode("alaw", ALL_LINEAR));
  });

  it("round-trips: encode(decode(code)) is the same code (μ-law's two zeros aside); float decoders agree", () => {
    const ulawAgain = encodeUlaw(decodeUlaw(ALL_CODES));
    const alawAgain = encodeAlaw(decodeAlaw(ALL_CODES));
    for (let code = 0; code < 256; code++) {
      expect(ulawAgain[code]).toBe(code === 0x7f ? 0xff : code); // 0x7f is "negative zero": decodes to 0 too
      expect(alawAgain[code]).toBe(code);
    }
    // Quantization error of encode → decode: half the largest step (1024) + 3 (only the top 14 bits are used),
    // and beyond the largest code, clipping (μ-law tops out at ±32124, A-law at ±32256).
    const ulawError = decodeUlaw(encodeUlaw(ALL_LINEAR)).reduce((m, v, i) => Math.max(m, Math.abs(v - (ALL_LINEAR[i] ?? 0))), 0);
    const alawError = decodeAlaw(encodeAlaw(ALL_LINEAR)).reduce((m, v, i) => Math.max(m, Math.abs(v - (ALL_LINEAR[i] ?? 0))), 0);
    expect(ulawError).toBe(32768 - 32124);
    expect(alawError).toBe(512 + 3);
    expect(decodeUlawToFloat32(ALL_CODES)).toEqual(pcm16ToFloat32(decodeUlaw(ALL_CODES)));
    expect(decodeAlawToFloat32(ALL_CODES)).toEqual(pcm16ToFloat32(decodeAlaw(ALL_CODES)));
  });
});

describe("StreamingResampler", () => {
  const RATES = [
    [24_000, 16_000],
    [8_000, 16_000],
    [48_000, 16_000],
    [22_050, 16_000],
  ] as const;

  it("designs the expected filters, with the delay compensated and documented", () => {
    const down = new StreamingResampler({ inputRate: 24_000, outputRate: 16_000 });
    expect([down.up, down.down]).toEqual([2, 3]);
    expect(down.filter.taps.length % 2).toBe(1);
    expect(down.delaySeconds).toBeCloseTo(191 / 48_000, 9); // 383 taps at 48 kHz: 3.98 ms
    const up = new StreamingResampler({ inputRate: 8_000, outputRate: 16_000 });
    expect([up.up, up.down]).toEqual([2, 1]);
    expect(up.delaySeconds).toBeCloseTo(127 / 16_000, 9); // 255 taps at 16 kHz: 7.94 ms
    measurements.push(
      `filters: 24k→16k ${down.filter.taps.length} taps @48 kHz (${Math.ceil(down.filter.taps.length / 2)}/output), delay ${(down.delaySeconds * 1000).toFixed(3)} ms; ` +
        `8k→16k ${up.filter.taps.length} taps @16 kHz, delay ${(up.delaySeconds * 1000).toFixed(3)} ms`,
    );
    expect(() => new StreamingResampler({ inputRate: 0, outputRate: 16_000 })).toThrow(RangeError);
    expect(() => new StreamingResampler({ inputRate: 24_000.5, outputRate: 16_000 })).toThrow(RangeError);
    expect(() => new StreamingResampler({ inputRate: 24_000, outputRate: 16_000, passband: 1 })).toThrow(RangeError);
  });

  it.each(RATES)("gives bit-identical output for any chunking (%i → %i Hz)", (inputRate, outputRate) => {
    const input = noise(Math.round(inputRate * 0.6), inputRate);
    const resampler = new StreamingResampler({ inputRate, outputRate });
    const reference = resampleChunked(resampler, input, [input.length]);
    expect(reference.length).toBe(Math.ceil((input.length * outputRate) / inputRate));
    const next = random(3);
    const irregular = Array.from({ length: 50 }, () => Math.floor(next() * 700));
    for (const sizes of [[1], [7], [480], [4800], [0, 3, 0, 1000], irregular]) {
      // The same instance: flush() must also have reset it to a fresh stream.
      expect(firstDifference(resampleChunked(resampler, input, sizes), reference), `chunks ${sizes.slice(0, 5).join(",")}`).toBe(-1);
    }
  });

  it("returns output as soon as it is determined, lagging input by the filter delay only", () => {
    const resampler = new StreamingResampler({ inputRate: 24_000, outputRate: 16_000 });
    const lagSamples = Math.ceil(resampler.delaySeconds * 16_000);
    let pushed = 0;
    let returned = 0;
    for (const size of [1, 100, 480, 2400, 7]) {
      returned += resampler.push(new Float32Array(size)).length;
      pushed += size;
      const expected = Math.floor((pushed * 16_000) / 24_000);
      expect(returned).toBeGreaterThanOrEqual(expected - lagSamples - 1);
      expect(returned).toBeLessThanOrEqual(Math.max(0, expected - lagSamples + 1));
      expect(resampler.outputSamples).toBe(returned);
    }
    returned += resampler.flush().length;
    expect(returned).toBe(Math.ceil((pushed * 2) / 3));
    expect(resampler.outputSamples).toBe(0); // flushed: a new stream
  });

  it("passes equal rates through unchanged, with no delay", () => {
    const input = noise(1000, 5);
    const resampler = new StreamingResampler({ inputRate: 16_000, outputRate: 16_000 });
    expect(resampler.delaySeconds).toBe(0);
    expect(firstDifference(resampleChunked(resampler, input, [33]), input)).toBe(-1);
  });

  it("keeps passband tones at their level and phase (24 kHz → 16 kHz: flat to 7.28 kHz within ±0.1 dB)", () => {
    let worstGainDb = 0;
    let worstPhase = 0;
    for (const frequency of [100, 1000, 3000, 5000, 6500, 7000, 7250]) {
      const output = resampleOnce(24_000, 16_000, tone(frequency, 24_000, 0.5));
      const { amplitude, phase } = fitTone(output, 16_000, frequency, 300, output.length - 300);
      const gainDb = 20 * Math.log10(amplitude / 0.5);
      expect(Math.abs(gainDb), `${frequency} Hz`).toBeLessThan(0.1);
      // Time alignment: the fitted phase is the input's (a 1-sample shift would be 2π·f/16000, ≥ 0.04 rad here).
      expect(Math.abs(phase), `${frequency} Hz phase`).toBeLessThan(1e-3);
      if (Math.abs(gainDb) > Math.abs(worstGainDb)) worstGainDb = gainDb;
      worstPhase = Math.max(worstPhase, Math.abs(phase));
    }
    measurements.push(`24k→16k passband 100 Hz-7.25 kHz: worst gain ${worstGainDb.toFixed(5)} dB, worst phase ${worstPhase.toExponential(1)} rad`);
  });

  it("keeps G.711-band tones at their level (8 kHz → 16 kHz: flat to 3.64 kHz within ±0.1 dB), with no images", () => {
    let worstImageDb = -Infinity;
    for (const frequency of [300, 1000, 3000, 3600]) {
      const output = resampleOnce(8_000, 16_000, tone(frequency, 8_000, 0.5));
      const from = 300;
      const to = output.length - 300;
      const { amplitude, phase } = fitTone(output, 16_000, frequency, from, to);
      expect(Math.abs(20 * Math.log10(amplitude / 0.5)), `${frequency} Hz`).toBeLessThan(0.1);
      expect(Math.abs(phase)).toBeLessThan(1e-3);
      // Everything but the tone (its image at 8 kHz - f above all) must be ≥ 70 dB down.
      const ideal = tone(frequency, 16_000, output.length / 16_000, amplitude);
      const imageDb = -snrDb(ideal, output, from, to);
      expect(imageDb, `${frequency} Hz image`).toBeLessThan(-70);
      worstImageDb = Math.max(worstImageDb, imageDb);
    }
    measurements.push(`8k→16k images of 300 Hz-3.6 kHz tones: worst ${worstImageDb.toFixed(1)} dB`);
  });

  it("attenuates content above 8 kHz by ≥ 70 dB when downsampling from 24 kHz (no aliasing)", () => {
    let worstDb = -Infinity;
    for (const frequency of [8_100, 9_000, 10_000, 11_000, 11_900]) {
      const input = tone(frequency, 24_000, 0.5);
      const output = resampleOnce(24_000, 16_000, input);
      // Trim the onset/ending transients (a tone switched on abruptly has a broadband click).
      const levelDb = 20 * Math.log10(rms(output, 300, output.length - 300) / rms(input));
      expect(levelDb, `${frequency} Hz`).toBeLessThan(-70);
      worstDb = Math.max(worstDb, levelDb);
    }
    measurements.push(`24k→16k aliasing of 8.1-11.9 kHz tones: worst ${worstDb.toFixed(1)} dB`);
  });

  it("keeps clicks at their time: an impulse at input time t peaks at output time t (±1 sample)", () => {
    for (const [inputRate, outputRate] of RATES) {
      const resampler = new StreamingResampler({ inputRate, outputRate });
      for (const at of [0, 1, 2, 1000, 1001, 1002, 3333]) {
        const input = new Float32Array(Math.round(inputRate / 2));
        input[at] = 1;
        const output = resampleChunked(resampler, input, [97]);
        let peak = 0;
        for (let i = 1; i < output.length; i++) if (Math.abs(output[i] ?? 0) > Math.abs(output[peak] ?? 0)) peak = i;
        const expected = (at * outputRate) / inputRate;
        expect(Math.abs(peak - expected), `${inputRate}→${outputRate} impulse at ${at}`).toBeLessThanOrEqual(1);
        if (Number.isInteger(expected) && at > 0) {
          // On the output grid exactly: peak there, and symmetric around it (linear phase, no skew).
          expect(peak).toBe(expected);
          for (let k = 1; k <= Math.min(20, expected); k++) expect(output[expected + k]).toBeCloseTo(output[expected - k] ?? NaN, 6);
        }
      }
    }
  });

  it("matches ffmpeg's soxr on speech (24 kHz → 16 kHz): SNR ≥ 40 dB, no time offset", async () => {
    const info = await import("../../src/audio/ffmpeg/ffmpegPath.js").then((m) => m.checkFfmpeg());
    expect(info.hasSoxr).toBe(true);
    const speech = await shortSpeech();
    const soxr = async (samples: Float32Array, inputRate: number, outputRate: number): Promise<Float32Array> => {
      const { stdout } = await runFfmpeg(
        [
          "-loglevel", "error", "-f", "f32le", "-ar", String(inputRate), "-ac", "1", "-i", "pipe:0",
          "-af", "aresample=resampler=soxr", "-ar", String(outputRate), "-f", "f32le", "pipe:1",
        ],
        new Uint8Array(samples.buffer, samples.byteOffset, samples.byteLength),
      );
      return new Float32Array(stdout.buffer.slice(stdout.byteOffset, stdout.byteOffset + stdout.length));
    };
    const speech24k = await soxr(speech.samples, speech.sampleRate, 24_000);
    const reference = await soxr(speech24k, 24_000, 16_000);
    const ours = resampleChunked(new StreamingResampler({ inputRate: 24_000, outputRate: 16_000 }), speech24k, [480]);
    expect(Math.abs(ours.length - reference.length)).toBeLessThanOrEqual(1);
    const end = Math.min(ours.length, reference.length);
    const snrAt = (lag: number) => snrDb(reference.subarray(Math.max(0, lag)), ours.subarray(Math.max(0, -lag)), 0, end - Math.abs(lag));
    const snr = snrAt(0);
    for (const lag of [-2, -1, 1, 2]) expect(snrAt(lag)).toBeLessThan(snr);
    expect(snr).toBeGreaterThanOrEqual(40);
    measurements.push(`24k→16k vs ffmpeg soxr on ${(end / 16_000).toFixed(2)} s of speech: SNR ${snr.toFixed(1)} dB (±1 sample shift: ${snrAt(1).toFixed(1)} / ${snrAt(-1).toFixed(1)} dB)`);
  });

  it("runs far faster than real time (> 100x on one core)", () => {
    const speeds: string[] = [];
    for (const [inputRate, outputRate] of [[24_000, 16_000], [8_000, 16_000]] as const) {
      // Best of several short runs: the first warms up the JIT, and other processes share the 2 cores.
      const seconds = 4;
      const input = noise(inputRate * seconds, 11);
      const resampler = new StreamingResampler({ inputRate, outputRate });
      const chunk = inputRate / 50; // 20 ms, a typical append
      let best = Infinity;
      for (let run = 0; run < 5; run++) {
        const started = performance.now();
        resampleChunked(resampler, input, [chunk]);
        best = Math.min(best, (performance.now() - started) / 1000);
      }
      const realtime = seconds / best;
      expect(realtime, `${inputRate} → ${outputRate}`).toBeGreaterThan(100);
      speeds.push(`${inputRate / 1000}k→${outputRate / 1000}k ${((input.length / best) / 1e6).toFixed(1)} M input samples/s = ${realtime.toFixed(0)}x real time`);
    }
    measurements.push(`throughput (20 ms chunks, best of 5): ${speeds.join("; ")}`);
  });
});

describe("input audio formats", () => {
  it("resolves OpenAI's GA format objects and beta names (as typed by the openai SDK)", () => {
    const ga: RealtimeAudioFormats[] = [{ type: "audio/pcm", rate: 24000 }, { type: "audio/pcm" }, { type: "audio/pcmu" }, { type: "audio/pcma" }];
    const beta: NonNullable<TranscriptionSessionCreateParams["input_audio_format"]>[] = ["pcm16", "g711_ulaw", "g711_alaw"];
    expect(ga.map((f) => resolveInputAudioFormat(f).betaName)).toEqual(["pcm16", "pcm16", "g711_ulaw", "g711_alaw"]);
    expect(beta.map((f) => resolveInputAudioFormat(f).type)).toEqual(["audio/pcm", "audio/pcmu", "audio/pcma"]);
    expect(resolveInputAudioFormat(undefined)).toEqual(resolveInputAudioFormat(DEFAULT_INPUT_AUDIO_FORMAT));
    expect(resolveInputAudioFormat({}).type).toBe("audio/pcm"); // `type` is optional in the SDK types
    expect(resolveInputAudioFormat({ rate: 24000 }).type).toBe("audio/pcm");
    expect(resolveInputAudioFormat({ type: "audio/pcmu", rate: 8000 }).sampleRate).toBe(8000);
  });

  it("rejects unknown formats and rates with typed errors", () => {
    for (const bad of ["opus", "PCM16", "audio/pcm", "toString", "__proto__", "", null, 42, ["pcm16"], { type: "audio/opus" }, { type: 24000 }]) {
      expectCode(() => createInputDecoder(bad), InputAudioFormatError, "unknown_format");
    }
    for (const bad of [{ type: "audio/pcm", rate: 16000 }, { type: "audio/pcm", rate: "24000" }, { rate: 48000 }, { type: "audio/pcmu", rate: 16000 }]) {
      expectCode(() => createInputDecoder(bad), InputAudioFormatError, "unsupported_rate");
    }
  });

  it("decodes pcm16 chunks to 16 kHz, exactly as the resampler does on the whole stream", () => {
    const decoder = createInputDecoder({ type: "audio/pcm", rate: 24000 });
    expect([decoder.inputSampleRate, decoder.outputSampleRate, decoder.bytesPerSecond]).toEqual([24_000, SAMPLE_RATE, 48_000]);
    const pcm = float32ToPcm16(tone(440, 24_000, 1.01, 0.3));
    const bytes = Buffer.from(pcm.buffer);
    const out: Float32Array[] = [];
    for (let i = 0; i < bytes.length; i += 960) out.push(decoder.decode(bytes.subarray(i, i + 960).toString("base64"))); // 20 ms
    // A bad chunk is refused whole and leaves the stream as it was.
    expectCode(() => decoder.decode("AAAA"), InvalidAudioChunkError, "odd_byte_count");
    expectCode(() => decoder.decode("not base64!"), InvalidAudioChunkError, "invalid_base64");
    out.push(decoder.flush());
    const decoded = concat(out);
    expect(decoded.length).toBe(Math.round(1.01 * 16_000));
    expect(firstDifference(decoded, resampleOnce(24_000, 16_000, pcm16ToFloat32(pcm)))).toBe(-1);
    expect(decoder.outputSamples).toBe(0);
  });

  it.each([
    ["g711_ulaw", encodeUlaw, decodeUlawToFloat32],
    ["g711_alaw", encodeAlaw, decodeAlawToFloat32],
  ] as const)("decodes %s chunks (8 kHz) to 16 kHz", (name, encode, decode) => {
    const decoder = createInputDecoder(name);
    expect([decoder.inputSampleRate, decoder.bytesPerSecond]).toEqual([8_000, 8_000]);
    const codes = encode(float32ToPcm16(tone(1000, 8_000, 0.5, 0.5)));
    const out: Float32Array[] = [];
    for (let i = 0; i < codes.length; i += 160) out.push(decoder.decode(Buffer.from(codes.subarray(i, i + 160)).toString("base64")));
    out.push(decoder.flush());
    const decoded = concat(out);
    expect(decoded.length).toBe(8_000);
    expect(firstDifference(decoded, resampleOnce(8_000, 16_000, decode(codes)))).toBe(-1);
    // G.711 keeps a 1 kHz tone at ~38 dB SNR; the resampler must not spoil that.
    const ideal = tone(1000, 16_000, 0.5, 0.5);
    expect(snrDb(ideal, decoded, 300, decoded.length - 300)).toBeGreaterThan(30);
  });
});
