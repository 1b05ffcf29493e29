// Live partial captions by local agreement: the growing turn is transcribed again and again, and a word is shown
// once two successive passes agree on it and on everything before it. Words shown are never taken back; the
// rest of the latest pass is offered as unstable text for display.

/** Lower-cased, without surrounding punctuation: "Hello," and "hello" agree. */
function comparable(word: string): string {
  return word.toLowerCase().replace(/^[^\p{L}\p{N}]+|[^\p{L}\p{N}]+$/gu, "");
}

export function splitWords(text: string): string[] {
  return text.trim().split(/\s+/).filter(Boolean);
}

/** How many leading words `previous` and `current` share. */
export function agreedPrefixLength(previous: readonly string[], current: readonly string[]): number {
  let n = 0;
  while (n < previous.length && n < current.length && comparable(previous[n]!) === comparable(current[n]!)) n++;
  return n;
}

/** The agreed words of one turn, pass after pass. */
export class WordAgreement {
  private previous: string[] = [];
  private readonly confirmed: string[] = [];

  /**
   * Feeds one pass's text; returns the words newly agreed (beyond those already confirmed), or none. The newest
   * pass's spelling of a word is kept.
   */
  update(text: string): string[] {
    const current = splitWords(text);
    const agreed = agreedPrefixLength(this.previous, current);
    this.previous = current;
    // Words already confirmed stay; only agreement that reaches past them adds words.
    if (agreed <= this.confirmed.length || agreedPrefixLength(this.confirmed, current) < this.confirmed.length) return [];
    const added = current.slice(this.confirmed.length, agreed);
    this.confirmed.push(...added);
    return added;
  }

  /** Confirmed words. */
  get text(): string {
    return this.confirmed.join(" ");
  }

  /** The latest pass's words after the confirmed ones: a guess that the next pass may still change. */
  get unstable(): string {
    return this.previous.slice(this.confirmed.length).join(" ");
  }
}
