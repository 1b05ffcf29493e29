// The Wyoming framing and the PCM stream decoder, without a server: events split at every byte boundary come out
// whole and the same; data in the header line and in the data block merge; each framing error is refused; PCM chunks
// that split frames decode to the same 16 kHz samples as one chunk, and stereo mixes down.
import { describe, expect, it } from "vitest";

import { PcmStreamDecoder, pcmFormatProblem } from "../../src/audio/realtime/pcmStream.js";
import { encodeWyomingEvent, WyomingProtocolError, WyomingReader } from "../../src/server/wyoming/wyomingFraming.js";

const bounds = { maxHeaderBytes: 256, maxDataBytes: 128, maxPayloadBytes: 64 };

describe("WyomingReader", () => {
  const wire = Buffer.concat([
    encodeWyomingEvent("describe"),
    encodeWyomingEvent("audio-chunk", { rate: 16000, width: 2, channels: 1 }, Buffer.from([1, 2, 3, 4])),
    Buffer.from('{"type":"transcribe","data":{"language":"en","name":"x"},"data_length":13}\n{"name":"y"}\n'),
  ]);

  it("reads events split at every byte boundary the same as whole, merging the data block over the header's data", () => {
    const whole = new WyomingReader(bounds).push(wire);
    expect(whole).toEqual([
      { type: "describe", data: {}, payload: undefined },
      { type: "audio-chunk", data: { rate: 16000, width: 2, channels: 1 }, payload: Buffer.from([1, 2, 3, 4]) },
      { type: "transcribe", data: { language: "en", name: "y" }, payload: undefined },
    ]);
    for (let cut = 1; cut < wire.length; cut++) {
      const reader = new WyomingReader(bounds);
      expect([...reader.push(wire.subarray(0, cut)), ...reader.push(wire.subarray(cut))]).toEqual(whole);
    }
  });

  it.each([
    ["a header line that is not JSON", "nope\n", /not JSON/],
    ["a header line that is an array", "[1]\n", /not a JSON object/],
    ["no type", '{"data":{}}\n', /no type/],
    ["data that is not an object", '{"type":"x","data":[1]}\n', /data is not/],
    ["a negative length", '{"type":"x","payload_length":-1}\n', /not a length/],
    ["a payload over the bound", '{"type":"x","payload_length":65}\n', /over the limit/],
    ["a data block over the bound", '{"type":"x","data_length":129}\n', /over the limit/],
    ["a data block that is not JSON", '{"type":"x","data_length":3}\nabc', /extra data is not JSON/],
    ["a header line over the bound", "a".repeat(300), /longer than 256/],
  ])("refuses %s", (_name, bytes, message) => {
    expect(() => new WyomingReader(bounds).push(Buffer.from(bytes))).toThrow(WyomingProtocolError);
    expect(() => new WyomingReader(bounds).push(Buffer.from(bytes))).toThrow(message);
  });
});

describe("PcmStreamDecoder", () => {
  const tone = (rate: number, seconds: number) => {
    const pcm = Buffer.alloc(Math.round(rate * seconds) * 2);
    for (let i = 0; i < pcm.length / 2; i++) pcm.writeInt16LE(Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / rate)), i * 2);
    return pcm;
  };

  it("decodes chunks that split frames to the same samples as one chunk, at 8 and 22.05 kHz", () => {
    for (const rate of [8000, 22050]) {
      const pcm = tone(rate, 0.5);
      const one = new PcmStreamDecoder({ rate, width: 2, channels: 1 });
      const expected = Float32Array.from([...one.push(pcm), ...one.flush()]);
      expect(expected.length).toBeCloseTo(8000, -1);
      const split = new PcmStreamDecoder({ rate, width: 2, channels: 1 });
      const parts: number[] = [];
      for (let at = 0; at < pcm.length; at += 333) parts.push(...split.push(pcm.subarray(at, at + 333)));
      parts.push(...split.flush());
      expect(Float32Array.from(parts)).toEqual(expected);
      expect(split.seconds).toBeCloseTo(0.5, 3);
    }
  });

  it("mixes channels down to their mean", () => {
    const stereo = Buffer.alloc(16_000 * 4);
    for (let i = 0; i < 16_000; i++) {
      stereo.writeInt16LE(16_000, i * 4);
      stereo.writeInt16LE(0, i * 4 + 2);
    }
    const decoder = new PcmStreamDecoder({ rate: 16_000, width: 2, channels: 2 });
    const samples = decoder.push(stereo);
    expect(samples.length).toBe(16_000);
    expect(samples[8000]).toBeCloseTo(8000 / 32768, 5);
  });

  it("takes PCM16 at 8-48 kHz, 1-8 channels, and says why it refuses anything else", () => {
    expect(pcmFormatProblem({ rate: 16000, width: 2, channels: 1 })).toBeUndefined();
    expect(pcmFormatProblem({ rate: 7999, width: 2, channels: 1 })).toMatch(/rate/);
    expect(pcmFormatProblem({ rate: 16000.5, width: 2, channels: 1 })).toMatch(/rate/);
    expect(pcmFormatProblem({ rate: 16000, width: 1, channels: 1 })).toMatch(/width/);
    expect(pcmFormatProblem({ rate: 16000, width: 2, channels: 9 })).toMatch(/channels/);
    expect(pcmFormatProblem({ rate: "16000", width: 2, channels: 1 })).toMatch(/rate/);
  });
});
