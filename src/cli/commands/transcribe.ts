import fs from "node:fs/promises";
import path from "node:path";

import cliProgress from "cli-progress";
import { type Command, InvalidArgumentError, Option } from "commander";

import { loadServerConfig } from "../../config.js";
import { WhisperEngine, type TranscriptionOptions } from "../../engine/WhisperEngine.js";
import { audioResponseFormats, renderTranscription, type AudioResponseFormat } from "../../formats/index.js";
import { normalizeLanguage } from "../../formats/languages.js";
import { resolveModel } from "../../models/modelStore.js";
import { transcribeAudio } from "../../pipeline/transcribeAudio.js";

interface TranscribeCommandOptions {
  model?: string;
  language?: string;
  translate?: boolean;
  prompt?: string;
  format: AudioResponseFormat;
  wordTimestamps?: boolean;
  output?: string;
  temperature?: number;
  beamSize?: number;
  threads?: number;
  progress: boolean;
}

const fileExtensions: Record<AudioResponseFormat, string> = {
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

function parseLanguage(raw: string): string {
  if (raw === "auto") return raw;
  const code = normalizeLanguage(raw);
  if (!code) throw new InvalidArgumentError(`unknown language "${raw}" (use an ISO-639-1 code such as "en", a name such as "german", or "auto")`);
  return code;
}

/** `earshot transcribe FILE...`: several files, one loaded model. */
export function registerTranscribeCommand(program: Command): void {
  program
    .command("transcribe")
    .description("transcribe (or translate) audio files; any format FFmpeg decodes")
    .argument("<files...>", "audio or video files")
    .option("-m, --model <name|path>", "model name (see `earshot models list`) or path to a ggml file (default: EARSHOT_MODEL or base)")
    .option("-l, --language <code>", "spoken language (ISO-639-1 code or name); default: detect", parseLanguage)
    .option("--translate", "translate to English")
    .option("--prompt <text>", "text to guide style and spelling")
    .addOption(new Option("-f, --format <format>", "output format").choices(audioResponseFormats).default("text"))
    .option("--word-timestamps", "word-level timestamps (verbose_json words, finer srt/vtt timing)")
    .option("-o, --output <dir>", "write <name>.<ext> files into this directory instead of printing")
    .option("--temperature <t>", "sampling temperature; 0 uses the fallback ladder", parseNumber(0, 1, false))
    .option("--beam-size <n>", "beam search width (1 = greedy)", parseNumber(1, 8, true))
    .option("--threads <n>", "CPU threads", parseNumber(1, 256, true))
    .option("--no-progress", "no progress bar")
    .action(async (files: string[], options: TranscribeCommandOptions) => {
      await runTranscribe(files, options);
    });
}

async function runTranscribe(files: string[], options: TranscribeCommandOptions): Promise<void> {
  const config = loadServerConfig();
  const model = resolveModel(options.model ?? config.model);
  const threadsPerJob = options.threads ?? config.threadsPerJob;
  const engine = await WhisperEngine.load(model.path, { parallelJobs: 1, ...(threadsPerJob ? { threadsPerJob } : {}), useGpu: config.gpuOffload });
  const decodeOptions: TranscriptionOptions = {
    task: options.translate ? "translate" : "transcribe",
    wordTimestamps: options.wordTimestamps ?? false,
    ...(options.language ? { language: options.language } : {}),
    ...(options.prompt ? { prompt: options.prompt } : {}),
    ...(options.temperature !== undefined ? { temperature: options.temperature } : {}),
    ...(options.beamSize !== undefined ? { beamSize: options.beamSize } : {}),
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
      try {
        const { audio, result } = await transcribeAudio(
          engine,
          file,
          decodeOptions,
          {
            signal: aborter.signal,
            onDecoded: (decoded) => bar?.update(0, { stage: `${decoded.duration.toFixed(1)} s of ${decoded.format}` }),
            onProgress: (percent) => bar?.update(percent),
          },
          // EARSHOT_FFMPEG_PATH from the environment or .env: left to itself, decodeAudio sees the environment only.
          config.ffmpegPath ? { ffmpegPath: config.ffmpegPath } : {},
        );
        bar?.stop();
        const { body } = renderTranscription(options.format, result, { timestampGranularities: [...granularities] });
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
    await engine.close();
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
  if (fileCount > 1 && options.format !== "json" && options.format !== "verbose_json") process.stdout.write(`==> ${file} <==\n`);
  process.stdout.write(text);
}
