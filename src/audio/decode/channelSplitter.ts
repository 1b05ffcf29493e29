// Decoded audio kept one array per channel: ffmpeg writes the input's own channels, interleaved, as a 32-bit float
// WAV on its stdout; the header says how many channels there are (in-band, before the first sample, whatever the
// order in which stdout and stderr are read), and every frame is split into one PcmAccumulator per channel, so
// each channel is held to the same duration cap, and all of them together to the same memory grant, as mono audio.
import type { AudioMemoryGrant } from "../memoryBudget.js";
import { PcmAccumulator, type PcmPushResult } from "./pcmAccumulator.js";

/** A WAV header longer than this is not ffmpeg's. */
const MAX_HEADER_BYTES = 64 * 1024;
const WAVE_FORMAT_IEEE_FLOAT = 3;
const WAVE_FORMAT_EXTENSIBLE = 0xfffe;

export interface WavStreamFormat {
  channels: number;
  sampleRate: number;
  /** Bytes of the header, up to the first sample. */
  headerBytes: number;
}

/**
 * Reads the header of a streamed WAV (sizes may be 0xFFFFFFFF: unknown): the fmt chunk, any chunks before `data`.
 * Undefined while more bytes are needed; throws for anything but 32-bit float samples.
 */
export function readWavStreamHeader(bytes: Uint8Array): WavStreamFormat | undefined {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const tag = (at: number) => String.fromCharCode(bytes[at]!, bytes[at + 1]!, bytes[at + 2]!, bytes[at + 3]!);
  if (bytes.length < 12) return undefined;
  if (!["RIFF", "RF64"].includes(tag(0)) || tag(8) !== "WAVE") throw new Error("the decoder's output is not a WAV stream");
  let format: Omit<WavStreamFormat, "headerBytes"> | undefined;
  let offset = 12;
  for (;;) {
    if (offset + 8 > bytes.length) return undefined;
    const id = tag(offset);
    const size = view.getUint32(offset + 4, true);
    if (id === "data") {
      if (!format) throw new Error("the decoder's WAV output has no fmt chunk before its data");
      return { ...format, headerBytes: offset + 8 };
    }
    if (id === "fmt ") {
      if (offset + 8 + Math.min(size, 26) > bytes.length) return undefined;
      let formatTag = view.getUint16(offset + 8, true);
      const channels = view.getUint16(offset + 10, true);
      const sampleRate = view.getUint32(offset + 12, true);
      const bitsPerSample = view.getUint16(offset + 22, true);
      // WAVE_FORMAT_EXTENSIBLE: the real format is the first two bytes of the sub-format GUID.
      if (formatTag === WAVE_FORMAT_EXTENSIBLE && size >= 26) formatTag = view.getUint16(offset + 8 + 24, true);
      if (formatTag !== WAVE_FORMAT_IEEE_FLOAT || bitsPerSample !== 32 || channels < 1) {
        throw new Error(`the decoder's WAV output is not 32-bit float (format ${formatTag}, ${bitsPerSample} bits, ${channels} channels)`);
      }
      format = { channels, sampleRate };
    }
    offset += 8 + size + (size & 1);
    if (offset > MAX_HEADER_BYTES) throw new Error("the decoder's WAV output has no data chunk in its first 64 KB");
  }
}

export type SplitPushResult = PcmPushResult | "too_many_channels" | { error: Error };

/**
 * ffmpeg's interleaved float WAV, one {@link PcmAccumulator} per channel. Every accumulator holds at most
 * `maxSamples` (per channel, as for mono audio), and asks the shared grant for the memory of all of them together.
 */
export class ChannelSplitter {
  private header: Uint8Array = new Uint8Array(0);
  private channels: PcmAccumulator[] | undefined;
  /** Bytes of the last incomplete frame. */
  private remainder: Uint8Array = new Uint8Array(0);
  private pendingReserve: number | undefined;
  private declaredChannels: number | undefined;
  private readonly allocatedByChannel: number[] = [];

  constructor(
    private readonly maxSamples: number,
    private readonly memory?: AudioMemoryGrant,
    /** More channels than this: "too_many_channels" (nothing allocated). */
    private readonly maxChannels = Number.POSITIVE_INFINITY,
  ) {}

  /** The channel count, once the header has been read (also when there were too many). */
  get channelCount(): number | undefined {
    return this.declaredChannels;
  }

  /** Samples per channel received so far. */
  get sampleCount(): number {
    return this.channels?.[0]?.sampleCount ?? 0;
  }

  /** Sample memory allocated for every channel together. */
  get allocatedBytes(): number {
    return this.channels?.reduce((sum, channel) => sum + channel.allocatedBytes, 0) ?? 0;
  }

  /**
   * Room for `samples` per channel, in one block each (the length the container declares); applied once the channel
   * count is known when it is not yet. False when the grant refuses.
   */
  reserve(samples: number): boolean {
    if (!this.channels) {
      this.pendingReserve = samples;
      return true;
    }
    return this.channels.every((channel) => channel.reserve(samples));
  }

  push(chunk: Uint8Array): SplitPushResult {
    let data = chunk;
    if (!this.channels) {
      this.header = concat(this.header, chunk);
      let format: WavStreamFormat | undefined;
      try {
        format = readWavStreamHeader(this.header);
      } catch (error) {
        return { error: error as Error };
      }
      if (!format) return "ok";
      this.declaredChannels = format.channels;
      if (format.channels > this.maxChannels) {
        this.channels = [];
        return "too_many_channels";
      }
      this.channels = Array.from({ length: format.channels }, (_, index) => new PcmAccumulator(this.maxSamples, undefined, this.grantFor(index)));
      data = this.header.subarray(format.headerBytes);
      this.header = new Uint8Array(0);
      if (this.pendingReserve !== undefined && !this.reserve(this.pendingReserve)) return "over_budget";
    }
    return this.split(data);
  }

  /** One array per channel (each as {@link PcmAccumulator.finish} gives it), or "over_budget". */
  finish(): Float32Array[] | "over_budget" {
    const out: Float32Array[] = [];
    for (const channel of this.channels ?? []) {
      const samples = channel.finish();
      if (samples === "over_budget") return "over_budget";
      out.push(samples);
    }
    return out;
  }

  /** Channel `index`'s view of the shared grant: the memory of every channel, its own new total included. */
  private grantFor(index: number): AudioMemoryGrant | undefined {
    const memory = this.memory;
    if (!memory) return undefined;
    this.allocatedByChannel[index] = 0;
    return {
      ensure: (bytes) => {
        const others = this.allocatedByChannel.reduce((sum, held, i) => (i === index ? sum : sum + held), 0);
        if (!memory.ensure(others + bytes)) return false;
        this.allocatedByChannel[index] = Math.max(this.allocatedByChannel[index] ?? 0, bytes);
        return true;
      },
    };
  }

  /** Splits whole frames (4 bytes a sample, byte for byte: the accumulators read little-endian) into the channels. */
  private split(chunk: Uint8Array): SplitPushResult {
    const channels = this.channels!;
    if (channels.length === 0) return "too_many_channels";
    const frameBytes = channels.length * 4;
    const bytes = this.remainder.length > 0 ? concat(this.remainder, chunk) : chunk;
    const frames = Math.floor(bytes.length / frameBytes);
    // An aligned copy of the whole frames, read as 32-bit words (byte order kept as is).
    const words = new Uint32Array(frames * channels.length);
    new Uint8Array(words.buffer).set(bytes.subarray(0, frames * frameBytes));
    this.remainder = bytes.slice(frames * frameBytes);
    if (frames === 0) return "ok";
    for (let c = 0; c < channels.length; c++) {
      const out = new Uint32Array(frames);
      for (let i = 0, j = c; i < frames; i++, j += channels.length) out[i] = words[j]!;
      const pushed = channels[c]!.push(new Uint8Array(out.buffer));
      if (pushed !== "ok") return pushed;
    }
    return "ok";
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}
