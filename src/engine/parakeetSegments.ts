// Parakeet's result as the Segments every engine returns. parakeet_full gives the whole input as one run of tokens,
// each with its TDT frame times; segments are cut here the way subtitles and verbose_json want them: after a
// sentence's final punctuation, at a pause, or before a segment would grow past the length of a Whisper window.
import { compressionRatio } from "./segmentStats.js";
import type { NativeParakeetToken } from "./nativeTypes.js";
import type { Segment, TokenInfo, Word } from "./types.js";

/** A pause between two words at least this long ends a segment (seconds). */
export const SEGMENT_PAUSE_SECONDS = 0.8;
/** No segment grows past this (seconds): as long as a Whisper window, so both engines cut long speech alike. */
export const MAX_SEGMENT_SECONDS = 30;

const WORD_START = "\u2581";
const CONTROL_PIECES = new Set(["<unk>", "<s>", "</s>", "<pad>"]);
const SENTENCE_END = /[.!?\u2026\u3002\uff01\uff1f]["')\]\u201d\u00bb]*$/u;

export interface ParakeetSegmentContext {
  /** Audio duration in seconds: token ends are clamped to it. */
  duration: number;
  wordTimestamps: boolean;
}

/** One native token as a TokenInfo: its piece as text (a word-start marker a space), times in seconds. */
export function parakeetToken(native: NativeParakeetToken, duration: number): TokenInfo {
  const piece = native.piece.toString("utf8");
  const special = CONTROL_PIECES.has(piece);
  const text = special ? "" : piece.replaceAll(WORD_START, " ");
  const probability = Math.min(1, Math.max(0, native.p));
  const start = Math.min(duration, native.t0 / 100);
  return {
    id: native.id,
    text,
    bytes: Buffer.from(text, "utf8"),
    probability,
    logprob: Math.log(Math.max(probability, Number.MIN_VALUE)),
    start,
    end: Math.max(start, Math.min(duration, native.t1 / 100)),
    special,
  };
}

interface WordTokens {
  tokens: TokenInfo[];
}

/** Tokens grouped into words: a word starts at a token marked as a word start (and at the first token). */
function groupWords(tokens: readonly TokenInfo[], starts: readonly boolean[]): WordTokens[] {
  const words: WordTokens[] = [];
  tokens.forEach((token, i) => {
    if (token.special) return;
    const last = words.at(-1);
    if (!last || starts[i]) words.push({ tokens: [token] });
    else last.tokens.push(token);
  });
  return words;
}

function wordOf({ tokens }: WordTokens): Word {
  return {
    word: tokens.map((t) => t.text).join(""),
    start: tokens[0]!.start,
    end: Math.max(...tokens.map((t) => t.end)),
    probability: tokens.reduce((sum, t) => sum + t.probability, 0) / tokens.length,
  };
}

/** Words cut into segments at sentence ends, pauses and the length limit. */
function cutSegments(words: readonly WordTokens[]): WordTokens[][] {
  const segments: WordTokens[][] = [];
  let current: WordTokens[] = [];
  for (const word of words) {
    const first = current[0];
    const previous = current.at(-1);
    if (first && previous) {
      const { start } = wordOf(word);
      const pause = start - wordOf(previous).end;
      const tooLong = wordOf(word).end - wordOf(first).start > MAX_SEGMENT_SECONDS;
      const sentenceEnded = SENTENCE_END.test(wordOf(previous).word.trimEnd());
      if (pause >= SEGMENT_PAUSE_SECONDS || tooLong || sentenceEnded) {
        segments.push(current);
        current = [];
      }
    }
    current.push(word);
  }
  if (current.length > 0) segments.push(current);
  return segments;
}

/** The segments of one Parakeet result, numbered from `firstId`. */
export function parakeetSegments(natives: readonly NativeParakeetToken[], context: ParakeetSegmentContext, firstId = 0): Segment[] {
  const tokens = natives.map((native) => parakeetToken(native, context.duration));
  const words = groupWords(tokens, natives.map((native, i) => native.wordStart || i === 0));
  return cutSegments(words).map((group, index) => {
    const segmentTokens = group.flatMap((word) => word.tokens);
    const text = segmentTokens.map((t) => t.text).join("");
    const start = segmentTokens[0]!.start;
    const end = Math.max(...segmentTokens.map((t) => t.end));
    const segment: Segment = {
      id: firstId + index,
      seek: Math.round(start * 100),
      start,
      end,
      text,
      tokens: segmentTokens,
      temperature: 0,
      avgLogprob: segmentTokens.reduce((sum, t) => sum + t.logprob, 0) / segmentTokens.length,
      compressionRatio: compressionRatio(text),
      // A transducer has no no-speech estimate: blank frames are simply not emitted.
      noSpeechProb: 0,
    };
    if (context.wordTimestamps) segment.words = group.map(wordOf);
    return segment;
  });
}
