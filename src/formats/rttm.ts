// NIST RTTM (Rich Transcription Time Marked), the format diarization scorers (md-eval, dscore, pyannote.metrics)
// read: one `SPEAKER` line per speaker turn,
//   SPEAKER <file-id> <channel> <onset> <duration> <NA> <NA> <speaker> <NA> <NA>
// with times in seconds. Fields are separated by whitespace, so a file id or speaker name that holds any (a name from
// `known_speaker_names[]` such as "Ana Lima") has it written as `_`: every line keeps its ten fields.

/** One speaker turn on the recording's timeline, in seconds. */
export interface RttmTurn {
  start: number;
  end: number;
  speaker: string;
}

/** A turn read back from an RTTM file, with the file it belongs to. */
export interface RttmLine extends RttmTurn {
  fileId: string;
}

/** A field without whitespace (empty becomes `_` too: a missing field would shift every field after it). */
function field(value: string): string {
  const cleaned = value.trim().replace(/\s+/g, "_");
  return cleaned === "" ? "_" : cleaned;
}

/** Seconds with 3 decimals, never negative zero. */
function seconds(value: number): string {
  const rounded = Math.round(value * 1000) / 1000;
  return (rounded === 0 ? 0 : rounded).toFixed(3);
}

/**
 * `turns` as RTTM `SPEAKER` lines on channel 1, in start order (ties by end, then speaker), one per turn, each
 * ending in a newline; an empty string for no turns. A turn of zero or negative length is left out (scorers reject
 * it).
 */
export function renderRttm(fileId: string, turns: readonly RttmTurn[]): string {
  const id = field(fileId);
  return [...turns]
    .filter((turn) => turn.end > turn.start)
    .sort((a, b) => a.start - b.start || a.end - b.end || a.speaker.localeCompare(b.speaker))
    .map((turn) => `SPEAKER ${id} 1 ${seconds(turn.start)} ${seconds(turn.end - turn.start)} <NA> <NA> ${field(turn.speaker)} <NA> <NA>\n`)
    .join("");
}

/**
 * The `SPEAKER` lines of an RTTM text (other line types, blank lines and `;;` comments skipped), in file order.
 * Throws on a `SPEAKER` line whose onset or duration is not a number, or that has fewer than 8 fields, naming the
 * line.
 */
export function parseRttm(text: string): RttmLine[] {
  const out: RttmLine[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (line === "" || line.startsWith(";;")) return;
    const fields = line.split(/\s+/);
    if (fields[0] !== "SPEAKER") return;
    const onset = Number(fields[3]);
    const duration = Number(fields[4]);
    if (fields.length < 8 || !Number.isFinite(onset) || !Number.isFinite(duration) || duration < 0) {
      throw new Error(`RTTM line ${index + 1} is not a SPEAKER line with an onset, a duration and a speaker: "${line}"`);
    }
    // The end rounded to the microsecond: 1.1 + 2.2 reads back as 3.3, not 3.3000000000000003.
    out.push({ fileId: fields[1]!, start: onset, end: Math.round((onset + duration) * 1e6) / 1e6, speaker: fields[7]! });
  });
  return out;
}
