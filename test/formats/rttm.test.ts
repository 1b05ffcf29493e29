import { describe, expect, it } from "vitest";

import { derOf, diarizationErrorRate, maximumAssignment, sumCounts } from "../../bench/der.js";
import { parseRttm, renderRttm } from "../../src/formats/rttm.js";

describe("renderRttm", () => {
  it("writes one NIST SPEAKER line per turn, 3 decimals, channel 1, in start order", () => {
    const text = renderRttm("meeting", [
      { start: 12.3456, end: 15, speaker: "B" },
      { start: 0.5, end: 4.25, speaker: "A" },
    ]);
    expect(text).toBe(
      "SPEAKER meeting 1 0.500 3.750 <NA> <NA> A <NA> <NA>\n" + "SPEAKER meeting 1 12.346 2.654 <NA> <NA> B <NA> <NA>\n",
    );
  });

  it("keeps ten fields when a name holds whitespace, and leaves out turns of no length", () => {
    const text = renderRttm("call 7", [
      { start: 1, end: 2, speaker: "Ana Lima" },
      { start: 3, end: 3, speaker: "B" },
      { start: 5, end: 4, speaker: "C" },
    ]);
    expect(text).toBe("SPEAKER call_7 1 1.000 1.000 <NA> <NA> Ana_Lima <NA> <NA>\n");
    expect(text.trim().split(/\s+/)).toHaveLength(10);
    expect(renderRttm("x", [])).toBe("");
  });

  it("reads back what it writes, to the millisecond", () => {
    const turns = [
      { start: 0, end: 1.1, speaker: "A" },
      { start: 1.1, end: 3.3, speaker: "B" },
      { start: 2.9, end: 7.123, speaker: "A" },
    ];
    expect(parseRttm(renderRttm("f", turns))).toEqual(turns.map((t) => ({ ...t, fileId: "f" })));
  });
});

describe("parseRttm", () => {
  it("takes SPEAKER lines only, skipping comments, blank lines and other types", () => {
    const text = [";; a comment", "", "SPKR-INFO f 1 <NA> <NA> <NA> unknown A <NA> <NA>", "SPEAKER f 1 2.5 1.5 <NA> <NA> A <NA> <NA>", "  SPEAKER   g 1 0 2 <NA> <NA> B <NA> <NA>  "].join("\n");
    expect(parseRttm(text)).toEqual([
      { fileId: "f", start: 2.5, end: 4, speaker: "A" },
      { fileId: "g", start: 0, end: 2, speaker: "B" },
    ]);
  });

  it("names the line that is not a SPEAKER turn", () => {
    expect(() => parseRttm("SPEAKER f 1 0 1 <NA> <NA> A <NA> <NA>\nSPEAKER f 1 zero 1 <NA> <NA> A")).toThrow(/line 2/);
    expect(() => parseRttm("SPEAKER f 1 0 1")).toThrow(/line 1/);
    expect(() => parseRttm("SPEAKER f 1 0 -1 <NA> <NA> A <NA> <NA>")).toThrow(/line 1/);
  });
});

// The bench's DER scorer (bench/der.ts) on hand-made cases whose errors are known, given as RTTM as a scorer reads it.
describe("diarization error rate", () => {
  const turns = (text: string) => parseRttm(text.replace(/^\s+/gm, "")).map(({ start, end, speaker }) => ({ start, end, speaker }));
  const line = (speaker: string, start: number, end: number) => `SPEAKER f 1 ${start} ${end - start} <NA> <NA> ${speaker} <NA> <NA>`;
  const rttm = (...lines: string[]) => turns(lines.join("\n"));

  it("is 0 for a perfect hypothesis", () => {
    const reference = rttm(line("A", 0, 10), line("B", 10, 20), line("A", 19, 25));
    const score = diarizationErrorRate(reference, reference);
    expect(score).toMatchObject({ der: 0, missed: 0, falseAlarm: 0, confusion: 0 });
    expect(score.reference).toBeCloseTo(20 + 6 - 2 * 0.25 * 5, 9); // 26 s of speech less the no-score zones inside it
  });

  it("is 0 for swapped labels: speakers are mapped before they are compared", () => {
    const score = diarizationErrorRate(rttm(line("A", 0, 10), line("B", 10, 20)), rttm(line("spk1", 0, 10), line("spk0", 10, 20)));
    expect(score.der).toBe(0);
    expect(Object.fromEntries(score.mapping)).toEqual({ A: "spk1", B: "spk0" });
  });

  it("counts a speaker the hypothesis never found as missed", () => {
    const score = diarizationErrorRate(rttm(line("A", 0, 10), line("B", 10, 20)), rttm(line("x", 0, 10)), 0);
    expect(score).toMatchObject({ reference: 20, missed: 10, falseAlarm: 0, confusion: 0, der: 0.5 });
  });

  it("counts speech where there is none as false alarm, and a second voice in one's turn as well", () => {
    const score = diarizationErrorRate(rttm(line("A", 0, 10)), rttm(line("x", 0, 12), line("y", 4, 6)), 0);
    expect(score).toMatchObject({ reference: 10, missed: 0, falseAlarm: 4, confusion: 0 });
    expect(score.der).toBeCloseTo(0.4, 12);
  });

  it("scores overlapped speech: a missed second voice, then a wrong one", () => {
    // A 0–10 and B 8–15 talk over each other for 2 s; the hypothesis hears one voice all along.
    const score = diarizationErrorRate(rttm(line("A", 0, 10), line("B", 8, 15)), rttm(line("x", 0, 15)), 0);
    expect(score).toMatchObject({ reference: 17, missed: 2, falseAlarm: 0, confusion: 5 });
    expect(score.der).toBeCloseTo(7 / 17, 12);
  });

  it("maps speakers one to one for the most time together, not greedily", () => {
    // Together: A–x 5 s, A–y 4 s, B–x 4 s. Greedy (A→x first) would leave B with y (0 s): 8 s confused; the best
    // mapping, A→y and B→x, confuses only A's first 5 s.
    const score = diarizationErrorRate(rttm(line("A", 0, 9), line("B", 9, 13)), rttm(line("x", 0, 5), line("y", 5, 9), line("x", 9, 13)), 0);
    expect(Object.fromEntries(score.mapping)).toEqual({ A: "y", B: "x" });
    expect(score.confusion).toBeCloseTo(5, 12);
    expect(score.der).toBeCloseTo(5 / 13, 12);
  });

  it("does not score ±collar around every reference boundary", () => {
    const reference = rttm(line("A", 0, 10), line("B", 10, 20));
    const late = rttm(line("x", 0.2, 10.2), line("y", 10.2, 20));
    expect(diarizationErrorRate(reference, late, 0.25).der).toBe(0);
    const strict = diarizationErrorRate(reference, late, 0);
    expect(strict.missed).toBeCloseTo(0.2, 12);
    expect(strict.confusion).toBeCloseTo(0.2, 12);
    expect(strict.der).toBeCloseTo(0.4 / 20, 12);
    // An error past the collar still counts: 0.5 s late is 0.25 s of it scored.
    expect(diarizationErrorRate(reference, rttm(line("x", 0.5, 10), line("y", 10, 20)), 0.25).missed).toBeCloseTo(0.25, 12);
  });

  it("merges one speaker's overlapping turns, and adds up a set's seconds before dividing", () => {
    const a = diarizationErrorRate(rttm(line("A", 0, 6), line("A", 4, 10)), rttm(line("x", 0, 10)), 0);
    expect(a).toMatchObject({ reference: 10, der: 0 });
    const b = diarizationErrorRate(rttm(line("A", 0, 30)), rttm(line("x", 0, 15)), 0);
    expect(derOf(sumCounts([a, b]))).toBeCloseTo(15 / 40, 12);
    expect(diarizationErrorRate([], rttm(line("x", 0, 1))).der).toBeNaN();
  });

  it("assigns rows to columns for the largest sum, rectangular either way", () => {
    expect(maximumAssignment([[5, 4], [4, 0]])).toEqual([1, 0]);
    expect(maximumAssignment([[1, 9, 2]])).toEqual([1]);
    expect(maximumAssignment([[3], [7], [0]])).toEqual([-1, 0, -1]);
    expect(maximumAssignment([[0, 0], [0, 0]])).toEqual([-1, -1]);
    expect(maximumAssignment([])).toEqual([]);
  });
});
