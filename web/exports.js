// Transcript exports: plain text, SubRip (.srt), WebVTT (.vtt) and the server's JSON (verbose_json, or diarized_json).
// Unlike src/formats (the page cannot import it), on purpose: VTT writes "-->" as "→", times use Math.round, empty cues are dropped.
// A diarized transcript carries its speakers' names as the page shows them: "Name: text" on each cue and each turn's
// line of text, and the names in place of the server's labels in the JSON.
import { isDiarized, SpeakerNames, speakerTurns, withSpeakerNames } from "./speakers.js";

/** No names given: every speaker keeps the server's label. */
const SERVER_LABELS = new SpeakerNames();

/** 3725.5 → "01:02:05,500" (SRT) or "01:02:05.500" (VTT). */
function cueTime(seconds, separator) {
  const ms = Math.max(0, Math.round(seconds * 1000));
  const pad = (n, width = 2) => String(n).padStart(width, "0");
  const hours = Math.floor(ms / 3_600_000);
  const minutes = Math.floor((ms % 3_600_000) / 60_000);
  const secs = Math.floor((ms % 60_000) / 1000);
  return `${pad(hours)}:${pad(minutes)}:${pad(secs)}${separator}${pad(ms % 1000, 3)}`;
}

/** The segments worth a cue: with text, and an end after the start; "Name: " before the text of a speaker's segment. */
function cues(result, names) {
  const diarized = isDiarized(result);
  return (result.segments ?? [])
    .map((segment) => {
      const text = segment.text.trim();
      return {
        start: segment.start,
        end: Math.max(segment.end, segment.start + 0.001),
        text: diarized && text ? `${names.nameOf(segment.speaker)}: ${text}` : text,
      };
    })
    .filter((cue) => cue.text.length > 0);
}

/** The transcript as plain text: one segment per line, or one speaker's turn per line ("Name: text"). */
function toText(result, names = SERVER_LABELS) {
  const lines = isDiarized(result)
    ? speakerTurns(result.segments).map((turn) => `${names.nameOf(turn.speaker)}: ${turn.segments.map((segment) => segment.text.trim()).join(" ")}`)
    : cues(result, names).map((cue) => cue.text);
  return `${lines.length > 0 ? lines.join("\n") : (result.text ?? "").trim()}\n`;
}

function toSrt(result, names = SERVER_LABELS) {
  return cues(result, names)
    .map((cue, index) => `${index + 1}\n${cueTime(cue.start, ",")} --> ${cueTime(cue.end, ",")}\n${cue.text}\n`)
    .join("\n");
}

/** Cue text as WebVTT reads it: "&", "<" and ">" escaped (a name or a word with "<" would open a tag), no "-->". */
function vttText(text) {
  return text.replaceAll("-->", "→").replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");
}

function toVtt(result, names = SERVER_LABELS) {
  const body = cues(result, names)
    .map((cue) => `${cueTime(cue.start, ".")} --> ${cueTime(cue.end, ".")}\n${vttText(cue.text)}\n`)
    .join("\n");
  return `WEBVTT\n\n${body}`;
}

function toJson(result, names = SERVER_LABELS) {
  return `${JSON.stringify(isDiarized(result) ? withSpeakerNames(result, names) : result, null, 2)}\n`;
}

/** Each export's renderer, `render(result, names?)` (`names`: the page's SpeakerNames; without it, the server's labels). */
export const EXPORTS = {
  txt: { render: toText, type: "text/plain;charset=utf-8" },
  srt: { render: toSrt, type: "application/x-subrip;charset=utf-8" },
  vtt: { render: toVtt, type: "text/vtt;charset=utf-8" },
  json: { render: toJson, type: "application/json;charset=utf-8" },
};
