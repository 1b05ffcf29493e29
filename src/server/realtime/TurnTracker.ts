// Server VAD for a realtime session: the session's audio goes through Silero (one VAD stream, its own timeline) and
// OpenAI's server_vad rules (TurnDetector), which cut it into turns: speech_started, speech_stopped, a commit.
//
// Idle timeout (server_vad `idle_timeout_ms`): measured on the session's audio timeline (samples received, the clock
// OpenAI's VAD times are on), not the wall clock, so audio sent faster than real time times out as soon as the idle
// stretch has arrived, and a paused sender never does. Once that much audio holds no speech since the last turn
// ended (or since detection started, or since the last timeout), the buffer is committed:
// `input_audio_buffer.timeout_triggered`, then committed/added and the transcription like any turn.
import { type FrameProbability, SileroVadModel, SileroVadStream, type TurnDetector, type TurnEvent } from "../../audio/vad/index.js";
import { realtimeId, type RealtimeServerEvent, speechStartedEvent, speechStoppedEvent, timeoutTriggeredEvent } from "../../formats/realtimeEvents.js";
import { type TurnDetectionConfig, turnDetectorFor } from "../../api/realtimeSession.js";
import type { SessionAudio } from "./sessionAudio.js";
import { LiveText } from "./liveText.js";
import type { AgreementRule } from "./wordAgreement.js";
import { SAMPLE_RATE } from "../../engine/sampleRate.js";

/** OpenAI refuses to commit less than 100 ms. */
export const MIN_COMMIT_SAMPLES = SAMPLE_RATE / 10;
/** Audio kept before a turn while nobody speaks, beyond the prefix padding. */
const SILENCE_KEEP_MS = 1000;

/**
 * The turn being spoken, not committed yet: with server VAD from speech_started until it is committed; in manual
 * commit mode (with live text) the buffer since the last commit or clear.
 */
export interface OpenTurn {
  itemId: string;
  startSample: number;
  /** Aborted when the turn is committed or dropped: stops its live pass. */
  ended: AbortController;
  /** Where the last live pass of the turn ended. */
  lastPartialSample: number;
  /** Live text (when the session asked for it): the words agreed so far, sent as deltas. */
  live?: LiveText;
  /** What the last partial event showed as unstable. */
  unstable?: string;
}

/** A turn starting at `startSample`; `live`: the agreement rule of its live text, if the session wants live text. */
export function openTurn(itemId: string, startSample: number, live: AgreementRule | undefined): OpenTurn {
  return { itemId, startSample, ended: new AbortController(), lastPartialSample: startSample, ...(live ? { live: new LiveText(live, startSample) } : {}) };
}

export interface TurnTrackerOptions {
  /** The session's audio buffer (shared: the tracker trims the silence before a turn from it). */
  audio: SessionAudio;
  loadVad: () => Promise<SileroVadModel>;
  /** Aborted once the session has ended. */
  signal: AbortSignal;
  /** The longest turn before it is committed as it stands. */
  maxBufferSeconds: number;
  /** How a turn's live text is agreed, when the session wants live text (read when a turn starts). */
  liveText: () => AgreementRule | undefined;
  send(event: RealtimeServerEvent): void;
  /** Commits the audio [from, to) as item `itemId`; `speech`: the VAD heard speech in it. */
  commit(itemId: string, fromSample: number, toSample: number, speech: boolean): void;
  /** After each push: a live pass may run for the turn being spoken. */
  onAudio(turn: OpenTurn | undefined): void;
}

export class TurnTracker {
  private settings: TurnDetectionConfig | null = null;
  private detector: TurnDetector | undefined;
  private vadStream: SileroVadStream | undefined;
  /** Session sample at which the current VAD stream started. */
  private vadOffsetSamples = 0;
  private current: OpenTurn | undefined;
  /**
   * Idle timeout: where (ms on the session's audio timeline) the current stretch without speech began: the end of
   * the last speech frame of a turn, the end of the last turn, the start of turn detection or the last timeout.
   */
  private quietSinceMs = 0;

  constructor(private readonly options: TurnTrackerOptions) {}

  /** Whether server VAD is on (turn detection set). */
  get active(): boolean {
    return this.detector !== undefined;
  }

  /** The turn being spoken, if any. */
  get turn(): OpenTurn | undefined {
    return this.current;
  }

  /**
   * (Re)starts turn detection with `settings` (null: off); a turn in progress is dropped. The VAD stream (its recurrent
   * state and timeline) is kept unless `newStream`: every sample the session receives goes to it. `detector`: one
   * already built for `settings` (built before anything changed, so that applying cannot fail).
   */
  configure(settings: TurnDetectionConfig | null, newStream = true, detector?: TurnDetector): void {
    this.settings = settings;
    const next = settings ? (detector ?? turnDetectorFor(settings)) : undefined;
    this.setTurn(undefined);
    if (!next) {
      this.detector = undefined;
      this.dropVadStream();
      return;
    }
    this.detector = next;
    this.quietSinceMs = (this.options.audio.endSample / SAMPLE_RATE) * 1000;
    if (newStream || !this.vadStream) {
      this.dropVadStream();
      this.vadOffsetSamples = this.options.audio.endSample;
    }
  }

  /** Detection starts over on the same stream (after a commit, a clear, a forced or timed-out turn). */
  restart(): void {
    this.configure(this.settings, false, undefined);
  }

  /** Runs newly appended samples (already in the session's buffer) through the VAD and the turn rules. */
  async detect(samples: Float32Array): Promise<void> {
    const detector = this.detector!;
    const audio = this.options.audio;
    this.vadStream ??= (await this.options.loadVad()).createStream();
    const stream = this.vadStream;
    const frames = await stream.push(samples);
    // Settings may have changed (or the buffer been cleared) while the frames were computed.
    if (detector !== this.detector || stream !== this.vadStream || this.options.signal.aborted) return;
    const offsetMs = (this.vadOffsetSamples / SAMPLE_RATE) * 1000;
    for (const frame of frames) {
      // An idle timeout starts detection over (a new detector on the same stream) partway through the frames.
      const current = this.detector;
      if (!current) return;
      const timed: FrameProbability = { startMs: frame.startMs + offsetMs, endMs: frame.endMs + offsetMs, probability: frame.probability };
      for (const turnEvent of current.push(timed)) this.onTurnEvent(turnEvent);
      this.checkIdle(current, timed);
    }
    if (this.current && audio.endSample - this.current.startSample > this.options.maxBufferSeconds * SAMPLE_RATE) {
      // A turn longer than the buffer allows is committed as it stands; speech that goes on starts a new turn.
      this.stopTurn(audio.endSample);
      this.restart();
    }
    if (!this.current && this.detector?.phase === "silence") {
      const keep = ((this.settings?.prefixPaddingMs ?? 0) + SILENCE_KEEP_MS) * (SAMPLE_RATE / 1000);
      let dropBefore = audio.endSample - keep;
      // With an idle timeout the quiet stretch is kept: the timeout commits it (so at most idle_timeout_ms of it).
      if (this.settings?.idleTimeoutMs) dropBefore = Math.min(dropBefore, Math.round((this.quietSinceMs / 1000) * SAMPLE_RATE));
      audio.dropBefore(dropBefore);
    }
    this.options.onAudio(this.current);
  }

  /**
   * The turn being spoken ends at `endSample` (speech_stopped) and is committed, when it holds at least 100 ms
   * (the server draining, a turn over the buffer's length). Returns whether there was one to commit.
   */
  stopTurn(endSample: number): boolean {
    const turn = this.current;
    if (!turn || endSample - turn.startSample < MIN_COMMIT_SAMPLES) return false;
    this.options.send(speechStoppedEvent(turn.itemId, (endSample / SAMPLE_RATE) * 1000));
    this.options.commit(turn.itemId, turn.startSample, endSample, true);
    return true;
  }

  /** The turn being spoken changes; the previous one ends (its partial pass, if any, is aborted). */
  setTurn(next: OpenTurn | undefined): void {
    this.current?.ended.abort();
    this.current = next;
  }

  /** The session ended: detection stops and the VAD stream is let go. */
  dispose(): void {
    this.setTurn(undefined);
    this.detector = undefined;
    this.dropVadStream();
  }

  /** Lets go of the VAD stream (its native context is freed once a running push ends); the next audio starts one. */
  private dropVadStream(): void {
    this.vadStream?.close();
    this.vadStream = undefined;
  }

  private onTurnEvent(event: TurnEvent): void {
    const audio = this.options.audio;
    if (event.type === "speech_started") {
      const itemId = realtimeId("item");
      const startSample = Math.max(audio.startSample, Math.round((event.audioStartMs / 1000) * SAMPLE_RATE));
      this.setTurn(openTurn(itemId, startSample, this.options.liveText()));
      this.options.send(speechStartedEvent(itemId, event.audioStartMs));
      this.quietSinceMs = event.detectedAtMs;
      return;
    }
    const turn = this.current;
    if (!turn) return;
    this.quietSinceMs = event.detectedAtMs;
    // OpenAI's audio_end_ms "includes the min_silence_duration_ms": the turn's audio runs until the silence was confirmed.
    const endSample = Math.round((event.detectedAtMs / 1000) * SAMPLE_RATE);
    this.options.send(speechStoppedEvent(turn.itemId, event.detectedAtMs));
    this.options.commit(turn.itemId, turn.startSample, endSample, true);
  }

  /** Idle timeout bookkeeping after one frame: speech in a turn restarts the countdown; running out commits. */
  private checkIdle(detector: TurnDetector, frame: FrameProbability): void {
    // Speech is what keeps a turn going: frames at or above the detector's (hysteresis) threshold while in a turn.
    if (this.current && frame.probability >= detector.negativeThreshold) this.quietSinceMs = Math.max(this.quietSinceMs, frame.endMs);
    const idleTimeoutMs = this.settings?.idleTimeoutMs;
    if (idleTimeoutMs && frame.endMs - this.quietSinceMs >= idleTimeoutMs) this.idleTimeout(frame.endMs);
  }

  /**
   * `idle_timeout_ms` ran out at `atMs`: a turn the VAD has not ended yet ends there (speech_stopped), and what the
   * buffer holds up to there (at least 100 ms; it always holds the quiet stretch) is committed as one item, after
   * `input_audio_buffer.timeout_triggered`. Detection and the countdown start over from `atMs`.
   */
  private idleTimeout(atMs: number): void {
    const audio = this.options.audio;
    const turn = this.current;
    const from = turn ? turn.startSample : audio.startSample;
    const to = Math.min(audio.endSample, Math.round((atMs / 1000) * SAMPLE_RATE));
    const itemId = turn?.itemId ?? realtimeId("item");
    if (turn) this.options.send(speechStoppedEvent(turn.itemId, atMs));
    this.options.send(timeoutTriggeredEvent(itemId, this.quietSinceMs, atMs));
    // Whether it holds speech is not known (the stretch that timed out is silent): the transcription checks.
    if (to - from >= MIN_COMMIT_SAMPLES) this.options.commit(itemId, from, to, false);
    this.restart();
    this.quietSinceMs = atMs;
  }
}
