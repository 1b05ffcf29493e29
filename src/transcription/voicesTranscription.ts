// One recording transcribed and told apart by voice: a TranscriptionRun (with word times) and a DiarizationRun over
// the same samples, fed side by side (all at once for a request, streamed from the job's audio for a batch job), then
// every word given to the speaker speaking at its time. It holds its model, its diarization slot and, until it is
// over, both runs; a part that fails stops the other.
import { DiarizationRun, nameSpeakers, type Diarization, type KnownSpeaker } from "../diarization/index.js";
import type { TranscriptionResult } from "../engine/types.js";
import { speakerLabelsWithNames, type ChannelsTranscription, type SpeakerSegment } from "./channelTranscription.js";
import { assignSpeakers } from "./speakerAssignment.js";
import type { TranscriptionRun } from "./transcriptionRun.js";

export interface VoicesParts {
  run: TranscriptionRun;
  diarization: DiarizationRun;
  known: readonly KnownSpeaker[];
  matchThreshold: number;
  /** Aborts both runs. */
  stop: AbortController;
  /** The caller's signal (a cancelled request or job): its end is "aborted", not "failed". */
  signal?: AbortSignal | undefined;
  /** Gives back the model and the diarization slot (once), saying how it ended. */
  release: (outcome: "ok" | "failed" | "aborted") => void;
  onSegment?: ((segment: SpeakerSegment, index: number) => void) | undefined;
}

export class VoicesTranscription {
  readonly run: TranscriptionRun;
  readonly diarization: DiarizationRun;

  constructor(private readonly parts: VoicesParts) {
    this.run = parts.run;
    this.diarization = parts.diarization;
  }

  /** 16 kHz mono samples, in order, for both runs (a source that cannot wait). */
  push(samples: Float32Array): void {
    this.run.push(samples);
    this.diarization.push(samples);
  }

  /**
   * The speakers' segments once both runs are done. `samples`: the whole audio when the run keeps none of its own
   * (a request's samples, pushed into the diarization here); undefined when both were fed as the audio streamed in.
   */
  async finish(samples?: Float32Array): Promise<ChannelsTranscription> {
    const { stop } = this.parts;
    const failFast = <T>(work: Promise<T>) =>
      work.catch((error: unknown) => {
        stop.abort(error);
        throw error;
      });
    let outcome: "ok" | "failed" | "aborted" = "failed";
    try {
      if (samples) this.diarization.push(samples);
      const [speakers, result] = await Promise.all([failFast(this.diarization.finish()), failFast(this.run.finish(samples))]);
      outcome = "ok";
      return this.speakersOf(speakers, result);
    } catch (error) {
      if (this.parts.signal?.aborted) outcome = "aborted";
      throw error;
    } finally {
      this.parts.release(outcome);
    }
  }

  cancel(): void {
    this.parts.stop.abort();
    this.run.cancel();
    this.diarization.cancel();
    this.parts.release("aborted");
  }

  /**
   * Words to speakers. Letters in order of first appearance in the transcript (a speaker the transcript gives no word
   * comes after those it does, in order of their speech); a speaker a reference clip matched takes its name.
   */
  private speakersOf(speakers: Diarization, result: TranscriptionResult): ChannelsTranscription {
    const indices = Array.from({ length: speakers.speakers }, (_, speaker) => String(speaker));
    const order = [...new Set([...assignSpeakers(result.segments, speakers.spans, indices).map((segment) => Number(segment.speaker)), ...indices.map(Number)])];
    const names = nameSpeakers(speakers.centroids, this.parts.known, this.parts.matchThreshold);
    const ordered = speakerLabelsWithNames(order.length, order.map((speaker) => names[speaker]));
    const labels: string[] = [];
    order.forEach((speaker, rank) => (labels[speaker] = ordered[rank]!));
    const segments = assignSpeakers(result.segments, speakers.spans, labels);
    segments.forEach((segment, index) => this.parts.onSegment?.(segment, index));
    return {
      duration: speakers.duration || result.duration || (speakers.spans.at(-1)?.end ?? 0),
      segments,
      results: [result],
      speakers: [...new Set(segments.map((segment) => segment.speaker))],
      spans: speakers.spans.map((span) => ({ ...span, speaker: labels[span.speaker]! })),
    };
  }
}
