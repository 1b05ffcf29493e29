import { describe, expect, it } from "vitest";
import { averageLogprob, compressionRatio } from "../../src/engine/segmentStats.js";
import type { TokenInfo } from "../../src/engine/types.js";
import { groupTokensIntoWords, tokensToText } from "../../src/engine/words.js";

let clock = 0;
/** A text token covering the next 0.1 s; `bytes` default to the UTF-8 of `text`. */
function tok(text: string | number[], extra: Partial<TokenInfo> = {}): TokenInfo {
  const bytes = typeof text === "string" ? Buffer.from(text, "utf8") : Buffer.from(text);
  const start = Math.round(clock * 10) / 10;
  clock = start + 0.1;
  return {
    id: 1000,
    text: bytes.toString("utf8"),
    bytes: new Uint8Array(bytes),
    probability: 0.5,
    logprob: Math.log(0.5),
    start,
    end: Math.round(clock * 10) / 10,
    special: false,
    ...extra,
  };
}
const special = (text: string) => tok(text, { id: 50364, special: true });
const words = (tokens: TokenInfo[], language?: string) =>
  groupTokensIntoWords(tokens, language ? { language } : {}).map((w) => w.word);

describe("groupTokensIntoWords", () => {
  it("starts a word at each token beginning with a space and glues the rest", () => {
    clock = 0;
    const tokens = [tok(" Hel", { probability: 0.9 }), tok("lo", { probability: 0.7 }), tok(" there")];
    const out = groupTokensIntoWords(tokens);
    expect(out.map((w) => w.word)).toEqual([" Hello", " there"]);
    expect(out[0]).toEqual({ word: " Hello", start: 0, end: 0.2, probability: 0.8 });
    expect(out[1]).toMatchObject({ start: 0.2, end: 0.3, probability: 0.5 });
  });

  it("joins a two-byte character split over two one-byte tokens (é)", () => {
    clock = 0;
    const tokens = [tok(" caf"), tok([0xc3]), tok([0xa9]), tok(" au"), tok(" lait")];
    expect(tokens[1]!.text).toBe("\uFFFD");
    const out = groupTokensIntoWords(tokens);
    expect(out.map((w) => w.word)).toEqual([" café", " au", " lait"]);
    expect(out[0]).toMatchObject({ start: 0, end: 0.3 });
  });

  it("joins an emoji spread over three tokens into one word", () => {
    clock = 0;
    // 😀 = F0 9F 98 80; the first token also carries the leading space.
    const tokens = [tok(" I"), tok(" love"), tok([0x20, 0xf0]), tok([0x9f, 0x98]), tok([0x80], { probability: 0.2 })];
    const out = groupTokensIntoWords(tokens);
    expect(out.map((w) => w.word)).toEqual([" I", " love", " 😀"]);
    expect(out[2]).toMatchObject({ word: " 😀", start: 0.2, end: 0.5 });
    expect(out[2]!.probability).toBeCloseTo(0.4, 12);
  });

  it("merges trailing punctuation into the previous word and keeps that word's timing", () => {
    clock = 0;
    const tokens = [tok(" Hello"), tok(","), tok(" ("), tok("yes"), tok(")"), tok(" world"), tok("!", { probability: 0.1 })];
    const out = groupTokensIntoWords(tokens);
    expect(out.map((w) => w.word)).toEqual([" Hello,", " (yes)", " world!"]);
    expect(out[0]).toMatchObject({ start: 0, end: 0.1 });
    expect(out[2]).toMatchObject({ start: 0.5, end: 0.6, probability: 0.5 });
  });

  it("merges leading punctuation into the next word", () => {
    clock = 0;
    const tokens = [tok(" “"), tok(" Hello"), tok("”"), tok(" -"), tok(" said"), tok(" he"), tok(".")];
    const out = groupTokensIntoWords(tokens);
    expect(out.map((w) => w.word)).toEqual([" “ Hello”", " - said", " he."]);
    // " Hello" keeps its own timing (0.1-0.3 with the glued ”), not the quote's.
    expect(out[0]).toMatchObject({ start: 0.1, end: 0.3 });
  });

  it("skips special tokens, which also end the current word", () => {
    clock = 0;
    expect(words([special("[_BEG_]"), tok(" Hi"), tok("."), special("[_TT_50]")])).toEqual([" Hi."]);
    expect(words([tok(" Hel"), special("[_TT_10]"), tok("lo")])).toEqual([" Hel", "lo"]);
    expect(words([special("[_EOT_]")])).toEqual([]);
    expect(words([])).toEqual([]);
  });

  it("splits Chinese and Japanese per complete character, punctuation attached", () => {
    clock = 0;
    // 你 = E4 BD A0 split over two tokens, 好 = E5 A5 BD, 。 = E3 80 82
    const zh = [tok([0xe4, 0xbd]), tok([0xa0]), tok("好"), tok("。")];
    const out = groupTokensIntoWords(zh, { language: "zh" });
    expect(out.map((w) => w.word)).toEqual(["你", "好。"]);
    expect(out[0]).toMatchObject({ start: 0, end: 0.2 });
    // Each token that decodes to complete characters is a word of its own.
    expect(words([tok("こん"), tok("にち"), tok("は")], "ja")).toEqual(["こん", "にち", "は"]);
    expect(words([tok("สวัสดี"), tok("ครับ")], "th")).toEqual(["สวัสดี", "ครับ"]);
    expect(words([tok("你好")], "YUE")).toEqual(["你好"]);
  });

  it("glues CJK into one word under space-based rules (no language given)", () => {
    clock = 0;
    expect(words([tok([0xe4, 0xbd]), tok([0xa0]), tok("好"), tok("。")])).toEqual(["你好。"]);
  });

  it("keeps going past bytes that never form a character", () => {
    clock = 0;
    expect(words([tok([0xff]), tok(" ok")])).toEqual(["\uFFFD", " ok"]);
  });
});

describe("tokensToText", () => {
  it("decodes the concatenated bytes of the text tokens", () => {
    clock = 0;
    const tokens = [special("[_BEG_]"), tok(" caf"), tok([0xc3]), tok([0xa9]), tok([0x20, 0xf0]), tok([0x9f, 0x98, 0x80]), special("[_EOT_]")];
    expect(tokensToText(tokens)).toBe(" café 😀");
    expect(tokensToText([tok([0xe4, 0xbd])])).toBe("\uFFFD");
    expect(tokensToText([])).toBe("");
  });
});

describe("segment statistics", () => {
  it("averages log-probs the way whisper does: sum / (sampled tokens + 1)", () => {
    clock = 0;
    const tokens = [
      tok("[_BEG_]", { special: true, logprob: -0.1 }),
      tok(" Hi", { logprob: -0.5 }),
      tok(".", { logprob: -0.3 }),
      tok("[_TT_50]", { special: true, logprob: -0.1 }),
    ];
    expect(averageLogprob(tokens)).toBeCloseTo(-1.0 / 5, 12);
    // With the end-of-text present it is counted as the "+1": a plain mean.
    const withEot = [...tokens, tok("[_EOT_]", { special: true, logprob: -0.5 })];
    expect(averageLogprob(withEot)).toBeCloseTo(-1.5 / 5, 12);
    expect(averageLogprob([])).toBe(0);
  });

  it("compression ratio is low for normal text and high for repetition", () => {
    const normal = compressionRatio(
      " The beach was a popular spot on a hot summer day. People were swimming in the ocean, building sandcastles, and playing beach volleyball.",
    );
    // OpenAI's documented value for this window is 136 / 110 = 1.2363636...
    expect(normal).toBeCloseTo(136 / 110, 10);
    expect(normal).toBeLessThan(2.4);
    const repetitive = compressionRatio(" the the the the the the the the the the the the the the the the the the the the");
    expect(repetitive).toBeGreaterThan(2.4);
    expect(compressionRatio("")).toBe(0);
    // UTF-8 bytes are counted, not characters.
    expect(compressionRatio("你好")).toBe(6 / 14);
  });
});
