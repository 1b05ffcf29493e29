// Speaker turns grouped into speakers: average-linkage agglomerative clustering of their embeddings on cosine
// distance, each turn weighted by its seconds of speech. The dendrogram is built once with the nearest-neighbour chain
// (O(n²) time and one n×n matrix: 4n² bytes, 52 MB for the ~3,600 turns of three hours of speech), then cut: at the
// distance threshold, or at the number of speakers asked for (exact, or the threshold's count clamped into min..max).
// The work yields the event loop every few milliseconds: a long recording's clustering never stalls other requests.
import { setImmediate as nextTurn } from "node:timers/promises";

/** How many speakers a recording holds, when the client knows (an Earshot extension of the form). */
export interface SpeakerCount {
  exact?: number | undefined;
  min?: number | undefined;
  max?: number | undefined;
}

export interface ClusterOptions {
  /** Cosine distance (1 − similarity) below which two groups of turns are one speaker. */
  threshold: number;
  count?: SpeakerCount | undefined;
  signal?: AbortSignal | undefined;
}

/** The event loop is given back after this long of uninterrupted work. */
const SLICE_MS = 8;

/** Yields to the event loop when the current slice of work has run long enough. */
class Slicer {
  private started = performance.now();
  constructor(private readonly signal: AbortSignal | undefined) {}

  async maybeYield(): Promise<void> {
    if (performance.now() - this.started < SLICE_MS) return;
    await nextTurn();
    this.signal?.throwIfAborted();
    this.started = performance.now();
  }
}

/** The unit vector of `vector` (a zero vector stays zero). */
export function normalized(vector: Float32Array): Float32Array {
  let norm = 0;
  for (const value of vector) norm += value * value;
  norm = Math.sqrt(norm);
  const out = new Float32Array(vector.length);
  if (norm > 0) for (let i = 0; i < vector.length; i++) out[i] = vector[i]! / norm;
  return out;
}

/** Cosine similarity of two unit vectors. */
export function cosine(a: Float32Array, b: Float32Array): number {
  let dot = 0;
  for (let i = 0; i < a.length; i++) dot += a[i]! * b[i]!;
  return dot;
}

/** One merge of the dendrogram: clusters `a` and `b` (item indices of their representatives) at `distance`. */
interface Merge {
  a: number;
  b: number;
  distance: number;
}

/**
 * The cluster of each item (0-based, numbered in the items' order of first appearance) for unit `embeddings` weighted
 * by `weights`.
 */
export async function clusterEmbeddings(embeddings: readonly Float32Array[], weights: readonly number[], options: ClusterOptions): Promise<number[]> {
  const n = embeddings.length;
  if (n === 0) return [];
  if (n === 1) return [0];
  const slicer = new Slicer(options.signal);
  const distances = await distanceMatrix(embeddings, slicer);
  const merges = await nearestNeighbourChain(distances, n, weights, slicer);
  merges.sort((x, y) => x.distance - y.distance);
  const clusterCount = countToCut(merges, n, options);
  return labelsAfter(merges.slice(0, n - clusterCount), n);
}

/** The number of clusters: where the threshold cuts, or the count asked for. */
function countToCut(sortedMerges: readonly Merge[], n: number, options: ClusterOptions): number {
  const { exact, min, max } = options.count ?? {};
  if (exact !== undefined) return Math.min(n, Math.max(1, exact));
  let count = n - sortedMerges.filter((merge) => merge.distance < options.threshold).length;
  if (max !== undefined) count = Math.min(count, max);
  if (min !== undefined) count = Math.max(count, Math.min(min, n));
  return Math.max(1, count);
}

async function distanceMatrix(embeddings: readonly Float32Array[], slicer: Slicer): Promise<Float32Array> {
  const n = embeddings.length;
  const distances = new Float32Array(n * n);
  for (let i = 0; i < n; i++) {
    const a = embeddings[i]!;
    for (let j = i + 1; j < n; j++) {
      const distance = 1 - cosine(a, embeddings[j]!);
      distances[i * n + j] = distance;
      distances[j * n + i] = distance;
    }
    await slicer.maybeYield();
  }
  return distances;
}

/**
 * Average linkage (weighted by the items' weights: a long turn counts for more than a short one) by the nearest-
 * neighbour chain: follow nearest neighbours until two clusters are each other's nearest, merge them (Lance-Williams
 * update into row `a`), go on from the chain's rest. Rows of merged-away clusters are marked dead.
 */
async function nearestNeighbourChain(distances: Float32Array, n: number, weights: readonly number[], slicer: Slicer): Promise<Merge[]> {
  const size = weights.map((weight) => Math.max(weight, 1e-3));
  const alive = new Uint8Array(n).fill(1);
  const merges: Merge[] = [];
  const chain: number[] = [];
  let remaining = n;
  while (remaining > 1) {
    if (chain.length === 0) chain.push(alive.indexOf(1));
    const current = chain.at(-1)!;
    const previous = chain.length > 1 ? chain.at(-2)! : -1;
    // The nearest live cluster, preferring the previous link on ties (so the chain ends).
    let nearest = previous;
    let best = previous >= 0 ? distances[current * n + previous]! : Infinity;
    for (let other = 0; other < n; other++) {
      if (other === current || !alive[other]) continue;
      const distance = distances[current * n + other]!;
      if (distance < best) {
        best = distance;
        nearest = other;
      }
    }
    if (nearest !== previous) {
      chain.push(nearest);
      continue;
    }
    chain.pop();
    chain.pop();
    const [a, b] = current < previous ? [current, previous] : [previous, current];
    merges.push({ a, b, distance: best });
    const total = size[a]! + size[b]!;
    for (let other = 0; other < n; other++) {
      if (!alive[other] || other === a || other === b) continue;
      const merged = (size[a]! * distances[a * n + other]! + size[b]! * distances[b * n + other]!) / total;
      distances[a * n + other] = merged;
      distances[other * n + a] = merged;
    }
    size[a] = total;
    alive[b] = 0;
    remaining--;
    await slicer.maybeYield();
  }
  return merges;
}

/** The clusters after `merges` (applied in order through union-find), numbered in order of first appearance. */
function labelsAfter(merges: readonly Merge[], n: number): number[] {
  const parent = Array.from({ length: n }, (_, i) => i);
  const root = (i: number): number => {
    while (parent[i] !== i) i = parent[i] = parent[parent[i]!]!;
    return i;
  };
  for (const { a, b } of merges) parent[root(b)] = root(a);
  const numbers = new Map<number, number>();
  return Array.from({ length: n }, (_, i) => {
    const r = root(i);
    let label = numbers.get(r);
    if (label === undefined) numbers.set(r, (label = numbers.size));
    return label;
  });
}
