// `response_format=diarized_json`: every speaker's segments in time order, as openai-node's TranscriptionDiarized,
// and the same segments as `transcript.text.segment` stream events.
import { durationUsage } from "./json.js";
import type { TranscriptionDiarized, TranscriptionDiarizedSegment } from "./types.js";

/** One speaker's segment on the recording's timeline (whisper's text, leading space kept). */
export interface SpeakerTurn {
  start: number;
  end: number;
  speaker: string;
  text: string;
}

/** The wire segment (and `transcript.text.segment` event) of the `index`-th segment in time order. */
export function diarizedSegment(turn: SpeakerTurn, index: number): TranscriptionDiarizedSegment {
  return { type: "transcript.text.segment", id: `seg_${index}`, start: turn.start, end: turn.end, speaker: turn.speaker, text: turn.text.trim() };
}

/** The whole text: the segments' texts in time order, joined as whisper spaced them, trimmed. */
export function diarizedText(turns: readonly SpeakerTurn[]): string {
  return turns
    .map((turn) => turn.text)
    .join("")
    .trim();
}

/** `{task, duration, text, segments, usage}` with duration usage; `turns` in time order. */
export function renderDiarizedJson(duration: number, turns: readonly SpeakerTurn[]): TranscriptionDiarized {
  return {
    task: "transcribe",
    duration,
    text: diarizedText(turns),
    segments: turns.map(diarizedSegment),
    usage: durationUsage(duration),
  };
}
