// A WebRTC call's audio track, as browsers send it (Opus in RTP, 48 kHz clock), to the 16 kHz mono samples a
// realtime session takes. Opus is decoded by libopus compiled to WebAssembly (the `opus-decoder` package: no native
// build, ~220 KB per decoder) at its native 48 kHz, then resampled to 16 kHz by the realtime input's own
// StreamingResampler (the same filter as a 24 kHz PCM append). The RTP timestamps keep the track's timeline: packets
// lost on the way (a gap of up to a second) are filled with silence, a late or repeated packet is dropped, and a longer
// jump (the sender paused) starts the timeline again where it is.
//
// Each packet is measured before it is decoded (opusPacket.ts checks its structure): its caller charges the session's
// speed limit, then decodes it or skips it (the track's clock moves past a skipped packet either way).
import { OpusDecoder } from "opus-decoder";

import { SAMPLE_RATE } from "../../engine/sampleRate.js";
import { opusPacketSamples } from "./opusPacket.js";
import { StreamingResampler } from "./streamingResampler.js";

/** The RTP clock and decoding rate of Opus. */
export const OPUS_RATE = 48_000;
/** The longest gap between packets filled with silence; a longer one restarts the timeline. */
const MAX_GAP_SAMPLES = OPUS_RATE;
/** Bytes of one packet the decoder takes at most (its input buffer: 120 ms at 256 kb/s). */
const MAX_PACKET_BYTES = 3840;

/** One packet of the track, measured: take it (decode) or leave it (skip), once. */
export interface TrackPacket {
  /** Seconds it adds to the track: a gap of lost packets before it, and its own. */
  readonly seconds: number;
  /** Its samples at 16 kHz (the silence of the gap first); some may come with the next packet (the resampler's delay). */
  decode(): Float32Array;
  /** Not taken: the track's clock moves past it all the same. */
  skip(): void;
}

export class OpusTrackDecoder {
  private readonly resampler = new StreamingResampler({ inputRate: OPUS_RATE, outputRate: SAMPLE_RATE });
  /** The RTP timestamp the next packet should carry (undefined before the first). */
  private expected: number | undefined;
  private freed = false;

  private constructor(private readonly decoder: OpusDecoder<undefined>) {}

  /** A decoder for one track (libopus is instantiated, ~2 ms). */
  static async open(): Promise<OpusTrackDecoder> {
    const decoder = new OpusDecoder({ channels: 1 });
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
      skip: () => void use(),
    };
  }

  /** Lets go of libopus's memory; later packets are ignored. */
  free(): void {
    if (this.freed) return;
    this.freed = true;
    this.decoder.free();
  }

  private decode(payload: Uint8Array, gap: number, samples: number): Float32Array {
    const decoded = this.decoder.decodeFrame(payload);
    // A packet libopus refuses after all counts as silence: the timeline keeps its length.
    const pcm = decoded.samplesDecoded > 0 ? decoded.channelData[0]!.subarray(0, decoded.samplesDecoded) : new Float32Array(samples);
    if (gap === 0) return this.resampler.push(pcm);
    const joined = new Float32Array(gap + pcm.length);
    joined.set(pcm, gap);
    return this.resampler.push(joined);
  }
}
