// Speakers of a diarized_json transcript: its segments grouped into turns, and the names the person gives the
// speakers on the page (the server's labels "A", "B", … or its known names, renamed), which the transcript and
// every export show.

/** Longest name the page takes for a speaker (the server's limit for `known_speaker_names[]`). */
export const SPEAKER_NAME_MAX = 64;

/** Whether `result` is a diarized_json transcription (every segment carries a speaker). */
export function isDiarized(result) {
  const segments = result?.segments;
  return Array.isArray(segments) && segments.length > 0 && segments.every((segment) => typeof segment.speaker === "string");
}

/**
 * Consecutive segments of one speaker, in time order: `[{speaker, segments}]`. Segments without text are left out
 * (they would make a turn of nothing, or split one speaker's turn in two).
 */
export function speakerTurns(segments) {
  const turns = [];
  for (const segment of segments) {
    if (!segment.text.trim()) continue;
    const last = turns.at(-1);
    if (last && last.speaker === segment.speaker) last.segments.push(segment);
    else turns.push({ speaker: segment.speaker, segments: [segment] });
  }
  return turns;
}

/** The speakers' labels in order of first appearance. */
export function speakerLabels(segments) {
  return [...new Set(segments.map((segment) => segment.speaker))];
}

/**
 * The names given to speakers on the page, by the server's label. A label nobody renamed is its own name.
 * Listeners hear each rename (the transcript redraws that speaker's labels).
 */
export class SpeakerNames {
  constructor() {
    /** @type {Map<string, string>} */
    this.names = new Map();
    /** @type {Set<(label: string, name: string) => void>} */
    this.listeners = new Set();
  }

  /** The name shown for `label`. */
  nameOf(label) {
    return this.names.get(label) ?? label;
  }

  /** Names `label`'s speaker; a blank name gives the speaker back its label. Returns the name now shown. */
  rename(label, name) {
    const clean = String(name).replace(/\s+/g, " ").trim().slice(0, SPEAKER_NAME_MAX);
    if (clean && clean !== label) this.names.set(label, clean);
    else this.names.delete(label);
    const shown = this.nameOf(label);
    for (const listener of this.listeners) listener(label, shown);
    return shown;
  }

  /** Calls `listener(label, name)` on every rename; returns the function that stops it. */
  onRename(listener) {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

/** `result` (diarized_json) with each segment's speaker replaced by its name on the page; `result` is not changed. */
export function withSpeakerNames(result, names) {
  return { ...result, segments: result.segments.map((segment) => ({ ...segment, speaker: names.nameOf(segment.speaker) })) };
}
