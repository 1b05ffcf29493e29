import type { TranscriptionResult } from "../engine/types.js";
import { formatTimestamp } from "./timestamp.js";
import type { RenderOptions } from "./types.js";

/** SRT timestamp: always with hours, comma before the milliseconds ("00:01:02,345"). */
export const srtTimestamp = (seconds: number) =>
  formatTimestamp(seconds, { decimalMarker: ",", alwaysIncludeHours: true });

/** Cue text as whisper writes it: trimmed, "-->" defused to "->" so it cannot end the cue. */
export const cueText = (text: string) => text.trim().replaceAll("-->", "->");

/**
 * `response_format=srt`, as OpenAI sends it: for each segment "N\nSTART --> END\nTEXT\n\n" with N
 * counting from 1 (openai/whisper WriteSRT), then one more "\n" at the very end. The extra newline is
 * OpenAI's: a captured whisper-1 SRT reply (2 cues) is exactly one byte longer than the cues alone.
 */
export function renderSrt(result: TranscriptionResult, _options: RenderOptions = {}): string {
  const cues = result.segments.map(
    (segment, i) =>
      `${i + 1}\n${srtTimestamp(segment.start)} --> ${srtTimestamp(segment.end)}\n${cueText(segment.text)}\n\n`,
  );
  return `${cues.join("")}\n`;
}
