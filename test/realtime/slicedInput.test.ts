// The pieces that let a large append be handled in slices: base64 chunks validated and decoded piece by piece (bit for
// bit what one decode of the whole chunk gives), client messages whose audio stays in the message's bytes, the slice
// scheduler and the audio rate limit.
import { setTimeout as sleep } from "node:timers/promises";

import { describe, expect, it } from "vitest";

import { encodeAlaw, encodeUlaw } from "../../src/audio/realtime/g711.js";
import { createInputDecoder } from "../../src/audio/realtime/inputAudioFormat.js";
import { bytesAsBase64Text, InvalidAudioChunkError } from "../../src/audio/realtime/pcm16.js";
import { AudioRateLimit } from "../../src/server/realtime/audioRateLimit.js";
import { findAudioString, parseClientMessage, SCAN_THRESHOLD_BYTES } from "../../src/api/realtimeClientEvents.js";
import { ApiError } from "../../src/api/errors.js";
import { SliceAbortedError, SliceScheduler } from "../../src/server/realtime/sliceScheduler.js";

function noisePcm16(samples: number, seed = 1): Buffer {
  const out = Buffer.alloc(samples * 2);
  let state = seed;
  for (let i = 0; i < samples; i++) {
    state = (state * 1103515245 + 12345) >>> 0;
    out.writeInt16LE(((state >>> 16) % 20000) - 10000, i * 2);
  }
  return out;
}

/** Reads a chunk through open() in pieces of `validateChars` / `readSamples`. */
function readInPieces(format: string, base64: string | Buffer, validateChars: number, readSamples: number, decoder = createInputDecoder(format)): Float32Array {
  const chunk = decoder.open(typeof base64 === "string" ? base64 : bytesAsBase64Text(base64));
  while (!chunk.validate(validateChars));
  const parts: Float32Array[] = [];
  while (!chunk.done) parts.push(chunk.read(readSamples));
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidAudioChunkError);
    return (error as InvalidAudioChunkError).code;
  }
  return undefined;
}

describe("sliced input decoding", () => {
  it("gives exactly what one decode of the whole chunk gives, for every format and piece size", () => {
    const pcm = noisePcm16(24_000 + 7);
    const cases: Array<[string, Buffer]> = [
      ["pcm16", pcm],
      ["g711_ulaw", Buffer.from(encodeUlaw(new Int16Array(pcm.buffer, pcm.byteOffset, 8000 + 3)))],
      ["g711_alaw", Buffer.from(encodeAlaw(new Int16Array(pcm.buffer, pcm.byteOffset, 8000 + 5)))],
    ];
    for (const [format, bytes] of cases) {
      const base64 = bytes.toString("base64");
      const whole = createInputDecoder(format).decode(base64);
      for (const [validateChars, readSamples] of [
        [4, 1],
        [1000, 333],
        [65_536, 12_000],
        [1 << 30, 1 << 30],
      ] as const) {
        expect(readInPieces(format, base64, validateChars, readSamples), `${format} ${validateChars}/${readSamples}`).toEqual(whole);
        expect(readInPieces(format, Buffer.from(base64), validateChars, readSamples)).toEqual(whole);
      }
      // Unpadded base64 too.
      expect(readInPieces(format, base64.replace(/=+$/, ""), 100, 50)).toEqual(whole);
    }
  });

  it("keeps the stream going across chunks, and predicts the samples a chunk will add", () => {
    const pcm = noisePcm16(48_000);
    const whole = createInputDecoder("pcm16").decode(pcm.toString("base64"));
    const decoder = createInputDecoder("pcm16");
    const parts: Float32Array[] = [];
    for (let at = 0; at < pcm.length; at += 2 * 7001) {
      const chunk = decoder.open(pcm.subarray(at, at + 2 * 7001).toString("base64"));
      chunk.validate(Infinity);
      const expected = chunk.pendingOutputSamples();
      expect(chunk.inputSamples).toBe(Math.min(7001, (pcm.length - at) / 2));
      let got = 0;
      while (!chunk.done) {
        const part = chunk.read(2500);
        got += part.length;
        parts.push(part);
      }
      expect(got).toBe(expected);
    }
    const joined = new Float32Array(whole.length);
    let at = 0;
    for (const part of parts) {
      joined.set(part, at);
      at += part.length;
    }
    expect(joined).toEqual(whole);
  });

  it("refuses bad chunks with the codes decode uses, before any of the chunk is used", () => {
    const bad = ["AAA!", "AA AA", "AAAA\n", "AA-_", "A", "AAAAA", "AAA==", "=AAA", "AA=A", "AAAA===", "ÀÀÀÀ"];
    for (const text of bad) {
      const decoder = createInputDecoder("pcm16");
      expect(codeOf(() => decoder.decode(text)), text).toBe("invalid_base64");
      expect(codeOf(() => readInPieces("pcm16", text, 2, 10)), text).toBe("invalid_base64");
      expect(codeOf(() => readInPieces("pcm16", Buffer.from(text), 2, 10)), text).toBe("invalid_base64");
    }
    for (const text of ["AA==", "AAAA", "AAAAAAA"]) expect(codeOf(() => readInPieces("pcm16", text, 4, 10)), text).toBe("odd_byte_count");
    // A bad character far into a long chunk: found by validation, and nothing was pushed into the stream.
    const long = noisePcm16(50_000).toString("base64");
    const decoder = createInputDecoder("pcm16");
    const corrupt = `${long.slice(0, 90_000)}!${long.slice(90_001)}`;
    expect(codeOf(() => readInPieces("pcm16", corrupt, 4096, 1000, decoder))).toBe("invalid_base64");
    expect(decoder.outputSamples).toBe(0);
    expect(() => decoder.open(long).read(10)).toThrow(/validated/);
  });
});

describe("client messages", () => {
  const big = (audio: string, extra = "") => Buffer.from(`{${extra}"type":"input_audio_buffer.append","audio":"${audio}"}`);
  const audio = noisePcm16(SCAN_THRESHOLD_BYTES).toString("base64");

  it("leaves a large append's audio in the message's bytes", () => {
    const message = parseClientMessage(big(audio, ' "event_id" : "e\\"1", "n": [1, {"a": "}"}], "x": null, '));
    expect(message.event).toEqual({ type: "input_audio_buffer.append", event_id: 'e"1', n: [1, { a: "}" }], x: null, audio: "" });
    expect(message.audio?.length).toBe(audio.length);
    expect(message.audio?.slice(0, audio.length)).toBe(audio);
    // Small messages are parsed whole.
    expect(parseClientMessage(Buffer.from('{"type":"input_audio_buffer.append","audio":"AAAA"}'))).toEqual({ event: { type: "input_audio_buffer.append", audio: "AAAA" } });
  });

  it("parses whole anything it cannot read that way, with the same result JSON.parse gives", () => {
    const cases = [
      Buffer.from(`{"type":"input_audio_buffer.append","audio":"${audio.slice(0, 100)}\\/${audio.slice(100)}"}`), // an escape in the audio
      Buffer.from(`{"audio":"AAAA","type":"input_audio_buffer.append","audio":"${audio}"}`), // two audio members
      Buffer.from(`{"type":"input_audio_buffer.append","\\u0061udio":"${audio}"}`), // an escaped key
      Buffer.from(`{"type":"input_audio_buffer.append","audio":${JSON.stringify([audio])}}`), // not a string
      Buffer.from(`{"type":"x","event_id":"${audio}"}`), // no audio
    ];
    for (const bytes of cases) {
      expect(findAudioString(bytes)).toBeUndefined();
      expect(parseClientMessage(bytes)).toEqual({ event: JSON.parse(bytes.toString()) });
    }
  });

  it("reports invalid JSON as the whole message would", () => {
    for (const bytes of [big(audio).subarray(0, -1), Buffer.from(`[${big(audio)}]`), Buffer.from(`{"type":"a","audio":"${audio}",}`), Buffer.from(`{"type":"a" "audio":"${audio}"}`)]) {
      let message = "";
      try {
        JSON.parse(bytes.toString());
        message = "A client event must be a JSON object.";
      } catch (error) {
        message = `The message is not valid JSON: ${(error as Error).message}`;
      }
      expect(() => parseClientMessage(bytes)).toThrow(ApiError);
      expect(() => parseClientMessage(bytes)).toThrow(message);
    }
  });
});

describe("slice scheduler and rate limit", () => {
  it("runs tasks in turns within its budget, in order, and drops an aborted one unrun", async () => {
    const scheduler = new SliceScheduler(5);
    const ran: number[] = [];
    const busy = (ms: number) => {
      const end = performance.now() + ms;
      while (performance.now() < end);
    };
    let turns = 0;
    const turnCounter = setInterval(() => turns++, 0);
    const controller = new AbortController();
    const tasks = Array.from({ length: 20 }, (_, i) =>
      scheduler.run(
        () => {
          busy(2);
          ran.push(i);
          return i * 2;
        },
        i === 7 ? controller.signal : undefined,
      ),
    );
    controller.abort();
    const results = await Promise.allSettled(tasks);
    clearInterval(turnCounter);
    expect(ran).toEqual(Array.from({ length: 20 }, (_, i) => i).filter((i) => i !== 7));
    expect(results[3]).toEqual({ status: "fulfilled", value: 6 });
    expect(results[7]).toMatchObject({ status: "rejected", reason: expect.any(SliceAbortedError) });
    // 19 tasks of 2 ms with a 5-ms budget: at least 6 turns, timers ran between them.
    expect(turns).toBeGreaterThanOrEqual(5);
    expect(scheduler.pending).toBe(0);
  });

  it("lets a burst through, then holds audio to the configured speed", async () => {
    const limit = new AudioRateLimit(100, 2);
    for (let i = 0; i < 4; i++) expect(limit.charge(0.5)).toBe(0); // the burst
    const wait = limit.charge(1); // 1 s owed at 100x: 10 ms
    expect(wait).toBeGreaterThan(0.009);
    expect(wait).toBeLessThanOrEqual(0.01);
    await sleep(15);
    expect(limit.waitSeconds()).toBe(0);
    // Credit comes back at 100x, up to the burst.
    await sleep(100);
    expect(limit.charge(2)).toBe(0);
    expect(limit.charge(0.5)).toBeGreaterThan(0);
  });
});
