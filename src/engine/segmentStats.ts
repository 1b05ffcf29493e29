// Segment quality statistics as openai/whisper (and so OpenAI's verbose_json) defines them.
import { deflateSync } from "node:zlib";
import type { TokenInfo } from "./types.js";

/** Texts of the end-of-text token in whisper (tiktoken) and whisper.cpp vocabularies. */
const END_OF_TEXT = new Set(["<|endoftext|>", "[_EOT_]"]);

const isEndOfText = (token: TokenInfo) => token.special && END_OF_TEXT.has(token.text);

/**
 * whisper's avg_logprob (decoding.py: `sum_logprobs / (len(tokens) + 1)`): the sum of the log-probs of
 * every sampled token (text and timestamp tokens, and the closing end-of-text when present) divided by
 * the number of sampled tokens other than end-of-text, plus one for it. With the end-of-text in the list
 * this is the plain mean over all tokens; without it, its log-prob (usually ~0) counts as 0.
 * whisper computes it once per 30-s window: pass the window's tokens to reproduce that exactly, or a
 * segment's tokens for a per-segment figure. Special tokens are included on purpose, as whisper does.
 */
export function averageLogprob(tokens: readonly TokenInfo[]): number {
  let sum = 0;
  let sampled = 0;
  for (const token of tokens) {
    sum += token.logprob;
    if (!isEndOfText(token)) sampled += 1;
  }
  return sum / (sampled + 1);
}

/**
 * whisper's compression ratio (utils.py `compression_ratio`, applied in decoding.py to
 * `decode(tokens).strip()`): UTF-8 byte length of the trimmed text over the length of its zlib
 * compression at the default level (Python `zlib.compress`; here Node's `deflateSync`, also
 * zlib-wrapped, level 6). Above 2.4 whisper treats the decode as repetitive. 0 for "".
 * OpenAI's figures match this formula on the window's text (docs example: 136 bytes / 110 = 1.2364).
 * Caveat: Node bundles Chromium's zlib fork, whose output can be a few bytes longer than CPython's
 * stock zlib on short texts (67-byte sentence: 65 vs 63 bytes), so ratios may differ by a few percent.
 */
export function compressionRatio(text: string): number {
  const bytes = Buffer.from(text.trim(), "utf8");
  return bytes.length / deflateSync(bytes).length;
}
