// Container detection from magic bytes. The content decides, never a file name or MIME type.

/** A container recognised from its first bytes. */
export type DetectedFormat =
  | "wav" // RIFF/WAVE, RIFX, RF64, BW64
  | "flac"
  | "mp3" // MPEG audio layer I/II/III, with or without ID3v2 (OpenAI's mp3, mpga, mpeg)
  | "aac" // raw ADTS AAC
  | "ogg" // Ogg: Opus, Vorbis, FLAC, Speex
  | "webm" // EBML with DocType webm
  | "matroska" // EBML with any other DocType
  | "mp4" // ISO-BMFF / QuickTime: mp4, m4a, mov, 3gp
  | "aiff"
  | "caf"
  | "mpeg-ps"
  | "mpeg-ts";

/** How many leading bytes {@link sniffFormat} wants to see (it copes with fewer). */
export const SNIFF_BYTES = 4096;

/** The ffmpeg demuxer (`-f`) for each detected format: detection also pins the demuxer, so ffmpeg never guesses. */
export const FFMPEG_DEMUXER: Readonly<Record<DetectedFormat, string>> = {
  wav: "wav",
  flac: "flac",
  mp3: "mp3",
  aac: "aac",
  ogg: "ogg",
  webm: "matroska",
  matroska: "matroska",
  mp4: "mov",
  aiff: "aiff",
  caf: "caf",
  "mpeg-ps": "mpeg",
  "mpeg-ts": "mpegts",
};

/**
 * Formats ffmpeg 4.x only demuxes correctly from a seekable input: an mp4 whose `moov` atom is at the end cannot
 * be read from a pipe at all; a CAF's packet table may follow the audio data; and the mp3 demuxer ignores the
 * LAME tag's end padding when it cannot learn the file size (a pipe), which adds ~20-50 ms of trailing silence.
 */
export function needsSeekableInput(format: DetectedFormat): boolean {
  return format === "mp4" || format === "caf" || format === "mp3";
}

/**
 * Detects the container from the first bytes of a file (ideally {@link SNIFF_BYTES} of them).
 * Returns null for anything unknown, including text and empty input.
 */
export function sniffFormat(head: Uint8Array): DetectedFormat | null {
  if (head.length < 4) return null;
  const tag = ascii(head, 0, 4);
  const tag8 = ascii(head, 8, 4);

  if ((tag === "RIFF" || tag === "RIFX" || tag === "RF64" || tag === "BW64") && tag8 === "WAVE") return "wav";
  if (tag === "fLaC") return "flac";
  if (tag === "OggS") return "ogg";
  if (tag === "caff") return "caf";
  if (tag === "FORM" && (tag8 === "AIFF" || tag8 === "AIFC")) return "aiff";
  if (startsWith(head, 0, [0x1a, 0x45, 0xdf, 0xa3])) return ebmlDocType(head);
  if (isIsoBmff(head)) return "mp4";
  if (startsWith(head, 0, [0x00, 0x00, 0x01, 0xba])) return "mpeg-ps";
  if (isMpegTs(head)) return "mpeg-ts";
  if (ascii(head, 0, 3) === "ID3" && head.length >= 10) return afterId3(head);
  return sniffElementaryAudio(head, 0);
}

function sniffElementaryAudio(head: Uint8Array, start: number): DetectedFormat | null {
  if (head.length - start >= 4 && ascii(head, start, 4) === "fLaC") return "flac";
  // A frame header right at the start is enough; further in, require two consecutive frames,
  // so that random bytes do not pass for audio.
  if (mpegAudioFrameLength(head, start) > 0) return "mp3";
  if (adtsFrameLength(head, start) > 0) return "aac";
  const limit = Math.min(head.length, start + SNIFF_BYTES) - 4;
  for (let i = start + 1; i < limit; i++) {
    if (head[i] !== 0xff) continue;
    const mp3 = mpegAudioFrameLength(head, i);
    if (mp3 > 0 && mpegAudioFrameLength(head, i + mp3) > 0) return "mp3";
    const aac = adtsFrameLength(head, i);
    if (aac > 0 && adtsFrameLength(head, i + aac) > 0) return "aac";
  }
  return null;
}

/** ID3v2 prefixes mp3 but also, sometimes, FLAC or ADTS: look past the tag when it fits in `head`. */
function afterId3(head: Uint8Array): DetectedFormat | null {
  const version = head[3] ?? 0xff;
  const flags = head[5] ?? 0;
  const size = syncSafe(head, 6);
  if (version < 2 || version > 4 || size < 0) return null;
  const end = 10 + size + (flags & 0x10 ? 10 : 0);
  if (end + 4 > head.length) return "mp3"; // The tag (often cover art) outlasts what we can see.
  return sniffElementaryAudio(head, end) ?? "mp3";
}

function ebmlDocType(head: Uint8Array): DetectedFormat {
  // DocType element: ID 0x4282, a one-byte size (0x80 | n), then the string.
  for (let i = 4; i + 3 < Math.min(head.length, 64); i++) {
    if (head[i] === 0x42 && head[i + 1] === 0x82) {
      const len = (head[i + 2] ?? 0) & 0x7f;
      return ascii(head, i + 3, len) === "webm" ? "webm" : "matroska";
    }
  }
  return "matroska";
}

const BMFF_FIRST_BOXES = new Set(["ftyp", "moov", "mdat", "free", "skip", "wide", "pnot", "styp"]);

function isIsoBmff(head: Uint8Array): boolean {
  if (head.length < 8) return false;
  const box = ascii(head, 4, 4);
  if (!BMFF_FIRST_BOXES.has(box)) return false;
  const size = readU32BE(head, 0);
  // 0 = box extends to the end, 1 = 64-bit size follows; otherwise at least the 8-byte header.
  return size === 0 || size === 1 || size >= 8;
}

function isMpegTs(head: Uint8Array): boolean {
  for (const packet of [188, 192]) {
    const offset = packet === 192 ? 4 : 0; // M2TS prefixes each packet with a 4-byte timecode.
    if (head.length < offset + packet * 2 + 1) continue;
    if (head[offset] === 0x47 && head[offset + packet] === 0x47 && head[offset + 2 * packet] === 0x47) return true;
  }
  return false;
}

const MPEG1_BITRATES = [
  [0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448], // layer I
  [0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384], // layer II
  [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320], // layer III
];
const MPEG2_BITRATES = [
  [0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256], // layer I
  [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160], // layers II and III
];
const MPEG_SAMPLE_RATES = [44100, 48000, 32000];

/** Length in bytes of the MPEG audio frame whose header starts at `i`, or 0 if there is no valid header there. */
function mpegAudioFrameLength(b: Uint8Array, i: number): number {
  if (i + 4 > b.length) return 0;
  const b1 = b[i + 1] ?? 0;
  const b2 = b[i + 2] ?? 0;
  if (b[i] !== 0xff || (b1 & 0xe0) !== 0xe0) return 0;
  const versionBits = (b1 >> 3) & 3; // 0 = MPEG 2.5, 1 = reserved, 2 = MPEG 2, 3 = MPEG 1
  const layerBits = (b1 >> 1) & 3; // 0 = reserved (ADTS), 1 = III, 2 = II, 3 = I
  const bitrateIndex = b2 >> 4;
  const rateIndex = (b2 >> 2) & 3;
  if (versionBits === 1 || layerBits === 0 || bitrateIndex === 0 || bitrateIndex === 15 || rateIndex === 3) return 0;
  if (((b[i + 3] ?? 0) & 3) === 2) return 0; // reserved emphasis
  const layer = 4 - layerBits; // 1, 2 or 3
  const mpeg1 = versionBits === 3;
  const table = mpeg1 ? MPEG1_BITRATES[layer - 1] : MPEG2_BITRATES[layer === 1 ? 0 : 1];
  const bitrate = (table?.[bitrateIndex] ?? 0) * 1000;
  const sampleRate = (MPEG_SAMPLE_RATES[rateIndex] ?? 0) / (mpeg1 ? 1 : versionBits === 2 ? 2 : 4);
  const padding = (b2 >> 1) & 1;
  if (layer === 1) return (Math.floor((12 * bitrate) / sampleRate) + padding) * 4;
  const perFrame = layer === 3 && !mpeg1 ? 72 : 144;
  return Math.floor((perFrame * bitrate) / sampleRate) + padding;
}

/** Length in bytes of the ADTS (AAC) frame whose header starts at `i`, or 0 if there is no valid header there. */
function adtsFrameLength(b: Uint8Array, i: number): number {
  if (i + 7 > b.length) return 0;
  const b1 = b[i + 1] ?? 0;
  const b2 = b[i + 2] ?? 0;
  if (b[i] !== 0xff || (b1 & 0xf6) !== 0xf0) return 0; // 12-bit sync, layer 00
  if (((b2 >> 2) & 0xf) > 12) return 0; // sampling frequency index
  const length = (((b[i + 3] ?? 0) & 3) << 11) | ((b[i + 4] ?? 0) << 3) | ((b[i + 5] ?? 0) >> 5);
  return length >= 7 ? length : 0;
}

function syncSafe(b: Uint8Array, i: number): number {
  let value = 0;
  for (let k = 0; k < 4; k++) {
    const byte = b[i + k] ?? 0x80;
    if (byte & 0x80) return -1;
    value = (value << 7) | byte;
  }
  return value;
}

function readU32BE(b: Uint8Array, i: number): number {
  return (((b[i] ?? 0) << 24) | ((b[i + 1] ?? 0) << 16) | ((b[i + 2] ?? 0) << 8) | (b[i + 3] ?? 0)) >>> 0;
}

function startsWith(b: Uint8Array, i: number, bytes: readonly number[]): boolean {
  return bytes.every((byte, k) => b[i + k] === byte);
}

function ascii(b: Uint8Array, start: number, length: number): string {
  let s = "";
  for (let k = start; k < start + length && k < b.length; k++) s += String.fromCharCode(b[k] ?? 0);
  return s;
}
