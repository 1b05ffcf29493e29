// The one way decoded audio goes into a TranscriptionRun: the upload routes (the decoder's callback as the upload
// arrives), the CLI (the decoder's callback over a local file) and batch jobs (the job's FLAC read back) all feed
// through a RunFeed. It holds the samples that come before the run is open (an upload's early run opens while its
// decode has started) and hands them over in order once it is, or drops them when it never opens.
//
// One back-pressure design, in the run's own terms: work not started yet (samples waiting for the VAD, chunks cut
// and waiting for a slot) is kept within FEED_BOUND, enough to keep every slot busy whatever the audio's length. A
// source that can wait (`pull`: an async iterable, the job's FLAC reader) is read only while the run's backlog is
// within it; when it is not, the feed awaits the promise the run resolves itself as its VAD and chunks take the
// work (no polling), and the reader, not read, holds FFmpeg back. That bound is what keeps a long job's memory
// bounded (its run keeps only what the chunks to come need: keepAudio false).
//
// A source that cannot wait (`push`: the decoder's onSamples) is never paused, and needs no bound of its own: its
// decoder keeps every sample anyway (the run is finished with the whole audio), and the run's backlog holds no
// samples beyond the run's copy (its VAD reads from that copy). Both are charged to the upload's decoded-audio
// memory grant (audioUpload.ts: twice the decoder's buffer while an early run is fed), so the memory budget is the
// bound; pausing the decoder would only stall the client's upload. The CLI, on a local file, holds the same two.
import type { RunBacklog, TranscriptionRun } from "./transcriptionRun.js";
import { SAMPLE_RATE } from "../engine/sampleRate.js";

/** Samples waiting for the VAD before a source that can wait is read on (the VAD takes ~8 s a call). */
const MAX_VAD_BACKLOG_SAMPLES = 10 * SAMPLE_RATE;
/** Chunks cut and waiting for a slot, per slot of the run, before a source that can wait is read on. */
const MAX_WAITING_CHUNKS_PER_SLOT = 2;

/** The backlog a run fed by a source that can wait is kept within: every slot busy, memory bounded. */
export function feedBound(run: TranscriptionRun): RunBacklog {
  return { vadSamples: MAX_VAD_BACKLOG_SAMPLES, chunks: MAX_WAITING_CHUNKS_PER_SLOT * run.concurrency };
}

export class RunFeed {
  private run: TranscriptionRun | undefined;
  /** Samples that came before the run opened; undefined once it did (or never will). */
  private pending: Float32Array[] | undefined;
  private readonly opened: Promise<void>;
  private markOpened!: () => void;

  /** `run`: the run to feed, or none yet (it is given to {@link open} when it opens; samples are held until then). */
  constructor(run?: TranscriptionRun) {
    this.opened = new Promise((resolve) => (this.markOpened = resolve));
    if (run) this.open(run);
    else this.pending = [];
  }

  /** The run has opened: what was held goes into it, in order. Undefined: it never will; what was held is dropped. */
  open(run: TranscriptionRun | undefined): void {
    const held = this.pending ?? [];
    this.pending = undefined;
    this.run = run;
    for (const samples of held) run?.push(samples);
    this.markOpened();
  }

  /** Decoded samples (16 kHz mono, in order) from a source that cannot wait; a decoder's `onSamples`. */
  readonly push = (samples: Float32Array): void => {
    if (this.run) this.run.push(samples);
    else this.pending?.push(samples);
  };

  /**
   * Reads a source that can wait into the run, only as fast as the run takes the work (see the module comment).
   * Resolves once the source ends; rejects with its error. A run that stops (cancelled, aborted, failed) is no
   * longer waited for: the source is read to its end (an aborted reader throws) and finish() says why.
   */
  async pull(source: AsyncIterable<Float32Array>): Promise<void> {
    await this.opened;
    const run = this.run;
    const bound = run ? feedBound(run) : undefined;
    for await (const samples of source) {
      this.push(samples);
      if (run && bound) await run.whenBacklogWithin(bound);
    }
  }
}
