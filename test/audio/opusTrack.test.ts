// A WebRTC call's audio track to 16 kHz: Opus packet structure checked as RFC 6716 §3 says (the durations the speed
// limit charges before decoding), and the track decoder on real libopus (WebAssembly, decoding at 16 kHz): durations,
// lost packets filled from the RTP timestamps, late and repeated packets dropped, skipped packets moving the clock on,
// a paused sender.
import { describe, expect, it } from "vitest";

import { opusPacketSamples } from "../../src/audio/realtime/opusPacket.js";
import { OpusTrackDecoder } from "../../src/audio/realtime/opusTrack.js";

/** TOC byte: configuration (0-31), stereo flag, frame count code (0-3). */
const toc = (config: number, code: number) => (config << 3) | code;
/** An Opus CELT fullband 20-ms frame that decodes to silence (what browsers send for a muted track). */
const SILENCE = Uint8Array.of(0xf8, 0xff, 0xfe);

describe("opusPacketSamples", () => {
  it("gives each configuration's frame length, for one frame", () => {
    expect(opusPacketSamples(Uint8Array.of(toc(0, 0), 1))).toBe(480); // SILK NB 10 ms
    expect(opusPacketSamples(Uint8Array.of(toc(3, 0), 1))).toBe(2880); // SILK NB 60 ms
    expect(opusPacketSamples(Uint8Array.of(toc(13, 0), 1))).toBe(960); // hybrid SWB 20 ms
    expect(opusPacketSamples(Uint8Array.of(toc(16, 0), 1))).toBe(120); // CELT 2.5 ms
    expect(opusPacketSamples(SILENCE)).toBe(960);
    // A frame of no bytes is allowed (the decoder conceals it); a frame over 1275 bytes is not.
    expect(opusPacketSamples(Uint8Array.of(toc(31, 0)))).toBe(960);
    expect(opusPacketSamples(new Uint8Array(1277).fill(toc(31, 0), 0, 1))).toBe(0);
    expect(opusPacketSamples(new Uint8Array(0))).toBe(0);
  });

  it("checks two-frame packets' lengths (codes 1 and 2)", () => {
    expect(opusPacketSamples(Uint8Array.of(toc(31, 1), 1, 2))).toBe(1920);
    expect(opusPacketSamples(Uint8Array.of(toc(31, 1), 1, 2, 3))).toBe(0); // odd: two equal frames cannot
    expect(opusPacketSamples(Uint8Array.of(toc(31, 2), 2, 9, 9, 7))).toBe(1920); // first frame 2 bytes, second 1
    expect(opusPacketSamples(Uint8Array.of(toc(31, 2), 5, 9, 9))).toBe(0); // first frame longer than the packet
    expect(opusPacketSamples(Uint8Array.of(toc(31, 2), 252))).toBe(0); // a two-byte length cut short
  });

  it("checks code 3 packets: frame count, padding, CBR and VBR lengths, at most 120 ms", () => {
    expect(opusPacketSamples(Uint8Array.of(toc(31, 3), 3, 1, 2, 3))).toBe(2880); // CBR, 3 frames of 1 byte
    expect(opusPacketSamples(Uint8Array.of(toc(31, 3), 3, 1, 2))).toBe(0); // 2 bytes do not split in 3
    expect(opusPacketSamples(Uint8Array.of(toc(31, 3), 0))).toBe(0); // no frame
    expect(opusPacketSamples(Uint8Array.of(toc(31, 3), 7, ...new Array<number>(7).fill(1)))).toBe(0); // 140 ms
    expect(opusPacketSamples(Uint8Array.of(toc(31, 3), 0x40 | 2, 2, 1, 1, 0, 0))).toBe(1920); // 2 bytes of padding
    expect(opusPacketSamples(Uint8Array.of(toc(31, 3), 0x40 | 2, 9, 1, 1))).toBe(0); // padding past the end
    expect(opusPacketSamples(Uint8Array.of(toc(31, 3), 0x80 | 2, 1, 5, 6, 6))).toBe(1920); // VBR: 1 byte, then 2
    expect(opusPacketSamples(Uint8Array.of(toc(31, 3), 0x80 | 2, 4, 5))).toBe(0); // VBR: first frame past the end
  });
});

describe("OpusTrackDecoder", () => {
  it("decodes packets to 16 kHz, fills lost packets with silence, drops late ones, and moves on past skipped ones", async () => {
    const decoder = await OpusTrackDecoder.open();
    try {
      let out = 0;
      let seconds = 0;
      const take = (timestamp: number) => {
        const packet = decoder.next(SILENCE, timestamp);
        expect(packet, `packet at ${timestamp}`).toBeDefined();
        seconds += packet!.seconds;
        const samples = packet!.decode();
        // At 16 kHz, as long as the packet (and the gap before it) on the RTP clock.
        expect(samples).toHaveLength(Math.round(packet!.seconds * 16_000));
        expect(samples.every((sample) => Math.abs(sample) < 1e-3)).toBe(true);
        out += samples.length;
        return packet!.seconds;
      };
      // The RTP clock may start anywhere, and wraps.
      const start = 0xffff_ffff - 960 * 3;
      expect(take(start)).toBeCloseTo(0.02, 6);
      expect(take((start + 960) >>> 0)).toBeCloseTo(0.02, 6);
      // Two packets lost: their 40 ms come as silence before the next one.
      expect(take((start + 960 * 4) >>> 0)).toBeCloseTo(0.06, 6);
      // Late, repeated or malformed: nothing added.
      expect(decoder.next(SILENCE, (start + 960 * 2) >>> 0)).toBeUndefined();
      expect(decoder.next(SILENCE, (start + 960 * 4) >>> 0)).toBeUndefined();
      expect(decoder.next(Uint8Array.of(toc(31, 1), 1, 2, 3), (start + 960 * 5) >>> 0)).toBeUndefined();
      // A skipped packet (dropped by the session) moves the clock: the next one has no gap before it.
      const skipped = decoder.next(SILENCE, (start + 960 * 5) >>> 0);
      expect(skipped?.seconds).toBeCloseTo(0.02, 6);
      skipped!.pass();
      expect(skipped!.decode()).toHaveLength(0);
      expect(take((start + 960 * 6) >>> 0)).toBeCloseTo(0.02, 6);
      // A sender that paused for 5 s starts a new stretch: the pause is not filled.
      expect(take((start + 960 * 7 + 48_000 * 5) >>> 0)).toBeCloseTo(0.02, 6);
      expect(out).toBe(Math.round(seconds * 16_000));
    } finally {
      decoder.free();
    }
    // Freed: later packets are ignored.
    expect(decoder.next(SILENCE, 0)).toBeUndefined();
  });
});
