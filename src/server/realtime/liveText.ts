// The live text of the turn being spoken: the words its passes agreed on (WordAgreement), and the window of the
// turn's audio the next pass covers. Each pass would otherwise transcribe the whole turn so far, a cost that grows
// with the square of the turn's length; instead, once a pass's leading segments hold only confirmed words and end
// well before the audio does, the window moves past them (as whisper_streaming trims its buffer), and the confirmed
// text goes to the decoder as prompt. The final pass at the commit covers the window too, so the time from the end
// of speech to `completed` stays bounded by the unsettled tail, not the turn's length.
import type { Segment } from "../../engine/types.js";
import { SAMPLE_RATE } from "../../engine/sampleRate.js";
import { splitWords, type AgreementRule, WordAgreement } from "./wordAgreement.js";

/** A segment is left out of later passes only when it ends at least this long before the pass's audio does. */
const SETTLED_MARGIN_SECONDS = 1;

export class LiveText {
  readonly agreement: WordAgreement;
  /** The session sample where the next pass's audio starts: the turn's start, or the end of settled segments. */
  windowStartSample: number;

  constructor(rule: AgreementRule, startSample: number) {
    this.agreement = new WordAgreement(rule);
    this.windowStartSample = startSample;
  }

  /** Words confirmed so far (what the deltas said). */
  get text(): string {
    return this.agreement.text;
  }

  /**
   * After a pass over [windowStartSample, endSample) whose text was fed to the agreement: the window moves past the
   * pass's leading segments whose words are all confirmed and that end at least SETTLED_MARGIN_SECONDS before
   * `endSample`.
   */
  settle(segments: readonly Segment[], endSample: number): void {
    const words = splitWords(segments.map((s) => s.text).join(""));
    if (!this.agreement.startsWithConfirmed(words)) return;
    const confirmed = this.agreement.windowWords.length;
    let counted = 0;
    let cutWords = 0;
    let cutSample = this.windowStartSample;
    for (const segment of segments) {
      const n = splitWords(segment.text).length;
      if (counted + n > confirmed) break;
      const segmentEnd = this.windowStartSample + Math.round(segment.end * SAMPLE_RATE);
      if (endSample - segmentEnd < SETTLED_MARGIN_SECONDS * SAMPLE_RATE) break;
      counted += n;
      cutWords = counted;
      cutSample = segmentEnd;
    }
    if (cutWords === 0) return;
    this.agreement.trim(cutWords);
    this.windowStartSample = cutSample;
  }

  /** The confirmed text before the window: the context a pass over the window is conditioned on (after the caller's prompt). */
  context(): string {
    return this.agreement.words.slice(0, this.agreement.words.length - this.agreement.windowWords.length).join(" ");
  }
}
