// A synthetic SentencePiece vocabulary: "<unk>" at 0 (as in NVIDIA's tokenizers), a few punctuation pieces, then
// pronounceable junk pieces, two in three starting a word ("▁ba", "▁xito") and the rest continuing one ("ra", "nemu"),
// so decoded text reads as words and parakeet.cpp's is_word_start (a leading "▁") splits it into words. The blank
// is not stored: the loader puts it at n_vocab.

/** SentencePiece's word-start marker (U+2581). */
export const WORD_START = "\u2581";

export const UNK_PIECE = "<unk>";

/** Pieces parakeet.cpp's refine_timestamps_tdt collapses to their predecessor's end. */
export const PUNCTUATION_PIECES: readonly string[] = [".", ",", "?"];

const CONSONANTS = "bdfghjklmnprstvz";
const VOWELS = "aeiou";
const SYLLABLES = CONSONANTS.length * VOWELS.length;

/** 1 or 2 consonant-vowel syllables, unique per index below SYLLABLES * (SYLLABLES + 1), the 2-syllable ones shuffled. */
function junkPiece(index: number): string {
  const syllable = (n: number): string => CONSONANTS[Math.floor(n / VOWELS.length)]! + VOWELS[n % VOWELS.length]!;
  if (index < SYLLABLES) return syllable(index);
  // a multiplier prime to SYLLABLES^2 permutes the pairs, so neighbouring ids do not share their first syllable
  const n = ((index - SYLLABLES) * 2749 + 1) % (SYLLABLES * SYLLABLES);
  return syllable(Math.floor(n / SYLLABLES)) + syllable(n % SYLLABLES);
}

/** Whether piece `id` (past the specials) continues a word: every third one. */
function isContinuation(id: number): boolean {
  return id % 3 === 0;
}

/** The `nVocab` pieces, by id. */
export function parakeetSyntheticVocab(nVocab: number): string[] {
  const pieces = [UNK_PIECE, ...PUNCTUATION_PIECES];
  let wordStarts = 0;
  let continuations = 0;
  for (let id = pieces.length; id < nVocab; id++) {
    pieces.push(isContinuation(id) ? junkPiece(continuations++) : WORD_START + junkPiece(wordStarts++));
  }
  return pieces.slice(0, nVocab);
}
