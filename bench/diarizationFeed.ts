// One conversation through a diarization run, for bench:diarization and its memory child: its samples rendered and
// pushed a second at a time, as a decoder would deliver them, the feed waiting whenever the run has more than
// BACKLOG_SECONDS not yet windowed (a source that can wait does, so what the run holds is its own bound, not the
// bench's pace); then finish(). The speakers come back as RTTM turns for the scorer.
import type { Diarization, DiarizationRun } from "../src/diarization/index.js";
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
