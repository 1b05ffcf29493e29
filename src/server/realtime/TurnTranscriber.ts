// The transcription of a realtime session's committed turns: each on the shared engine through the transcription
// service while the next one is being spoken, turns in parallel but their events in commit order (OrderedOutput).
// A turn the engine has no room for waits for a slot (bounded) instead of failing: its audio was already sent.
//
// Live text: when the session wants it (a live model, `delay`, or Earshot's `live_partials`), the turn being spoken is
// transcribed again now and then (best effort: never waiting for, or delaying, committed turns), and the words the
// passes agree on (liveDelay.ts) go out as OpenAI's `...delta` events before the turn is committed. Deltas are
// append-only: at the commit, the final pass's text after the words already sent goes out as one last delta, and
// `completed` carries the whole turn, which always starts with what the deltas said. With `live_partials`, the
// `...partial` extension event also shows the agreed and unstable text for display.
import type { FastifyBaseLogger } from "fastify";

import { ApiError, toApiError } from "../../api/errors.js";
import { turnSettings, type TranscriptionSessionConfig } from "../../api/realtimeSession.js";
import { TranscriptionAbortedError } from "../../engine/errors.js";
import type { Segment } from "../../engine/types.js";
import { durationUsage, resultTokens, tokenLogprobs } from "../../formats/json.js";
import {
  itemEvent,
  type RealtimeServerEvent,
  transcriptionCompletedEvent,
  transcriptionDeltaEvent,
  transcriptionFailedEvent,
  transcriptionPartialEvent,
  userAudioItem,
} from "../../formats/realtimeEvents.js";
import type { TranscriptionSettings } from "../../transcription/settings.js";
import type { TranscriptionService } from "../../transcription/TranscriptionService.js";
import { liveDelayLevel } from "./liveDelay.js";
import { OrderedOutput } from "./orderedOutput.js";
import type { RealtimeDialect } from "./realtimeLimits.js";
import type { OpenTurn } from "./TurnTracker.js";
import type { LiveText } from "./liveText.js";
import { SAMPLE_RATE } from "../../engine/sampleRate.js";

/** How long a committed turn waits for a free engine slot before failing. */
const OVERLOAD_WAIT_LIMIT_MS = 120_000;

export interface TurnTranscriberOptions {
  transcription: TranscriptionService;
  dialect: RealtimeDialect;
  log: FastifyBaseLogger;
  /** Aborted once the session has ended: every transcription stops. */
  signal: AbortSignal;
  send(event: RealtimeServerEvent): void;
  /** A turn's events are all out (the session may read its socket again). */
  onTurnDone(): void;
  /** Something failed that the session cannot go on from. */
  fail(error: unknown): void;
}

export class TurnTranscriber {
  private readonly output: OrderedOutput<RealtimeServerEvent>;
  private partialRunning = false;
  /** The language of the latest transcription: partial passes reuse it instead of detecting it each time. */
  private lastLanguage: string | undefined;
  /** Bytes of the audio copied out for transcriptions (committed turns, partial passes) not finished yet. */
  private transcribingBytes = 0;

  constructor(private readonly options: TurnTranscriberOptions) {
    this.output = new OrderedOutput((event) => options.send(event));
  }

  /** Committed turns whose events are not all out yet. */
  get pending(): number {
    return this.output.pending;
  }

  /** Bytes of audio held by transcriptions in progress. */
  get heldBytes(): number {
    return this.transcribingBytes;
  }

  /**
   * Transcribes a committed turn with the settings it was committed under; its events go out after every earlier
   * turn's. `speech`: the server VAD heard speech in it (no second VAD pass).
   */
  transcribe(
    itemId: string,
    previousItemId: string | null,
    samples: Float32Array,
    config: TranscriptionSessionConfig,
    speech: boolean,
    live?: { text: LiveText; fromSample: number },
  ): void {
    this.output.open(itemId);
    this.transcribingBytes += samples.byteLength;
    void this.run(itemId, previousItemId, samples, config, speech, live)
      .finally(() => {
        this.transcribingBytes -= samples.byteLength;
        this.output.finish(itemId);
        this.options.onTurnDone();
      })
      .catch((error: unknown) => this.options.fail(error));
  }

  private async run(
    itemId: string,
    previousItemId: string | null,
    samples: Float32Array,
    config: TranscriptionSessionConfig,
    speech: boolean,
    live: { text: LiveText; fromSample: number } | undefined,
  ): Promise<void> {
    const { signal } = this.options;
    // Words already sent live: the final pass covers only the live window (the turn less its settled start), and
    // its text goes out at the end (its segments' deltas would repeat what was sent).
    const sent = live !== undefined && live.text.text.length > 0 ? live.text : undefined;
    const windowOffset = sent ? Math.max(0, Math.min(samples.length, sent.windowStartSample - live!.fromSample)) : 0;
    const settings = sent ? { ...turnSettings(config), context: sent.context() } : turnSettings(config);
    let first = true;
    const onSegment = (segment: Segment) => {
      const delta = first ? segment.text.trimStart() : segment.text;
      if (!delta) return;
      first = false;
      this.output.emit(itemId, transcriptionDeltaEvent(itemId, delta, config.includeLogprobs ? tokenLogprobs(segment.tokens) : undefined));
    };
    try {
      const result = await this.options.transcription.transcribePcm(samples.subarray(windowOffset), settings, {
        signal,
        ...(sent ? {} : { onSegment }),
        speechKnown: speech,
        waitForSlotMs: OVERLOAD_WAIT_LIMIT_MS,
      });
      const transcript = sent ? sent.agreement.finalText(result.text) : result.text.trim();
      if (sent && transcript.length > sent.text.length) this.output.emit(itemId, transcriptionDeltaEvent(itemId, transcript.slice(sent.text.length)));
      // A turn without speech names no detected language (an idle timeout commits such turns).
      if (transcript) this.lastLanguage = result.language;
      const logprobs = config.includeLogprobs ? tokenLogprobs(resultTokens(result)) : undefined;
      this.output.emit(itemId, transcriptionCompletedEvent(itemId, transcript, durationUsage(sent ? samples.length / SAMPLE_RATE : result.duration), logprobs, reportedLanguage(config, result.language)));
      if (this.options.dialect === "ga") this.output.emit(itemId, itemEvent("conversation.item.done", userAudioItem(itemId, transcript), previousItemId));
    } catch (error) {
      if (signal.aborted || error instanceof TranscriptionAbortedError) return;
      // The same mapping as the HTTP API: OpenAI's type and code, never an internal error code on the wire.
      const apiError: ApiError = toApiError(error);
      if (apiError.status >= 500) this.options.log.error({ err: error }, "realtime transcription failed");
      this.output.emit(
        itemId,
        transcriptionFailedEvent(itemId, { type: apiError.type, code: apiError.code ?? "transcription_failed", message: apiError.message, param: apiError.param }),
      );
    }
  }

  /**
   * The turn being spoken has grown: a live pass over it so far, when the session wants live text, none is running,
   * enough audio came since the last one (the `delay` level's interval) and the engine has a free slot. `speechKnown`:
   * the server VAD found the turn (manual commit mode: the buffer may hold only silence, so the pipeline's VAD checks).
   */
  live(turn: OpenTurn | undefined, audio: { slice(from: number, to: number): Float32Array; endSample: number }, config: TranscriptionSessionConfig, speechKnown = true): void {
    const live = turn?.live;
    if (!turn || !live || this.partialRunning || this.options.signal.aborted) return;
    const now = audio.endSample;
    if (now - turn.lastPartialSample < (liveDelayLevel(config.delay).intervalMs / 1000) * SAMPLE_RATE) return;
    this.partialRunning = true;
    turn.lastPartialSample = now;
    const samples = audio.slice(Math.max(turn.startSample, live.windowStartSample), now);
    const agreement = live.agreement;
    this.transcribingBytes += samples.byteLength;
    void (async () => {
      if (!(await this.options.transcription.hasFreeSlot(config.model)) || turn.ended.signal.aborted) return;
      const last = this.lastLanguage !== undefined && (config.languages.length === 0 || config.languages.includes(this.lastLanguage)) ? this.lastLanguage : undefined;
      const language = config.language ?? last;
      // Provisional passes run the encoder over the turn's own length only: several times faster for short turns.
      const settings: TranscriptionSettings = { ...turnSettings(config), context: live.context(), language, encoderContext: "fit" };
      const result = await this.options.transcription.transcribePcm(samples, settings, {
        signal: AbortSignal.any([turn.ended.signal, this.options.signal]),
        speechKnown,
      });
      if (turn.ended.signal.aborted) return;
      if (result.text.trim()) this.lastLanguage = result.language;
      const before = agreement.text;
      const added = agreement.update(result.text);
      live.settle(result.segments, now);
      // After every committed turn's events: a client that concatenates deltas reads the turns in order.
      if (added.length > 0) this.output.emitAfterAll(transcriptionDeltaEvent(turn.itemId, agreement.text.slice(before.length)));
      if (config.livePartials && (added.length > 0 || agreement.unstable !== (turn.unstable ?? ""))) {
        turn.unstable = agreement.unstable;
        this.output.emitAfterAll(transcriptionPartialEvent(turn.itemId, agreement.text, agreement.text.slice(before.length), agreement.unstable));
      }
    })()
      .catch(() => undefined)
      .finally(() => {
        this.transcribingBytes -= samples.byteLength;
        this.partialRunning = false;
      });
  }
}

/**
 * The language a completed turn names (`languages: [{code}]`), when the session set `languages[]`: the detected one,
 * or for a turn with no speech (nothing detected) the first of the list.
 */
function reportedLanguage(config: TranscriptionSessionConfig, detected: string): string | undefined {
  if (config.languages.length === 0) return undefined;
  return config.languages.includes(detected) || config.language === detected ? detected : config.languages[0];
}
