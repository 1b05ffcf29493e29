// Diarization error rate, NIST-style (as md-eval and dscore score it), for bench:diarization.
//
//   - The timeline is cut at every boundary of the reference, the hypothesis and the no-score zones, so each piece
//     has one set of reference speakers and one set of hypothesis speakers: the figures are exact, not framed.
//   - Collar: a no-score zone of ±collar seconds around every reference turn's start and end (0.25 s by default, the
//     usual figure), where boundaries are a matter of annotation taste.
//   - Overlapped speech is scored: in a piece with R reference and H hypothesis speakers, missed = max(0, R − H),
//     false alarm = max(0, H − R), confusion = min(R, H) − correct, where correct counts the reference speakers whose
//     mapped hypothesis speaker is also active there; each weighted by the piece's length.
//   - The mapping: one to one, reference to hypothesis speaker, the one that maximizes their total time together in
//     the scored pieces (the Hungarian algorithm); speakers left unmapped are never correct.
//   - DER = (missed + false alarm + confusion) / scored reference speech (each speaker's time, so 2 s of two people
//     talking at once count 4 s).
// A speaker's overlapping or touching turns are merged first (one speaker is active or not, whatever the file says),
// and the collars sit around the merged turns' boundaries. Checked against an independent frame-based scorer (1-ms
// frames, scipy's linear_sum_assignment) on 20 random files of 3 reference and 4 hypothesis speakers: the same
// missed, false alarm and confusion to the millisecond.
import type { RttmTurn } from "../src/formats/rttm.js";

export const DEFAULT_COLLAR = 0.25;

/** Seconds of each kind of error, and of scored reference speech. */
export interface DerCounts {
  /** Scored reference speech: the sum over pieces of the reference speakers active, times the piece's length. */
  reference: number;
  missed: number;
  falseAlarm: number;
  confusion: number;
}

export interface DerScore extends DerCounts {
  /** (missed + falseAlarm + confusion) / reference; NaN with no scored reference speech. */
  der: number;
  /** Reference speaker → hypothesis speaker it was mapped to (absent: none). */
  mapping: Map<string, string>;
}

/** Each speaker's turns merged where they overlap or touch, by speaker. */
function bySpeaker(turns: readonly RttmTurn[]): Map<string, Array<[number, number]>> {
  const out = new Map<string, Array<[number, number]>>();
  for (const turn of turns) {
    if (!(turn.end > turn.start)) continue;
    const list = out.get(turn.speaker) ?? [];
    list.push([turn.start, turn.end]);
    out.set(turn.speaker, list);
  }
  for (const [speaker, list] of out) out.set(speaker, mergeSpans(list));
  return out;
}

function mergeSpans(spans: Array<[number, number]>): Array<[number, number]> {
  const sorted = [...spans].sort((a, b) => a[0] - b[0]);
  const merged: Array<[number, number]> = [];
  for (const [start, end] of sorted) {
    const last = merged.at(-1);
    if (last && start <= last[1]) last[1] = Math.max(last[1], end);
    else merged.push([start, end]);
  }
  return merged;
}

/** Whether `at` lies inside one of the sorted, disjoint `spans`. */
function inside(spans: ReadonlyArray<[number, number]>, at: number): boolean {
  let lo = 0;
  let hi = spans.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const [start, end] = spans[mid]!;
    if (at < start) hi = mid - 1;
    else if (at >= end) lo = mid + 1;
    else return true;
  }
  return false;
}

interface Piece {
  length: number;
  ref: number[];
  hyp: number[];
}

/** The scored pieces of the timeline, with the indices of the speakers active in each. */
function scoredPieces(ref: Array<Array<[number, number]>>, hyp: Array<Array<[number, number]>>, collar: number): Piece[] {
  const noScore = mergeSpans(ref.flat().flatMap(([start, end]) => [[start - collar, start + collar] as [number, number], [end - collar, end + collar] as [number, number]]).filter(([a, b]) => b > a));
  const cuts = new Set<number>();
  for (const spans of [...ref, ...hyp, noScore]) for (const [start, end] of spans) cuts.add(start).add(end);
  const times = [...cuts].sort((a, b) => a - b);
  const pieces: Piece[] = [];
  for (let i = 0; i + 1 < times.length; i++) {
    const [from, to] = [times[i]!, times[i + 1]!];
    const mid = (from + to) / 2;
    if (inside(noScore, mid)) continue;
    const active = (speakers: Array<Array<[number, number]>>) => speakers.flatMap((spans, index) => (inside(spans, mid) ? [index] : []));
    const piece = { length: to - from, ref: active(ref), hyp: active(hyp) };
    if (piece.ref.length + piece.hyp.length > 0) pieces.push(piece);
  }
  return pieces;
}

/**
 * The assignment of rows to columns that maximizes the summed `gain` (rows and columns may differ in number; each
 * row gets at most one column and each column at most one row): the Hungarian algorithm (Kuhn–Munkres with
 * potentials, O(n³)) on the square matrix padded with zeros. Returns, for each row, its column or -1.
 */
export function maximumAssignment(gain: readonly (readonly number[])[]): number[] {
  const rows = gain.length;
  const cols = Math.max(0, ...gain.map((row) => row.length));
  const n = Math.max(rows, cols);
  if (n === 0) return [];
  const top = Math.max(0, ...gain.flat());
  // Minimize cost = top − gain (padding costs `top`: it gains nothing).
  const cost = (i: number, j: number) => top - (gain[i - 1]?.[j - 1] ?? 0);
  const u = new Float64Array(n + 1);
  const v = new Float64Array(n + 1);
  const p = new Int32Array(n + 1); // p[j]: the row assigned to column j (1-based; 0 = none)
  const way = new Int32Array(n + 1);
  for (let i = 1; i <= n; i++) {
    p[0] = i;
    let j0 = 0;
    const minv = new Float64Array(n + 1).fill(Infinity);
    const used = new Uint8Array(n + 1);
    do {
      used[j0] = 1;
      const i0 = p[j0]!;
      let delta = Infinity;
      let j1 = 0;
      for (let j = 1; j <= n; j++) {
        if (used[j]) continue;
        const reduced = cost(i0, j) - u[i0]! - v[j]!;
        if (reduced < minv[j]!) {
          minv[j] = reduced;
          way[j] = j0;
        }
        if (minv[j]! < delta) {
          delta = minv[j]!;
          j1 = j;
        }
      }
      for (let j = 0; j <= n; j++) {
        if (used[j]) {
          const row = p[j]!;
          u[row] = u[row]! + delta;
          v[j] = v[j]! - delta;
        } else {
          minv[j] = minv[j]! - delta;
        }
      }
      j0 = j1;
    } while (p[j0] !== 0);
    do {
      const j1 = way[j0]!;
      p[j0] = p[j1]!;
      j0 = j1;
    } while (j0 !== 0);
  }
  const out = new Array<number>(rows).fill(-1);
  for (let j = 1; j <= n; j++) {
    const i = p[j]!;
    // A row matched to a padding column, or to a real one it shares no time with, stays unmapped.
    if (i >= 1 && i <= rows && j <= cols && (gain[i - 1]![j - 1] ?? 0) > 0) out[i - 1] = j - 1;
  }
  return out;
}

/** Scores `hypothesis` against `reference` (see the header); `collar` in seconds, each side of a reference boundary. */
export function diarizationErrorRate(reference: readonly RttmTurn[], hypothesis: readonly RttmTurn[], collar = DEFAULT_COLLAR): DerScore {
  if (!(collar >= 0)) throw new Error(`collar must be 0 or more seconds, not ${collar}`);
  const refSpeakers = bySpeaker(reference);
  const hypSpeakers = bySpeaker(hypothesis);
  const refNames = [...refSpeakers.keys()];
  const hypNames = [...hypSpeakers.keys()];
  const pieces = scoredPieces([...refSpeakers.values()], [...hypSpeakers.values()], collar);

  const together = refNames.map(() => new Array<number>(hypNames.length).fill(0));
  for (const piece of pieces) for (const r of piece.ref) for (const h of piece.hyp) together[r]![h]! += piece.length;
  const mapped = maximumAssignment(together);

  const counts: DerCounts = { reference: 0, missed: 0, falseAlarm: 0, confusion: 0 };
  for (const piece of pieces) {
    const r = piece.ref.length;
    const h = piece.hyp.length;
    const correct = piece.ref.filter((index) => mapped[index]! >= 0 && piece.hyp.includes(mapped[index]!)).length;
    counts.reference += r * piece.length;
    counts.missed += Math.max(0, r - h) * piece.length;
    counts.falseAlarm += Math.max(0, h - r) * piece.length;
    counts.confusion += (Math.min(r, h) - correct) * piece.length;
  }
  const mapping = new Map<string, string>();
  mapped.forEach((h, r) => h >= 0 && mapping.set(refNames[r]!, hypNames[h]!));
  return { ...counts, der: derOf(counts), mapping };
}

/** (missed + falseAlarm + confusion) / reference; NaN with no reference speech. */
export function derOf(counts: DerCounts): number {
  return counts.reference > 0 ? (counts.missed + counts.falseAlarm + counts.confusion) / counts.reference : NaN;
}

/** The counts of several files added up: a set's DER is its total error over its total speech, not a mean of DERs. */
export function sumCounts(scores: readonly DerCounts[]): DerCounts {
  return scores.reduce<DerCounts>(
    (sum, s) => ({ reference: sum.reference + s.reference, missed: sum.missed + s.missed, falseAlarm: sum.falseAlarm + s.falseAlarm, confusion: sum.confusion + s.confusion }),
    { reference: 0, missed: 0, falseAlarm: 0, confusion: 0 },
  );
}
