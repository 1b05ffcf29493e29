import type { TranscriptionResult } from "../engine/types.js";
import { renderJson } from "./json.js";
import { renderSrt } from "./srt.js";
import { renderText } from "./text.js";
import type { AudioResponseFormat, RenderOptions } from "./types.js";
import { renderVerboseJson } from "./verboseJson.js";
import { renderVtt } from "./vtt.js";

export * from "./types.js";
export { formatTimestamp, type TimestampFormat } from "./timestamp.js";
export { LANGUAGES, TO_LANGUAGE_CODE, languageName, normalizeLanguage } from "../transcription/languages.js";
export { durationUsage, renderJson, resultTokens, tokenLogprobs } from "./json.js";
export { renderText } from "./text.js";
export { cueText, renderSrt, srtTimestamp } from "./srt.js";
export { renderVtt, vttTimestamp } from "./vtt.js";
export { renderVerboseJson, wireSegment, wireWordText, wireWords } from "./verboseJson.js";
export { formatSseEvent, textDeltaEvent, textDoneEvent, tokenUsage } from "./streamEvents.js";
export { diarizedSegment, diarizedText, renderDiarizedJson, type SpeakerTurn } from "./diarizedJson.js";
export { parseRttm, renderRttm, type RttmLine, type RttmTurn } from "./rttm.js";
export { isSpeakerFormat, renderSpeakers, SPEAKER_FORMATS, type SpeakerFormat, type SpeakerTranscript } from "./speakerFormats.js";

/** How one response format is sent. */
export interface ResponseFormatSpec {
  /** Value of the Content-Type header. */
  contentType: string;
  /** Pure renderer: an object for the JSON formats, a string for the others. */
  render(result: TranscriptionResult, options?: RenderOptions): string | object;
}

const JSON_TYPE = "application/json";
// OpenAI sends text, srt and vtt all as text/plain (a captured whisper-1 SRT reply carries
// `content-type: text/plain; charset=utf-8`), not application/x-subrip or text/vtt.
const TEXT_TYPE = "text/plain; charset=utf-8";

/** Every response format with its content type and renderer. */
export const responseFormats: Readonly<Record<AudioResponseFormat, ResponseFormatSpec>> = Object.freeze({
  json: { contentType: JSON_TYPE, render: renderJson },
  text: { contentType: TEXT_TYPE, render: renderText },
  srt: { contentType: TEXT_TYPE, render: renderSrt },
  verbose_json: { contentType: JSON_TYPE, render: renderVerboseJson },
  vtt: { contentType: TEXT_TYPE, render: renderVtt },
});

/** A rendered response: header value and body bytes-to-be. */
export interface RenderedResponse {
  contentType: string;
  body: string;
}

/**
 * Renders a result in `format`; JSON bodies are serialized compactly (as OpenAI sends them),
 * text bodies returned as-is.
 */
export function renderTranscription(
  format: AudioResponseFormat,
  result: TranscriptionResult,
  options: RenderOptions = {},
): RenderedResponse {
  const spec = responseFormats[format];
  const rendered = spec.render(result, options);
  return { contentType: spec.contentType, body: typeof rendered === "string" ? rendered : JSON.stringify(rendered) };
}
