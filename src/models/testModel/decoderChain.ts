// The crafted decoder chain: the few weights, among the seeded random ones, that make greedy
// decoding emit a fixed, fully confident transcript.
//
// ## Decoder chain
//
// The decoder's token embedding E (tied with the output projection) is N(0, 1). In decoder
// block 0 the MLP gets one dedicated hidden unit per "trigger" token t: its input row is a
// unit vector along E[t] (so it fires only when the current input token is t) and its output
// column writes ALPHA * E[next(t)] (+ BETA * E[fallback(t)]) into the residual stream. All
// other decoder output projections are tiny, so the final hidden state is
// ~ E[t] + ALPHA * E[next(t)], whose logits put next(t) 100+ nats above anything else. The
// transition depends only on the current token, never on its position, so any prompt length
// (previous-window context, user prompt) gives the same output. Per 30-s window:
//
//   <|0.00|> one two three <|2.00|><|3.00|> four five six <|6.00|> <|endoftext|>
//
// i.e. two segments [0.00 → 2.00] " one two three" and [3.00 → 6.00] " four five six". The
// sequence ends with a single timestamp after text, so whisper.cpp advances the window by the
// full 30 s ("single timestamp ending"). Timestamps increase and come in pairs, so none of
// whisper_process_logits' rules mask them. With no_timestamps the chain falls back to
// " one two three four five six" <|endoftext|>. On multilingual shapes <|startoftranscript|>
// points at <|en|>, so language auto-detection returns "en" with p ≈ 1.
//
// The decoder ignores the audio: silence or noise transcribes the same, no_speech_prob is ~0.
// Decoding stops at the first timestamp past the end of the audio, so a window with less than
// ~3 s of audio left yields only the first segment, and a segment may end past the end of a
// short clip (jfk.wav, 11 s, gets both segments; a 1.5-s clip gets [0.00 → 2.00]).

import { float32ToHalfBits } from "./float16.js";
import { whisperSpecialTokens } from "./hparams.js";
import { CHAIN_TIMESTAMPS, CHAIN_WORDS } from "./transcript.js";
import { SYNTHETIC_WORD_IDS } from "./vocab.js";

/** Pre-activation of a trigger unit is KAPPA*cos(input, trigger) - KAPPA/2. */
const KAPPA = 24;
const ALPHA = 4;
const BETA = 2;

export interface ChainRule {
  trigger: number;
  /** [token, weight] pairs written into the residual stream when `trigger` is the input. */
  targets: [number, number][];
}

/** The ids of the chain words in `vocab`, or their synthetic ids where it lacks them. */
export function findWordIds(vocab: readonly Buffer[]): number[] {
  return CHAIN_WORDS.map((word) => {
    const bytes = Buffer.from(word, "utf8");
    const found = vocab.findIndex((t) => t.equals(bytes));
    return found >= 0 ? found : SYNTHETIC_WORD_IDS[word];
  });
}

/** The chain, one rule per trigger token, for a vocabulary of `nVocab` tokens. */
export function chainRules(nVocab: number, wordIds: readonly number[]): ChainRule[] {
  const sp = whisperSpecialTokens(nVocab);
  const [w1, w2, w3, w4, w5, w6] = wordIds as [number, number, number, number, number, number];
  const [t0, ta, tb, tc] = CHAIN_TIMESTAMPS.map((k) => sp.beg + k) as [number, number, number, number];
  const rule = (trigger: number, ...targets: [number, number][]): ChainRule => ({ trigger, targets });
  return [
    // multilingual prompts end with the task token; .en prompts with <|startoftranscript|>
    sp.langEn !== undefined ? rule(sp.sot, [sp.langEn, ALPHA]) : rule(sp.sot, [t0, ALPHA]),
    rule(sp.transcribe, [t0, ALPHA]),
    rule(sp.translate, [t0, ALPHA]),
    rule(sp.not, [w1, ALPHA]),
    rule(t0, [w1, ALPHA]),
    rule(w1, [w2, ALPHA]),
    rule(w2, [w3, ALPHA]),
    rule(w3, [ta, ALPHA], [w4, BETA]), // w4 is next when timestamps are suppressed
    rule(ta, [tb, ALPHA]),
    rule(tb, [w4, ALPHA]),
    rule(w4, [w5, ALPHA]),
    rule(w5, [w6, ALPHA]),
    rule(w6, [tc, ALPHA], [sp.eot, BETA]),
    rule(tc, [sp.eot, ALPHA]),
  ];
}

/** Overwrites decoder block 0's MLP so that input token `trigger` writes its targets' embeddings. */
export function craftChainMlp(
  name: string,
  data: Uint16Array | Float32Array,
  d: number,
  rules: readonly ChainRule[],
  embedding: ReadonlyMap<number, Float64Array>,
): void {
  const row = (id: number): Float64Array => {
    const r = embedding.get(id);
    if (!r) throw new Error(`internal: embedding row ${id} not captured`);
    return r;
  };
  if (name === "decoder.blocks.0.mlp.0.weight") {
    // hidden unit k = rule k: row k is KAPPA * unit(E[trigger]) / sqrt(d); LN(x) has norm ~sqrt(d)
    rules.forEach((r, k) => {
      const e = row(r.trigger);
      const norm = Math.hypot(...e);
      for (let i = 0; i < d; i++) data[k * d + i] = float32ToHalfBits((KAPPA * e[i]!) / (norm * Math.sqrt(d)));
    });
  } else if (name === "decoder.blocks.0.mlp.0.bias") {
    rules.forEach((_, k) => (data[k] = -KAPPA / 2));
  } else if (name === "decoder.blocks.0.mlp.2.weight") {
    // column k (stride 4d) = sum of weight * E[target] / GELU(KAPPA/2)
    const hidden = 4 * d;
    rules.forEach((r, k) => {
      for (let i = 0; i < d; i++) {
        let v = 0;
        for (const [token, weight] of r.targets) v += weight * row(token)[i]!;
        data[i * hidden + k] = float32ToHalfBits(v / (KAPPA / 2));
      }
    });
  }
}

/** The tensors craftChainMlp overwrites: generated whole, crafted, then written. */
export const CRAFTED = new Set(["decoder.blocks.0.mlp.0.weight", "decoder.blocks.0.mlp.0.bias", "decoder.blocks.0.mlp.2.weight"]);
