// Live partials' word agreement (src/server/realtime/wordAgreement.ts): a word is confirmed once two passes agree
// on it, and never taken back. The partials over the socket are in turns.test.ts.
import { describe, expect, it } from "vitest";

import { agreedPrefixLength, WordAgreement } from "../../src/server/realtime/wordAgreement.js";

describe("WordAgreement", () => {
  it("confirms words two passes agree on, never taking one back", () => {
    expect(agreedPrefixLength(["Hello,", "world"], ["hello", "World!", "again"])).toBe(2);
    const agreement = new WordAgreement();
    expect(agreement.update("the quick")).toEqual([]);
    expect(agreement.update("the quick brown")).toEqual(["the", "quick"]);
    expect(agreement.update("the quick brown fox")).toEqual(["brown"]);
    // A pass that rewrites confirmed words confirms nothing new.
    expect(agreement.update("a quick brown fox jumps")).toEqual([]);
    expect(agreement.update("the quick brown fox jumps over")).toEqual([]);
    expect(agreement.update("the quick brown fox jumps over it")).toEqual(["fox", "jumps", "over"]);
    expect(agreement.text).toBe("the quick brown fox jumps over");
  });
});
