// The Realtime API's input audio formats, and decoders from their base64 chunks to 16 kHz mono float PCM.
//
// Formats, as the openai-node SDK types them (openai@6, src/resources/realtime/realtime.ts and
// src/resources/beta/realtime/{sessions,transcription-sessions}.ts):
// - GA `session.audio.input.format`: `RealtimeAudioFormats` = `{ type?: 'audio/pcm'; rate?: 24000 }` ("Only a
//   24kHz sample rate is supported") | `{ type?: 'audio/pcmu' }` (G.711 μ-law) | `{ type?: 'audio/pcma' }`
//   (G.711 A-law).
// - Beta `input_audio_format`: `'pcm16' | 'g711_ulaw' | 'g711_alaw'`; "For `pcm16`, input audio must be 16-bit PCM
//   at a 24kHz sample rate, single channel (mono), and little-endian byte order."
// G.711 is 8 kHz (RFC 3551 PCMU/PCMA), one byte per sample.

import { decodeAlawToFloat32, decodeUlawToFloat32 } from "./g711.js";
import { Base64Chunk, type Base64Text, decodeBase64Bytes, decodeBase64Pcm16, pcm16BytesToFloat32, pcm16ToFloat32 } from "./pcm16.js";
import { StreamingResampler } from "./streamingResampler.js";
import { SAMPLE_RATE } from "../../engine/sampleRate.js";


/** GA format objects (`session.audio.input.format`). `type` is optional in the SDK types; absent means audio/pcm. */
export type RealtimeAudioFormat = { type?: "audio/pcm"; rate?: 24000 } | { type: "audio/pcmu" } | { type: "audio/pcma" };
/** Beta `input_audio_format` names. */
export type RealtimeBetaAudioFormat = "pcm16" | "g711_ulaw" | "g711_alaw";
/** Either spelling. */
export type RealtimeInputAudioFormat = RealtimeAudioFormat | RealtimeBetaAudioFormat;

/** The API's default input format: 24 kHz pcm16. */
export const DEFAULT_INPUT_AUDIO_FORMAT: RealtimeAudioFormat = { type: "audio/pcm", rate: 24000 };

/** A format resolved to what decoding needs, with both of its API spellings. */
export interface InputAudioFormatInfo {
  /** GA type. */
  type: "audio/pcm" | "audio/pcmu" | "audio/pcma";
  /** Beta name. */
  betaName: RealtimeBetaAudioFormat;
  /** Samples per second of the client's audio. */
  sampleRate: number;
  /** Bytes per (mono) sample: 2 for pcm16, 1 for G.711. */
  bytesPerSample: number;
}

const FORMATS: Record<RealtimeBetaAudioFormat, InputAudioFormatInfo> = {
  pcm16: { type: "audio/pcm", betaName: "pcm16", sampleRate: 24_000, bytesPerSample: 2 },
  g711_ulaw: { type: "audio/pcmu", betaName: "g711_ulaw", sampleRate: 8_000, bytesPerSample: 1 },
  g711_alaw: { type: "audio/pcma", betaName: "g711_alaw", sampleRate: 8_000, bytesPerSample: 1 },
};

const BY_TYPE: Record<InputAudioFormatInfo["type"], InputAudioFormatInfo> = {
  "audio/pcm": FORMATS.pcm16,
  "audio/pcmu": FORMATS.g711_ulaw,
  "audio/pcma": FORMATS.g711_alaw,
};

/**
 * Why a format was refused. Codes are stable: the realtime WebSocket reports them in its `error` event.
 * - `unknown_format`: not one of the formats above (or not a string / object at all).
 * - `unsupported_rate`: a known type with a `rate` it does not come in (audio/pcm is 24000 only; G.711 8000).
 */
export type InputAudioFormatErrorCode = "unknown_format" | "unsupported_rate";

/** A session's input audio format that Earshot (and OpenAI) cannot accept. */
export class InputAudioFormatError extends Error {
  override readonly name = "InputAudioFormatError";
  /** Stable error code, see {@link InputAudioFormatErrorCode}. */
  readonly code: InputAudioFormatErrorCode;

  constructor(code: InputAudioFormatErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

const SUPPORTED =
  'supported: {type: "audio/pcm", rate: 24000}, {type: "audio/pcmu"}, {type: "audio/pcma"}, "pcm16", "g711_ulaw", "g711_alaw"';

function describe(value: unknown): string {
  try {
    return (JSON.stringify(value) ?? String(value)).slice(0, 100);
  } catch {
    return String(value);
  }
}

/**
 * Resolves a GA format object or beta format name (as received in JSON, hence `unknown`); `undefined` is the
 * default (24 kHz pcm16). Throws {@link InputAudioFormatError}.
 */
export function resolveInputAudioFormat(format: unknown = DEFAULT_INPUT_AUDIO_FORMAT): InputAudioFormatInfo {
  if (typeof format === "string") {
    const info = Object.hasOwn(FORMATS, format) ? FORMATS[format as RealtimeBetaAudioFormat] : undefined;
    if (!info) throw new InputAudioFormatError("unknown_format", `Unknown input audio format ${describe(format)}; ${SUPPORTED}`);
    return info;
  }
  if (typeof format !== "object" || format === null || Array.isArray(format)) {
    throw new InputAudioFormatError("unknown_format", `Unknown input audio format ${describe(format)}; ${SUPPORTED}`);
  }
  const { type = "audio/pcm", rate } = format as { type?: unknown; rate?: unknown };
  const info = typeof type === "string" && Object.hasOwn(BY_TYPE, type) ? BY_TYPE[type as InputAudioFormatInfo["type"]] : undefined;
  if (!info) throw new InputAudioFormatError("unknown_format", `Unknown input audio format type ${describe(type)}; ${SUPPORTED}`);
  if (rate !== undefined && rate !== info.sampleRate) {
    throw new InputAudioFormatError(
      "unsupported_rate",
      `Unsupported rate ${describe(rate)} for ${info.type}: only ${info.sampleRate} Hz is supported`,
    );
  }
  return info;
}

/**
 * One `input_audio_buffer.append` chunk being decoded piece by piece (see {@link InputAudioDecoder.open}): first
 * {@link validate} until it returns true, then {@link read} until {@link done}. Each call does a bounded amount of
 * work, so a 15 MB chunk can be spread over many turns of the event loop; the output is bit for bit what one
 * `decode` of the whole chunk returns.
 */
export interface InputAudioChunk {
  /** Samples (at the client's rate) in the chunk; known before it is validated. */
  readonly inputSamples: number;
  /** Its duration in seconds. */
  readonly seconds: number;
  /** Whether the whole chunk has been checked. */
  readonly validated: boolean;
  /**
   * Checks up to `maxChars` more base64 characters; true once the whole chunk is valid. Throws
   * `InvalidAudioChunkError` (`invalid_base64`, `odd_byte_count`): the chunk is refused and nothing of it was used.
   */
  validate(maxChars: number): boolean;
  /**
   * 16 kHz samples reading the rest of the chunk will return, provided nothing else goes through the decoder in
   * between (for limits checked before any of the chunk is used).
   */
  pendingOutputSamples(): number;
  /** Input samples not read yet. */
  readonly remainingSamples: number;
  /** Whether the whole chunk has been read. */
  readonly done: boolean;
  /** Decodes and resamples up to `maxInputSamples` more input samples; returns the 16 kHz samples they complete. */
  read(maxInputSamples: number): Float32Array;
}

/** Turns one session's `input_audio_buffer.append` chunks into 16 kHz mono floats, as they arrive. */
export interface InputAudioDecoder {
  readonly format: InputAudioFormatInfo;
  /** The client's sample rate (24000 for pcm16, 8000 for G.711). */
  readonly inputSampleRate: number;
  readonly outputSampleRate: typeof SAMPLE_RATE;
  /** Bytes of (decoded) audio per second of input: 48000 for pcm16, 8000 for G.711. */
  readonly bytesPerSecond: number;
  /**
   * Resampler delay in seconds: output lags input by this much until {@link flush} (the output timeline is not
   * shifted: output sample n is input time n / 16000).
   */
  readonly delaySeconds: number;
  /** 16 kHz samples returned since the stream started; the next one is at time `outputSamples / 16000` s. */
  readonly outputSamples: number;
  /**
   * Decodes one base64 chunk and returns the 16 kHz samples it completes. Throws `InvalidAudioChunkError`
   * (`invalid_base64`, `odd_byte_count`) and then keeps no part of that chunk.
   */
  decode(base64: string): Float32Array;
  /**
   * The same as {@link decode}, in pieces: checks the chunk's length at once (throwing as `decode` does), and
   * returns it to be validated and read in bounded steps. Other chunks must not be decoded while it is being read.
   */
  open(base64: Base64Text): InputAudioChunk;
  /** Returns the remaining samples (end of stream, e.g. on commit) and starts a new stream at time 0. */
  flush(): Float32Array;
}

/** A decoder for `format` (see {@link resolveInputAudioFormat}); throws {@link InputAudioFormatError}. */
export function createInputDecoder(format?: unknown): InputAudioDecoder {
  const info = resolveInputAudioFormat(format);
  const resampler = new StreamingResampler({ inputRate: info.sampleRate, outputRate: SAMPLE_RATE });
  const toFloat: (base64: string) => Float32Array =
    info.type === "audio/pcm"
      ? (base64) => pcm16ToFloat32(decodeBase64Pcm16(base64))
      : info.type === "audio/pcmu"
        ? (base64) => decodeUlawToFloat32(decodeBase64Bytes(base64))
        : (base64) => decodeAlawToFloat32(decodeBase64Bytes(base64));
  return {
    format: info,
    inputSampleRate: info.sampleRate,
    outputSampleRate: SAMPLE_RATE,
    bytesPerSecond: info.sampleRate * info.bytesPerSample,
    delaySeconds: resampler.delaySeconds,
    get outputSamples() {
      return resampler.outputSamples;
    },
    decode: (base64) => resampler.push(toFloat(base64)),
    open: (base64) => openChunk(base64, info, resampler),
    flush: () => resampler.flush(),
  };
}

function openChunk(text: Base64Text, info: InputAudioFormatInfo, resampler: StreamingResampler): InputAudioChunk {
  const sampleBytes = info.bytesPerSample as 1 | 2;
  const chunk = new Base64Chunk(text, sampleBytes);
  const toFloat: (bytes: Buffer) => Float32Array =
    info.type === "audio/pcm" ? pcm16BytesToFloat32 : info.type === "audio/pcmu" ? decodeUlawToFloat32 : decodeAlawToFloat32;
  const inputSamples = Math.floor(chunk.byteLength / sampleBytes);
  return {
    inputSamples,
    seconds: inputSamples / info.sampleRate,
    get validated() {
      return chunk.validated;
    },
    validate: (maxChars) => chunk.validate(maxChars),
    get remainingSamples() {
      return Math.floor(chunk.remainingBytes / sampleBytes);
    },
    pendingOutputSamples: () => resampler.outputsAfter(Math.floor(chunk.remainingBytes / sampleBytes)),
    get done() {
      return chunk.done;
    },
    read: (maxInputSamples) => (chunk.done ? new Float32Array(0) : resampler.push(toFloat(chunk.read(maxInputSamples * sampleBytes)))),
  };
}
