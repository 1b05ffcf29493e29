import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

import { beforeAll, describe, expect, it } from "vitest";

import { decodeAudio } from "../../src/audio/index.js";
import {
  type FrameProbability,
  SILERO_FRAME_MS,
  SILERO_FRAME_SAMPLES,
  SileroVadModel,
  type SileroVadStream,
  TurnDetector,
  type TurnDetectorOptions,
  type TurnEvent,
  type VadFrame,
  defaultSileroModelPath,
} from "../../src/audio/vad/index.js";
import { encodeWav, synthesizeSpeech } from "../support/speech.js";

// ---------------------------------------------------------------------------------------------------------------
// TurnDetector: synthetic probabilities, 32 ms frames from t = 0.

/** Frames from `[probability, count]` runs: `[[0.1, 10], [0.9, 20]]` is 320 ms at 0.1, then 640 ms at 0.9. */
function frames(runs: Array<[probability: number, count: number]>): FrameProbability[] {
  const out: FrameProbability[] = [];
  for (const [probability, count] of runs) {
    for (let i = 0; i < count; i++) {
      const startMs = out.length * 32;
      out.push({ startMs, endMs: startMs + 32, probability });
    }
  }
  return out;
}

function detect(runs: Array<[number, number]>, options?: TurnDetectorOptions): TurnEvent[] {
  const detector = new TurnDetector(options);
  return [...detector.pushAll(frames(runs)), ...detector.end()];
}

describe("TurnDetector", () => {
  it("uses OpenAI's server_vad defaults with Silero's hysteresis", () => {
    const detector = new TurnDetector();
    expect(detector).toMatchObject({
      threshold: 0.5,
      prefixPaddingMs: 300,
      silenceDurationMs: 500,
      minSpeechDurationMs: 160,
    });
    expect(detector.negativeThreshold).toBeCloseTo(0.35, 10);
    expect(new TurnDetector({ threshold: 0.1 }).negativeThreshold).toBe(0.01);
  });

  it("reports one turn: start = onset - prefix padding, end = end of the last speech frame", () => {
    const detector = new TurnDetector();
    const input = frames([[0.1, 10], [0.9, 20], [0.1, 20]]);
    const events = input.map((frame) => detector.push(frame));
    // Onset at 320 ms; confirmed after 160 ms of speech (the 5th speech frame ends at 480 ms).
    expect(events.findIndex((e) => e.length > 0)).toBe(14);
    expect(events[14]).toEqual([{ type: "speech_started", audioStartMs: 20, speechStartMs: 320, detectedAtMs: 480 }]);
    // Last speech frame ends at 960 ms; 500 ms of silence is complete at the end of the 16th silent frame (1472 ms).
    expect(events.findIndex((e, i) => i > 14 && e.length > 0)).toBe(45);
    expect(events[45]).toEqual([{ type: "speech_stopped", audioEndMs: 960, detectedAtMs: 1472 }]);
    expect(events.flat()).toHaveLength(2);
    expect(detector.phase).toBe("silence");
  });

  it("clamps audio_start_ms at 0", () => {
    expect(detect([[0.9, 10], [0, 20]])).toEqual([
      { type: "speech_started", audioStartMs: 0, speechStartMs: 0, detectedAtMs: 160 },
      { type: "speech_stopped", audioEndMs: 320, detectedAtMs: 832 },
    ]);
    expect(detect([[0, 5], [0.9, 10], [0, 20]], { prefixPaddingMs: 100 })[0]).toMatchObject({ audioStartMs: 60, speechStartMs: 160 });
  });

  it("ignores blips shorter than the minimum speech duration", () => {
    expect(detect([[0, 10], [0.99, 4], [0, 40]])).toEqual([]); // 128 ms
    expect(detect([[0, 10], [0.99, 1], [0, 20], [0.99, 1], [0, 20], [0.99, 2], [0, 20]])).toEqual([]);
    // 160 ms is enough.
    expect(detect([[0, 10], [0.99, 5], [0, 40]])).toEqual([
      { type: "speech_started", audioStartMs: 20, speechStartMs: 320, detectedAtMs: 480 },
      { type: "speech_stopped", audioEndMs: 480, detectedAtMs: 992 },
    ]);
    // minSpeechDurationMs 0 starts on the onset frame itself.
    expect(detect([[0, 10], [0.99, 1], [0, 40]], { minSpeechDurationMs: 0 })).toEqual([
      { type: "speech_started", audioStartMs: 20, speechStartMs: 320, detectedAtMs: 352 },
      { type: "speech_stopped", audioEndMs: 352, detectedAtMs: 864 },
    ]);
  });

  it("adds up a pending turn's speech across short gaps, keeping the first onset", () => {
    // 3 frames, 192 ms gap, 3 frames: 160 ms of speech by the end of the 2nd burst's 2nd frame.
    expect(detect([[0, 10], [0.9, 3], [0, 6], [0.9, 3], [0, 20]])).toEqual([
      { type: "speech_started", audioStartMs: 20, speechStartMs: 320, detectedAtMs: 672 },
      { type: "speech_stopped", audioEndMs: 704, detectedAtMs: 1216 },
    ]);
  });

  it("needs the threshold to start but only the lower hysteresis threshold to continue", () => {
    expect(detect([[0, 5], [0.49, 50], [0, 20]])).toEqual([]);
    // Speech, then 1 s at 0.4 (between 0.35 and 0.5): still speech; it ends after the last 0.4 frame.
    expect(detect([[0, 10], [0.9, 10], [0.4, 32], [0.34, 20]])).toEqual([
      { type: "speech_started", audioStartMs: 20, speechStartMs: 320, detectedAtMs: 480 },
      { type: "speech_stopped", audioEndMs: 1664, detectedAtMs: 2176 },
    ]);
    // Custom thresholds.
    expect(detect([[0.7, 20]], { threshold: 0.8 })).toEqual([]);
    expect(detect([[0.9, 5], [0.2, 10], [0, 20]], { threshold: 0.8, negativeThreshold: 0.1 })).toEqual([
      { type: "speech_started", audioStartMs: 0, speechStartMs: 0, detectedAtMs: 160 },
      { type: "speech_stopped", audioEndMs: 480, detectedAtMs: 992 },
    ]);
  });

  it("keeps a turn through silences shorter than silence_duration_ms", () => {
    // 480 ms of silence (< 500) inside the turn, then speech again.
    expect(detect([[0, 10], [0.9, 10], [0.1, 15], [0.9, 10], [0.1, 20]])).toEqual([
      { type: "speech_started", audioStartMs: 20, speechStartMs: 320, detectedAtMs: 480 },
      { type: "speech_stopped", audioEndMs: 1440, detectedAtMs: 1952 },
    ]);
    // 512 ms (>= 500): two turns.
    const events = detect([[0, 10], [0.9, 10], [0.1, 16], [0.9, 10], [0.1, 20]]);
    expect(events.map((e) => e.type)).toEqual(["speech_started", "speech_stopped", "speech_started", "speech_stopped"]);
    expect(events[1]).toEqual({ type: "speech_stopped", audioEndMs: 640, detectedAtMs: 1152 });
    expect(events[2]).toEqual({ type: "speech_started", audioStartMs: 852, speechStartMs: 1152, detectedAtMs: 1312 });
  });

  it("never pads a turn's start back into the previous turn", () => {
    const events = detect([[0.9, 10], [0, 5], [0.9, 10], [0, 5]], { prefixPaddingMs: 1000, silenceDurationMs: 150 });
    expect(events).toEqual([
      { type: "speech_started", audioStartMs: 0, speechStartMs: 0, detectedAtMs: 160 },
      { type: "speech_stopped", audioEndMs: 320, detectedAtMs: 480 },
      { type: "speech_started", audioStartMs: 320, speechStartMs: 480, detectedAtMs: 640 },
      { type: "speech_stopped", audioEndMs: 800, detectedAtMs: 960 },
    ]);
  });

  it("end() stops a turn in progress and drops pending speech", () => {
    const detector = new TurnDetector();
    expect(detector.pushAll(frames([[0, 10], [0.9, 10], [0.1, 3]]))).toHaveLength(1);
    expect(detector.phase).toBe("speech");
    expect(detector.end()).toEqual([{ type: "speech_stopped", audioEndMs: 640, detectedAtMs: 736 }]);
    expect(detector.phase).toBe("silence");
    expect(detector.end()).toEqual([]);

    const pending = new TurnDetector();
    pending.pushAll(frames([[0, 10], [0.9, 2]]));
    expect(pending.phase).toBe("pending");
    expect(pending.end()).toEqual([]);
    expect(pending.phase).toBe("silence");
  });

  it("counts gaps between frames as silence and rejects frames out of order", () => {
    const detector = new TurnDetector();
    detector.pushAll(frames([[0.9, 10]]));
    expect(detector.push({ startMs: 1000, endMs: 1032, probability: 0 })).toEqual([
      { type: "speech_stopped", audioEndMs: 320, detectedAtMs: 1032 },
    ]);
    expect(() => detector.push({ startMs: 0, endMs: 32, probability: 0.9 })).toThrow(RangeError);
    expect(() => detector.push({ startMs: 2000, endMs: 2000, probability: 0.9 })).toThrow(RangeError);
  });

  it("accepts every threshold in [0, 1]: the default negative threshold never exceeds it", () => {
    for (const threshold of [0, 0.001, 0.005, 0.01, 0.0100001, 0.159, 0.16, 0.5, 0.99, 1]) {
      const detector = new TurnDetector({ threshold });
      expect(detector.negativeThreshold, `threshold ${threshold}`).toBeLessThanOrEqual(threshold);
      expect(detector.negativeThreshold, `threshold ${threshold}`).toBeGreaterThanOrEqual(0);
    }
    expect(new TurnDetector({ threshold: 0.005 }).negativeThreshold).toBe(0.005);
    expect(new TurnDetector({ threshold: 0 }).negativeThreshold).toBe(0);
    // Threshold 0: every frame is speech, so a turn starts and silence (probability 0 is still >= 0) never ends it.
    const detector = new TurnDetector({ threshold: 0 });
    const events = detector.pushAll(frames([[0, 40]]));
    expect(events).toEqual([{ type: "speech_started", audioStartMs: 0, speechStartMs: 0, detectedAtMs: 160 }]);
    // A tiny threshold: speech above it starts a turn, a probability below it ends one.
    const low = new TurnDetector({ threshold: 0.005 });
    expect(low.pushAll(frames([[0.001, 10], [0.5, 10], [0.001, 20]])).map((e) => e.type)).toEqual(["speech_started", "speech_stopped"]);
  });

  it("rejects invalid options", () => {
    expect(() => new TurnDetector({ threshold: 1.5 })).toThrow(RangeError);
    expect(() => new TurnDetector({ threshold: 0.5, negativeThreshold: 0.6 })).toThrow(RangeError);
    expect(() => new TurnDetector({ silenceDurationMs: -1 })).toThrow(RangeError);
    expect(() => new TurnDetector({ prefixPaddingMs: Number.NaN })).toThrow(RangeError);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Silero VAD on real (synthesized) speech.

const SR = 16_000;
const ms = (samples: number) => (samples * 1000) / SR;

/** Seeded uniform noise with the given RMS in dBFS. */
function noise(samples: number, dbfs: number, seed = 1): Float32Array {
  const amplitude = 10 ** (dbfs / 20) * Math.sqrt(3);
  const out = new Float32Array(samples);
  let state = seed;
  for (let i = 0; i < samples; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    out[i] = (state / 2 ** 32 - 0.5) * 2 * amplitude;
  }
  return out;
}

/** eSpeak speech for `text`, its leading/trailing silence cut off, at 16 kHz through decodeAudio's resampler. */
async function sentence(text: string): Promise<Float32Array> {
  const speech = await synthesizeSpeech(text);
  const loud = (x: number | undefined) => Math.abs(x ?? 0) > 1e-3;
  const first = speech.samples.findIndex(loud);
  const last = speech.samples.findLastIndex(loud);
  const trimmed = speech.samples.subarray(first, last + 1);
  return (await decodeAudio(encodeWav(trimmed, speech.sampleRate))).samples;
}

function concat(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** Pushes `audio` in chunks of `chunk` samples (awaiting each), then flushes; returns every frame. */
async function run(stream: SileroVadStream, audio: Float32Array, chunk = audio.length): Promise<VadFrame[]> {
  const out: VadFrame[] = [];
  for (let i = 0; i < audio.length; i += chunk) out.push(...(await stream.push(audio.subarray(i, i + chunk))));
  out.push(...(await stream.flush()));
  return out;
}

function turns(frameList: VadFrame[]): TurnEvent[] {
  const detector = new TurnDetector();
  return [...detector.pushAll(frameList), ...detector.end()];
}

describe("SileroVadModel / SileroVadStream", () => {
  let model: SileroVadModel;
  /** 1.0 s silence, sentence, 1.5 s silence, sentence, 1.0 s silence. */
  let audio: Float32Array;
  /** The two sentences' [start, end] in ms. */
  let truth: Array<[number, number]>;
  let wholeFrames: VadFrame[];

  beforeAll(async () => {
    model = await SileroVadModel.load();
    const first = await sentence("The quick brown fox jumps over the lazy dog");
    const second = await sentence("Earshot turns speech into text on your own machine");
    const silence = (seconds: number) => new Float32Array(seconds * SR);
    audio = concat([silence(1), first, silence(1.5), second, silence(1)]);
    const secondStart = SR + first.length + 1.5 * SR;
    truth = [
      [1000, ms(SR + first.length)],
      [ms(secondStart), ms(secondStart + second.length)],
    ];
    wholeFrames = await run(model.createStream(), audio);
  });

  it("loads the shipped Silero model once per process", async () => {
    expect(existsSync(defaultSileroModelPath())).toBe(true);
    expect(defaultSileroModelPath()).toMatch(/silero_vad_16k_op15\.onnx$/);
    expect(await SileroVadModel.load()).toBe(model);
    await expect(SileroVadModel.load({ modelPath: "/nonexistent/silero.onnx" })).rejects.toThrow(/not found/);
  });

  it("gives one probability per 512-sample frame, with its start time", () => {
    expect(wholeFrames).toHaveLength(Math.ceil(audio.length / SILERO_FRAME_SAMPLES));
    for (const [i, frame] of wholeFrames.entries()) {
      expect(frame).toMatchObject({ index: i, startMs: i * SILERO_FRAME_MS, endMs: (i + 1) * SILERO_FRAME_MS });
      expect(frame.probability).toBeGreaterThanOrEqual(0);
      expect(frame.probability).toBeLessThanOrEqual(1);
    }
  });

  it("finds exactly the two sentences, within 150 ms of their boundaries", () => {
    const events = turns(wholeFrames);
    expect(events.map((e) => e.type)).toEqual(["speech_started", "speech_stopped", "speech_started", "speech_stopped"]);
    const found = [0, 2].map((i) => {
      const started = events[i] as Extract<TurnEvent, { type: "speech_started" }>;
      const stopped = events[i + 1] as Extract<TurnEvent, { type: "speech_stopped" }>;
      expect(started.audioStartMs).toBe(Math.max(0, started.speechStartMs - 300));
      return [started.speechStartMs, stopped.audioEndMs] as const;
    });
    const errors = found.map(([start, end], i) => [start - truth[i]![0], end - truth[i]![1]]);
    console.log(
      `VAD boundary errors (ms, detected - true): ` +
        errors.map(([s, e], i) => `turn ${i + 1}: start ${s!.toFixed(0)}, end ${e!.toFixed(0)}`).join("; "),
    );
    for (const error of errors.flat()) expect(Math.abs(error)).toBeLessThanOrEqual(150);
  });

  it("gives the same frames and turns however the audio is chunked", async () => {
    for (const chunk of [333, 24_000, SILERO_FRAME_SAMPLES, 7]) {
      const chunked = await run(model.createStream(), audio, chunk);
      expect(chunked).toEqual(wholeFrames);
    }
    // Overlapping calls (not awaited one by one) keep their order.
    const stream = model.createStream();
    const pushes: Array<Promise<VadFrame[]>> = [];
    for (let i = 0; i < audio.length; i += 333) pushes.push(stream.push(audio.slice(i, i + 333)));
    pushes.push(stream.flush());
    const concurrent = (await Promise.all(pushes)).flat();
    expect(concurrent).toEqual(wholeFrames);
    expect(turns(concurrent)).toEqual(turns(wholeFrames));
    expect(stream.samplesReceived).toBe(audio.length);
    expect(stream.framesProcessed).toBe(wholeFrames.length);
  });

  it("keeps partial frames until they fill, and flush() pads the last one", async () => {
    const stream = model.createStream();
    expect(await stream.push(audio.subarray(0, 500))).toEqual([]);
    const frames = await stream.push(audio.subarray(500, 1100));
    expect(frames.map((f) => f.index)).toEqual([0, 1]);
    expect(await stream.flush()).toMatchObject([{ index: 2, startMs: 64 }]);
    expect(await stream.flush()).toEqual([]);
    await expect(stream.push(audio.subarray(0, 10))).rejects.toThrow(/after flush/);
    const empty = model.createStream();
    expect(await empty.flush()).toEqual([]);
  });

  it("loads whisper.cpp's ggml Silero file as well, with the same frames; a file that is neither fails with its path", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "earshot-vad-"));
    try {
      // The shipped ONNX model converted at load: the ggml bytes whisper.cpp reads, as a file of their own.
      const ggmlPath = path.join(dir, "ggml-silero.bin");
      writeFileSync(ggmlPath, model.ggml);
      expect(readFileSync(ggmlPath).subarray(0, 4).toString("latin1")).toBe("lmgg"); // "ggml", little-endian
      const fromGgml = await SileroVadModel.load({ modelPath: ggmlPath });
      expect(fromGgml.modelPath).toBe(ggmlPath); // (not .not.toBe(model): vitest would print 885 KB of weights)
      expect(await run(fromGgml.createStream(), audio, 24_000)).toEqual(wholeFrames);

      const notAModel = path.join(dir, "notes.onnx");
      writeFileSync(notAModel, "these are not weights");
      await expect(SileroVadModel.load({ modelPath: notAModel })).rejects.toThrow(/notes\.onnx: not a Silero VAD v5\/v6 16 kHz model/);
      // ggml's magic, then a truncated header: whisper.cpp refuses it, and the load says so.
      const truncated = path.join(dir, "truncated.bin");
      writeFileSync(truncated, model.ggml.subarray(0, 1000));
      await expect(SileroVadModel.load({ modelPath: truncated })).rejects.toThrow(/truncated\.bin is not a Silero VAD v5\/v6 model whisper\.cpp can load/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("close() ends a stream: the push in flight still resolves, later pushes reject", async () => {
    const stream = model.createStream();
    const inFlight = stream.push(audio.subarray(0, 40 * SILERO_FRAME_SAMPLES));
    stream.close();
    const frames = await inFlight;
    expect(frames.length).toBeLessThanOrEqual(40);
    expect(frames).toEqual(wholeFrames.slice(0, frames.length));
    await expect(stream.push(audio.subarray(0, SILERO_FRAME_SAMPLES))).rejects.toThrow(/after close/);
    expect(await stream.flush()).toEqual([]);
    stream.close(); // twice is fine
  });

  it("finds no turn in silence or low noise", async () => {
    for (const [name, signal] of [
      ["digital silence", new Float32Array(5 * SR)],
      ["-60 dBFS noise", noise(5 * SR, -60)],
      ["-45 dBFS noise", noise(5 * SR, -45, 7)],
    ] as const) {
      const frames = await run(model.createStream(), signal, 1600);
      const peak = Math.max(...frames.map((f) => f.probability));
      console.log(`${name}: peak speech probability ${peak.toFixed(3)}`);
      expect(turns(frames), name).toEqual([]);
      expect(peak, name).toBeLessThan(0.5); // not even an onset
    }
  });

  it("costs well under a millisecond per 32 ms frame and never holds the event loop for long", async () => {
    const longAudio = concat([audio, audio, audio]); // ~20 s
    let longestGap = 0;
    let last = performance.now();
    let ticking = true;
    const tick = () => {
      const now = performance.now();
      longestGap = Math.max(longestGap, now - last);
      last = now;
      if (ticking) setTimeout(tick, 0);
    };
    setTimeout(tick, 0);
    const start = performance.now();
    const frames = await run(model.createStream(), longAudio); // one push: every frame queued at once
    const elapsed = performance.now() - start;
    ticking = false;
    const perFrameUs = (elapsed * 1000) / frames.length;
    console.log(
      `Silero VAD: ${frames.length} frames in ${elapsed.toFixed(0)} ms: ${perFrameUs.toFixed(0)} µs per 32 ms frame ` +
        `(${((frames.length * 32) / elapsed).toFixed(0)}x real time); longest event-loop gap ${longestGap.toFixed(1)} ms`,
    );
    expect(perFrameUs).toBeLessThan(2000);
    expect(longestGap).toBeLessThan(100);
  });
});
