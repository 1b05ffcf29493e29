// Audio input: decode anything OpenAI's Audio API accepts to 16 kHz mono Float32 PCM, with ffmpeg; and 16 kHz audio
// kept as FLAC (batch jobs).

export {
  type AudioInput,
  type DecodeAudioOptions,
  type DecodedAudio,
  DEFAULT_DECODE_TIMEOUT_MS,
  DEFAULT_MAX_DURATION_SECONDS,
} from "./decode/types.js";
export { decodeAudio } from "./decode/decodeAudio.js";
export { type AudioDecodeErrorCode, AudioDecodeAbortedError, AudioDecodeError, AudioMemoryError, isAudioDecodeError } from "./errors.js";
export { type AudioMemoryGrant, AudioMemoryBudget, AudioMemoryLease, DECODED_BYTES_PER_SECOND } from "./memoryBudget.js";
export { sweepStaleTempDirs, tempDirPrefix } from "./tempDirs.js";
export { FFMPEG_PATH_ENV, type FfmpegInfo, bundledFfmpegPath, checkFfmpeg, resolveFfmpegPath } from "./ffmpeg/ffmpegPath.js";
export { DEFAULT_FFMPEG_NICE } from "./ffmpeg/runFfmpeg.js";
export { FlacError, type FlacEncoder, type FlacOptions, readFlac, startFlacEncoder } from "./flac.js";
export { type DetectedFormat, SNIFF_BYTES, sniffFormat } from "./sniffFormat.js";
