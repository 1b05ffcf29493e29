// A transcription with speakers (diarized_json's segments, and the speaker models' turns when told apart by voice) in
// every format that can carry them: diarized_json, Earshot's rttm, and srt / vtt cues as `A: text` (OpenAI's own
// subtitle formats have no speaker field). A batch job stores one such result and renders any of these from it.
import { renderDiarizedJson, type SpeakerTurn } from "./diarizedJson.js";
import { renderRttm, type RttmTurn } from "./rttm.js";
import { cueText, srtTimestamp } from "./srt.js";
import { vttTimestamp } from "./vtt.js";

/** The formats a result with speakers renders in with them. */
export const SPEAKER_FORMATS = ["diarized_json", "rttm", "srt", "vtt"] as const;
export type SpeakerFormat = (typeof SPEAKER_FORMATS)[number];

export function isSpeakerFormat(format: string): format is SpeakerFormat {
  return (SPEAKER_FORMATS as readonly string[]).includes(format);
}

export interface SpeakerTranscript {
  duration: number;
  /** In time order. */
  segments: SpeakerTurn[];
  /** Who spoke when (RTTM's turns); the segments' times when absent. */
  turns?: RttmTurn[] | undefined;
}

/** `format` of a transcript with speakers; `fileId` names the recording in RTTM. */
export function renderSpeakers(format: SpeakerFormat, transcript: SpeakerTranscript, fileId = "audio"): { contentType: string; body: string } {
  const text = "text/plain; charset=utf-8";
  switch (format) {
    case "diarized_json":
      return { contentType: "application/json", body: JSON.stringify(renderDiarizedJson(transcript.duration, transcript.segments)) };
    case "rttm":
      return { contentType: text, body: renderRttm(fileId, transcript.turns ?? transcript.segments) };
    case "srt":
      return {
        contentType: text,
        body: `${transcript.segments.map((s, i) => `${i + 1}\n${srtTimestamp(s.start)} --> ${srtTimestamp(s.end)}\n${cueText(`${s.speaker}: ${s.text.trim()}`)}\n\n`).join("")}\n`,
      };
    case "vtt":
      return {
        contentType: text,
        body: `WEBVTT\n\n${transcript.segments.map((s) => `${vttTimestamp(s.start)} --> ${vttTimestamp(s.end)}\n${cueText(`${vttEscape(s.speaker)}: ${s.text.trim()}`)}\n\n`).join("")}`,
      };
  }
}

/** A name in a WebVTT cue: `&`, `<` and `>` would start an entity or a tag. */
function vttEscape(name: string): string {
  return name.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");
}
