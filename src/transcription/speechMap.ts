// Where Silero VAD heard speech in a recording, as spans of its timeline: what word times are snapped to (see
// snapWords.ts), so that no word starts or ends inside a silence. Built from the frame probabilities in order, as the
// run's VAD produces them; holds only the spans (a few per minute of speech), never the frames. A frame is speech at
// Silero's threshold both ways: no hysteresis, which holds a turn open through Silero's slowly falling probability
// after speech ends (right for turn-taking, but it would count a few hundred ms of the following silence as speech).
import { DEFAULT_VAD_THRESHOLD, SILERO_FRAME_MS } from "../audio/vad/index.js";

/** A pause shorter than this is part of the speech around it (the gaps between words are not silences): 200 ms. */
export const MIN_SILENCE_SECONDS = 0.2;

const FRAME_SECONDS = SILERO_FRAME_MS / 1000;

export class SpeechMap {
  private readonly spans: Array<[number, number]> = [];
  private frames = 0;
  private open: number | undefined;
  private lastSpeechEnd = 0;
  private readonly threshold = DEFAULT_VAD_THRESHOLD;

  /** The next frame's speech probability (frames in order from the recording's first sample). */
  push(probability: number): void {
    const start = this.frames * FRAME_SECONDS;
    this.frames++;
    const end = this.frames * FRAME_SECONDS;
    if (probability < this.threshold) {
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
