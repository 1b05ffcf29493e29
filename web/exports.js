// Transcript exports: plain text, SubRip (.srt), WebVTT (.vtt) and the server's verbose JSON.
// Unlike src/formats (the page cannot import it), on purpose: VTT writes "-->" as "→", times use Math.round, empty cues are dropped.

/** 3725.5 → "01:02:05,500" (SRT) or "01:02:05.500" (VTT). */
function cueTime(seconds, separator) {
  const ms = Math.max(0, Math.round(seconds * 1000));
  const pad = (n, width = 2) => String(n).padStart(width, "0");
  const hours = Math.floor(ms / 3_600_000);
  const minutes = Math.floor((ms % 3_600_000) / 60_000);
  const secs = Math.floor((ms % 60_000) / 1000);
  return `${pad(hours)}:${pad(minutes)}:${pad(secs)}${separator}${pad(ms % 1000, 3)}`;
}

/** The segments worth a cue: with text, and an end after the start. */
function cues(segments) {
  return segments
    .map((segment) => ({ start: segment.start, end: Math.max(segment.end, segment.start + 0.001), text: segment.text.trim() }))
    .filter((cue) => cue.text.length > 0);
}

/** The transcript as plain text, one segment per line. */
function toText(result) {
  const lines = cues(result.segments ?? []).map((cue) => cue.text);
  return `${lines.length > 0 ? lines.join("\n") : (result.text ?? "").trim()}\n`;
}

function toSrt(result) {
  return cues(result.segments ?? [])
    .map((cue, index) => `${index + 1}\n${cueTime(cue.start, ",")} --> ${cueTime(cue.end, ",")}\n${cue.text}\n`)
    .join("\n");
}

function toVtt(result) {
  const body = cues(result.segments ?? [])
    .map((cue) => `${cueTime(cue.start, ".")} --> ${cueTime(cue.end, ".")}\n${cue.text.replaceAll("-->", "→")}\n`)
    .join("\n");
  return `WEBVTT\n\n${body}`;
}

function toJson(result) {
  return `${JSON.stringify(result, null, 2)}\n`;
}

export const EXPORTS = {
  txt: { render: toText, type: "text/plain;charset=utf-8" },
  srt: { render: toSrt, type: "application/x-subrip;charset=utf-8" },
  vtt: { render: toVtt, type: "text/vtt;charset=utf-8" },
  json: { render: toJson, type: "application/json;charset=utf-8" },
};
