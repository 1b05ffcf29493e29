// decodeAudio with channels "separate" (real FFmpeg): each channel its own array, in the input's order, held to the
// duration cap per channel and to one memory grant for all of them; maxChannels; keepInput (a multi-channel stream
// copied to a temp file for a second decode, a mono one not kept); the channel count of ffmpeg's layout names.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Readable } from "node:stream";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { AudioDecodeError, AudioMemoryError, decodeAudio } from "../../src/audio/index.js";
import { channelCountOfLayout } from "../../src/audio/ffmpeg/ffmpegLog.js";
import { encodeMultichannelWav, encodeWav } from "../support/speech.js";

const RATE = 44_100;
let tempDir: string;

beforeAll(() => {
  tempDir = fs.mkdtempSync(path.join(os.tmpdir(), "earshot-decode-channels-"));
});
afterAll(() => {
  if (tempDir) fs.rmSync(tempDir, { recursive: true, force: true });
});

function sine(hz: number, seconds: number, rate = RATE): Float32Array {
  const out = new Float32Array(Math.round(seconds * rate));
  for (let i = 0; i < out.length; i++) out[i] = 0.5 * Math.sin((2 * Math.PI * hz * i) / rate);
  return out;
}

/** Frequency from zero crossings. */
function frequency(samples: Float32Array, rate = 16_000): number {
  let crossings = 0;
  for (let i = 1; i < samples.length; i++) if (samples[i - 1]! < 0 !== samples[i]! < 0) crossings++;
  return crossings / 2 / (samples.length / rate);
}

/** The bytes as an upload delivers them: a stream of 64 KiB chunks. */
function upload(bytes: Buffer): Readable {
  const chunks: Buffer[] = [];
  for (let offset = 0; offset < bytes.length; offset += 65_536) chunks.push(bytes.subarray(offset, offset + 65_536));
  return Readable.from(chunks, { objectMode: false });
}

const threeChannels = () => encodeMultichannelWav([sine(300, 2), sine(600, 2), sine(1200, 2)], RATE);

describe('channels: "separate"', () => {
  it("gives each channel its own array at 16 kHz, in the input's order; the mix is one", async () => {
    const wav = threeChannels();
    const separate = await decodeAudio(upload(wav), { channels: "separate" });
    expect(separate.channels).toHaveLength(3);
    expect(separate.inputChannels).toBe(3);
    expect(separate.samples).toBe(separate.channels[0]);
    expect(separate.duration).toBeCloseTo(2, 2);
    for (const channel of separate.channels) expect(channel.length).toBe(separate.channels[0]!.length);
    expect(separate.channels.map((c) => Math.round(frequency(c) / 10) * 10)).toEqual([300, 600, 1200]);
    const mix = await decodeAudio(wav);
    expect(mix.channels).toEqual([mix.samples]);
    expect(mix.inputChannels).toBe(3);
    // Mono input: one channel either way.
    const mono = await decodeAudio(encodeWav(sine(440, 1), RATE), { channels: "separate" });
    expect(mono.channels).toHaveLength(1);
    expect(mono.inputChannels).toBe(1);
  });

  it("holds each channel to the duration cap (not the interleaved samples), and all of them to one memory grant", async () => {
    const stereo = encodeMultichannelWav([sine(300, 3), sine(600, 3)], RATE);
    await expect(decodeAudio(stereo, { channels: "separate", maxDurationSeconds: 3.5 })).resolves.toMatchObject({ duration: expect.closeTo(3, 2) });
    const tooLong = await decodeAudio(upload(stereo), { channels: "separate", maxDurationSeconds: 2 }).catch((e: unknown) => e);
    expect(tooLong).toBeInstanceOf(AudioDecodeError);
    expect((tooLong as AudioDecodeError).code).toBe("too_long");

    let granted = 0;
    const decoded = await decodeAudio(upload(stereo), { channels: "separate", memory: { ensure: (bytes) => ((granted = Math.max(granted, bytes)), true) } });
    const heldBytes = decoded.channels.reduce((sum, c) => sum + c.byteLength, 0);
    expect(granted).toBeGreaterThanOrEqual(heldBytes);
    // Blocks and the joined arrays at most (no declared length in a stream of wav: nothing reserved up front).
    expect(granted).toBeLessThanOrEqual(2 * heldBytes + 2 * 160_000 * 4 * 2);
    const refused = await decodeAudio(upload(stereo), { channels: "separate", memory: { ensure: (bytes) => bytes <= 3 * 16_000 * 4 } }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(AudioMemoryError);
  });

  it("refuses more channels than maxChannels, saying how many", async () => {
    const error = await decodeAudio(threeChannels(), { channels: "separate", maxChannels: 2 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AudioDecodeError);
    expect((error as AudioDecodeError).code).toBe("too_many_channels");
    expect((error as Error).message).toMatch(/3 channels; at most 2/);
  });

  it("does not take onSamples", async () => {
    await expect(decodeAudio(threeChannels(), { channels: "separate", onSamples: () => undefined })).rejects.toThrow(RangeError);
  });
});

describe("keepInput", () => {
  it("keeps a multi-channel stream on disk for a decode of its channels, until released", async () => {
    const decoded = await decodeAudio(upload(threeChannels()), { keepInput: true, tempDir });
    expect(decoded.channels).toHaveLength(1);
    expect(decoded.keptInput).toBeDefined();
    expect(fs.readdirSync(tempDir)).toHaveLength(1);
    const again = await decoded.keptInput!.decode({ channels: "separate" });
    expect(again.channels.map((c) => Math.round(frequency(c) / 10) * 10)).toEqual([300, 600, 1200]);
    await decoded.keptInput!.release();
    expect(fs.readdirSync(tempDir)).toEqual([]);
    await expect(decoded.keptInput!.decode()).rejects.toThrow(/released/);
  });

  it("keeps nothing of a mono input", async () => {
    const decoded = await decodeAudio(upload(encodeWav(sine(440, 2), RATE)), { keepInput: true, tempDir });
    expect(decoded.keptInput).toBeUndefined();
    expect(fs.readdirSync(tempDir)).toEqual([]);
  });

  it("removes the copy when the decode fails", async () => {
    const error = await decodeAudio(upload(threeChannels()), { keepInput: true, tempDir, maxDurationSeconds: 1 }).catch((e: unknown) => e);
    expect((error as AudioDecodeError).code).toBe("too_long");
    expect(fs.readdirSync(tempDir)).toEqual([]);
  });
});

describe("channelCountOfLayout", () => {
  it("reads ffmpeg's layout names", () => {
    const cases: Array<[string, number | undefined]> = [
      ["mono", 1],
      ["stereo", 2],
      ["2.1", 3],
      ["quad(side)", 4],
      ["5.1(side)", 6],
      ["7.1(wide)", 8],
      ["5.1.2", 8],
      ["3 channels", 3],
      ["4 channels (FL+FR+LFE+BC)", 4],
      ["1 channels", 1],
      ["hexagonal", 6],
      ["ambisonic 1", undefined],
    ];
    for (const [layout, count] of cases) expect(channelCountOfLayout(layout), layout).toBe(count);
  });
});
