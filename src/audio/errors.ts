// Typed errors for audio decoding. Codes are stable: the HTTP layer maps them to responses.

/**
 * Why decoding failed.
 * - `empty_file`: zero bytes of input.
 * - `unsupported_format`: the content is not a recognised audio/video container (magic bytes unknown).
 * - `decode_failed`: recognised container, but ffmpeg could not decode it (corrupt, truncated in the header, ...).
 * - `no_audio`: a valid container that decodes to zero samples.
 * - `no_audio_stream`: a valid container without any audio stream (e.g. a video with no sound track).
 * - `too_long`: the decoded audio exceeds `maxDurationSeconds`.
 * - `too_many_channels`: channels decoded separately, and the audio has more than `maxChannels`.
 * - `timeout`: decoding ran past `timeoutMs`.
 * - `ffmpeg_unavailable`: the ffmpeg binary could not be found or started.
 */
export type AudioDecodeErrorCode =
  | "empty_file"
  | "unsupported_format"
  | "decode_failed"
  | "no_audio"
  | "no_audio_stream"
  | "too_long"
  | "too_many_channels"
  | "timeout"
  | "ffmpeg_unavailable";

/** A decode failure with a stable machine-readable `code` and a human-readable message. */
export class AudioDecodeError extends Error {
  override readonly name = "AudioDecodeError";
  /** Stable error code, see {@link AudioDecodeErrorCode}. */
  readonly code: AudioDecodeErrorCode;
  /** The most relevant ffmpeg stderr line, when ffmpeg produced one. */
  readonly ffmpegMessage: string | undefined;

  constructor(code: AudioDecodeErrorCode, message: string, options?: { cause?: unknown; ffmpegMessage?: string }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.ffmpegMessage = options?.ffmpegMessage;
  }
}

/**
 * Decoding was cancelled through its `AbortSignal`. Deliberately not an {@link AudioDecodeError}:
 * it says nothing about the input. `cause` holds the signal's reason.
 */
export class AudioDecodeAbortedError extends Error {
  override readonly name = "AbortError";
  readonly code = "aborted" as const;

  constructor(reason?: unknown) {
    super("Audio decoding was aborted", reason === undefined ? undefined : { cause: reason });
  }
}

/** True when `err` is an {@link AudioDecodeError}, optionally with the given code. */
export function isAudioDecodeError(err: unknown, code?: AudioDecodeErrorCode): err is AudioDecodeError {
  return err instanceof AudioDecodeError && (code === undefined || err.code === code);
}

/**
 * The decoded audio would not fit in the memory budget it was given (see `DecodeAudioOptions.memory`): the decoder
 * stopped before allocating more. Deliberately not an {@link AudioDecodeError}: it says nothing about the input, only
 * that other work holds the memory now (a server answers "busy, retry later").
 */
export class AudioMemoryError extends Error {
  override readonly name = "AudioMemoryError";
  readonly code = "memory_budget" as const;

  constructor(
    /** Bytes of decoded audio the decoder asked for in all. */
    readonly requestedBytes: number,
  ) {
    super(`Not enough of the decoded-audio memory budget is free for ${(requestedBytes / 1_048_576).toFixed(1)} MB of decoded audio`);
  }
}
