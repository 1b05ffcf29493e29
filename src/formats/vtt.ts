import type { TranscriptionResult } from "../engine/types.js";
import { cueText } from "./srt.js";
import { formatTimestamp } from "./timestamp.js";
import type { RenderOptions } from "./types.js";

/**
 * WebVTT timestamp, always with hours ("00:00:03.000"). openai/whisper's own WriteVTT only writes
 * hours from 1 h on ("00:03.000"); OpenAI's API writes them always, and API behaviour wins here.
 */
export const vttTimestamp = (seconds: number) =>
  formatTimestamp(seconds, { decimalMarker: ".", alwaysIncludeHours: true });

/**
 * `response_format=vtt`: "WEBVTT\n\n", then for each segment "START --> END\nTEXT\n\n"
 * (openai/whisper WriteVTT layout: no cue numbers, trimmed text, "-->" defused).
 */
export function renderVtt(result: TranscriptionResult, _options: RenderOptions = {}): string {
  const cues = result.segments.map(
    (segment) => `${vttTimestamp(segment.start)} --> ${vttTimestamp(segment.end)}\n${cueText(segment.text)}\n\n`,
  );
  return `WEBVTT\n\n${cues.join("")}`;
}
