// Live text's word agreement (src/server/realtime/wordAgreement.ts): a word is confirmed once the delay level's
// passes agree on it, and never taken back; the window of later passes can leave out settled words. The deltas over
// the socket are in liveDeltas.test.ts, the partial extension event in turns.test.ts.
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

  it("one pass confirms all but the held-back words; three passes must all agree", () => {
    const one = new WordAgreement({ passes: 1, holdBack: 1 });
    expect(one.update("the quick bro")).toEqual(["the", "quick"]);
    expect(one.update("the quick brown fox")).toEqual(["brown"]);
    expect(one.unstable).toBe("fox");
    const three = new WordAgreement({ passes: 3, holdBack: 0 });
    expect(three.update("a b")).toEqual([]);
    expect(three.update("a b c")).toEqual([]);
    expect(three.update("a x c d")).toEqual(["a"]);
    expect(three.update("a x c d e")).toEqual([]);
    expect(three.update("a x c d e f")).toEqual(["x", "c", "d"]);
  });

  it("a trimmed window: later passes are compared after the settled words, the final text keeps them", () => {
    const agreement = new WordAgreement({ passes: 2, holdBack: 0 });
    agreement.update("one two three");
    expect(agreement.update("one two three four")).toEqual(["one", "two", "three"]);
    agreement.trim(2);
    expect(agreement.windowWords).toEqual(["three"]);
    expect(agreement.startsWithConfirmed(["three", "four"])).toBe(true);
    expect(agreement.update("three four five")).toEqual(["four"]);
    expect(agreement.text).toBe("one two three four");
    expect(agreement.unstable).toBe("five");
    expect(agreement.finalText("three four five six")).toBe("one two three four five six");
    // A final pass that rewrote a sent word: what was sent stands, the rest follows by position.
    expect(agreement.finalText("tree for five")).toBe("one two three four five");
    expect(new WordAgreement().finalText("  nothing sent ")).toBe("nothing sent");
  });
});
