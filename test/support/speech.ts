// Test fixtures: real synthesized speech (eSpeak-NG compiled to WebAssembly) and ffmpeg encodings of it
// in every container a browser or phone might upload.

import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { resolveFfmpegPath } from "../../src/audio/ffmpeg/ffmpegPath.js";

/** Mono PCM in [-1, 1]. */
export interface SpeechAudio {
  samples: Float32Array;
  sampleRate: number;
}

export interface SynthesizeOptions {
  /** eSpeak-NG voice/language name, default "en" (also try "en-us", "fr", "de", ...). */
  voice?: string;
  /** Words per minute, default eSpeak's 175. */
  rate?: number;
  /**
   * Base pitch 0..100, default eSpeak's 50. This WebAssembly build has no voice variants ("en-us+f2" and every other
   * "+name" sound the same), so pitch and range are what make a second voice of one language.
   */
  pitch?: number;
  /** Pitch range 0..100 (intonation), default eSpeak's 50. */
  range?: number;
}

/** ~4.4 s: short enough to encode into a dozen formats quickly. */
export const SHORT_SPEECH_TEXT = "The quick brown fox jumps over the lazy dog. Testing one, two, three.";

/** ~19 s at eSpeak's default rate: for engine tests that need several sentences. */
export const LONG_SPEECH_TEXT =
  "Earshot is a self hosted speech to text server. It accepts audio in many formats, " +
  "decodes it with FFmpeg, and transcribes it with whisper running in the same process. " +
  "This passage is long enough to contain several sentences, so that segment boundaries " +
  "and timestamps can be checked. The weather today is sunny, with a light breeze from the west.";

/** Minimal shape of the Emscripten module (the package ships no type declarations). */
interface ESpeakWorker {
  set_voice(name: string, language: string): number;
  set_rate(wordsPerMinute: number): void;
  set_pitch(pitch: number): void;
  set_range(range: number): void;
  get_samplerate(): number;
  synthesize(text: string, onAudio: (samples: Int16Array | null, events: unknown[]) => boolean): void;
}
interface ESpeakModule {
  eSpeakNGWorker: new () => ESpeakWorker;
}

let espeakWorker: Promise<ESpeakWorker> | undefined;

/** The eSpeak-NG worker, created once per process (loading the module and its 24 MB of data takes ~0.5 s). */
function loadESpeak(): Promise<ESpeakWorker> {
  espeakWorker ??= (async () => {
    // @ts-expect-error -- untyped Emscripten ES module: default export is a factory returning the module.
    const { default: createModule } = (await import("@echogarden/espeak-ng-emscripten")) as {
      default: () => Promise<ESpeakModule>;
    };
    const module = await createModule();
    return new module.eSpeakNGWorker();
  })();
  return espeakWorker;
}

/** eSpeak's default speaking rate, words per minute. */
const DEFAULT_RATE = 175;
/** eSpeak's default pitch and pitch range. */
const DEFAULT_PITCH = 50;
const DEFAULT_RANGE = 50;

const speechCache = new Map<string, Promise<SpeechAudio>>();

/**
 * Synthesizes `text` with eSpeak-NG (22050 Hz mono). Memoized per process by text/voice/rate;
 * callers must not mutate the returned samples.
 */
export function synthesizeSpeech(text: string, options: SynthesizeOptions = {}): Promise<SpeechAudio> {
  const voice = options.voice ?? "en";
  const key = JSON.stringify([text, voice, options.rate ?? null, options.pitch ?? null, options.range ?? null]);
  let cached = speechCache.get(key);
  if (!cached) {
    cached = loadESpeak().then((worker) => {
      // Synthesis is synchronous, so one shared worker is safe; every setting is applied on every call.
      const status = worker.set_voice(voice, voice);
      if (status !== 0) throw new Error(`eSpeak-NG has no voice "${voice}" (status ${status})`);
      worker.set_rate(options.rate ?? DEFAULT_RATE);
      worker.set_pitch(options.pitch ?? DEFAULT_PITCH);
      worker.set_range(options.range ?? DEFAULT_RANGE);
      const chunks: Int16Array[] = [];
      // Returning false means "continue"; true would abort synthesis.
      worker.synthesize(text, (samples) => {
        if (samples && samples.length > 0) chunks.push(samples);
        return false;
      });
      const total = chunks.reduce((n, c) => n + c.length, 0);
      if (total === 0) throw new Error(`eSpeak-NG produced no audio for voice ${voice}`);
      const samples = new Float32Array(total);
      let offset = 0;
      for (const chunk of chunks) {
        for (let i = 0; i < chunk.length; i++) samples[offset + i] = (chunk[i] ?? 0) / 32768;
        offset += chunk.length;
      }
      return { samples, sampleRate: worker.get_samplerate() };
    });
    speechCache.set(key, cached);
    cached.catch(() => speechCache.delete(key));
  }
  return cached;
}

/** The short English sentence ({@link SHORT_SPEECH_TEXT}), memoized. */
export function shortSpeech(): Promise<SpeechAudio> {
  return synthesizeSpeech(SHORT_SPEECH_TEXT);
}

/** The longer English passage ({@link LONG_SPEECH_TEXT}, ~19 s), memoized. */
export function longSpeech(): Promise<SpeechAudio> {
  return synthesizeSpeech(LONG_SPEECH_TEXT);
}

/** A 16-bit PCM mono WAV file image. Samples are clamped to [-1, 1). */
export function encodeWav(samples: Float32Array, sampleRate: number): Buffer {
  return encodeMultichannelWav([samples], sampleRate);
}

/** A 16-bit PCM WAV with one channel per array, interleaved (shorter channels padded with silence); clamped to [-1, 1). */
export function encodeMultichannelWav(channels: readonly Float32Array[], sampleRate: number): Buffer {
  const frames = Math.max(...channels.map((c) => c.length));
  const count = channels.length;
  const dataBytes = frames * count * 2;
  const wav = Buffer.alloc(44 + dataBytes);
  wav.write("RIFF", 0, "ascii");
  wav.writeUInt32LE(36 + dataBytes, 4);
  wav.write("WAVE", 8, "ascii");
  wav.write("fmt ", 12, "ascii");
  wav.writeUInt32LE(16, 16); // fmt chunk size
  wav.writeUInt16LE(1, 20); // PCM
  wav.writeUInt16LE(count, 22);
  wav.writeUInt32LE(sampleRate, 24);
  wav.writeUInt32LE(sampleRate * count * 2, 28); // byte rate
  wav.writeUInt16LE(count * 2, 32); // block align
  wav.writeUInt16LE(16, 34); // bits per sample
  wav.write("data", 36, "ascii");
  wav.writeUInt32LE(dataBytes, 40);
  for (let i = 0; i < frames; i++) {
    for (let c = 0; c < count; c++) {
      const value = Math.round((channels[c]![i] ?? 0) * 32768);
      wav.writeInt16LE(Math.max(-32768, Math.min(32767, value)), 44 + (i * count + c) * 2);
    }
  }
  return wav;
}

/** Writes a 16-bit PCM mono WAV file. */
export async function writeWav(path: string, samples: Float32Array, sampleRate: number): Promise<void> {
  await writeFile(path, encodeWav(samples, sampleRate));
}

/**
 * Containers/codecs {@link encodeWithFfmpeg} produces, named for what they imitate:
 * - `wav`: 16-bit PCM at the source rate; `wav-44k-stereo`: resampled to 44.1 kHz, duplicated to 2 channels.
 * - `flac`, `mp3` (LAME, with its Xing/LAME gapless tag), `aac-adts` (raw AAC).
 * - `mp4`: AAC, moov at the front (faststart); `m4a`: AAC, moov at the END (needs a seekable input).
 * - `mp4-fragmented`: Safari MediaRecorder-like fragmented mp4/AAC (empty moov + moof fragments).
 * - `ogg-vorbis`; `ogg-opus`: Firefox MediaRecorder-like.
 * - `webm-opus`: Chrome MediaRecorder-like: written to a pipe in live mode (no Duration, no Cues, Segment of
 *   unknown size), then every Cluster's size is rewritten as unknown, as Chrome writes them.
 */
export type TestAudioFormat =
  | "wav"
  | "wav-44k-stereo"
  | "flac"
  | "mp3"
  | "aac-adts"
  | "mp4"
  | "m4a"
  | "mp4-fragmented"
  | "ogg-vorbis"
  | "ogg-opus"
  | "webm-opus";

/**
 * ffmpeg output arguments per format; `pipe` = write to stdout (non-seekable) instead of a file; `patch` rewrites
 * the output.
 */
const ENCODINGS: Record<TestAudioFormat, { args: string[]; pipe?: boolean; patch?: (file: Buffer) => Buffer }> = {
  wav: { args: ["-c:a", "pcm_s16le", "-f", "wav"] },
  "wav-44k-stereo": { args: ["-af", "aresample=resampler=soxr", "-ar", "44100", "-ac", "2", "-c:a", "pcm_s16le", "-f", "wav"] },
  flac: { args: ["-c:a", "flac", "-f", "flac"] },
  mp3: { args: ["-c:a", "libmp3lame", "-b:a", "64k", "-f", "mp3"] },
  "aac-adts": { args: ["-c:a", "aac", "-b:a", "64k", "-f", "adts"] },
  mp4: { args: ["-c:a", "aac", "-b:a", "64k", "-movflags", "+faststart", "-f", "mp4"] },
  m4a: { args: ["-c:a", "aac", "-b:a", "64k", "-f", "ipod"] },
  "mp4-fragmented": {
    args: ["-c:a", "aac", "-ar", "44100", "-b:a", "64k", "-movflags", "frag_keyframe+empty_moov+default_base_moof", "-frag_duration", "1000000", "-f", "mp4"],
    pipe: true,
  },
  "ogg-vorbis": { args: ["-c:a", "libvorbis", "-q:a", "4", "-f", "ogg"] },
  "ogg-opus": { args: ["-c:a", "libopus", "-ar", "48000", "-b:a", "32k", "-f", "ogg"] },
  "webm-opus": {
    args: ["-c:a", "libopus", "-ar", "48000", "-b:a", "32k", "-live", "1", "-f", "webm"],
    pipe: true,
    patch: markClustersUnknownSize,
  },
};

const EBML_CLUSTER_ID = 0x1f43b675;

/** Length of the EBML variable-length integer starting with byte `first` (1-8). */
function vintLength(first: number): number {
  let length = 1;
  for (let mask = 0x80; length <= 8 && !(first & mask); mask >>= 1) length++;
  return length;
}

/**
 * Chrome's MediaRecorder writes every Cluster with an unknown size (it cannot seek back); ffmpeg's webm muxer
 * always knows them. Rewrites each top-level Cluster size as "unknown", in place (same byte length).
 */
function markClustersUnknownSize(webm: Buffer): Buffer {
  const out = Buffer.from(webm);
  const readElement = (i: number) => {
    const idLength = vintLength(out[i] ?? 0);
    const id = out.readUIntBE(i, idLength);
    const sizeLength = vintLength(out[i + idLength] ?? 0);
    let size = (out[i + idLength] ?? 0) & (0xff >> sizeLength);
    for (let k = 1; k < sizeLength; k++) size = size * 256 + (out[i + idLength + k] ?? 0);
    return { id, sizeAt: i + idLength, sizeLength, dataAt: i + idLength + sizeLength, size };
  };
  const header = readElement(0); // EBML header
  const segment = readElement(header.dataAt + header.size); // Segment (already of unknown size: live mode)
  for (let i = segment.dataAt; i < out.length; ) {
    const element = readElement(i);
    if (element.id === EBML_CLUSTER_ID) {
      out[element.sizeAt] = 0xff >> (element.sizeLength - 1);
      out.fill(0xff, element.sizeAt + 1, element.dataAt);
    }
    i = element.dataAt + element.size;
  }
  return out;
}

/** Every format {@link encodeWithFfmpeg} knows. */
export const TEST_AUDIO_FORMATS = Object.keys(ENCODINGS) as TestAudioFormat[];

/**
 * Runs ffmpeg with `args` (no shell); resolves with stdout, rejects with stderr's tail on failure. `input`, when
 * given, is written to its stdin (read it with `-i pipe:0`; fine for raw PCM, which needs no seeking).
 */
export function runFfmpeg(args: string[], input?: Uint8Array): Promise<{ stdout: Buffer; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(resolveFfmpegPath(), ["-hide_banner", "-nostdin", "-y", ...args], { stdio: [input ? "pipe" : "ignore", "pipe", "pipe"] });
    const out: Buffer[] = [];
    let stderr = "";
    child.stdout!.on("data", (chunk: Buffer) => out.push(chunk));
    child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    if (input) {
      // An ffmpeg that fails early closes its stdin: the exit code reports that, not EPIPE.
      child.stdin!.on("error", () => undefined);
      child.stdin!.end(input);
    }
    child.on("error", reject);
    child.on("close", (code) => {
      if (code === 0) resolve({ stdout: Buffer.concat(out), stderr });
      else reject(new Error(`ffmpeg ${args.join(" ")} failed (${code}): ${stderr.slice(-2000)}`));
    });
  });
}

/** Runs ffmpeg writing to a private temp file (seekable output), and returns the file's bytes. */
async function runFfmpegToFile(args: string[]): Promise<Buffer> {
  const dir = await mkdtemp(join(tmpdir(), "earshot-test-encode-"));
  try {
    const output = join(dir, "out");
    await runFfmpeg([...args, `file:${output}`]);
    return await readFile(output);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Encodes the WAV file at `inputWav` into `format` (see {@link TestAudioFormat}). */
export async function encodeWithFfmpeg(inputWav: string, format: TestAudioFormat): Promise<Buffer> {
  const { args, pipe, patch } = ENCODINGS[format];
  const full = ["-loglevel", "error", "-i", `file:${inputWav}`, "-map_metadata", "-1", ...args];
  const output = pipe ? (await runFfmpeg([...full, "pipe:1"])).stdout : await runFfmpegToFile(full);
  return patch ? patch(output) : output;
}

/** A 1-second H.264 mp4 with no audio track at all. */
export function encodeVideoWithoutAudio(): Promise<Buffer> {
  return runFfmpegToFile([
    "-loglevel", "error", "-f", "lavfi", "-i", "testsrc=size=160x120:rate=10:duration=1",
    "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-an", "-f", "mp4",
  ]);
}

/** What ffmpeg reports as the container's duration ("Duration: N/A" when it has none), from `ffmpeg -i`. */
export async function containerDurationLine(file: string): Promise<string> {
  const result = await runFfmpeg(["-i", `file:${file}`, "-f", "null", "-"]).catch((err: Error) => ({ stderr: err.message }));
  return /Duration: [^,\n]*/.exec(result.stderr)?.[0] ?? "";
}
