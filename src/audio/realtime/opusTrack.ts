// A WebRTC call's audio track, as browsers send it (Opus in RTP, 48 kHz clock), to the 16 kHz mono samples a
// realtime session takes. Opus is decoded by libopus compiled to WebAssembly (the `opus-decoder` package: no native
// build, ~220 KB per decoder) straight at 16 kHz: Opus decodes at any of its rates by design (CELT synthesizes only
// the bands below the output's Nyquist frequency, SILK's speech is 16 kHz at most), so no resampler runs, and none of
// its delay is added (measured with Chromium's track: the same VAD turn boundaries as decoding at 48 kHz and
// resampling with the realtime StreamingResampler, and a call's whole process CPU 3.8 % of a core instead of 4.7-5.6 %).
// The RTP timestamps keep the track's timeline: packets
// lost on the way (a gap of up to a second) are filled with silence, a late or repeated packet is dropped, and a longer
// jump (the sender paused) starts the timeline again where it is.
//
// Each packet is measured before it is decoded (opusPacket.ts checks its structure): its caller charges the session's
// speed limit, then decodes it or skips it (the track's clock moves past a skipped packet either way).
import { OpusDecoder } from "opus-decoder";

import { SAMPLE_RATE } from "../../engine/sampleRate.js";
import { opusPacketSamples } from "./opusPacket.js";

/** The RTP clock of Opus (whatever rate it is decoded at). */
export const OPUS_RATE = 48_000;
/** RTP clock ticks per 16 kHz sample (every Opus frame length is a multiple of it). */
const TICKS_PER_SAMPLE = OPUS_RATE / SAMPLE_RATE;
/** The longest gap between packets filled with silence; a longer one restarts the timeline. */
const MAX_GAP_SAMPLES = OPUS_RATE;
/** Bytes of one packet the decoder takes at most (its input buffer: 120 ms at 256 kb/s). */
const MAX_PACKET_BYTES = 3840;

/** One packet of the track, measured: take it (decode) or leave it (skip), once. */
export interface TrackPacket {
  /** Seconds it adds to the track: a gap of lost packets before it, and its own. */
  readonly seconds: number;
  /** Its samples at 16 kHz (the silence of the gap first). */
  decode(): Float32Array;
  /** Not taken: the track's clock moves past it all the same. */
  pass(): void;
}

export class OpusTrackDecoder {
  /** The RTP timestamp the next packet should carry (undefined before the first). */
  private expected: number | undefined;
  private freed = false;

  private constructor(private readonly decoder: OpusDecoder<16000>) {}

  /** A decoder for one track (libopus is instantiated, ~2 ms). */
  static async open(): Promise<OpusTrackDecoder> {
    const decoder = new OpusDecoder({ channels: 1, sampleRate: SAMPLE_RATE });
    await decoder.ready;
    return new OpusTrackDecoder(decoder);
  }

  /** The packet `payload` with RTP timestamp `timestamp`; undefined when it adds nothing (malformed, late, repeated). */
  next(payload: Uint8Array, timestamp: number): TrackPacket | undefined {
    if (this.freed || payload.length > MAX_PACKET_BYTES) return undefined;
    const samples = opusPacketSamples(payload);
    if (samples === 0) return undefined;
    // Signed 32-bit difference: the RTP clock wraps.
    let gap = this.expected === undefined ? 0 : (timestamp - this.expected) | 0;
    if (gap < 0) return undefined;
    if (gap > MAX_GAP_SAMPLES) gap = 0;
    let used = false;
    const use = (): boolean => {
      if (used || this.freed) return false;
      used = true;
      this.expected = (timestamp + samples) >>> 0;
      return true;
    };
    return {
      seconds: (gap + samples) / OPUS_RATE,
      decode: () => (use() ? this.decode(payload, gap, samples) : new Float32Array(0)),
      pass: () => void use(),
    };
  }

  /** Lets go of libopus's memory; later packets are ignored. */
  free(): void {
    if (this.freed) return;
    this.freed = true;
    this.decoder.free();
  }

  /** The packet's 16 kHz samples, after the silence of `gap` (both in RTP clock ticks, 48 kHz). */
  private decode(payload: Uint8Array, gap: number, ticks: number): Float32Array {
    const decoded = this.decoder.decodeFrame(payload);
    const silence = Math.round(gap / TICKS_PER_SAMPLE);
    // A packet libopus refuses after all counts as silence: the timeline keeps its length.
    const length = decoded.samplesDecoded > 0 ? decoded.samplesDecoded : Math.round(ticks / TICKS_PER_SAMPLE);
    const out = new Float32Array(silence + length);
    if (decoded.samplesDecoded > 0) out.set(decoded.channelData[0]!.subarray(0, length), silence);
    return out;
  }
}
