// The live captions' AudioWorklet (web/pcm-worklet.js), run in Node inside a stand-in for the
// AudioWorkletGlobalScope: 48 and 44.1 kHz microphone audio → 24 kHz PCM16 in 100 ms chunks, a clean
// passband, and what the output's Nyquist cannot hold filtered out instead of aliased.
import fs from "node:fs";
import path from "node:path";
import vm from "node:vm";

import { describe, expect, it } from "vitest";

import { WEB_ROOT } from "../../src/server/routes/web.js";

interface Posted {
  type: string;
  pcm: ArrayBuffer;
  rms: number;
}

interface Processor {
  port: { onmessage: ((event: { data: unknown }) => void) | null };
  process(inputs: Float32Array[][]): boolean;
}

const SOURCE = fs.readFileSync(path.join(WEB_ROOT, "pcm-worklet.js"), "utf8");

/** Loads the worklet at `inputRate` and returns a processor and what it posts. */
function loadProcessor(inputRate: number, chunkMs = 100): { processor: Processor; posted: Posted[] } {
  const posted: Posted[] = [];
  let registered: (new (options: unknown) => Processor) | undefined;
  class AudioWorkletProcessor {
    port = { onmessage: null, postMessage: (message: Posted) => posted.push(message) };
  }
  vm.runInNewContext(SOURCE, {
    AudioWorkletProcessor,
    sampleRate: inputRate,
    registerProcessor: (name: string, constructor: new (options: unknown) => Processor) => {
      expect(name).toBe("pcm16-24k");
      registered = constructor;
    },
  });
  const processor = new registered!({ processorOptions: { targetRate: 24_000, chunkMs } });
  return { processor, posted };
}

/** Feeds `samples` in 128-frame render quanta (as `channels` identical channels), then stops (flushes). */
function run(processor: Processor, samples: Float32Array, channels = 1): void {
  for (let i = 0; i < samples.length; i += 128) {
    const block = samples.subarray(i, Math.min(i + 128, samples.length));
    expect(processor.process([Array.from({ length: channels }, () => block)])).toBe(true);
  }
  processor.port.onmessage!({ data: { type: "stop" } });
  expect(processor.process([[new Float32Array(128)]])).toBe(false);
}

function sine(frequency: number, rate: number, seconds: number, amplitude = 0.5): Float32Array {
  const samples = new Float32Array(Math.round(rate * seconds));
  for (let i = 0; i < samples.length; i++) samples[i] = amplitude * Math.sin((2 * Math.PI * frequency * i) / rate);
  return samples;
}

function output(posted: Posted[]): Float32Array {
  const pcm = posted.flatMap((message) => Array.from(new Int16Array(message.pcm)));
  return Float32Array.from(pcm, (value) => value / 32768);
}

/** Least-squares fit of a sine at `frequency`: its amplitude and the RMS of what is left. */
function fitSine(samples: Float32Array, frequency: number, rate: number): { amplitude: number; residual: number } {
  let ss = 0;
  let sc = 0;
  let cc = 0;
  let ys = 0;
  let yc = 0;
  for (let i = 0; i < samples.length; i++) {
    const s = Math.sin((2 * Math.PI * frequency * i) / rate);
    const c = Math.cos((2 * Math.PI * frequency * i) / rate);
    ss += s * s;
    sc += s * c;
    cc += c * c;
    ys += samples[i]! * s;
    yc += samples[i]! * c;
  }
  const det = ss * cc - sc * sc;
  const a = (ys * cc - yc * sc) / det;
  const b = (yc * ss - ys * sc) / det;
  let residual = 0;
  for (let i = 0; i < samples.length; i++) {
    const fit = a * Math.sin((2 * Math.PI * frequency * i) / rate) + b * Math.cos((2 * Math.PI * frequency * i) / rate);
    residual += (samples[i]! - fit) ** 2;
  }
  return { amplitude: Math.hypot(a, b), residual: Math.sqrt(residual / samples.length) };
}

const rms = (samples: Float32Array) => Math.sqrt(samples.reduce((sum, value) => sum + value * value, 0) / samples.length);

describe("pcm16-24k worklet", () => {
  for (const inputRate of [48_000, 44_100]) {
    it(`${inputRate} Hz → 24 kHz: 100 ms chunks, every sample, a 1 kHz tone intact`, () => {
      const { processor, posted } = loadProcessor(inputRate);
      const input = sine(1000, inputRate, 2);
      run(processor, input);
      // 100 ms chunks (2400 samples), the last one partial
      expect(posted.slice(0, -1).every((message) => message.type === "audio" && message.pcm.byteLength === 4800)).toBe(true);
      const out = output(posted);
      expect(Math.abs(out.length - (input.length * 24_000) / inputRate)).toBeLessThanOrEqual(60); // the filter's delay
      // past the first few ms, the tone at full level and nothing else (16-bit quantization aside)
      const steady = out.subarray(200, out.length - 200);
      const fit = fitSine(steady, 1000, 24_000);
      expect(fit.amplitude).toBeCloseTo(0.5, 2);
      expect(fit.residual).toBeLessThan(2e-4);
      expect(posted[3]!.rms).toBeCloseTo(0.5 / Math.SQRT2, 2);
    });
  }

  it("keeps speech frequencies up to 8 kHz at level", () => {
    for (const frequency of [100, 3000, 8000]) {
      const { processor, posted } = loadProcessor(48_000);
      run(processor, sine(frequency, 48_000, 0.5));
      const out = output(posted);
      expect(fitSine(out.subarray(200, out.length - 200), frequency, 24_000).amplitude, `${frequency} Hz`).toBeGreaterThan(0.49);
    }
  });

  it("filters out what 24 kHz cannot hold instead of folding it back (15 kHz from 48 kHz, 14 kHz from 44.1 kHz)", () => {
    for (const [inputRate, frequency] of [
      [48_000, 15_000],
      [44_100, 14_000],
    ] as const) {
      const { processor, posted } = loadProcessor(inputRate);
      run(processor, sine(frequency, inputRate, 1));
      const out = output(posted);
      // -60 dB below the 0.35 RMS input, where a plain decimation would alias it at full level
      expect(rms(out.subarray(200, out.length - 200)), `${frequency} Hz at ${inputRate}`).toBeLessThan(0.00035);
    }
  });

  it("mixes channels to mono and clips to the PCM16 range", () => {
    const { processor, posted } = loadProcessor(48_000, 20);
    const loud = new Float32Array(48_000 / 5).fill(1.5);
    run(processor, loud, 2);
    const pcm = posted.flatMap((message) => Array.from(new Int16Array(message.pcm)));
    expect(posted[0]!.pcm.byteLength).toBe(2 * 480); // 20 ms chunks
    expect(Math.max(...pcm)).toBe(32767);
    expect(pcm.slice(100, -100).every((value) => value === 32767)).toBe(true);
  });
});
