// The worker's processor: runs a claimed job through TranscriptionService like every other request, VAD-chunked
// (no chunk over 30 s), at batch priority (a live request waits at most for one running chunk), with the job's FLAC
// audio streamed in as the run takes it (a RunFeed: never in memory whole) and progress reported as chunks finish.
import { DEFAULT_FFMPEG_NICE } from "../audio/index.js";
import { RunFeed } from "../transcription/runFeed.js";
import type { SpeechChunk } from "../transcription/speechChunker.js";
import type { TranscriptionService } from "../transcription/TranscriptionService.js";
import { toApiError } from "../api/errors.js";
import { readJobAudio } from "./jobAudio.js";
import { JobCancelledError, JobInterruptedError, type ClaimedJob, type JobOutcome, type JobProcessor, type JobResult, type JobSpeakers } from "./types.js";
import { dataUrlBytes } from "../api/transcriptionForm.js";
import { SAMPLE_RATE } from "../engine/sampleRate.js";

export interface JobRunnerOptions {
  transcription: TranscriptionService;
  ffmpegPath?: string | undefined;
  /** Progress is stored at most this often (ms); the last chunk's always. Default 1000. */
  progressIntervalMs?: number | undefined;
  /** Told of each job's end (logs). */
  log?: JobRunnerLog | undefined;
}

export interface JobRunnerLog {
  info(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
}

export function createJobProcessor(options: JobRunnerOptions): JobProcessor {
  const interval = options.progressIntervalMs ?? 1_000;
  return async (job: ClaimedJob): Promise<JobOutcome> => {
    const { record, signal } = job;
    const total = record.audioSeconds;
    const started = performance.now();
    let lastReport = 0;
    const report = (done: number, force = false) => {
      const now = performance.now();
      if (!force && now - lastReport < interval) return;
      lastReport = now;
      job.progress(Math.min(total, Math.round(done * 1000) / 1000), total);
    };
    try {
      if (record.speakers) {
        const result = await runWithSpeakers(options, job, record.speakers, report);
        report(total, true);
        options.log?.info({ job: record.id, audioSeconds: total, seconds: Math.round(performance.now() - started) / 1000, speakers: result.speakers?.segments.length }, "job succeeded");
        return { status: "succeeded", result };
      }
      const { run } = await options.transcription.open(
        { ...record.settings, chunking: record.settings.chunking ?? { type: "auto" } },
        {
          signal,
          priority: "batch",
          keepAudio: false,
          onChunkDone: chunkProgress(report),
        },
      );
      try {
        // FFmpeg at a low priority, as every decoder beside the engine (batch work yields to the rest). Back-pressure:
        // the decoder is not read (so it stops) while the run has enough work waiting.
        await new RunFeed(run).pull(readJobAudio(job.audioPath, { ffmpegPath: options.ffmpegPath, signal, ffmpegNice: DEFAULT_FFMPEG_NICE }));
        signal.throwIfAborted();
        const result = await run.finish();
        report(total, true);
        options.log?.info({ job: record.id, audioSeconds: total, seconds: Math.round(performance.now() - started) / 1000 }, "job succeeded");
        return { status: "succeeded", result };
      } catch (error) {
        run.cancel();
        throw error;
      }
    } catch (error) {
      const reason: unknown = signal.aborted ? signal.reason : undefined;
      if (reason instanceof JobInterruptedError) {
        options.log?.info({ job: record.id }, "job interrupted: it will run again");
        return { status: "interrupted" };
      }
      if (reason instanceof JobCancelledError) {
        options.log?.info({ job: record.id }, "job cancelled while running");
        return { status: "cancelled" };
      }
      const apiError = toApiError(error);
      if (apiError.status >= 500) options.log?.error({ job: record.id, err: error }, "job failed");
      else options.log?.info({ job: record.id, code: apiError.code, message: apiError.message }, "job failed");
      return { status: "failed", error: apiError.body().error };
    }
  };
}

/** Progress as chunks finish: the audio seconds up to the end of each chunk done. */
function chunkProgress(report: (done: number) => void): (chunk: SpeechChunk) => void {
  return (chunk) => {
    const last = chunk.pieces.at(-1);
    if (last) report(last.end / SAMPLE_RATE);
  };
}

/** Samples waiting to be windowed before the diarization's reader is read on (four windows' worth of audio). */
const MAX_DIARIZATION_BACKLOG_SAMPLES = 40 * SAMPLE_RATE;

/**
 * A job with speakers: its FLAC read twice at once, once into the transcription (as every job) and once into the
 * diarization, each reader held back by its own run's backlog, so neither holds more than a bounded stretch of audio
 * whatever the length; then the words given to the speakers.
 */
async function runWithSpeakers(options: JobRunnerOptions, job: ClaimedJob, speakers: JobSpeakers, report: (done: number) => void): Promise<JobResult> {
  const { record, signal } = job;
  const clips = await options.transcription.referenceClips(speakers.references.map(dataUrlBytes), signal);
  const voices = await options.transcription.openVoices(
    { ...record.settings, chunking: record.settings.chunking ?? { type: "auto" } },
    {
      signal,
      priority: "batch",
      keepAudio: false,
      speakerNames: speakers.names,
      references: clips,
      count: speakers.count,
      onChunkDone: chunkProgress(report),
    },
  );
  const read = () => readJobAudio(job.audioPath, { ffmpegPath: options.ffmpegPath, signal, ffmpegNice: DEFAULT_FFMPEG_NICE });
  try {
    const diarizationFeed = (async () => {
      for await (const samples of read()) {
        voices.diarization.push(samples);
        await voices.diarization.whenBacklogWithin(MAX_DIARIZATION_BACKLOG_SAMPLES);
      }
    })();
    await Promise.all([new RunFeed(voices.run).pull(read()), diarizationFeed]);
    signal.throwIfAborted();
    const transcription = await voices.finish();
    const result = transcription.results[0]!;
    return { ...result, speakers: { duration: transcription.duration, segments: transcription.segments, turns: transcription.spans } };
  } catch (error) {
    voices.cancel();
    throw error;
  }
}
