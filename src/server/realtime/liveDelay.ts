// OpenAI's `transcription.delay` (minimal … xhigh) as Earshot applies it to live text: how often the turn being
// spoken is transcribed again (in audio time) and how many passes must agree on a word before it is sent as a delta.
// Lower levels show words sooner and take back nothing, but agree less (a word is more likely to differ from what
// the final pass at the commit would have said); higher levels wait for more stable text. docs/realtime.md
// "Live deltas" has the table and the measured latencies (bench/live-deltas.ts).
import type { TranscriptionDelay } from "../../api/realtimeSession.js";
import type { AgreementRule } from "./wordAgreement.js";

export interface LiveDelayLevel extends AgreementRule {
  /** A live pass runs at most this often, in audio time (less often when a pass takes longer than this). */
  intervalMs: number;
}

export const LIVE_DELAY_LEVELS: Readonly<Record<TranscriptionDelay, LiveDelayLevel>> = {
  minimal: { intervalMs: 250, passes: 1, holdBack: 1 },
  low: { intervalMs: 300, passes: 2, holdBack: 0 },
  medium: { intervalMs: 400, passes: 2, holdBack: 0 },
  high: { intervalMs: 600, passes: 3, holdBack: 0 },
  xhigh: { intervalMs: 1000, passes: 3, holdBack: 1 },
};

/** The level a session without `delay` gets. */
export const DEFAULT_LIVE_DELAY: TranscriptionDelay = "medium";

export function liveDelayLevel(delay: TranscriptionDelay | null): LiveDelayLevel {
  return LIVE_DELAY_LEVELS[delay ?? DEFAULT_LIVE_DELAY];
}
