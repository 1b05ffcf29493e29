// Word assembly from decoded tokens, ported from openai/whisper:
// tokenizer.py split_to_word_tokens / split_tokens_on_unicode / split_tokens_on_spaces and
// timing.py merge_punctuations. Pure functions over TokenInfo: no vocabulary or native code needed.
import type { TokenInfo, Word } from "./types.js";

/** Punctuation merged into the following word (whisper's `prepend_punctuations`). */
export const DEFAULT_PREPEND_PUNCTUATIONS = "\"'“¿([{-";
/** Punctuation merged into the preceding word (whisper's `append_punctuations`). */
export const DEFAULT_APPEND_PUNCTUATIONS = "\"'.。,，!！?？:：”)]}、";
/** Languages written without spaces: words are split wherever the bytes form complete characters. */
export const UNICODE_SPLIT_LANGUAGES: ReadonlySet<string> = new Set(["zh", "ja", "th", "lo", "my", "yue"]);

/** Python's `string.punctuation`. */
const ASCII_PUNCTUATION = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";
const REPLACEMENT_CHAR = "\uFFFD";
// fatal: false turns incomplete sequences into U+FFFD; ignoreBOM keeps a leading U+FEFF as text.
const decoder = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });

/** Options of {@link groupTokensIntoWords}. */
export interface WordGroupingOptions {
  /** ISO-639-1 code of the text; zh, ja, th, lo, my and yue are split per character, not on spaces. */
  language?: string;
  /** Override of {@link DEFAULT_PREPEND_PUNCTUATIONS}. */
  prependPunctuations?: string;
  /** Override of {@link DEFAULT_APPEND_PUNCTUATIONS}. */
  appendPunctuations?: string;
}

/** A word under construction: its text, its tokens, and the timing of its own (pre-merge) tokens. */
interface WordTiming {
  word: string;
  tokens: TokenInfo[];
  start: number;
  end: number;
  probability: number;
}

function concatBytes(tokens: readonly TokenInfo[]): Uint8Array {
  let length = 0;
  for (const token of tokens) length += token.bytes.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const token of tokens) {
    out.set(token.bytes, offset);
    offset += token.bytes.length;
  }
  return out;
}

const decode = (tokens: readonly TokenInfo[]) => decoder.decode(concatBytes(tokens));

/**
 * The text of the non-special tokens: their bytes concatenated, then decoded as UTF-8 (so a character
 * split over several tokens comes out whole; an unfinished one becomes U+FFFD).
 */
export function tokensToText(tokens: readonly TokenInfo[]): string {
  return decode(tokens.filter((token) => !token.special));
}

/**
 * whisper's split_tokens_on_unicode: cut wherever the tokens so far decode to complete characters.
 * A U+FFFD that is also in the decoding of the whole run is genuine (bad bytes), not a pending character.
 */
function splitOnUnicode(tokens: readonly TokenInfo[]): { text: string; tokens: TokenInfo[] }[] {
  const full = decode(tokens);
  const out: { text: string; tokens: TokenInfo[] }[] = [];
  let current: TokenInfo[] = [];
  let offset = 0;
  for (const token of tokens) {
    current.push(token);
    const decoded = decode(current);
    const bad = decoded.indexOf(REPLACEMENT_CHAR);
    if (bad === -1 || full[offset + bad] === REPLACEMENT_CHAR) {
      out.push({ text: decoded, tokens: current });
      current = [];
      offset += decoded.length;
    }
  }
  if (current.length > 0) out.push({ text: decode(current), tokens: current });
  return out;
}

/**
 * whisper's split_tokens_on_spaces: a subword opens a new word when it starts with a space, when it is
 * punctuation (Python `subword.strip() in string.punctuation`, so whitespace-only too), or when it is
 * the first; otherwise it is glued to the previous word.
 */
function splitOnSpaces(tokens: readonly TokenInfo[]): { text: string; tokens: TokenInfo[] }[] {
  const words: { text: string; tokens: TokenInfo[] }[] = [];
  for (const subword of splitOnUnicode(tokens)) {
    const last = words[words.length - 1];
    const opensWord = subword.text.startsWith(" ") || ASCII_PUNCTUATION.includes(subword.text.trim());
    if (opensWord || last === undefined) words.push({ text: subword.text, tokens: [...subword.tokens] });
    else {
      last.text += subword.text;
      last.tokens.push(...subword.tokens);
    }
  }
  return words;
}

/** Port of whisper's merge_punctuations (same substring tests); words keep their own timing. */
function mergePunctuations(words: WordTiming[], prepended: string, appended: string): void {
  let i = words.length - 2;
  let j = words.length - 1;
  while (i >= 0) {
    const previous = words[i]!;
    const following = words[j]!;
    if (previous.word.startsWith(" ") && prepended.includes(previous.word.trim())) {
      following.word = previous.word + following.word;
      following.tokens = [...previous.tokens, ...following.tokens];
      previous.word = "";
      previous.tokens = [];
    } else {
      j = i;
    }
    i -= 1;
  }

  i = 0;
  j = 1;
  while (j < words.length) {
    const previous = words[i]!;
    const following = words[j]!;
    if (!previous.word.endsWith(" ") && appended.includes(following.word)) {
      previous.word = previous.word + following.word;
      previous.tokens = [...previous.tokens, ...following.tokens];
      following.word = "";
      following.tokens = [];
    } else {
      i = j;
    }
    j += 1;
  }
}

function timed(text: string, tokens: TokenInfo[]): WordTiming {
  const first = tokens[0]!;
  const last = tokens[tokens.length - 1]!;
  const probability = tokens.reduce((sum, token) => sum + token.probability, 0) / tokens.length;
  return { word: text, tokens, start: first.start, end: last.end, probability };
}

/**
 * Groups decoded tokens into words the way openai/whisper does for word timestamps:
 * - special tokens (timestamps, end-of-text...) are dropped and end the current word;
 * - bytes are joined until they form complete UTF-8, so a character spread over tokens stays whole;
 * - for zh, ja, th, lo, my, yue every complete-character group is a word; otherwise a word starts at a
 *   subword beginning with a space and at punctuation;
 * - leading punctuation (`"'“¿([{-`) is merged into the next word, trailing punctuation
 *   (`"'.。,，!！?？:：”)]}、`) into the previous one.
 * `start` is the first token's start and `end` the last token's end, `probability` the mean token
 * probability, all taken over the word's own tokens before punctuation is merged in (as whisper keeps
 * the word's timing when it absorbs punctuation). Words keep whisper's leading space (" Hello,").
 */
export function groupTokensIntoWords(tokens: readonly TokenInfo[], options: WordGroupingOptions = {}): Word[] {
  const language = options.language?.trim().toLowerCase();
  const split = language !== undefined && UNICODE_SPLIT_LANGUAGES.has(language) ? splitOnUnicode : splitOnSpaces;

  const words: WordTiming[] = [];
  let run: TokenInfo[] = [];
  const flush = () => {
    if (run.length > 0) for (const w of split(run)) words.push(timed(w.text, w.tokens));
    run = [];
  };
  for (const token of tokens) {
    if (token.special) flush();
    else run.push(token);
  }
  flush();

  mergePunctuations(
    words,
    options.prependPunctuations ?? DEFAULT_PREPEND_PUNCTUATIONS,
    options.appendPunctuations ?? DEFAULT_APPEND_PUNCTUATIONS,
  );

  return words
    .filter((w) => w.word !== "")
    .map((w) => ({ word: w.word, start: w.start, end: w.end, probability: w.probability }));
}
