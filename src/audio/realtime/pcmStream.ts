// Raw PCM as a stream of byte chunks (a Wyoming connection's audio-chunk payloads): signed 16-bit little-endian
// samples, interleaved channels mixed down to mono, resampled to 16 kHz by the realtime StreamingResampler (the one
// the WebSocket's appends go through). Chunks may split a frame: the bytes of an incomplete frame wait for the next.
import { SAMPLE_RATE } from "../../engine/sampleRate.js";
import { StreamingResampler } from "./streamingResampler.js";

/** What the stream's header says of its audio. */
export interface PcmFormat {
  rate: number;
  /** Bytes per sample: only 2 (PCM16) is taken. */
  width: number;
  channels: number;
}

/** The formats taken: 16-bit samples, 8 to 48 kHz (Wyoming's clients send 16 kHz), 1 to 8 channels. */
export const PCM_STREAM_LIMITS = { minRate: 8_000, maxRate: 48_000, width: 2, maxChannels: 8 } as const;

/** Why `format` is not taken (a sentence), or undefined when it is. */
export function pcmFormatProblem(format: { rate?: unknown; width?: unknown; channels?: unknown }): string | undefined {
  const { rate, width, channels } = format;
  if (typeof rate !== "number" || !Number.isInteger(rate) || rate < PCM_STREAM_LIMITS.minRate || rate > PCM_STREAM_LIMITS.maxRate) {
    return `rate ${JSON.stringify(rate)} is not an integer from ${PCM_STREAM_LIMITS.minRate} to ${PCM_STREAM_LIMITS.maxRate} Hz`;
  }
  if (width !== PCM_STREAM_LIMITS.width) return `width ${JSON.stringify(width)} is not 2 (16-bit samples are taken)`;
  if (typeof channels !== "number" || !Number.isInteger(channels) || channels < 1 || channels > PCM_STREAM_LIMITS.maxChannels) {
    return `channels ${JSON.stringify(channels)} is not an integer from 1 to ${PCM_STREAM_LIMITS.maxChannels}`;
  }
  return undefined;
}

export class PcmStreamDecoder {
  private readonly resampler: StreamingResampler;
  private readonly frameBytes: number;
  /** Bytes of a frame split across chunks. */
  private carry = Buffer.alloc(0);
  /** Frames taken so far. */
  private frames = 0;

  /** `format` must be one {@link pcmFormatProblem} takes. */
  constructor(readonly format: PcmFormat) {
    this.frameBytes = format.width * format.channels;
    this.resampler = new StreamingResampler({ inputRate: format.rate, outputRate: SAMPLE_RATE });
  }

  /** Seconds of audio taken so far. */
  get seconds(): number {
    return this.frames / this.format.rate;
  }

  /** Seconds of audio `bytes` more would add (with the bytes of a split frame waiting). */
  secondsIn(bytes: number): number {
    return Math.floor((this.carry.length + bytes) / this.frameBytes) / this.format.rate;
  }

  /** Takes `bytes`; returns the 16 kHz samples now determined. */
  push(bytes: Buffer): Float32Array {
    const all = this.carry.length > 0 ? Buffer.concat([this.carry, bytes]) : bytes;
    const frameCount = Math.floor(all.length / this.frameBytes);
    this.carry = Buffer.from(all.subarray(frameCount * this.frameBytes));
    if (frameCount === 0) return new Float32Array(0);
    const { channels } = this.format;
    const mono = new Float32Array(frameCount);
    for (let frame = 0; frame < frameCount; frame++) {
      let sum = 0;
      for (let channel = 0; channel < channels; channel++) sum += all.readInt16LE((frame * channels + channel) * 2);
      mono[frame] = sum / channels / 32768;
    }
    this.frames += frameCount;
    return this.resampler.push(mono);
  }

  /** The stream ends: the resampler's last samples (a split frame's bytes are dropped). */
  flush(): Float32Array {
    this.carry = Buffer.alloc(0);
    return this.resampler.flush();
  }
}
