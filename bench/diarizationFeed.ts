// One conversation through a diarization run, for bench:diarization and its memory child: its samples rendered and
// pushed a second at a time, as a decoder would deliver them, the feed waiting whenever the run has more than
// BACKLOG_SECONDS not yet windowed (a source that can wait does, so what the run holds is its own bound, not the
// bench's pace); then finish(). The speakers come back as RTTM turns for the scorer; observeModels times a run's calls
// to each model.
import type { Diarization, DiarizationRun, SpeakerModels } from "../src/diarization/index.js";
import type { RttmTurn } from "../src/formats/rttm.js";
import type { Conversation } from "./diarizationConversations.js";

const RATE = 16_000;
const BLOCK = RATE;
const BACKLOG_SECONDS = 30;

export interface FedRun {
  diarization: Diarization;
  wallMs: number;
}

/**
 * Pushes `conversation` into `run` and finishes it; `onProgress(seconds)` is called after each block with the
 * seconds of audio pushed so far (the memory child samples RSS there).
 */
export async function feedConversation(run: DiarizationRun, conversation: Conversation, onProgress?: (seconds: number) => void): Promise<FedRun> {
  const started = performance.now();
  try {
    for (let at = 0; at < conversation.length; at += BLOCK) {
      run.push(conversation.render(at, at + BLOCK));
      onProgress?.(Math.min(at + BLOCK, conversation.length) / RATE);
      if (run.backlog > BACKLOG_SECONDS * RATE) await run.whenBacklogWithin(BACKLOG_SECONDS * RATE);
    }
    const diarization = await run.finish();
    return { diarization, wallMs: performance.now() - started };
  } catch (error) {
    run.cancel();
    throw error;
  }
}

/** A diarization's spans as RTTM turns, speakers named A, B, … in order of first appearance. */
export function diarizationTurns(diarization: Diarization): RttmTurn[] {
  return diarization.spans.map((span) => ({ start: span.start, end: span.end, speaker: speakerLabel(span.speaker) }));
}

/** A, B, …, Z, AA, AB, …: the labels diarized_json gives. */
export function speakerLabel(index: number): string {
  let label = "";
  for (let n = index + 1; n > 0; n = Math.floor((n - 1) / 26)) label = String.fromCharCode(65 + ((n - 1) % 26)) + label;
  return label;
}

/** Time spent waiting on each speaker model, and its calls, over the runs that use `models` from now on. */
export interface ModelTimes {
  segmentMs: number;
  windows: number;
  embedMs: number;
  embeds: number;
  /** Seconds of speech embedded. */
  embeddedSeconds: number;
}

/**
 * Counts and times every call a run makes to `models` (a run waits on each before the next, so the sums are the
 * run's time in each model); `reset` starts the counts again. The bench's instrument, not the server's.
 */
export function observeModels(models: SpeakerModels): { times: ModelTimes; reset(): void } {
  const times: ModelTimes = { segmentMs: 0, windows: 0, embedMs: 0, embeds: 0, embeddedSeconds: 0 };
  const segment = models.segment.bind(models);
  const embed = models.embed.bind(models);
  models.segment = async (samples, windows, signal) => {
    const started = performance.now();
    try {
      return await segment(samples, windows, signal);
    } finally {
      times.segmentMs += performance.now() - started;
      times.windows += windows;
    }
  };
  models.embed = async (samples, signal) => {
    const started = performance.now();
    const seconds = samples.length / RATE; // read before the samples are handed to the thread
    try {
      return await embed(samples, signal);
    } finally {
      times.embedMs += performance.now() - started;
      times.embeds++;
      times.embeddedSeconds += seconds;
    }
  };
  return { times, reset: () => Object.assign(times, { segmentMs: 0, windows: 0, embedMs: 0, embeds: 0, embeddedSeconds: 0 }) };
}
