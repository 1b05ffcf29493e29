// Vocabulary. Real files store 50257 tokens: 0..50255 BPE tokens, then 50256 = "" on
// multilingual files (their <|endoftext|> is 50257, added by the loader) or "<|endoftext|>" on
// .en files. The synthetic one keeps GPT-2's first 256 tokens, the single bytes in
// bytes_to_unicode order (so " " is 220 and any text is tokenizable), puts the chain words at
// their multilingual-tokenizer ids, and fills the rest with unique pronounceable junk words.

import { CHAIN_WORDS } from "./transcript.js";

const STORED_VOCAB_SIZE = 50257;
/** Where the synthetic vocabulary puts the chain words: their ids in the multilingual tokenizer. */
export const SYNTHETIC_WORD_IDS: Readonly<Record<(typeof CHAIN_WORDS)[number], number>> = {
  " one": 472, " two": 732, " three": 1045, " four": 1451, " five": 1732, " six": 2309,
};

function gpt2ByteOrder(): number[] {
  const printable: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) printable.push(b);
  for (let b = 0xa1; b <= 0xac; b++) printable.push(b);
  for (let b = 0xae; b <= 0xff; b++) printable.push(b);
  const rest: number[] = [];
  for (let b = 0; b < 256; b++) if (!printable.includes(b)) rest.push(b);
  return [...printable, ...rest];
}

/** " ba", " baxe", " xitoka", ...: 1, 2 or 3 consonant-vowel syllables, unique per index. */
function junkWord(index: number): string {
  const consonants = "bcdfghjklmnprstvwxyz";
  const vowels = "aeiou";
  const syllable = (n: number): string => consonants[Math.floor(n / 5) % 20]! + vowels[n % 5]!;
  let count = 1;
  let n = index;
  if (n >= 100) { n -= 100; count = 2; }
  if (count === 2 && n >= 10_000) { n -= 10_000; count = 3; }
  let word = " ";
  for (let i = 0; i < count; i++) {
    word += syllable(n % 100);
    n = Math.floor(n / 100);
  }
  return word;
}

export function syntheticVocab(multilingual: boolean): Buffer[] {
  const tokens: Buffer[] = gpt2ByteOrder().map((b) => Buffer.from([b]));
  const byId = new Map<number, string>(Object.entries(SYNTHETIC_WORD_IDS).map(([word, id]) => [id, word]));
  const reserved = new Set<string>(CHAIN_WORDS);
  for (let id = 256; id < STORED_VOCAB_SIZE - 1; id++) {
    let word = byId.get(id) ?? junkWord(id - 256);
    if (!byId.has(id) && reserved.has(word)) word += "q"; // odd length: cannot collide with junk
    tokens.push(Buffer.from(word, "utf8"));
  }
  tokens.push(Buffer.from(multilingual ? "" : "<|endoftext|>", "utf8"));
  return tokens;
}
