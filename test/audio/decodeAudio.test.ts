import { readdirSync } from "node:fs";
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough, Readable } from "node:stream";

import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";

import {
  AudioDecodeAbortedError,
  AudioDecodeError,
  type DecodeAudioOptions,
  type DecodedAudio,
  type DetectedFormat,
  FFMPEG_PATH_ENV,
  bundledFfmpegPath,
  checkFfmpeg,
  decodeAudio,
} from "../../src/audio/index.js";
import {
  type TestAudioFormat,
  TEST_AUDIO_FORMATS,
  containerDurationLine,
  encodeVideoWithoutAudio,
  encodeWav,
  encodeWithFfmpeg,
  shortSpeech,
  writeWav,
} from "../support/speech.js";

// ---------------------------------------------------------------------------------------------------------------
// Fixtures: ~4.5 s of eSpeak speech at 22.05 kHz, padded with silence to a whole number of 1024-sample AAC frames.
// (ffmpeg 4.x's AAC encoder cannot signal the padding of its last frame, so any decoder returns up to 1023 extra
// samples of silence; aligning the source makes the AAC cases measure the decoder, not that encoder limit.)

const AAC_FRAME = 1024;
let workDir: string;
/** Parent of every decodeAudio temp dir in this file: must be empty whenever no decode is running. */
let decodeTempParent: string;
let sourceRate: number;
let sourceSamples: Float32Array;
let sourceDuration: number;
let sourceWavPath: string;
/** The source through decodeAudio's own 22.05 → 16 kHz pipeline: what every other decode is compared with. */
let reference16k: Float32Array;
const encoded = new Map<TestAudioFormat, Buffer>();
const files = new Map<TestAudioFormat, string>();

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), "earshot-decode-test-"));
  decodeTempParent = join(workDir, "decode-tmp");
  await mkdir(decodeTempParent);
  const speech = await shortSpeech();
  sourceRate = speech.sampleRate;
  sourceSamples = new Float32Array(Math.ceil(speech.samples.length / AAC_FRAME) * AAC_FRAME);
  sourceSamples.set(speech.samples);
  sourceDuration = sourceSamples.length / sourceRate;
  sourceWavPath = join(workDir, "source.wav");
  await writeWav(sourceWavPath, sourceSamples, sourceRate);
  for (const format of TEST_AUDIO_FORMATS) {
    const data = await encodeWithFfmpeg(sourceWavPath, format);
    encoded.set(format, data);
    const path = join(workDir, `speech.${format}`);
    await writeFile(path, data);
    files.set(format, path);
  }
  reference16k = (await decode(sourceWavPath)).samples;
});

afterAll(async () => {
  await rm(workDir, { recursive: true, force: true });
});

afterEach(async () => {
  // Every outcome (success, error, abort, timeout) must have removed its temp dir by the time it settled.
  expect(await readdir(decodeTempParent)).toEqual([]);
});

function decode(input: Parameters<typeof decodeAudio>[0], options: DecodeAudioOptions = {}): Promise<DecodedAudio> {
  return decodeAudio(input, { tempDir: decodeTempParent, ...options });
}

/** The bytes as an upload would arrive: odd-sized chunks, asynchronously. */
function chunkedStream(data: Uint8Array, chunkSize = 997): Readable {
  return Readable.from(
    (async function* () {
      for (let i = 0; i < data.length; i += chunkSize) {
        await new Promise((resolve) => setImmediate(resolve));
        yield Buffer.from(data.subarray(i, i + chunkSize));
      }
    })(),
    { objectMode: false },
  );
}

function bytesOf(format: TestAudioFormat): Buffer {
  const data = encoded.get(format);
  if (!data) throw new Error(`fixture ${format} missing`);
  return data;
}

function pathOf(format: TestAudioFormat): string {
  const path = files.get(format);
  if (!path) throw new Error(`fixture ${format} missing`);
  return path;
}

type InputKind = "buffer" | "stream" | "path";
function inputFor(format: TestAudioFormat, kind: InputKind): Parameters<typeof decodeAudio>[0] {
  if (kind === "buffer") return bytesOf(format);
  if (kind === "stream") return chunkedStream(bytesOf(format));
  return pathOf(format);
}

/** Signal-to-noise ratio of `actual` against `expected` in dB (Infinity when identical), over the common length. */
function snrDb(expected: Float32Array, actual: Float32Array): number {
  let signal = 0;
  let noise = 0;
  const n = Math.min(expected.length, actual.length);
  for (let i = 0; i < n; i++) {
    const e = expected[i] ?? 0;
    signal += e * e;
    noise += (e - (actual[i] ?? 0)) ** 2;
  }
  return 10 * Math.log10(signal / noise);
}

/** Normalised cross-correlation of `b` shifted by `lag` samples against `a`. */
function correlationAt(a: Float32Array, b: Float32Array, lag: number): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] ?? 0;
    const y = b[i + lag] ?? 0;
    ab += x * y;
    aa += x * x;
    bb += y * y;
  }
  return ab / Math.sqrt(aa * bb);
}

/** The lag in [around-range, around+range] at which `b` best matches `a`. */
function bestLag(a: Float32Array, b: Float32Array, around: number, range = 40): { lag: number; correlation: number } {
  let best = { lag: around, correlation: -Infinity };
  for (let lag = around - range; lag <= around + range; lag++) {
    const correlation = correlationAt(a, b, lag);
    if (correlation > best.correlation) best = { lag, correlation };
  }
  return best;
}

async function expectDecodeError(promise: Promise<unknown>, code: AudioDecodeError["code"]): Promise<AudioDecodeError> {
  const err = await promise.then(
    () => {
      throw new Error(`expected an AudioDecodeError(${code}), but decoding succeeded`);
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AudioDecodeError);
  expect((err as AudioDecodeError).code, (err as Error).message).toBe(code);
  return err as AudioDecodeError;
}

/** Bitwise equality of two sample arrays (fast: vitest's deep equality is slow on 70k-element arrays). */
function expectSameSamples(actual: Float32Array, expected: Float32Array): void {
  expect(actual.length).toBe(expected.length);
  const a = Buffer.from(actual.buffer, actual.byteOffset, actual.byteLength);
  const b = Buffer.from(expected.buffer, expected.byteOffset, expected.byteLength);
  const firstDifference = a.equals(b) ? -1 : actual.findIndex((x, i) => !Object.is(x, expected[i]));
  expect(firstDifference, `first differing sample: ${firstDifference}`).toBe(-1);
}

function processIsGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "ESRCH";
  }
}

// ---------------------------------------------------------------------------------------------------------------

interface FormatCase {
  format: TestAudioFormat;
  detected: DetectedFormat;
  /** Audio the file really contains beyond the source, in source samples (priming the container cannot signal). */
  extraSourceSamples?: number;
  /** Where the speech starts in the decoded 16 kHz output, in samples (that same priming). */
  expectedLag16k?: number;
}

const FORMAT_CASES: FormatCase[] = [
  { format: "wav", detected: "wav" },
  { format: "wav-44k-stereo", detected: "wav" },
  { format: "flac", detected: "flac" },
  { format: "mp3", detected: "mp3" },
  { format: "mp4", detected: "mp4" },
  { format: "m4a", detected: "mp4" },
  // ffmpeg 4.x writes no edit list in an empty_moov fragmented mp4, so the AAC encoder's 1024 priming samples
  // (at 44.1 kHz: 23.2 ms) are genuinely part of the stream. Nothing in the file says to drop them.
  { format: "mp4-fragmented", detected: "mp4", extraSourceSamples: AAC_FRAME / 2, expectedLag16k: Math.round((AAC_FRAME * 16000) / 44100) },
  { format: "ogg-vorbis", detected: "ogg" },
  { format: "ogg-opus", detected: "ogg" },
  { format: "webm-opus", detected: "webm" },
  // Raw ADTS cannot signal priming at all: 1024 samples (46 ms at 22.05 kHz) of encoder delay stay in.
  { format: "aac-adts", detected: "aac", extraSourceSamples: AAC_FRAME, expectedLag16k: Math.round((AAC_FRAME * 16000) / 22050) },
];

/** Measured errors, printed at the end when EARSHOT_AUDIO_MEASUREMENTS=1. */
const measurements: string[] = [];
afterAll(() => {
  if (measurements.length && process.env.EARSHOT_AUDIO_MEASUREMENTS) console.log(`decodeAudio measurements:\n  ${measurements.join("\n  ")}`);
});

describe("decodeAudio: every format, as Buffer, stream and path", () => {
  describe.each(FORMAT_CASES)("$format", ({ format, detected, extraSourceSamples = 0, expectedLag16k = 0 }) => {
    it.each<InputKind>(["buffer", "stream", "path"])("decodes from a %s to 16 kHz mono at the source's duration", async (kind) => {
      const decoded = await decode(inputFor(format, kind));
      expect(decoded.format).toBe(detected);
      expect(decoded.sampleRate).toBe(16000);
      expect(decoded.duration).toBe(decoded.samples.length / 16000);
      const expectedDuration = sourceDuration + extraSourceSamples / sourceRate;
      const error = decoded.duration - expectedDuration;
      if (kind === "buffer") measurements.push(`${format}: duration error ${(error * 1000).toFixed(1)} ms`);
      expect(Math.abs(error)).toBeLessThanOrEqual(0.03);
      // Same samples whatever the input kind.
      if (kind !== "buffer") expectSameSamples(decoded.samples, (await decode(bytesOf(format))).samples);
    });

    it("is the source speech, correctly aligned (encoder delay removed where the container signals it)", async () => {
      const decoded = await decode(bytesOf(format));
      const { lag, correlation } = bestLag(reference16k, decoded.samples, expectedLag16k);
      measurements.push(`${format}: best lag ${lag} (expected ${expectedLag16k}), correlation ${correlation.toFixed(4)}`);
      expect(Math.abs(lag - expectedLag16k)).toBeLessThanOrEqual(2);
      expect(correlation).toBeGreaterThan(0.95);
    });
  });

  it("Chrome-like webm really lacks a duration, Safari-like mp4 really is fragmented", async () => {
    expect(await containerDurationLine(pathOf("webm-opus"))).toBe("Duration: N/A");
    const webm = bytesOf("webm-opus");
    const unknownSize = Buffer.from([0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
    expect(webm.includes(Buffer.concat([Buffer.from([0x18, 0x53, 0x80, 0x67]), unknownSize]))).toBe(true); // Segment
    expect(webm.includes(Buffer.concat([Buffer.from([0x1f, 0x43, 0xb6, 0x75]), unknownSize]))).toBe(true); // Cluster
    expect(webm.includes(Buffer.from([0x1c, 0x53, 0xbb, 0x6b]))).toBe(false); // no Cues
    const fragmented = bytesOf("mp4-fragmented");
    expect(fragmented.includes(Buffer.from("moof"))).toBe(true);
    expect(fragmented.includes(Buffer.from("mvex"))).toBe(true);
    // And the regular m4a keeps its moov after the media data: unreadable from a pipe.
    const m4a = bytesOf("m4a");
    expect(m4a.indexOf("moov")).toBeGreaterThan(m4a.indexOf("mdat"));
  });
});

describe("decodeAudio: lossless formats are sample-exact", () => {
  it("wav and flac at 22.05 kHz give exactly the reference resampling, 44.1 kHz stereo within 40 dB", async () => {
    const wav = await decode(bytesOf("wav"));
    const flac = await decode(bytesOf("flac"));
    const stereo = await decode(bytesOf("wav-44k-stereo"));
    const snr = { wav: snrDb(reference16k, wav.samples), flac: snrDb(reference16k, flac.samples), stereo: snrDb(reference16k, stereo.samples) };
    measurements.push(`SNR vs reference (22.05 kHz source): wav ${snr.wav} dB, flac ${snr.flac} dB, 44.1 kHz stereo ${snr.stereo.toFixed(1)} dB`);
    expectSameSamples(flac.samples, wav.samples);
    expect(snr.wav).toBeGreaterThanOrEqual(40);
    expect(snr.stereo).toBeGreaterThanOrEqual(40);
  });

  it("a 16 kHz wav/flac decodes to its own samples, bit for bit", async () => {
    // Quantize the 16 kHz reference to 16 bits: this is exactly what the files hold.
    const pcm16 = new Float32Array(reference16k.length);
    for (let i = 0; i < pcm16.length; i++) pcm16[i] = Math.max(-32768, Math.min(32767, Math.round((reference16k[i] ?? 0) * 32768))) / 32768 + 0; // + 0: no -0
    const wavPath = join(workDir, "source16k.wav");
    await writeWav(wavPath, pcm16, 16000);
    const wav = await decode(wavPath);
    const flac = await decode(await encodeWithFfmpeg(wavPath, "flac"));
    const snr = { wav: snrDb(pcm16, wav.samples), flac: snrDb(pcm16, flac.samples) };
    measurements.push(`SNR vs 16 kHz source: wav ${snr.wav} dB, flac ${snr.flac} dB`);
    expectSameSamples(wav.samples, pcm16);
    expectSameSamples(flac.samples, pcm16);
    expect(snr.flac).toBeGreaterThanOrEqual(40);
  });
});

describe("decodeAudio: the content decides, not the name", () => {
  it.each(["speech.mpeg", "speech.mpga", "speech.wav", "speech"])("mp3 bytes named %s decode as mp3", async (name) => {
    const path = join(workDir, name);
    await writeFile(path, bytesOf("mp3"));
    const decoded = await decode(path);
    expect(decoded.format).toBe("mp3");
    expect(Math.abs(decoded.duration - sourceDuration)).toBeLessThanOrEqual(0.03);
  });

  it("a file name starting with '-' or containing ':' is passed safely", async () => {
    const path = join(workDir, "-i evil:name.ogg");
    await writeFile(path, bytesOf("ogg-opus"));
    expect((await decode(path)).format).toBe("ogg");
  });
});

describe("decodeAudio: bad input gives a typed error", () => {
  it("a text file named .mp3 → unsupported_format", async () => {
    const path = join(workDir, "notes.mp3");
    await writeFile(path, "These are my meeting notes, not audio.\n".repeat(20));
    await expectDecodeError(decode(path), "unsupported_format");
    await expectDecodeError(decode(Buffer.from("<html><body>hello</body></html>")), "unsupported_format");
  });

  it("empty input → empty_file (Buffer, stream, path)", async () => {
    const path = join(workDir, "empty.wav");
    await writeFile(path, "");
    await expectDecodeError(decode(Buffer.alloc(0)), "empty_file");
    await expectDecodeError(decode(Readable.from([], { objectMode: false })), "empty_file");
    await expectDecodeError(decode(path), "empty_file");
  });

  it.each<TestAudioFormat>(["flac", "mp3", "ogg-opus", "webm-opus", "wav"])(
    "%s cut in half decodes what is there (like OpenAI), with ffmpeg's complaints as warnings",
    async (format) => {
      const data = bytesOf(format);
      const half = data.subarray(0, data.length >> 1);
      const decoded = await decode(half);
      expect(decoded.duration).toBeGreaterThan(sourceDuration * 0.3);
      expect(decoded.duration).toBeLessThan(sourceDuration * 0.7);
      if (format === "flac") expect(decoded.warnings.join("\n")).toMatch(/flac: /);
      // And the streamed upload behaves the same.
      expect((await decode(chunkedStream(half))).samples.length).toBe(decoded.samples.length);
    },
  );

  it.each<TestAudioFormat>(["flac", "mp3", "ogg-opus", "webm-opus", "wav", "mp4"])("%s cut inside its header → decode_failed", async (format) => {
    const err = await expectDecodeError(decode(bytesOf(format).subarray(0, 60)), "decode_failed");
    expect(err.message.length).toBeLessThan(400);
  });

  it("an m4a cut in half has lost its moov atom → decode_failed that says so", async () => {
    const data = bytesOf("m4a");
    const err = await expectDecodeError(decode(data.subarray(0, data.length >> 1)), "decode_failed");
    expect(err.message).toMatch(/moov atom not found/);
    expect(err.message).not.toContain(decodeTempParent); // temp paths never leak into messages
  });

  it("a WAV with zero samples → no_audio", async () => {
    const empty = encodeWav(new Float32Array(0), 16000);
    await expectDecodeError(decode(empty), "no_audio");
    await expectDecodeError(decode(chunkedStream(empty)), "no_audio");
  });

  it("an mp4 video without an audio track → no_audio_stream", async () => {
    const video = await encodeVideoWithoutAudio();
    const err = await expectDecodeError(decode(video), "no_audio_stream");
    expect(err.message).toMatch(/only video/);
    expect(err.ffmpegMessage).toMatch(/matches no streams/);
  });

  it.each([
    ["fLaC", Buffer.from("fLaC")],
    ["RIFF/WAVE", Buffer.concat([Buffer.from("RIFF"), Buffer.from([0, 0x10, 0, 0]), Buffer.from("WAVE")])],
    ["OggS", Buffer.from("OggS")],
    ["EBML", Buffer.from([0x1a, 0x45, 0xdf, 0xa3])],
    ["ftyp", Buffer.concat([Buffer.from([0, 0, 0, 20]), Buffer.from("ftypisom")])],
    ["ID3", Buffer.from("ID3\x03\x00\x00\x00\x00\x00\x00", "latin1")],
  ])("random bytes behind a valid %s magic → decode_failed", async (_name, magic) => {
    let x = 12345;
    const random = Buffer.alloc(20000, 0).map(() => ((x = (x * 1103515245 + 12345) >>> 0), x >>> 24));
    await expectDecodeError(decode(Buffer.concat([magic, random])), "decode_failed");
  });

  it("longer than maxDurationSeconds → too_long, and ffmpeg is killed", async () => {
    let pid = 0;
    const err = await expectDecodeError(
      decode(bytesOf("ogg-opus"), { maxDurationSeconds: 1, onFfmpegSpawn: (p) => (pid = p) }),
      "too_long",
    );
    expect(err.message).toMatch(/1 s limit/);
    expect(pid).toBeGreaterThan(0);
    expect(processIsGone(pid)).toBe(true);
    // Exactly at the limit is fine.
    const exact = await decode(bytesOf("wav"), { maxDurationSeconds: sourceDuration });
    expect(exact.samples.length).toBe(reference16k.length);
  });
});

describe("decodeAudio: abort, timeout and cleanup", () => {
  /** A stream that delivers half of the data and then stalls forever, like a stuck upload. */
  function stalledStream(data: Uint8Array): PassThrough {
    const stream = new PassThrough();
    stream.write(data.subarray(0, data.length >> 1));
    return stream;
  }

  it("aborting mid-decode (ffmpeg reading a stalled stream) kills ffmpeg and rejects with AudioDecodeAbortedError", async () => {
    const controller = new AbortController();
    let pid = 0;
    const started = Date.now();
    const promise = decode(stalledStream(bytesOf("webm-opus")), {
      signal: controller.signal,
      onFfmpegSpawn: (p) => {
        pid = p;
        setTimeout(() => controller.abort(new Error("client went away")), 100);
      },
    });
    const err = await promise.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AudioDecodeAbortedError);
    expect((err as AudioDecodeAbortedError).code).toBe("aborted");
    expect(((err as Error).cause as Error).message).toBe("client went away");
    expect(pid).toBeGreaterThan(0);
    expect(processIsGone(pid)).toBe(true);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it("aborting while ffmpeg decodes an m4a from its temp file kills ffmpeg and removes the temp dir", async () => {
    const controller = new AbortController();
    let pid = 0;
    let tempEntries: string[] = [];
    const promise = decode(bytesOf("m4a"), {
      signal: controller.signal,
      onFfmpegSpawn: (p) => {
        pid = p;
        tempEntries = readdirSync(decodeTempParent);
        controller.abort(); // synchronously: ffmpeg cannot have finished yet

      },
    });
    await expect(promise).rejects.toBeInstanceOf(AudioDecodeAbortedError);
    expect(tempEntries).toHaveLength(1); // it existed while ffmpeg ran...
    expect(await readdir(decodeTempParent)).toEqual([]); // ...and is gone now
    expect(processIsGone(pid)).toBe(true);
  });

  it("aborting while a streamed m4a is still being written to its temp file removes it", async () => {
    const controller = new AbortController();
    const stream = stalledStream(bytesOf("m4a"));
    const promise = decode(stream, { signal: controller.signal });
    // Wait until the temp file exists, then abort.
    for (let i = 0; i < 200 && (await readdir(decodeTempParent)).length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(await readdir(decodeTempParent)).toHaveLength(1);
    controller.abort();
    await expect(promise).rejects.toBeInstanceOf(AudioDecodeAbortedError);
    expect(stream.destroyed).toBe(false); // the caller's stream is the caller's
  });

  it("an ffmpeg that ignores SIGTERM is SIGKILLed after the grace period", async () => {
    // A stand-in that answers -version like ffmpeg, then hangs with SIGTERM ignored (exec keeps the pid).
    const fake = join(workDir, "stubborn-ffmpeg.sh");
    await writeFile(
      fake,
      '#!/bin/sh\nif [ "$2" = "-version" ]; then echo "ffmpeg version 0.0-stubborn"; exit 0; fi\ntrap "" TERM\nexec sleep 60\n',
      { mode: 0o755 },
    );
    const controller = new AbortController();
    let pid = 0;
    const promise = decode(bytesOf("m4a"), {
      ffmpegPath: fake,
      signal: controller.signal,
      onFfmpegSpawn: (p) => {
        pid = p;
        setTimeout(() => controller.abort(), 50);
      },
    });
    const started = Date.now();
    await expect(promise).rejects.toBeInstanceOf(AudioDecodeAbortedError);
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(500); // SIGTERM did nothing; the grace period ran out...
    expect(elapsed).toBeLessThan(3000); // ...and SIGKILL ended it
    expect(processIsGone(pid)).toBe(true);
  });

  it("an already-aborted signal rejects before starting ffmpeg", async () => {
    let spawned = false;
    const promise = decode(bytesOf("wav"), { signal: AbortSignal.abort(), onFfmpegSpawn: () => (spawned = true) });
    await expect(promise).rejects.toBeInstanceOf(AudioDecodeAbortedError);
    expect(spawned).toBe(false);
  });

  it("a stalled upload hits the safety timeout → timeout, ffmpeg killed", async () => {
    let pid = 0;
    const err = await expectDecodeError(
      decode(stalledStream(bytesOf("ogg-opus")), { timeoutMs: 300, onFfmpegSpawn: (p) => (pid = p) }),
      "timeout",
    );
    expect(err.message).toMatch(/300 ms/);
    expect(processIsGone(pid)).toBe(true);
  });

  it("an input stream error rejects with that error and kills ffmpeg", async () => {
    const stream = stalledStream(bytesOf("flac"));
    let pid = 0;
    const promise = decode(stream, {
      onFfmpegSpawn: (p) => {
        pid = p;
        setTimeout(() => stream.destroy(new Error("upload aborted by client")), 50);
      },
    });
    await expect(promise).rejects.toThrow("upload aborted by client");
    expect(processIsGone(pid)).toBe(true);
  });

  it("no temp files leak across a mix of successes and failures", async () => {
    const before = await readdir(decodeTempParent);
    await decode(bytesOf("m4a"));
    await decode(chunkedStream(bytesOf("mp4-fragmented")));
    await decode(bytesOf("mp3"));
    await expectDecodeError(decode(bytesOf("m4a").subarray(0, 1000)), "decode_failed");
    await expectDecodeError(decode(await encodeVideoWithoutAudio()), "no_audio_stream");
    expect(await readdir(decodeTempParent)).toEqual(before);
  });
});

describe("ffmpeg binary", () => {
  it("checkFfmpeg reports the bundled ffmpeg's version, with soxr", async () => {
    const info = await checkFfmpeg();
    expect(info.path).toBe(bundledFfmpegPath());
    expect(info.version).toMatch(/\S/);
    expect(info.hasSoxr).toBe(true);
  });

  it("a missing ffmpeg → ffmpeg_unavailable; the environment is not read here (src/config.ts passes the setting)", async () => {
    const missing = join(workDir, "no-such-ffmpeg");
    await expectDecodeError(checkFfmpeg({ ffmpegPath: missing }), "ffmpeg_unavailable");
    await expectDecodeError(decode(bytesOf("wav"), { ffmpegPath: missing }), "ffmpeg_unavailable");
    const saved = process.env[FFMPEG_PATH_ENV];
    process.env[FFMPEG_PATH_ENV] = missing;
    try {
      expect((await checkFfmpeg()).path).toBe(bundledFfmpegPath());
    } finally {
      if (saved === undefined) delete process.env[FFMPEG_PATH_ENV];
      else process.env[FFMPEG_PATH_ENV] = saved;
    }
  });
});
