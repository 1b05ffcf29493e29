// Cuts a stream of VAD frame probabilities into the chunks a chunked transcription decodes: each chunk holds
// whole stretches of speech (never cut mid-word), packed together up to whisper's 30-s window, with the silence
// between them left out. Pure and incremental: frames go in as they are computed, chunks come out as soon as
// they are complete, so decoding can start while the audio is still arriving.
import { SILERO_FRAME_SAMPLES, TurnDetector } from "../audio/vad/index.js";

export const CHUNK_SAMPLE_RATE = 16_000;
/** Whisper's window: no chunk is longer. */
export const MAX_CHUNK_SECONDS = 30;

export interface SpeechChunkerOptions {
  /** Speech starts at a frame whose probability is at least this (OpenAI server_vad `threshold`). Default 0.5. */
  threshold?: number;
  /** Audio kept before each stretch of speech, and after it (OpenAI `prefix_padding_ms`). Default 300. */
  prefixPaddingMs?: number;
  /** Silence that ends a stretch of speech (OpenAI `silence_duration_ms`). Default 500. */
  silenceDurationMs?: number;
  /** Longest chunk in seconds (at most 30). */
  maxChunkSeconds?: number;
}

/** A stretch of the original audio, in samples: [start, end). */
export interface SampleSpan {
  start: number;
  end: number;
}

/** One chunk: speech stretches of the original audio that are decoded together, in order, as one clip. */
export interface SpeechChunk {
  /** 0, 1, 2, ... in time order. */
  index: number;
  pieces: SampleSpan[];
  /** Samples in the chunk: the pieces' lengths added up. */
  length: number;
}

/** Frames of a stretch of speech kept to find its longest pause if it grows past a chunk. */
interface OpenStretch {
  /** First sample of the stretch (prefix padding included). */
  start: number;
  /** Probability of every frame since `firstFrame`. */
  probabilities: number[];
  firstFrame: number;
}

const FRAME = SILERO_FRAME_SAMPLES;

/**
 * Speech stretches come from OpenAI server_vad semantics (the realtime API's {@link TurnDetector}: threshold with
 * hysteresis, prefix padding, silence duration, 160 ms minimum). Each stretch gets the padding after it too (up to
 * where the next one starts). Stretches are packed in order into chunks of at most `maxChunkSeconds`; a stretch that
 * alone is longer is cut at its longest pause (the longest run of frames below the VAD's silence level; failing
 * that, its least speech-like frame), never within the first or last second of a part.
 */
export class SpeechChunker {
  private readonly detector: TurnDetector;
  private readonly paddingSamples: number;
  private readonly maxChunkSamples: number;
  private readonly negativeThreshold: number;
  private stretch: OpenStretch | undefined;
  /** The last finished stretch, held until we know where the next one starts (its trailing padding stops there). */
  private held: SampleSpan | undefined;
  private pieces: SampleSpan[] = [];
  private chunkLength = 0;
  private nextIndex = 0;
  private framesSeen = 0;
  private ended = false;

  constructor(options: SpeechChunkerOptions = {}) {
    const maxChunkSeconds = options.maxChunkSeconds ?? MAX_CHUNK_SECONDS;
    if (!(maxChunkSeconds >= 2 && maxChunkSeconds <= MAX_CHUNK_SECONDS)) throw new RangeError(`maxChunkSeconds must be in [2, ${MAX_CHUNK_SECONDS}]`);
    this.detector = new TurnDetector({
      ...(options.threshold !== undefined ? { threshold: options.threshold } : {}),
      ...(options.prefixPaddingMs !== undefined ? { prefixPaddingMs: options.prefixPaddingMs } : {}),
      ...(options.silenceDurationMs !== undefined ? { silenceDurationMs: options.silenceDurationMs } : {}),
    });
    this.negativeThreshold = this.detector.negativeThreshold;
    this.paddingSamples = Math.round((this.detector.prefixPaddingMs / 1000) * CHUNK_SAMPLE_RATE);
    this.maxChunkSamples = Math.floor(maxChunkSeconds * CHUNK_SAMPLE_RATE);
  }

  /** Samples covered by the frames pushed so far. */
  get samplesSeen(): number {
    return this.framesSeen * FRAME;
  }

  /**
   * Feeds the speech probability of the next 512-sample frame (frames in order from the stream's first sample);
   * returns the chunks it completed.
   */
  push(probability: number): SpeechChunk[] {
    if (this.ended) throw new Error("SpeechChunker: push() after end()");
    const frame = this.framesSeen++;
    const startMs = (frame * FRAME * 1000) / CHUNK_SAMPLE_RATE;
    const endMs = ((frame + 1) * FRAME * 1000) / CHUNK_SAMPLE_RATE;
    const out: SpeechChunk[] = [];
    for (const event of this.detector.push({ startMs, endMs, probability })) {
      if (event.type === "speech_started") {
        const start = Math.round((event.audioStartMs / 1000) * CHUNK_SAMPLE_RATE);
        // The frames from the (padded) start on: those before this frame were pushed already.
        const firstFrame = Math.floor(start / FRAME);
        this.stretch = { start, probabilities: this.recent.slice(Math.max(0, this.recent.length - (frame - firstFrame))), firstFrame };
      } else if (this.stretch) {
        const end = Math.round((event.audioEndMs / 1000) * CHUNK_SAMPLE_RATE);
        this.finishStretch({ start: this.stretch.start, end }, out);
        this.stretch = undefined;
      }
    }
    this.remember(probability);
    if (this.stretch) {
      this.stretch.probabilities.push(probability);
      this.splitLongStretch(out);
    }
    return out;
  }

  /** The audio ended after `totalSamples` samples: returns the remaining chunks. */
  end(totalSamples: number = this.samplesSeen): SpeechChunk[] {
    if (this.ended) return [];
    this.ended = true;
    const out: SpeechChunk[] = [];
    for (const event of this.detector.end()) {
      if (event.type === "speech_stopped" && this.stretch) {
        const end = Math.min(totalSamples, Math.round((event.audioEndMs / 1000) * CHUNK_SAMPLE_RATE));
        this.finishStretch({ start: this.stretch.start, end }, out);
      }
    }
    this.stretch = undefined;
    if (this.held) this.place({ start: this.held.start, end: Math.min(totalSamples, this.held.end + this.paddingSamples) }, out);
    this.held = undefined;
    this.flushChunk(out);
    return out;
  }

  // ---- internals ----

  /** The last probabilities (enough for a prefix padding's worth of frames before an onset). */
  private recent: number[] = [];
  private remember(probability: number): void {
    this.recent.push(probability);
    const keep = Math.ceil(this.paddingSamples / FRAME) + 64;
    if (this.recent.length > keep * 2) this.recent.splice(0, this.recent.length - keep);
  }

  /** A stretch ended: the previous one gets its trailing padding (up to this one's start) and is placed. */
  private finishStretch(span: SampleSpan, out: SpeechChunk[]): void {
    if (this.held) {
      const paddedEnd = Math.min(this.held.end + this.paddingSamples, span.start);
      this.place({ start: this.held.start, end: Math.max(this.held.end, paddedEnd) }, out);
    }
    this.held = span;
  }

  /** While a stretch runs past what one chunk can hold, cuts it at its longest pause. */
  private splitLongStretch(out: SpeechChunk[]): void {
    const stretch = this.stretch!;
    const now = this.framesSeen * FRAME;
    // Room for the trailing padding too.
    if (now - stretch.start + this.paddingSamples < this.maxChunkSamples) return;
    const cut = this.longestPause(stretch);
    const head: SampleSpan = { start: stretch.start, end: cut };
    // A held stretch before it is placed first; the head is complete (no padding: the speech goes on).
    if (this.held) {
      const paddedEnd = Math.min(this.held.end + this.paddingSamples, head.start);
      this.place({ start: this.held.start, end: Math.max(this.held.end, paddedEnd) }, out);
      this.held = undefined;
    }
    this.place(head, out);
    const dropFrames = Math.round((cut - FRAME * stretch.firstFrame) / FRAME);
    stretch.probabilities.splice(0, dropFrames);
    stretch.firstFrame += dropFrames;
    stretch.start = cut;
  }

  /** Sample at the middle of the stretch's longest run of silence frames (else its lowest frame), away from its ends. */
  private longestPause(stretch: OpenStretch): number {
    const margin = Math.round(CHUNK_SAMPLE_RATE / FRAME); // one second of frames
    const probabilities = stretch.probabilities;
    const from = Math.min(margin, Math.floor(probabilities.length / 2));
    const to = Math.max(from + 1, probabilities.length - margin);
    let bestRun = 0;
    let bestMiddle = -1;
    let runStart = -1;
    let lowest = Infinity;
    let lowestAt = from;
    for (let i = from; i <= to && i < probabilities.length + 1; i++) {
      const p = i < to ? probabilities[i]! : Infinity;
      if (p < this.negativeThreshold) {
        if (runStart < 0) runStart = i;
      } else if (runStart >= 0) {
        if (i - runStart > bestRun) {
          bestRun = i - runStart;
          bestMiddle = Math.floor((runStart + i) / 2);
        }
        runStart = -1;
      }
      if (i < to && p < lowest) {
        lowest = p;
        lowestAt = i;
      }
    }
    const frame = bestMiddle >= 0 ? bestMiddle : lowestAt;
    return (stretch.firstFrame + frame) * FRAME;
  }

  /** Adds a finished piece of speech to the chunk being filled, closing that chunk first when it would not fit. */
  private place(span: SampleSpan, out: SpeechChunk[]): void {
    const last = this.pieces[this.pieces.length - 1];
    const start = last ? Math.max(span.start, last.end) : Math.max(0, span.start);
    if (span.end <= start) return;
    let piece: SampleSpan = { start, end: span.end };
    // A piece longer than a chunk (only possible when padding pushes a cut stretch over) is split evenly.
    while (piece.end - piece.start > this.maxChunkSamples) {
      this.place({ start: piece.start, end: piece.start + this.maxChunkSamples }, out);
      piece = { start: piece.start + this.maxChunkSamples, end: piece.end };
    }
    const length = piece.end - piece.start;
    if (this.chunkLength + length > this.maxChunkSamples) this.flushChunk(out);
    const previous = this.pieces[this.pieces.length - 1];
    if (previous && previous.end === piece.start) previous.end = piece.end;
    else this.pieces.push(piece);
    this.chunkLength += length;
  }

  private flushChunk(out: SpeechChunk[]): void {
    if (this.pieces.length === 0) return;
    out.push({ index: this.nextIndex++, pieces: this.pieces, length: this.chunkLength });
    this.pieces = [];
    this.chunkLength = 0;
  }
}
