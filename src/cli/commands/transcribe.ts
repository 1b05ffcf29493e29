import fs from "node:fs/promises";
import path from "node:path";

import cliProgress from "cli-progress";
import { type Command, InvalidArgumentError, Option } from "commander";

import { loadServerConfig, type ServerConfigInput } from "../../config.js";
import { audioResponseFormats, renderDiarizedJson, renderRttm, renderTranscription, type AudioResponseFormat } from "../../formats/index.js";
import { decodeAudio } from "../../audio/index.js";
import { MAX_SPEAKER_CHANNELS } from "../../transcription/channelTranscription.js";
import { VoiceDiarization } from "../../transcription/voiceDiarization.js";
import { speakerModels } from "../../server/transcriptionSetup.js";
import { InvalidSettingError } from "../../transcription/errors.js";
import { chunkingSetting, languageSetting, type ChunkingStrategy, type TranscriptionSettings } from "../../transcription/settings.js";
import { addSettingOptions, settingFlags } from "../settingOptions.js";

interface TranscribeCommandOptions {
  model?: string;
  language?: string;
  translate?: boolean;
  prompt?: string;
  format: CliFormat;
  wordTimestamps?: boolean;
  output?: string;
  temperature?: number;
  beamSize?: number;
  threads?: number;
  chunking?: ChunkingStrategy | null;
  progress: boolean;
}

/** The API's formats, and speakers: diarized_json and Earshot's rttm (by channel or by voice, as the server). */
type CliFormat = AudioResponseFormat | "diarized_json" | "rttm";
const speakerFormats = ["diarized_json", "rttm"] as const;

const fileExtensions: Record<CliFormat, string> = {
  diarized_json: "diarized.json",
  rttm: "rttm",
  json: "json",
  verbose_json: "verbose.json",
  text: "txt",
  srt: "srt",
  vtt: "vtt",
};

function parseNumber(min: number, max: number, integer: boolean) {
  return (raw: string): number => {
    const value = Number(raw);
    if (!Number.isFinite(value) || value < min || value > max || (integer && !Number.isInteger(value))) {
      throw new InvalidArgumentError(`expected ${integer ? "an integer" : "a number"} between ${min} and ${max}`);
    }
    return value;
  };
}

/** The flags go through the same validation as the HTTP form fields; their errors read as the CLI's. */
function asFlag<T>(parse: (raw: string) => T, explain: (raw: string, error: InvalidSettingError) => string) {
  return (raw: string): T => {
    try {
      return parse(raw);
    } catch (error) {
      if (error instanceof InvalidSettingError) throw new InvalidArgumentError(explain(raw, error));
      throw error;
    }
  };
}

const parseLanguage = asFlag(
  (raw) => languageSetting(raw) ?? "auto",
  (raw) => `unknown language "${raw}" (use an ISO-639-1 code such as "en", a name such as "german", or "auto")`,
);
const parseChunking = asFlag(
  (raw) => chunkingSetting(raw, "--chunking") ?? null,
  (_raw, error) => `${error.message} (use auto, none, or a server_vad JSON object)`,
);

/** `earshot transcribe FILE...`: several files, one loaded model. */
export function registerTranscribeCommand(program: Command): void {
  const transcribe = program
    .command("transcribe")
    .description("transcribe (or translate) audio files; any format FFmpeg decodes")
    .argument("<files...>", "audio or video files")
    .option("-l, --language <code>", "spoken language (ISO-639-1 code or name); default: detect", parseLanguage)
    .option("--translate", "translate to English")
    .option("--prompt <text>", "text to guide style and spelling")
    .addOption(new Option("-f, --format <format>", "output format").choices([...audioResponseFormats, ...speakerFormats]).default("text"))
    .option("--word-timestamps", "word-level timestamps (verbose_json words, finer srt/vtt timing)")
    .option("-o, --output <dir>", "write <name>.<ext> files into this directory instead of printing")
    .option("--temperature <t>", "sampling temperature; 0 uses the fallback ladder", parseNumber(0, 1, false))
    .option("--beam-size <n>", "beam search width (1 = greedy)", parseNumber(1, 8, true))
    .option("--threads <n>", "CPU threads per job", parseNumber(1, 256, true))
    .option(
      "--chunking <mode>",
      'auto: cut the audio at pauses with VAD, skip silence, decode chunks in parallel; none: one block; or a server_vad object such as \'{"type":"server_vad","silence_duration_ms":800}\' (default: EARSHOT_CHUNKING or none)',
      parseChunking,
    )
    .option("--no-progress", "no progress bar");
  // The settings it reads (model, models directory, engine, FFmpeg) have their flags from the settings table; its
  // own --threads and --chunking above take the place of theirs (--chunking takes a server_vad object too).
  addSettingOptions(transcribe, "transcribe").action(async (files: string[], options: TranscribeCommandOptions, command: Command) => {
    await runTranscribe(files, options, settingFlags(command, "transcribe"));
  });
}

async function runTranscribe(files: string[], options: TranscribeCommandOptions, flags: ServerConfigInput): Promise<void> {
  const config = loadServerConfig(flags);
  // Loaded here, not at the top: the other commands start without the engine's modules.
  const [{ ModelRegistry }, { TranscriptionService }] = await Promise.all([
    import("../../transcription/ModelRegistry.js"),
    import("../../transcription/TranscriptionService.js"),
  ]);
  const threadsPerJob = options.threads ?? config.threadsPerJob;
  const models = new ModelRegistry(
    { model: options.model ?? config.model, extraModels: [], aliases: [], modelsDir: config.modelsDir },
    { ...(config.parallelJobs ? { parallelJobs: config.parallelJobs } : {}), ...(threadsPerJob ? { threadsPerJob } : {}), useGpu: config.gpuOffload, slotSharing: config.slotSharing, wordAlignment: config.wordAlignment, alignmentHeads: config.alignmentHeads },
  );
  // --ffmpeg-path, else EARSHOT_FFMPEG_PATH from the environment or .env, as the server reads it.
  const speakers = (speakerFormats as readonly string[]).includes(options.format);
  const voices = speakers
    ? new VoiceDiarization({ paths: speakerModels(config), threads: config.diarizationThreads, threshold: config.diarizationThreshold, matchThreshold: config.speakerMatchThreshold, maxRuns: 1 })
    : undefined;
  const decodeOptions = config.ffmpegPath ? { ffmpegPath: config.ffmpegPath } : {};
  const service = new TranscriptionService({ models, decodeOptions, defaultChunking: config.chunking, voices });
  const settings: TranscriptionSettings = {
    model: models.defaultModel.name,
    task: options.translate ? "translate" : "transcribe",
    wordTimestamps: options.wordTimestamps ?? false,
    language: options.language === "auto" ? undefined : options.language,
    prompt: options.prompt,
    temperature: options.temperature,
    beamSize: options.beamSize,
    ...(options.chunking !== undefined ? { chunking: options.chunking } : {}),
  };
  const granularities = options.wordTimestamps ? (["word", "segment"] as const) : (["segment"] as const);
  if (options.output) await fs.mkdir(options.output, { recursive: true });
  const showProgress = options.progress && process.stderr.isTTY === true;
  const aborter = new AbortController();
  const onSigint = () => aborter.abort();
  process.once("SIGINT", onSigint);

  let failures = 0;
  try {
    for (const file of files) {
      const bar = showProgress
        ? new cliProgress.SingleBar(
            { format: `${path.basename(file)} [{bar}] {percentage}% | {stage}`, hideCursor: true, clearOnComplete: true, stream: process.stderr },
            cliProgress.Presets.shades_classic,
          )
        : undefined;
      bar?.start(100, 0, { stage: "decoding audio" });
      const started = Date.now();
      let duration = 0;
      try {
        if (speakers) {
          bar?.update(0, { stage: "transcribing and telling speakers apart" });
          const audio = await decodeAudio(file, { ...decodeOptions, channels: "separate", maxChannels: MAX_SPEAKER_CHANNELS, signal: aborter.signal });
          const diarized = await service.transcribeChannels(audio.channels, settings, { signal: aborter.signal });
          bar?.stop();
          const body =
            options.format === "rttm"
              ? renderRttm(path.basename(file, path.extname(file)), diarized.spans ?? diarized.segments)
              : JSON.stringify(renderDiarizedJson(diarized.duration, diarized.segments), null, 2);
          await emit(file, body, options, files.length);
          continue;
        }
        const { audio, result } = await service.transcribeFile(file, settings, {
          signal: aborter.signal,
          onDecoded: (decoded) => {
            duration = decoded.duration;
            bar?.update(0, { stage: `${decoded.duration.toFixed(1)} s of ${decoded.format}` });
          },
          onProgress: (percent) => bar?.update(percent),
          // Chunked transcriptions report how far into the audio their segments have come.
          onSegment: (segment) => {
            if (duration > 0) bar?.update(Math.min(100, Math.round((segment.end / duration) * 100)));
          },
        });
        bar?.stop();
        const { body } = renderTranscription(options.format as AudioResponseFormat, result, { timestampGranularities: [...granularities] });
        if (!showProgress) {
          const seconds = ((Date.now() - started) / 1000).toFixed(2);
          process.stderr.write(`${file}: ${audio.duration.toFixed(1)} s of audio transcribed in ${seconds} s (language ${result.language})\n`);
        }
        await emit(file, body, options, files.length);
      } catch (error) {
        bar?.stop();
        failures++;
        const message = (error as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (error as Error).message;
        process.stderr.write(`earshot: ${file}: ${message}\n`);
        if (aborter.signal.aborted) break;
      }
    }
  } finally {
    process.off("SIGINT", onSigint);
    await models.close();
    await voices?.close();
  }
  if (failures > 0) process.exitCode = 1;
}

async function emit(file: string, body: string, options: TranscribeCommandOptions, fileCount: number): Promise<void> {
  const text = body.endsWith("\n") ? body : `${body}\n`;
  if (options.output) {
    const name = `${path.basename(file, path.extname(file))}.${fileExtensions[options.format]}`;
    const target = path.join(options.output, name);
    await fs.writeFile(target, text);
    process.stderr.write(`wrote ${target}\n`);
    return;
  }
  if (fileCount > 1 && !["json", "verbose_json", "diarized_json"].includes(options.format)) process.stdout.write(`==> ${file} <==\n`);
  process.stdout.write(text);
}
