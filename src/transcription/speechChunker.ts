// Cuts a stream of VAD frame probabilities into the chunks a chunked transcription decodes: each chunk holds
// whole stretches of speech (never cut mid-word), packed together up to whisper's 30-s window, with the silence
// between them left out. Pure and incremental: frames go in as they are computed, chunks come out as soon as
// they are complete, so decoding can start while the audio is still arriving.
import { SILERO_FRAME_SAMPLES, TurnDetector } from "../audio/vad/index.js";
import { SAMPLE_RATE } from "../engine/sampleRate.js";

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

/** The stretch of speech in progress. */
interface OpenStretch {
  /** First sample of the stretch (prefix padding included). */
  start: number;
}

const FRAME = SILERO_FRAME_SAMPLES;
/** A chunk with at least this much room left is topped up with the head of the next stretch, cut at a pause. */
const MIN_FILL_SAMPLES = 3 * SAMPLE_RATE;
/** Where that cut is looked for: the last this-many samples of the room, nearest first. */
const FILL_NEAR_SAMPLES = 5 * SAMPLE_RATE;
const FILL_SEARCH_SAMPLES = 10 * SAMPLE_RATE;
/** The shortest pause (frames below the VAD's silence level) a stretch is cut at to top up a chunk: 96 ms. */
const MIN_FILL_PAUSE_FRAMES = 3;

/**
 * Speech stretches come from OpenAI server_vad semantics (the realtime API's {@link TurnDetector}: threshold with
 * hysteresis, prefix padding, silence duration, 160 ms minimum). Each stretch gets the padding after it too (up to
 * where the next one starts). Stretches are packed in order into chunks of at most `maxChunkSeconds`. When the next
 * stretch does not fit, the chunk is topped up with its head, cut at the longest pause (at least 96 ms of frames below
 * the VAD's silence level) in the last 5 s of the room left (else the last 10 s), so chunks come out close to full; with no such pause
 * the chunk closes as it is. A stretch that alone is longer than a chunk is cut at its longest pause within the last
 * 10 s that fit (failing any, its least speech-like frame there), never within the first or last second of a part.
 */
export class SpeechChunker {
  private readonly detector: TurnDetector;
  private readonly paddingSamples: number;
  /** Audio kept after a stretch (as much as before it, up to where the next one starts). */
  private readonly trailingSamples: number;
  private readonly maxChunkSamples: number;
  private readonly negativeThreshold: number;
  /**
   * How far before the latest frame, beyond the prefix padding, the onset of speech not confirmed yet may lie: the
   * detector confirms it after its minimum speech duration of frames, which may be separated by gaps each shorter
   * than the silence duration.
   */
  private readonly lookbackSamples: number;
  private stretch: OpenStretch | undefined;
  /** The last finished stretch, held until we know where the next one starts (its trailing padding stops there). */
  private held: SampleSpan | undefined;
  private pieces: SampleSpan[] = [];
  private chunkLength = 0;
  private nextIndex = 0;
  private framesSeen = 0;
  private ended = false;
  /** Every frame's probability so far (8 bytes a frame: 1.8 MB for two hours). */
  private readonly probabilities: number[] = [];

  constructor(options: SpeechChunkerOptions = {}) {
    const maxChunkSeconds = options.maxChunkSeconds ?? MAX_CHUNK_SECONDS;
    if (!(maxChunkSeconds >= 2 && maxChunkSeconds <= MAX_CHUNK_SECONDS)) throw new RangeError(`maxChunkSeconds must be in [2, ${MAX_CHUNK_SECONDS}]`);
    this.detector = new TurnDetector({
      ...(options.threshold !== undefined ? { threshold: options.threshold } : {}),
      ...(options.prefixPaddingMs !== undefined ? { prefixPaddingMs: options.prefixPaddingMs } : {}),
      ...(options.silenceDurationMs !== undefined ? { silenceDurationMs: options.silenceDurationMs } : {}),
    });
    this.negativeThreshold = this.detector.negativeThreshold;
    this.paddingSamples = Math.round((this.detector.prefixPaddingMs / 1000) * SAMPLE_RATE);
    this.trailingSamples = this.paddingSamples;
    this.maxChunkSamples = Math.floor(maxChunkSeconds * SAMPLE_RATE);
    const frameMs = (FRAME * 1000) / SAMPLE_RATE;
    const speechFrames = Math.ceil(this.detector.minSpeechDurationMs / frameMs) + 1;
    this.lookbackSamples = Math.ceil((speechFrames * (this.detector.silenceDurationMs + frameMs) * SAMPLE_RATE) / 1000) + FRAME;
  }

  /** Samples covered by the frames pushed so far. */
  get samplesSeen(): number {
    return this.framesSeen * FRAME;
  }

  /**
   * The samples a chunk still to come may hold: `spans`, the pieces already placed in the chunk being filled and the
   * finished stretch held until the next one starts (with its trailing padding), and everything from `from` on (the
   * stretch in progress, and a stretch not detected yet, whose prefix padding and the detector's minimum speech
   * reach back before the latest frame). A run that does
   * not keep its whole audio lets go of the rest.
   */
  retained(): { spans: readonly SampleSpan[]; from: number } {
    const notYetDetected = this.samplesSeen - this.paddingSamples - this.lookbackSamples;
    const starts = [this.stretch?.start, notYetDetected].filter((s): s is number => s !== undefined);
    const held = this.held ? [{ start: this.held.start, end: this.held.end + this.trailingSamples }] : [];
    return { spans: [...this.pieces, ...held], from: Math.max(0, Math.min(...starts)) };
  }

  /**
   * Feeds the speech probability of the next 512-sample frame (frames in order from the stream's first sample);
   * returns the chunks it completed.
   */
  push(probability: number): SpeechChunk[] {
    if (this.ended) throw new Error("SpeechChunker: push() after end()");
    const frame = this.framesSeen++;
    const startMs = (frame * FRAME * 1000) / SAMPLE_RATE;
    const endMs = ((frame + 1) * FRAME * 1000) / SAMPLE_RATE;
    const out: SpeechChunk[] = [];
    for (const event of this.detector.push({ startMs, endMs, probability })) {
      if (event.type === "speech_started") {
        this.stretch = { start: Math.round((event.audioStartMs / 1000) * SAMPLE_RATE) };
      } else if (this.stretch) {
        const end = Math.round((event.audioEndMs / 1000) * SAMPLE_RATE);
        this.finishStretch({ start: this.stretch.start, end }, out);
        this.stretch = undefined;
      }
    }
    this.probabilities.push(probability);
    if (this.stretch) this.splitLongStretch(out);
    return out;
  }

  /** The audio ended after `totalSamples` samples: returns the remaining chunks. */
  end(totalSamples: number = this.samplesSeen): SpeechChunk[] {
    if (this.ended) return [];
    this.ended = true;
    const out: SpeechChunk[] = [];
    for (const event of this.detector.end()) {
      if (event.type === "speech_stopped" && this.stretch) {
        const end = Math.min(totalSamples, Math.round((event.audioEndMs / 1000) * SAMPLE_RATE));
        this.finishStretch({ start: this.stretch.start, end }, out);
      }
    }
    this.stretch = undefined;
    if (this.held) this.place({ start: this.held.start, end: Math.min(totalSamples, this.held.end + this.trailingSamples) }, out);
    this.held = undefined;
    this.flushChunk(out);
    return out;
  }

  // ---- internals ----

  /** A stretch ended: the previous one gets its trailing padding (up to this one's start) and is placed. */
  private finishStretch(span: SampleSpan, out: SpeechChunk[]): void {
    if (this.held) {
      const paddedEnd = Math.min(this.held.end + this.trailingSamples, span.start);
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
    // The longest pause in the last 10 s that fit (so the chunk comes out nearly full), a second from either end.
    const margin = SAMPLE_RATE;
    const from = Math.max(stretch.start + margin, now - margin - FILL_SEARCH_SAMPLES);
    const to = Math.max(from + FRAME, now - margin);
    const cut = this.longestPause(from, to, 1) ?? this.quietestFrame(from, to);
    const head: SampleSpan = { start: stretch.start, end: cut };
    // A held stretch before it is placed first; the head is complete (no padding: the speech goes on).
    if (this.held) {
      const paddedEnd = Math.min(this.held.end + this.trailingSamples, head.start);
      this.place({ start: this.held.start, end: Math.max(this.held.end, paddedEnd) }, out);
      this.held = undefined;
    }
    this.place(head, out);
    stretch.start = cut;
  }

  /**
   * The sample in the middle of the longest run of at least `minFrames` frames below the silence level among the
   * frames in [from, to) (the later one of equal runs); undefined when there is none.
   */
  private longestPause(from: number, to: number, minFrames: number): number | undefined {
    const first = Math.ceil(from / FRAME);
    const last = Math.min(this.probabilities.length, Math.floor(to / FRAME));
    let best = 0;
    let bestMiddle: number | undefined;
    let runStart = -1;
    for (let i = first; i <= last; i++) {
      const quiet = i < last && this.probabilities[i]! < this.negativeThreshold;
      if (quiet) {
        if (runStart < 0) runStart = i;
      } else if (runStart >= 0) {
        const run = i - runStart;
        if (run >= minFrames && run >= best) {
          best = run;
          bestMiddle = Math.floor((runStart + i) / 2) * FRAME;
        }
        runStart = -1;
      }
    }
    return bestMiddle;
  }

  /**
   * Where to cut a stretch starting at `start` so its head fills a chunk up to `limit`: the longest pause in the last
   * FILL_NEAR seconds of the room, else in the last FILL_SEARCH seconds; undefined when there is none.
   */
  private fillCut(start: number, limit: number): number | undefined {
    for (const window of [FILL_NEAR_SAMPLES, FILL_SEARCH_SAMPLES]) {
      const cut = this.longestPause(Math.max(start + SAMPLE_RATE, limit - window), limit, MIN_FILL_PAUSE_FRAMES);
      if (cut !== undefined) return cut;
    }
    return undefined;
  }

  /** The start of the least speech-like frame in [from, to). */
  private quietestFrame(from: number, to: number): number {
    const first = Math.ceil(from / FRAME);
    const last = Math.max(first + 1, Math.min(this.probabilities.length, Math.floor(to / FRAME)));
    let lowestAt = first;
    for (let i = first; i < last; i++) if (this.probabilities[i]! < this.probabilities[lowestAt]!) lowestAt = i;
    return lowestAt * FRAME;
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
    const room = this.maxChunkSamples - this.chunkLength;
    if (piece.end - piece.start > room && this.pieces.length > 0) {
      // Top the chunk up with the head of this piece, cut at a pause, rather than leave the room empty.
      const cut = room >= MIN_FILL_SAMPLES ? this.fillCut(piece.start, piece.start + room) : undefined;
      if (cut !== undefined && cut > piece.start && cut < piece.end) {
        this.append({ start: piece.start, end: cut });
        piece = { start: cut, end: piece.end };
      }
      this.flushChunk(out);
    }
    this.append(piece);
  }

  private append(piece: SampleSpan): void {
    const length = piece.end - piece.start;
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
