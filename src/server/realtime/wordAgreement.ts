// Live text by local agreement: the growing turn is transcribed again and again, and a word is confirmed once the
// last `passes` passes agree on it and on everything before it (one pass: the pass's words but the last few, which
// are the likeliest to change as more audio arrives). Confirmed words are never taken back; the rest of the latest
// pass is offered as unstable text for display. The passes may cover a window of the turn that leaves out its
// settled start ({@link WordAgreement.trim}): their words are then compared after the words left out.

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

export interface AgreementRule {
  /** Passes that must agree on a word (1: the latest pass alone). */
  passes: number;
  /** Words at the end of the latest pass never confirmed by it (they may be cut mid-word). */
  holdBack: number;
}

/** The agreed words of one turn, pass after pass. */
export class WordAgreement {
  /** The latest passes' words, newest last (at most `rule.passes`), from the window's start. */
  private recent: string[][] = [];
  private readonly confirmed: string[] = [];
  /** Confirmed words before the window the passes cover. */
  private base = 0;

  constructor(private readonly rule: AgreementRule = { passes: 2, holdBack: 0 }) {}

  /**
   * Feeds one pass's text; returns the words newly agreed (beyond those already confirmed), or none. The newest
   * pass's spelling of a word is kept.
   */
  update(text: string): string[] {
    const current = splitWords(text);
    this.recent.push(current);
    if (this.recent.length > this.rule.passes) this.recent.shift();
    if (this.recent.length < this.rule.passes) return [];
    let agreed = current.length - this.rule.holdBack;
    for (const pass of this.recent.slice(0, -1)) agreed = Math.min(agreed, agreedPrefixLength(pass, current));
    // Words already confirmed stay; only agreement that reaches past them adds words.
    const inWindow = this.windowWords;
    if (agreed <= inWindow.length || !this.startsWithConfirmed(current)) return [];
    const added = current.slice(inWindow.length, agreed);
    this.confirmed.push(...added);
    return added;
  }

  /** Confirmed words inside the window the passes cover. */
  get windowWords(): readonly string[] {
    return this.confirmed.slice(this.base);
  }

  /** Whether a pass's words start with every confirmed word of the window. */
  startsWithConfirmed(words: readonly string[]): boolean {
    const inWindow = this.windowWords;
    return agreedPrefixLength(inWindow, words) === inWindow.length;
  }

  /** The window moves past its first `count` confirmed words: later passes leave out their audio. */
  trim(count: number): void {
    const n = Math.min(count, this.confirmed.length - this.base);
    this.base += n;
    this.recent = this.recent.map((pass) => pass.slice(n));
  }

  /** Confirmed words, in order. */
  get words(): readonly string[] {
    return this.confirmed;
  }

  /** Confirmed words. */
  get text(): string {
    return this.confirmed.join(" ");
  }

  /** The latest pass's words after the confirmed ones: a guess that the next pass may still change. */
  get unstable(): string {
    return (this.recent.at(-1) ?? []).slice(this.confirmed.length - this.base).join(" ");
  }

  /**
   * The turn's final transcript from a final pass over the window, kept consistent with what was confirmed: the
   * confirmed words, then the final pass's words after the window's confirmed ones. When the final pass agrees with
   * them (the usual case) this is the confirmed text before the window plus the final pass's text; when it rewrote
   * some, the confirmed ones stand (they were already sent) and the rest follows by position.
   */
  finalText(finalPass: string): string {
    if (this.confirmed.length === 0) return finalPass.trim();
    const final = splitWords(finalPass);
    return [...this.confirmed, ...final.slice(this.confirmed.length - this.base)].join(" ");
  }
}
