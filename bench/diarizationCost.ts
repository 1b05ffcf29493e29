// bench:diarization's cost part: one meeting diarized with the timed models, against its transcription measured by
// the caller. A generated real-shaped segmentation model (seeded random weights) costs what the real one costs per
// window but finds no real speaker turns, so the pieces it hands the embedding model are not a real model's: too few
// or too many, of the wrong lengths. So the cost is put together from two runs whose time in each model is measured
// (observeModels):
//   A  the timed models as they are: their segmentation time (the same windows whatever the weights say);
//   B  the same embedding model behind a functional segmentation (the generated tiny one: every stretch of speech a
//      piece, cut at 10 s, as a real model's turns are), everything else as a run does it;
//   estimate = B's wall − B's segmentation time + A's segmentation time.
// With a functional timed segmentation (a real model) the run is measured as it is, and that is the figure.
import { DiarizationRun, SpeakerModels } from "../src/diarization/index.js";
import { cpuPhase, waitForIdle } from "./cpuLoad.js";
import type { Conversation } from "./diarizationConversations.js";
import { feedConversation, observeModels, type ModelTimes } from "./diarizationFeed.js";
import type { SpeakerModelChoice } from "./diarizationModels.js";

export interface CostRun {
  wallMs: number;
  times: ModelTimes;
  /** CPU-seconds the rest of the machine took meanwhile. */
  others: number;
  speakers: number;
}

export interface DiarizationCost {
  /** The timed models as they are. */
  direct: CostRun;
  /** The embedding model behind the functional segmentation (absent when the timed one is functional). */
  functional?: CostRun | undefined;
  /** The figure: the direct wall, or the estimate (see the header). */
  estimateMs: number;
}

export interface CostOptions {
  segmentation: SpeakerModelChoice;
  embedding: SpeakerModelChoice;
  /** The functional segmentation for run B. */
  pieces: SpeakerModelChoice;
  threads: number;
  threshold: number;
  repeats: number;
  idleWait: number;
  warmUp: Conversation;
}

async function timedRuns(paths: { segmentation: string; embedding: string }, meeting: Conversation, options: CostOptions): Promise<CostRun> {
  const models = await SpeakerModels.load(paths, { threads: options.threads });
  const observed = observeModels(models);
  let best: CostRun | undefined;
  try {
    await feedConversation(new DiarizationRun(models, { threshold: options.threshold }), options.warmUp);
    for (let i = 0; i < options.repeats; i++) {
      await waitForIdle(options.idleWait);
      observed.reset();
      const phase = cpuPhase();
      const { diarization, wallMs } = await feedConversation(new DiarizationRun(models, { threshold: options.threshold }), meeting);
      const run = { wallMs, times: { ...observed.times }, others: phase.stop().others, speakers: diarization.speakers };
      if (!best || run.wallMs < best.wallMs) best = run;
    }
  } finally {
    await models.close();
  }
  return best!;
}

/** The meeting's diarization cost with the timed models (best of `repeats`; see the header). */
export async function diarizationCost(meeting: Conversation, options: CostOptions): Promise<DiarizationCost> {
  const direct = await timedRuns({ segmentation: options.segmentation.path, embedding: options.embedding.path }, meeting, options);
  if (options.segmentation.functional) return { direct, estimateMs: direct.wallMs };
  const functional = await timedRuns({ segmentation: options.pieces.path, embedding: options.embedding.path }, meeting, options);
  return { direct, functional, estimateMs: functional.wallMs - functional.times.segmentMs + direct.times.segmentMs };
}

/** One run's line: wall, time in each model, calls. */
export function costLine(run: CostRun): string {
  const { times } = run;
  return (
    `${(run.wallMs / 1000).toFixed(2)} s: segmentation ${(times.segmentMs / 1000).toFixed(2)} s for ${times.windows} windows, ` +
    `embedding ${(times.embedMs / 1000).toFixed(2)} s for ${times.embeds} pieces (${times.embeddedSeconds.toFixed(0)} s of speech); ` +
    `${run.speakers} speakers; others took ${run.others.toFixed(1)} CPU-s`
  );
}
