// Where Silero VAD heard speech in a recording, as spans of its timeline: what word times are snapped to (see
// snapWords.ts), so that no word starts or ends inside a silence. Built from the frame probabilities in order, as the
// run's VAD produces them; holds only the spans (a few per minute of speech), never the frames.
import { DEFAULT_VAD_THRESHOLD, HYSTERESIS, SILERO_FRAME_MS } from "../audio/vad/index.js";

/** A pause shorter than this is part of the speech around it (the gaps between words are not silences): 200 ms. */
export const MIN_SILENCE_SECONDS = 0.2;

const FRAME_SECONDS = SILERO_FRAME_MS / 1000;

export class SpeechMap {
  private readonly spans: Array<[number, number]> = [];
  private frames = 0;
  private open: number | undefined;
  private lastSpeechEnd = 0;
  private readonly threshold = DEFAULT_VAD_THRESHOLD;
  private readonly negativeThreshold = DEFAULT_VAD_THRESHOLD - HYSTERESIS;

  /** The next frame's speech probability (frames in order from the recording's first sample). */
  push(probability: number): void {
    const start = this.frames * FRAME_SECONDS;
    this.frames++;
    const end = this.frames * FRAME_SECONDS;
    const speaking = this.open !== undefined ? probability >= this.negativeThreshold : probability >= this.threshold;
    if (!speaking) {
      if (this.open !== undefined && start - this.lastSpeechEnd >= MIN_SILENCE_SECONDS) this.close();
      return;
    }
    // A pause shorter than MIN_SILENCE_SECONDS left the span open: speech again goes on in it.
    this.open ??= start;
    this.lastSpeechEnd = end;
  }

  /** The spans of speech heard so far, [start, end] in seconds, in order and apart by a silence each. */
  get speech(): ReadonlyArray<readonly [number, number]> {
    return this.open === undefined ? this.spans : [...this.spans, [this.open, this.lastSpeechEnd]];
  }

  private close(): void {
    this.spans.push([this.open!, this.lastSpeechEnd]);
    this.open = undefined;
  }
}
