// The transcription of a realtime session's committed turns: each on the shared engine through the transcription
// service while the next one is being spoken, turns in parallel but their events in commit order (OrderedOutput).
// A turn the engine has no room for waits for a slot (bounded) instead of failing: its audio was already sent. Live
// partials (an Earshot extension) re-transcribe the turn being spoken now and then, best effort: never waiting for,
// or delaying, committed turns.
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
import { OrderedOutput } from "./orderedOutput.js";
import type { RealtimeDialect } from "./realtimeLimits.js";
import type { OpenTurn } from "./TurnTracker.js";
import { SAMPLE_RATE } from "../../engine/sampleRate.js";

/** A live partial pass runs at most this often (in audio time) during a turn. */
const PARTIAL_INTERVAL_MS = 400;
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
  transcribe(itemId: string, previousItemId: string | null, samples: Float32Array, config: TranscriptionSessionConfig, speech: boolean): void {
    this.output.open(itemId);
    this.transcribingBytes += samples.byteLength;
    void this.run(itemId, previousItemId, samples, config, speech)
      .finally(() => {
        this.transcribingBytes -= samples.byteLength;
        this.output.finish(itemId);
        this.options.onTurnDone();
      })
      .catch((error: unknown) => this.options.fail(error));
  }

  private async run(itemId: string, previousItemId: string | null, samples: Float32Array, config: TranscriptionSessionConfig, speech: boolean): Promise<void> {
    const { signal } = this.options;
    let first = true;
    const onSegment = (segment: Segment) => {
      const delta = first ? segment.text.trimStart() : segment.text;
      if (!delta) return;
      first = false;
      this.output.emit(itemId, transcriptionDeltaEvent(itemId, delta, config.includeLogprobs ? tokenLogprobs(segment.tokens) : undefined));
    };
    try {
      const result = await this.options.transcription.transcribePcm(samples, turnSettings(config), {
        signal,
        onSegment,
        speechKnown: speech,
        waitForSlotMs: OVERLOAD_WAIT_LIMIT_MS,
      });
      const transcript = result.text.trim();
      // A turn without speech names no detected language (an idle timeout commits such turns).
      if (transcript) this.lastLanguage = result.language;
      const logprobs = config.includeLogprobs ? tokenLogprobs(resultTokens(result)) : undefined;
      this.output.emit(itemId, transcriptionCompletedEvent(itemId, transcript, durationUsage(result.duration), logprobs, reportedLanguage(config, result.language)));
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
   * The turn being spoken has grown: a live partial pass over it so far, when the session asked for them, none is
   * running, enough audio came since the last one and the engine has a free slot.
   */
  partial(turn: OpenTurn | undefined, audio: { slice(from: number, to: number): Float32Array; endSample: number }, config: TranscriptionSessionConfig): void {
    const partials = turn?.partials;
    if (!turn || !partials || this.partialRunning || this.options.signal.aborted) return;
    const now = audio.endSample;
    if (now - turn.lastPartialSample < (PARTIAL_INTERVAL_MS / 1000) * SAMPLE_RATE) return;
    this.partialRunning = true;
    turn.lastPartialSample = now;
    const samples = audio.slice(turn.startSample, now);
    this.transcribingBytes += samples.byteLength;
    void (async () => {
      if (!(await this.options.transcription.hasFreeSlot(config.model)) || turn.ended.signal.aborted) return;
      const last = this.lastLanguage !== undefined && (config.languages.length === 0 || config.languages.includes(this.lastLanguage)) ? this.lastLanguage : undefined;
      const language = config.language ?? last;
      // Provisional passes run the encoder over the turn's own length only: several times faster for short turns.
      const settings: TranscriptionSettings = { ...turnSettings(config), language, encoderContext: "fit" };
      const result = await this.options.transcription.transcribePcm(samples, settings, {
        signal: AbortSignal.any([turn.ended.signal, this.options.signal]),
        speechKnown: true,
      });
      if (turn.ended.signal.aborted) return;
      this.lastLanguage = result.language;
      const added = partials.update(result.text);
      if (added.length > 0 || partials.unstable !== (turn.unstable ?? "")) {
        turn.unstable = partials.unstable;
        const transcript = partials.text;
        const delta = added.length === 0 ? "" : (transcript.length > added.join(" ").length ? " " : "") + added.join(" ");
        this.options.send(transcriptionPartialEvent(turn.itemId, transcript, delta, partials.unstable));
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
