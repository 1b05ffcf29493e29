import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { FFMPEG_DEMUXER, SNIFF_BYTES, needsSeekableInput, sniffFormat } from "../../src/audio/sniffFormat.js";
import { type TestAudioFormat, encodeVideoWithoutAudio, encodeWithFfmpeg, shortSpeech, writeWav } from "../support/speech.js";

const bytes = (...parts: (string | number[] | Uint8Array)[]): Uint8Array =>
  Buffer.concat(parts.map((p) => (typeof p === "string" ? Buffer.from(p, "latin1") : Buffer.from(p))));

const u32be = (n: number) => [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];
const zeros = (n: number) => new Uint8Array(n);

/** Deterministic noise (xorshift), so a chance match can never make the suite flaky. */
function noise(length: number, seed = 0x9e3779b9): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed >>> 0;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

// MPEG-1 layer III, 128 kb/s, 44.1 kHz, no padding: 417-byte frames.
const MP3_FRAME = [0xff, 0xfb, 0x90, 0x64];
const mp3Frame = () => bytes(MP3_FRAME, zeros(417 - 4));
// ADTS, AAC-LC, 44.1 kHz, 2 channels, 100-byte frames.
const adtsFrame = () => bytes([0xff, 0xf1, 0x50, 0x80, (100 >> 3) & 0xff, ((100 & 7) << 5) | 0x1f, 0xfc], zeros(93));

describe("sniffFormat: synthetic headers", () => {
  const cases: [string, Uint8Array, ReturnType<typeof sniffFormat>][] = [
    ["RIFF/WAVE", bytes("RIFF", [0, 0, 0, 0], "WAVEfmt "), "wav"],
    ["RF64/WAVE", bytes("RF64", [0xff, 0xff, 0xff, 0xff], "WAVEds64"), "wav"],
    ["RIFF/AVI is not audio", bytes("RIFF", [0, 0, 0, 0], "AVI LIST"), null],
    ["fLaC", bytes("fLaC", [0, 0, 0, 34]), "flac"],
    ["ID3v2.4 then mp3 frames", bytes("ID3", [4, 0, 0, 0, 0, 0, 0], mp3Frame()), "mp3"],
    ["ID3v2.3 larger than the sniffed window", bytes("ID3", [3, 0, 0, 0x7f, 0x7f, 0x7f, 0x7f], zeros(100)), "mp3"],
    ["ID3v2 then fLaC", bytes("ID3", [3, 0, 0, 0, 0, 0, 10], zeros(10), "fLaC", [0, 0, 0, 34]), "flac"],
    ["bare MPEG audio frame", mp3Frame(), "mp3"],
    ["mp3 after leading junk (two consecutive frames)", bytes(zeros(37), mp3Frame(), mp3Frame()), "mp3"],
    ["MPEG-2.5 layer III (8 kHz)", bytes([0xff, 0xe3, 0x18, 0xc4], zeros(60)), "mp3"],
    ["ADTS AAC", bytes(adtsFrame(), adtsFrame()), "aac"],
    ["OggS", bytes("OggS", [0, 2], zeros(20)), "ogg"],
    ["EBML webm", bytes([0x1a, 0x45, 0xdf, 0xa3, 0x9f, 0x42, 0x86, 0x81, 0x01, 0x42, 0x82, 0x84], "webm"), "webm"],
    ["EBML matroska", bytes([0x1a, 0x45, 0xdf, 0xa3, 0xa3, 0x42, 0x82, 0x88], "matroska"), "matroska"],
    ["ftyp isom", bytes(u32be(24), "ftypisom", [0, 0, 2, 0], "isomiso2"), "mp4"],
    ["ftyp M4A", bytes(u32be(32), "ftypM4A ", zeros(20)), "mp4"],
    ["ftyp qt (mov)", bytes(u32be(20), "ftypqt  ", zeros(8)), "mp4"],
    ["ftyp 3gp", bytes(u32be(24), "ftyp3gp4", zeros(12)), "mp4"],
    ["QuickTime without ftyp (mdat first)", bytes(u32be(1000), "mdat", zeros(16)), "mp4"],
    ["AIFF", bytes("FORM", u32be(100), "AIFFCOMM"), "aiff"],
    ["AIFF-C", bytes("FORM", u32be(100), "AIFCFVER"), "aiff"],
    ["CAF", bytes("caff", [0, 1, 0, 0]), "caf"],
    ["MPEG program stream", bytes([0, 0, 1, 0xba], zeros(20)), "mpeg-ps"],
    ["MPEG transport stream", bytes(...[0, 1, 2].map(() => bytes([0x47], zeros(187)))), "mpeg-ts"],
    ["plain text", bytes("Hello, this is not audio at all.\n"), null],
    ["JSON", bytes('{"file": "speech.mp3"}'), null],
    ["PNG", bytes([0x89], "PNG\r\n\x1a\n", zeros(20)), null],
    ["PDF", bytes("%PDF-1.7\n", zeros(100)), null],
    ["HLS playlist (never let ffmpeg follow URLs)", bytes("#EXTM3U\n#EXT-X-VERSION:3\nhttp://example.com/a.ts\n"), null],
    ["empty", new Uint8Array(0), null],
    ["three bytes", bytes("ID3"), null],
    ["noise", noise(SNIFF_BYTES), null],
    ["zeros", zeros(SNIFF_BYTES), null],
  ];
  it.each(cases)("%s", (_name, head, expected) => {
    expect(sniffFormat(head)).toBe(expected);
  });

  it("never calls a few random bytes after a sync word mp3 unless a second frame follows", () => {
    const junk = bytes(zeros(10), MP3_FRAME, noise(2000, 7));
    expect(sniffFormat(junk)).toBeNull();
  });

  it("maps every format to an ffmpeg demuxer, and knows which need a seekable input", () => {
    expect(FFMPEG_DEMUXER.webm).toBe("matroska");
    expect(FFMPEG_DEMUXER.mp4).toBe("mov");
    expect(needsSeekableInput("mp4")).toBe(true);
    expect(needsSeekableInput("mp3")).toBe(true);
    expect(needsSeekableInput("ogg")).toBe(false);
    expect(needsSeekableInput("webm")).toBe(false);
  });
});

describe("sniffFormat: real encoder output", () => {
  let dir: string;
  let wavPath: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "earshot-sniff-test-"));
    const speech = await shortSpeech();
    wavPath = join(dir, "speech.wav");
    await writeWav(wavPath, speech.samples.subarray(0, speech.sampleRate), speech.sampleRate);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const expected: Record<TestAudioFormat, ReturnType<typeof sniffFormat>> = {
    wav: "wav",
    "wav-44k-stereo": "wav",
    flac: "flac",
    mp3: "mp3",
    "aac-adts": "aac",
    mp4: "mp4",
    m4a: "mp4",
    "mp4-fragmented": "mp4",
    "ogg-vorbis": "ogg",
    "ogg-opus": "ogg",
    "webm-opus": "webm",
  };
  it.each(Object.entries(expected) as [TestAudioFormat, string][])("%s → %s", async (format, detected) => {
    const encoded = await encodeWithFfmpeg(wavPath, format);
    expect(sniffFormat(encoded.subarray(0, SNIFF_BYTES))).toBe(detected);
  });

  it("an H.264 mp4 without audio is still an mp4 (the decoder reports the missing audio)", async () => {
    expect(sniffFormat(await encodeVideoWithoutAudio())).toBe("mp4");
  });
});
