// Where the decoder's output goes: the mono mix kept (and handed on), the mix only handed on, or the channels kept
// apart. Each sink holds the samples to the duration cap and asks the memory budget before it allocates.

import type { ChannelSplitter } from "./channelSplitter.js";
import type { PcmAccumulator } from "./pcmAccumulator.js";

/** Where ffmpeg's stdout goes: the mono mix, or the channels separated. */
export interface SampleSink {
  push(chunk: Uint8Array): "ok" | "too_long" | "over_budget" | "too_many_channels" | { error: Error };
  reserve(samples: number): boolean;
  /** Samples (per channel) so far. */
  readonly sampleCount: number;
  readonly allocatedBytes: number;
  /** Undefined until known (separated output). */
  readonly channelCount: number | undefined;
  finish(): Float32Array[] | "over_budget";
  /** What the receiver of the samples asks the decoder to wait for (then ffmpeg's output is not read), if anything. */
  backPressure?(): Promise<void> | undefined;
}

export class MixSink implements SampleSink {
  readonly channelCount = 1;
  constructor(private readonly pcm: PcmAccumulator) {}
  push(chunk: Uint8Array) {
    return this.pcm.push(chunk);
  }
  reserve(samples: number): boolean {
    return this.pcm.reserve(samples);
  }
  get sampleCount(): number {
    return this.pcm.sampleCount;
  }
  get allocatedBytes(): number {
    return this.pcm.allocatedBytes;
  }
  finish(): Float32Array[] | "over_budget" {
    const samples = this.pcm.finish();
    return samples === "over_budget" ? samples : [samples];
  }
}

/** Hands the samples on as they come and keeps none (`retainSamples: false`). */
export class PassOnSink implements SampleSink {
  readonly channelCount = 1;
  readonly allocatedBytes = 0;
  private count = 0;
  /** Bytes of a sample split across two chunks of ffmpeg's output. */
  private partial = new Uint8Array(0);
  private waiting: Promise<void> | undefined;

  constructor(
    private readonly maxSamples: number,
    private readonly onSamples: (samples: Float32Array) => unknown,
  ) {}

  backPressure(): Promise<void> | undefined {
    const waiting = this.waiting;
    this.waiting = undefined;
    return waiting;
  }

  get sampleCount(): number {
    return this.count;
  }

  push(chunk: Uint8Array) {
    const bytes = this.partial.length > 0 ? Buffer.concat([this.partial, chunk]) : chunk;
    const whole = Math.floor(bytes.length / 4);
    if (this.count + whole > this.maxSamples) return "too_long" as const;
    this.partial = bytes.slice(whole * 4);
    if (whole === 0) return "ok" as const;
    const samples = new Float32Array(whole);
    const view = new DataView(bytes.buffer, bytes.byteOffset, whole * 4);
    for (let i = 0; i < whole; i++) samples[i] = view.getFloat32(i * 4, true);
    this.count += whole;
    const wait = this.onSamples(samples);
    if (wait instanceof Promise) this.waiting = wait.then(() => undefined);
    return "ok" as const;
  }

  reserve(): boolean {
    return true;
  }

  finish(): Float32Array[] {
    return [new Float32Array(0)];
  }
}

export class SeparateSink implements SampleSink {
  constructor(private readonly splitter: ChannelSplitter) {}
  push(chunk: Uint8Array) {
    return this.splitter.push(chunk);
  }
  reserve(samples: number): boolean {
    return this.splitter.reserve(samples);
  }
  get sampleCount(): number {
    return this.splitter.sampleCount;
  }
  get allocatedBytes(): number {
    return this.splitter.allocatedBytes;
  }
  get channelCount(): number | undefined {
    return this.splitter.channelCount;
  }
  finish(): Float32Array[] | "over_budget" {
    return this.splitter.finish();
  }
}
