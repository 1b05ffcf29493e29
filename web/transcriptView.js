// The transcript by segment with timestamps, synchronized with the audio player: a click on a time
// or a word plays from there, and the word being spoken is highlighted. A diarized transcript is shown by speaker
// turn (one speaker's consecutive segments under the speaker's name, which can be renamed in place).
import { showSpeakerName, speakerLabel } from "./speakerLabel.js";
import { isDiarized, speakerLabels, speakerTurns } from "./speakers.js";
import { formatClock, h } from "./ui.js";

/** How many speaker colours styles.css has (.turn[data-color]). */
const SPEAKER_COLORS = 6;

/** The words that fall within each segment (by their start time). */
function wordsBySegment(segments, words) {
  const groups = segments.map(() => []);
  let index = 0;
  for (const word of words) {
    while (index < segments.length - 1 && word.start >= (segments[index + 1]?.start ?? Infinity) - 0.005) index++;
    groups[index]?.push(word);
  }
  return groups;
}

/**
 * The segment's text with each of its words wrapped in a span, found in order in the text so that
 * punctuation and spacing stay as the server wrote them. Each span goes into `timed` with its times.
 */
function segmentText(text, words, timed) {
  const parts = [];
  let cursor = 0;
  const lower = text.toLowerCase();
  for (const word of words) {
    const needle = word.word.trim().toLowerCase();
    if (!needle) continue;
    const at = lower.indexOf(needle, cursor);
    if (at < 0) continue;
    if (at > cursor) parts.push(text.slice(cursor, at));
    const span = h("span", { className: "word", dataset: { start: String(word.start), end: String(word.end) } }, text.slice(at, at + needle.length));
    parts.push(span);
    timed.push({ start: word.start, end: word.end, element: span });
    cursor = at + needle.length;
  }
  if (cursor < text.length) parts.push(text.slice(cursor));
  return parts;
}

export class TranscriptView {
  /**
   * @param {HTMLOListElement} list
   * @param {HTMLAudioElement} player
   * @param {string} renameHintId the element that says how to rename a speaker
   */
  constructor(list, player, renameHintId) {
    this.list = list;
    this.player = player;
    this.renameHintId = renameHintId;
    /** The speaker name buttons by the server's label, and the names' listener of the transcript shown. */
    this.speakerButtons = new Map();
    this.stopListening = () => undefined;
    /** @type {{start: number, end: number, element: HTMLElement}[]} */
    this.words = [];
    /** @type {{start: number, end: number, element: HTMLElement}[]} */
    this.segments = [];
    this.currentWord = null;
    this.currentSegment = null;
    this.frame = 0;

    list.addEventListener("click", (event) => {
      const target = event.target instanceof Element ? event.target.closest("[data-start]") : null;
      if (!target || !list.contains(target)) return;
      this.playFrom(Number(target.getAttribute("data-start")));
    });
    const follow = () => {
      this.highlight(player.currentTime);
      if (!player.paused) this.frame = requestAnimationFrame(follow);
    };
    player.addEventListener("play", () => {
      cancelAnimationFrame(this.frame);
      this.frame = requestAnimationFrame(follow);
    });
    player.addEventListener("seeked", () => this.highlight(player.currentTime));
    player.addEventListener("timeupdate", () => {
      if (player.paused) this.highlight(player.currentTime);
    });
  }

  /**
   * Renders a verbose_json transcription, or a diarized_json one by speaker turn with the names in `names` (a
   * SpeakerNames: a rename shows at once on every turn of that speaker).
   */
  render(result, names) {
    const segments = (result.segments ?? []).filter((segment) => segment.text.trim());
    const words = Array.isArray(result.words) ? result.words : [];
    this.list.replaceChildren();
    this.words = [];
    this.segments = [];
    this.currentWord = this.currentSegment = null;
    this.stopListening();
    this.stopListening = () => undefined;
    this.speakerButtons.clear();
    if (segments.length === 0) {
      const text = (result.text ?? "").trim();
      this.list.append(h("li", { className: "segment empty" }, text || "No speech was found in this audio."));
      return;
    }
    if (names && isDiarized(result)) {
      this.renderTurns(segments, names);
      return;
    }
    const groups = wordsBySegment(segments, words);
    segments.forEach((segment, index) => this.list.append(this.segmentItem(segment, groups[index] ?? [])));
  }

  /** One item per speaker turn: the speaker's name, then the turn's segments with their times. */
  renderTurns(segments, names) {
    const order = speakerLabels(segments);
    for (const turn of speakerTurns(segments)) {
      const label = speakerLabel(turn.speaker, names, this.renameHintId);
      const buttons = this.speakerButtons.get(turn.speaker) ?? [];
      buttons.push(label);
      this.speakerButtons.set(turn.speaker, buttons);
      this.list.append(
        h(
          "li",
          { className: "turn", dataset: { speaker: turn.speaker, color: String(order.indexOf(turn.speaker) % SPEAKER_COLORS) } },
          h("div", { className: "turn-head" }, label),
          h("ol", { className: "turn-segments" }, turn.segments.map((segment) => this.segmentItem(segment, []))),
        ),
      );
    }
    this.stopListening = names.onRename((speaker, name) => {
      for (const button of this.speakerButtons.get(speaker) ?? []) showSpeakerName(button, name);
    });
  }

  /** A segment's item: its time (a button that plays from there) and its text, words clickable. */
  segmentItem(segment, words) {
    const stamp = formatClock(segment.start);
    const item = h(
      "li",
      { className: "segment", dataset: { start: String(segment.start), end: String(segment.end) } },
      h("button", { type: "button", className: "timestamp", "aria-label": `Play from ${stamp}`, dataset: { start: String(segment.start) } }, stamp),
      h("p", { className: "segment-text" }, segmentText(segment.text.trim(), words, this.words)),
    );
    this.segments.push({ start: segment.start, end: segment.end, element: item });
    return item;
  }

  playFrom(seconds) {
    if (!Number.isFinite(seconds)) return;
    this.player.currentTime = seconds;
    this.highlight(seconds);
    this.player.play().catch(() => undefined);
  }

  /** Marks the word and segment being played at `time`. */
  highlight(time) {
    const word = findAt(this.words, time);
    if (word !== this.currentWord) {
      this.currentWord?.element.classList.remove("current");
      word?.element.classList.add("current");
      this.currentWord = word;
    }
    const segment = findAt(this.segments, time);
    if (segment !== this.currentSegment) {
      this.currentSegment?.element.classList.remove("active");
      this.currentSegment?.element.removeAttribute("aria-current");
      segment?.element.classList.add("active");
      segment?.element.setAttribute("aria-current", "true");
      this.currentSegment = segment;
      if (segment && !this.player.paused) segment.element.scrollIntoView({ block: "nearest", behavior: "smooth" });
    }
  }
}

/** The item whose [start, end) holds `time` (items sorted by start), or null. */
function findAt(items, time) {
  let low = 0;
  let high = items.length - 1;
  let found = -1;
  while (low <= high) {
    const mid = (low + high) >> 1;
    if ((items[mid]?.start ?? Infinity) <= time) {
      found = mid;
      low = mid + 1;
    } else high = mid - 1;
  }
  const item = items[found];
  return item && time < item.end ? item : null;
}
