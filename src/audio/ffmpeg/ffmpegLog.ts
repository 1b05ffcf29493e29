// Collects ffmpeg's stderr (run with `-loglevel level+info`) and turns a failed run into a typed error.

import { AudioDecodeError } from "../errors.js";
import type { DetectedFormat } from "../sniffFormat.js";

/** One stderr line: `[mp3 @ 0x55d0c] [error] Header missing` → { source: "mp3", level: "error", message: "Header missing" }. */
export interface FfmpegLogLine {
  level: string;
  /** The component that logged it (demuxer/decoder name), absent for ffmpeg's own messages. */
  source?: string;
  message: string;
}

const LINE_PATTERN = /^(?:\[([^\]@]+?) @ 0x[0-9a-f]+\] )?\[(panic|fatal|error|warning|info|verbose|debug|trace)\] (.*)$/;
const MAX_HEAD_LINES = 150;
const MAX_TAIL_LINES = 50;
const MAX_LINE_CHARS = 500;

/** An input stream description at info level: `Stream #0:1(und): Video: h264 ...` → "Video". */
const STREAM_PATTERN = /^Stream #0:\d+\S*: (Audio|Video|Subtitle|Data|Attachment)\b/;
/** The head of a section of ffmpeg's stream dump: `Input #0, wav, from 'input':`, `Output #0, f32le, to 'pipe:1':`. */
const SECTION_PATTERN = /^(Input|Output) #\d+,/;
/** An audio stream's channel layout: `Stream #0:0(und): Audio: aac (LC) (mp4a / 0x6134706D), 44100 Hz, stereo, fltp` → "stereo". */
const AUDIO_LAYOUT_PATTERN = /^Stream #0:\d+\S*: Audio: .*?, \d+ Hz, ([^,]+)/;
const VERBOSE_LEVELS = new Set(["info", "verbose", "debug", "trace"]);
/** The input's length as its container declares it, printed before any decoding: `Duration: 03:00:00.02, start: ...`. */
const DURATION_PATTERN = /^Duration: (\d+):(\d{2}):(\d{2}(?:\.\d+)?)\b/;
/** ffmpeg's warning that the duration it is about to print is a guess from the bitrate (mp3 without a Xing header). */
const ESTIMATED_DURATION = /^Estimating duration from bitrate/;

/**
 * Accumulates stderr text into parsed lines at warning level or worse, keeping the first 150 and the last 50
 * (ffmpeg can repeat itself thousands of times on corrupt input). Of the info-level chatter only the input's
 * stream kinds are kept.
 */
export class FfmpegLogCollector {
  /** Kinds of the streams ffmpeg listed for the input ("Audio", "Video", ...). */
  readonly streamKinds: string[] = [];
  /**
   * The input's length in seconds as its header declares it (`Duration:` of the input dump), once ffmpeg has printed
   * it; undefined before, and when it printed `Duration: N/A` (a stream whose length is unknown until its end).
   */
  declaredDuration: number | undefined;
  /** True when ffmpeg said the declared duration is only estimated from the bitrate. */
  durationEstimated = false;
  /**
   * Channels of the input's first audio stream (the one decoded), from its description in the input dump ("mono",
   * "stereo", "5.1(side)", "3 channels", ...); undefined before ffmpeg has printed it, or for a layout it does not
   * name in a way {@link channelCountOfLayout} reads.
   */
  inputChannels: number | undefined;
  private section: "Input" | "Output" | undefined;
  private inputAudioSeen = false;
  private readonly head: FfmpegLogLine[] = [];
  private tail: FfmpegLogLine[] = [];
  private partial = "";
  private lastLevel = "warning";

  /** @param inputUrl the `-i` argument, replaced by "input" in messages so temp paths never leak to clients. */
  constructor(private readonly inputUrl: string) {}

  /** The kept lines, in order (a gap where lines were dropped). */
  get lines(): FfmpegLogLine[] {
    return [...this.head, ...this.tail.slice(-MAX_TAIL_LINES)];
  }

  push(text: string): void {
    const parts = (this.partial + text).split(/\r\n|\r|\n/);
    this.partial = (parts.pop() ?? "").slice(0, MAX_LINE_CHARS * 2);
    for (const part of parts) this.add(part);
  }

  /** Flushes a final line that had no newline. */
  end(): void {
    if (this.partial) this.add(this.partial);
    this.partial = "";
  }

  /** Lines at level error or worse. */
  errors(): FfmpegLogLine[] {
    return this.lines.filter((line) => line.level === "error" || line.level === "fatal" || line.level === "panic");
  }

  private add(raw: string): void {
    const text = raw.split(this.inputUrl).join("input").trim();
    if (!text) return;
    const match = LINE_PATTERN.exec(text);
    // A line without a level continues the previous message.
    const level = match ? (match[2] ?? "warning") : this.lastLevel;
    const message = (match ? (match[3] ?? "") : text).trim().slice(0, MAX_LINE_CHARS);
    this.lastLevel = level;
    if (ESTIMATED_DURATION.test(message)) this.durationEstimated = true;
    if (VERBOSE_LEVELS.has(level)) {
      const section = SECTION_PATTERN.exec(message)?.[1];
      if (section === "Input" || section === "Output") this.section = section;
      const layout = this.section === "Input" && !this.inputAudioSeen ? AUDIO_LAYOUT_PATTERN.exec(message)?.[1] : undefined;
      if (layout !== undefined) {
        this.inputAudioSeen = true;
        this.inputChannels = channelCountOfLayout(layout);
      }
      const stream = STREAM_PATTERN.exec(message);
      if (stream?.[1]) this.streamKinds.push(stream[1]);
      const duration = this.declaredDuration === undefined ? DURATION_PATTERN.exec(message) : null;
      if (duration) this.declaredDuration = Number(duration[1]) * 3600 + Number(duration[2]) * 60 + Number(duration[3]);
      return;
    }
    const line: FfmpegLogLine = { level, message };
    // "mov,mp4,m4a,3gp,3g2,mj2" says no more than "mov".
    if (match?.[1]) line.source = match[1].split(",")[0]?.trim();
    if (this.head.length < MAX_HEAD_LINES) this.head.push(line);
    else {
      this.tail.push(line);
      if (this.tail.length > MAX_TAIL_LINES * 2) this.tail = this.tail.slice(-MAX_TAIL_LINES);
    }
  }
}

/** Layouts ffmpeg names by a word, and their channel counts. */
const NAMED_LAYOUTS: Record<string, number> = { mono: 1, stereo: 2, downmix: 2, binaural: 2, quad: 4, hexagonal: 6, octagonal: 8, cube: 8, hexadecagonal: 16 };

/**
 * The channel count of a layout as ffmpeg describes it: "mono", "stereo", "quad(side)", "5.1(side)" (5 + 1),
 * "5.1.2" (5 + 1 + 2), "3 channels", "4 channels (FL+FR+LFE+BC)"; undefined for what it does not recognise.
 */
export function channelCountOfLayout(description: string): number | undefined {
  const layout = description.trim();
  const counted = /^(\d+) channels?\b/.exec(layout);
  if (counted) return Number(counted[1]);
  const numeric = /^(\d+)\.(\d+)(?:\.(\d+))?(?:\(|$)/.exec(layout);
  if (numeric) return Number(numeric[1]) + Number(numeric[2]) + Number(numeric[3] ?? 0);
  return NAMED_LAYOUTS[layout.replace(/\(.*\)$/, "")];
}

/** `source: message`, or just the message. */
export function formatLogLine(line: FfmpegLogLine): string {
  return line.source ? `${line.source}: ${line.message}` : line.message;
}

const NO_AUDIO_STREAM = /matches no streams|does not contain any stream/i;

/**
 * The typed error for a finished ffmpeg run, or null when it succeeded. A run that exits 0 with samples is a
 * success even when the decoder complained (a truncated file decodes up to the damage, as OpenAI does).
 */
export function classifyFfmpegOutcome(
  log: FfmpegLogCollector,
  outcome: { exitCode: number | null; signal: NodeJS.Signals | null; sampleCount: number; format: DetectedFormat },
): AudioDecodeError | null {
  const { exitCode, signal, sampleCount, format } = outcome;
  const errors = log.errors();
  if (exitCode === 0) {
    if (sampleCount > 0) return null;
    if (errors.length === 0) {
      return new AudioDecodeError("no_audio", `The ${format} file contains an audio stream but no audio samples`);
    }
    return decodeFailed(format, errors);
  }
  const noStream = log.lines.find((line) => NO_AUDIO_STREAM.test(line.message));
  if (noStream && log.streamKinds.length > 0) {
    const kinds = [...new Set(log.streamKinds)].join(", ").toLowerCase();
    return new AudioDecodeError("no_audio_stream", `The ${format} file has no audio stream (only ${kinds})`, {
      ffmpegMessage: formatLogLine(noStream),
    });
  }
  if (noStream) {
    // A container that parses but lists no streams at all is a cut-off header, not a silent video.
    return new AudioDecodeError("decode_failed", `The ${format} file contains no streams at all (corrupt or truncated?)`, {
      ffmpegMessage: formatLogLine(noStream),
    });
  }
  if (signal) {
    return new AudioDecodeError("decode_failed", `ffmpeg was killed by ${signal} while decoding ${format} audio`);
  }
  return decodeFailed(format, errors, exitCode);
}

function decodeFailed(format: DetectedFormat, errors: FfmpegLogLine[], exitCode?: number | null): AudioDecodeError {
  // The first component error is the specific one ("moov atom not found"); the last is ffmpeg's summary
  // ("input: Invalid data found when processing input").
  const specific = errors.find((line) => line.source !== undefined);
  const last = errors.at(-1);
  const picked = [specific, last].filter((line, i, all): line is FfmpegLogLine => line !== undefined && all.indexOf(line) === i);
  const detail = picked.map(formatLogLine).join("; ").slice(0, 300);
  const fallback = exitCode === undefined ? "no samples decoded" : `ffmpeg exited with code ${exitCode}`;
  return new AudioDecodeError(
    "decode_failed",
    `The ${format} data could not be decoded (corrupt or truncated?): ${detail || fallback}`,
    detail ? { ffmpegMessage: detail } : undefined,
  );
}
