// OpenAI Realtime `server_vad` turn detection over per-frame speech probabilities: a pure, synchronous state
// machine (no audio, no model), fed by SileroVadStream's frames.

/** OpenAI's default `turn_detection.threshold`. */
export const DEFAULT_VAD_THRESHOLD = 0.5;
/** OpenAI's default `turn_detection.prefix_padding_ms`. */
export const DEFAULT_PREFIX_PADDING_MS = 300;
/** OpenAI's default `turn_detection.silence_duration_ms`. */
export const DEFAULT_SILENCE_DURATION_MS = 500;
/** How far below `threshold` the probability must fall to count as silence once speech has started (Silero's 0.15). */
export const HYSTERESIS = 0.15;
/**
 * Speech shorter than this never becomes a turn: 160 ms, five 32 ms frames. Short enough for a clipped "no"
 * (~200 ms of voicing), long enough to drop clicks, coughs and single-frame noise blips.
 */
export const DEFAULT_MIN_SPEECH_DURATION_MS = 160;

/** One frame's speech probability; times in ms from the stream's start (a `VadFrame` fits). */
export interface FrameProbability {
  startMs: number;
  endMs: number;
  probability: number;
}

export interface TurnDetectorOptions {
  /** Speech starts at a frame whose probability is >= this (OpenAI: "Activation threshold for VAD (0.0 to 1.0)"). Default 0.5. */
  threshold?: number;
  /** Audio kept before the detected onset: `audioStartMs = onset - prefixPaddingMs` (clamped at 0). Default 300. */
  prefixPaddingMs?: number;
  /** Silence (frames below `negativeThreshold`) that ends a turn. Default 500. */
  silenceDurationMs?: number;
  /**
   * Once speech has started, frames at or above this still count as speech: the hysteresis that keeps a turn from
   * ending on every soft consonant. Default `max(threshold - 0.15, 0.01)`, as Silero's `get_speech_timestamps`,
   * but never above `threshold` (a threshold under 0.01 is its own negative threshold).
   */
  negativeThreshold?: number;
  /**
   * A turn is reported only once it holds this much speech (frames >= `negativeThreshold` since the onset, added
   * up); a shorter blip followed by `silenceDurationMs` of silence is dropped without any event. Default 160.
   */
  minSpeechDurationMs?: number;
}

/**
 * What the realtime API turns into `input_audio_buffer.speech_started` / `speech_stopped`.
 * - `speech_started` comes once the turn holds `minSpeechDurationMs` of speech; `audioStartMs` is the onset (the
 *   first frame >= `threshold`) minus `prefixPaddingMs`, never before 0 nor before the previous turn's
 *   `audioEndMs` (turns never overlap); `speechStartMs` is the onset itself; `detectedAtMs` is the end of the frame
 *   that confirmed it.
 * - `speech_stopped` comes after `silenceDurationMs` of silence; `audioEndMs` is the end of the turn's last speech
 *   frame; `detectedAtMs` is the end of the frame that completed the silence (`>= audioEndMs + silenceDurationMs`:
 *   what OpenAI's docs describe as audio_end_ms "including the silence duration").
 */
export type TurnEvent =
  | { type: "speech_started"; audioStartMs: number; speechStartMs: number; detectedAtMs: number }
  | { type: "speech_stopped"; audioEndMs: number; detectedAtMs: number };

export type TurnDetectorPhase = "silence" | "pending" | "speech";

/**
 * OpenAI `server_vad` semantics over a stream of frame probabilities. Frames must come in time order; silence is
 * measured in stream time from the end of the last speech frame, so a gap between frames counts as silence. Phases:
 * - `silence`: a frame >= `threshold` is an onset → `pending`.
 * - `pending`: speech not yet long enough to be a turn. Frames >= `negativeThreshold` add to its speech time;
 *   reaching `minSpeechDurationMs` emits `speech_started` → `speech`. `silenceDurationMs` of silence first drops
 *   it (no event) → `silence`.
 * - `speech`: `silenceDurationMs` of frames below `negativeThreshold` emits `speech_stopped` → `silence`.
 */
export class TurnDetector {
  readonly threshold: number;
  readonly negativeThreshold: number;
  readonly prefixPaddingMs: number;
  readonly silenceDurationMs: number;
  readonly minSpeechDurationMs: number;

  private currentPhase: TurnDetectorPhase = "silence";
  private onsetMs = 0;
  private lastSpeechEndMs = 0;
  private pendingSpeechMs = 0;
  /** `audioStartMs` never goes before this: 0, then the previous turn's `audioEndMs`. */
  private floorMs = 0;
  private lastFrameEndMs = -Infinity;

  constructor(options: TurnDetectorOptions = {}) {
    this.threshold = options.threshold ?? DEFAULT_VAD_THRESHOLD;
    // Clamped to the threshold: every threshold in [0, 1] has a valid default (0.005 once made this throw).
    this.negativeThreshold = options.negativeThreshold ?? Math.min(this.threshold, Math.max(this.threshold - HYSTERESIS, 0.01));
    this.prefixPaddingMs = options.prefixPaddingMs ?? DEFAULT_PREFIX_PADDING_MS;
    this.silenceDurationMs = options.silenceDurationMs ?? DEFAULT_SILENCE_DURATION_MS;
    this.minSpeechDurationMs = options.minSpeechDurationMs ?? DEFAULT_MIN_SPEECH_DURATION_MS;
    if (!(this.threshold >= 0 && this.threshold <= 1)) throw new RangeError(`threshold must be in [0, 1] (got ${this.threshold})`);
    if (!(this.negativeThreshold >= 0 && this.negativeThreshold <= this.threshold)) {
      throw new RangeError(`negativeThreshold must be in [0, threshold] (got ${this.negativeThreshold})`);
    }
    for (const [name, value] of [
      ["prefixPaddingMs", this.prefixPaddingMs],
      ["silenceDurationMs", this.silenceDurationMs],
      ["minSpeechDurationMs", this.minSpeechDurationMs],
    ] as const) {
      if (!(value >= 0 && Number.isFinite(value))) throw new RangeError(`${name} must be a finite number >= 0 (got ${value})`);
    }
  }

  /** Where the detector stands: `speech` between `speech_started` and `speech_stopped`. */
  get phase(): TurnDetectorPhase {
    return this.currentPhase;
  }

  /** Feeds one frame; returns the events it caused (at most one). */
  push(frame: FrameProbability): TurnEvent[] {
    const { startMs, endMs, probability } = frame;
    if (!(endMs > startMs) || startMs < this.lastFrameEndMs) {
      throw new RangeError(`TurnDetector: frames must be in time order (got ${startMs}-${endMs} after ${this.lastFrameEndMs})`);
    }
    this.lastFrameEndMs = endMs;
    const events: TurnEvent[] = [];

    if (this.currentPhase === "silence") {
      if (probability >= this.threshold) {
        this.currentPhase = "pending";
        this.onsetMs = startMs;
        this.lastSpeechEndMs = endMs;
        this.pendingSpeechMs = endMs - startMs;
        this.confirmIfLongEnough(endMs, events);
      }
      return events;
    }

    if (probability >= this.negativeThreshold) {
      this.lastSpeechEndMs = endMs;
      if (this.currentPhase === "pending") {
        this.pendingSpeechMs += endMs - startMs;
        this.confirmIfLongEnough(endMs, events);
      }
    } else if (endMs - this.lastSpeechEndMs >= this.silenceDurationMs) {
      if (this.currentPhase === "speech") {
        events.push({ type: "speech_stopped", audioEndMs: this.lastSpeechEndMs, detectedAtMs: endMs });
        this.floorMs = this.lastSpeechEndMs;
      }
      this.currentPhase = "silence";
    }
    return events;
  }

  /** Feeds frames in order; returns every event they caused, in order. */
  pushAll(frames: Iterable<FrameProbability>): TurnEvent[] {
    const events: TurnEvent[] = [];
    for (const frame of frames) events.push(...this.push(frame));
    return events;
  }

  /**
   * The stream ended (or the client committed the buffer): a turn in progress stops at its last speech frame
   * (`detectedAtMs` = end of the last frame seen); pending speech too short for a turn is dropped. The detector
   * is back in `silence` and can go on with later frames.
   */
  end(): TurnEvent[] {
    const events: TurnEvent[] = [];
    if (this.currentPhase === "speech") {
      const detectedAtMs = Math.max(this.lastFrameEndMs, this.lastSpeechEndMs);
      events.push({ type: "speech_stopped", audioEndMs: this.lastSpeechEndMs, detectedAtMs });
      this.floorMs = this.lastSpeechEndMs;
    }
    this.currentPhase = "silence";
    return events;
  }

  private confirmIfLongEnough(frameEndMs: number, events: TurnEvent[]): void {
    if (this.pendingSpeechMs < this.minSpeechDurationMs) return;
    this.currentPhase = "speech";
    events.push({
      type: "speech_started",
      audioStartMs: Math.max(this.floorMs, this.onsetMs - this.prefixPaddingMs),
      speechStartMs: this.onsetMs,
      detectedAtMs: frameEndMs,
    });
  }
}
