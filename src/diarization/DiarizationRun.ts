// One recording's diarization, fed as its samples are decoded: 10-s windows every 5 s go to the segmentation model
// as soon as their audio is in, the pieces of speaker turns they reveal are embedded as soon as they close, and
// finish() clusters the embeddings into speakers. What it holds while it runs is bounded whatever the length: the
// samples not yet windowed and those of pieces still open (about 20 s), plus per piece one embedding (1 KB for 256
// dimensions) and its times; only the clustering at the end is quadratic in the pieces (see clustering.ts).
import { clusterEmbeddings, normalized, type SpeakerCount } from "./clustering.js";
import { DiarizationAbortedError } from "./errors.js";
import type { SpeakerModels } from "./SpeakerModels.js";
import { PieceTracker, type SpeakerPiece } from "./speakerPieces.js";
import { SampleWindow } from "./sampleWindow.js";

export interface DiarizationOptions {
  /** Cosine distance under which two groups of turns are one speaker. */
  threshold: number;
  /** The number of speakers, when the client knows it. */
  count?: SpeakerCount | undefined;
  signal?: AbortSignal | undefined;
  /** Seconds between windows (default 5: each moment is seen by two windows). */
  stepSeconds?: number | undefined;
  /** A turn is embedded in pieces of at most this many seconds (default 10). */
  maxPieceSeconds?: number | undefined;
  /** Pieces with less clean speech than this are not embedded: they take the speaker of their neighbours (0.5). */
  minEmbedSeconds?: number | undefined;
}

/** One speaker's stretch of speech, in seconds; spans of different speakers overlap where they talk at once. */
export interface SpeakerSpan {
  start: number;
  end: number;
  /** 0-based, numbered in order of first appearance. */
  speaker: number;
}

export interface Diarization {
  /** Seconds of audio. */
  duration: number;
  speakers: number;
  /** In time order. */
  spans: SpeakerSpan[];
  /** Each speaker's unit mean embedding (undefined for one that has no embedded piece). */
  centroids: Array<Float32Array | undefined>;
}

interface Piece {
  track: number;
  start: number;
  end: number;
  embedding?: Float32Array | undefined;
  /** Seconds of clean speech behind the embedding. */
  weight: number;
}

/** One speaker's pause shorter than this stays inside their piece: a piece is a stretch of one voice, not of one breath. */
const PIECE_PAUSE_SECONDS = 0.3;

/** Windows sent to the inference thread in one request when that many are waiting. */
const WINDOWS_PER_REQUEST = 4;

export class DiarizationRun {
  private readonly audio = new SampleWindow();
  private readonly tracker: PieceTracker;
  private readonly pieces: Piece[] = [];
  private readonly step: number;
  private readonly minEmbedSamples: number;
  private nextWindow = 0;
  private ended = false;
  private working: Promise<void> | undefined;
  private failure: unknown;
  private readonly stop = new AbortController();
  private readonly signal: AbortSignal;
  private backlogWaiters: Array<{ bound: number; resolve: () => void }> = [];

  constructor(
    private readonly models: SpeakerModels,
    private readonly options: DiarizationOptions,
  ) {
    const { grid } = models.info;
    this.step = Math.round((options.stepSeconds ?? 5) * grid.sampleRate);
    this.minEmbedSamples = (options.minEmbedSeconds ?? 0.5) * grid.sampleRate;
    this.tracker = new PieceTracker(grid, this.step, Math.round((options.maxPieceSeconds ?? 10) * grid.sampleRate), Math.round(PIECE_PAUSE_SECONDS * grid.sampleRate));
    this.signal = options.signal ? AbortSignal.any([options.signal, this.stop.signal]) : this.stop.signal;
  }

  /** Samples pushed and not yet windowed: a source that can wait reads on only while this is small. */
  get backlog(): number {
    return this.audio.received - this.nextWindow;
  }

  /** Samples the run holds now (not yet windowed, or in pieces still open): bounded whatever the length. */
  get heldSamples(): number {
    return this.audio.held;
  }

  /** 16 kHz mono samples, in order. */
  push(samples: Float32Array): void {
    if (this.ended) throw new Error("push() after finish()");
    this.audio.push(samples);
    this.work();
  }

  /** Resolves once at most `bound` samples wait to be windowed (or the run stopped). */
  whenBacklogWithin(bound: number): Promise<void> {
    if (this.backlog <= bound || this.failure !== undefined) return Promise.resolve();
    return new Promise((resolve) => this.backlogWaiters.push({ bound, resolve }));
  }

  /** The speakers of the whole recording, once every sample is in. */
  async finish(): Promise<Diarization> {
    this.ended = true;
    for (;;) {
      this.work();
      if (!this.working) break;
      await this.working;
      if (this.failure !== undefined || this.settled) break;
    }
    if (this.failure !== undefined) throw this.failure;
    return this.speakers();
  }

  cancel(): void {
    this.stop.abort(new DiarizationAbortedError());
  }

  private work(): void {
    if (this.working || this.failure !== undefined) return;
    this.working = this.windows()
      .catch((error: unknown) => {
        this.failure = this.signal.aborted ? new DiarizationAbortedError() : error;
      })
      .finally(() => {
        this.working = undefined;
        this.wakeWaiters();
        // Samples pushed after the loop found nothing to do and before it was over.
        if (this.failure === undefined && !this.ended && this.windowReady(0)) this.work();
      });
  }

  /** Every window the audio so far allows (at the end: up to the last sample), in order. */
  private async windows(): Promise<void> {
    for (;;) {
      this.signal.throwIfAborted();
      let count = 0;
      while (count < WINDOWS_PER_REQUEST && this.windowReady(count)) count++;
      const last = count === 0 && this.ended && !this.settled;
      if (count === 0 && !last) return;
      await this.runWindows(last ? 1 : count, last);
      this.wakeWaiters();
    }
  }

  /** True once the final window has ruled the timeline to the end. */
  private settled = false;

  /** Whether window `offset` after the next has all its audio (and is not the final one, which waits for the end). */
  private windowReady(offset: number): boolean {
    const start = this.nextWindow + offset * this.step;
    return start + this.models.info.grid.windowSamples < this.audio.received;
  }

  private async runWindows(count: number, final: boolean): Promise<void> {
    const { windowSamples } = this.models.info.grid;
    const batch = new Float32Array(count * windowSamples);
    const starts = Array.from({ length: count }, (_, i) => this.nextWindow + i * this.step);
    starts.forEach((start, i) => this.audio.read(start, start + windowSamples, batch, i * windowSamples));
    const active = this.audio.received === 0 ? new Uint8Array(0) : await this.models.segment(batch, count, this.signal);
    this.signal.throwIfAborted();
    const perWindow = active.length / Math.max(count, 1);
    for (let i = 0; i < count; i++) {
      const startSample = starts[i]!;
      const lastWindow = final || (this.ended && startSample + windowSamples >= this.audio.received);
      const closed = this.audio.received === 0 ? [] : this.tracker.addWindow({ startSample, active: active.subarray(i * perWindow, (i + 1) * perWindow) }, lastWindow ? this.audio.received : undefined);
      for (const piece of closed) await this.embedPiece(piece);
      this.nextWindow = startSample + this.step;
      if (lastWindow) {
        this.settled = true;
        break;
      }
    }
    this.audio.dropBefore(Math.min(this.tracker.neededFrom, this.nextWindow));
  }

  private async embedPiece(piece: SpeakerPiece): Promise<void> {
    const cleanSamples = piece.clean.reduce((sum, [from, to]) => sum + to - from, 0);
    const record: Piece = { track: piece.track, start: piece.start, end: piece.end, weight: cleanSamples / this.models.info.grid.sampleRate };
    if (cleanSamples >= this.minEmbedSamples) {
      const speech = new Float32Array(cleanSamples);
      let at = 0;
      for (const [from, to] of piece.clean) {
        this.audio.read(from, to, speech, at);
        at += to - from;
      }
      record.embedding = await this.models.embed(speech, this.signal);
    }
    this.pieces.push(record);
  }

  private wakeWaiters(): void {
    const stopped = this.failure !== undefined;
    this.backlogWaiters = this.backlogWaiters.filter((waiter) => {
      if (!stopped && this.backlog > waiter.bound) return true;
      waiter.resolve();
      return false;
    });
  }

  private async speakers(): Promise<Diarization> {
    const rate = this.models.info.grid.sampleRate;
    const duration = this.audio.received / rate;
    const embedded = this.pieces.filter((piece) => piece.embedding);
    const labels = await clusterEmbeddings(
      embedded.map((piece) => piece.embedding!),
      embedded.map((piece) => piece.weight),
      { threshold: this.options.threshold, count: this.options.count, signal: this.signal },
    );
    const speakerOf = new Map<Piece, number>(embedded.map((piece, i) => [piece, labels[i]!]));
    for (const piece of this.pieces) if (!speakerOf.has(piece)) speakerOf.set(piece, neighbourSpeaker(piece, embedded, labels));
    const spans = mergeSpans(
      this.pieces
        .map((piece) => ({ start: piece.start / rate, end: piece.end / rate, speaker: speakerOf.get(piece)! }))
        .sort((a, b) => a.start - b.start || a.speaker - b.speaker),
    );
    // Speakers numbered in order of first appearance; each one's centroid.
    const order = new Map<number, number>();
    for (const span of spans) if (!order.has(span.speaker)) order.set(span.speaker, order.size);
    const centroids: Array<Float32Array | undefined> = Array.from({ length: order.size }, () => undefined);
    embedded.forEach((piece, i) => {
      const speaker = order.get(labels[i]!);
      if (speaker === undefined) return;
      const sum = (centroids[speaker] ??= new Float32Array(piece.embedding!.length));
      for (let d = 0; d < sum.length; d++) sum[d]! += piece.embedding![d]! * piece.weight;
    });
    return {
      duration,
      speakers: order.size,
      spans: spans.map((span) => ({ ...span, speaker: order.get(span.speaker)! })),
      centroids: centroids.map((sum) => (sum ? normalized(sum) : undefined)),
    };
  }
}

/** A piece too short to embed: the speaker of the nearest embedded piece of its own track, else the nearest one. */
function neighbourSpeaker(piece: Piece, embedded: readonly Piece[], labels: readonly number[]): number {
  let best = -1;
  let bestScore = Infinity;
  embedded.forEach((other, i) => {
    const gap = Math.max(0, other.start - piece.end, piece.start - other.end);
    // Another track is only taken when this one has no embedded piece at all.
    const score = gap + (other.track === piece.track ? 0 : 1e12);
    if (score < bestScore) {
      bestScore = score;
      best = i;
    }
  });
  return best < 0 ? 0 : labels[best]!;
}

/** A speaker's pause shorter than this does not end their turn (pyannote's min_duration_off, in spirit). */
const TURN_PAUSE_SECONDS = 0.5;

/**
 * One span for a speaker's pieces that touch, overlap or are apart by less than a turn pause with nobody else
 * speaking in between (a turn cut into pieces, or broken by a breath, becomes one span again).
 */
function mergeSpans(spans: SpeakerSpan[]): SpeakerSpan[] {
  const merged: SpeakerSpan[] = [];
  const lastOf = new Map<number, SpeakerSpan>();
  for (const span of spans) {
    const last = lastOf.get(span.speaker);
    const latest = merged.at(-1);
    const nobodyBetween = latest === last || (latest !== undefined && latest.end <= (last?.end ?? 0));
    if (last && (span.start <= last.end + 1e-6 || (nobodyBetween && span.start - last.end < TURN_PAUSE_SECONDS))) {
      last.end = Math.max(last.end, span.end);
      continue;
    }
    const copy = { ...span };
    merged.push(copy);
    lastOf.set(span.speaker, copy);
  }
  return merged;
}
