// Server events of a realtime transcription session, shaped as openai-node types them
// (src/resources/realtime/realtime.ts: InputAudioBuffer*Event, ConversationItemInputAudioTranscription*Event,
// ConversationItemAdded/Done, RealtimeErrorEvent; beta: ConversationItemCreatedEvent). Every event gets a fresh
// `event_id`. `conversation.item.input_audio_transcription.partial` is Earshot's own (live captions).
import { randomBytes } from "node:crypto";

import type { TranscriptionLogprob, TranscriptionUsageDuration } from "./types.js";

export interface RealtimeServerEvent {
  type: string;
  event_id: string;
  [key: string]: unknown;
}

export interface RealtimeErrorDetails {
  type: string;
  code: string | null;
  message: string;
  param: string | null;
  /** The client event that caused it, when it carried an id. */
  event_id: string | null;
}

export function realtimeId(prefix: "event" | "item" | "sess" | "rtc"): string {
  return `${prefix}_${randomBytes(12).toString("base64url").replace(/[-_]/g, "x")}`;
}

function event(type: string, fields: Record<string, unknown> = {}): RealtimeServerEvent {
  return { type, event_id: realtimeId("event"), ...fields };
}

export function sessionEvent(type: "session.created" | "session.updated" | "transcription_session.created" | "transcription_session.updated", session: unknown) {
  return event(type, { session });
}

export function speechStartedEvent(itemId: string, audioStartMs: number) {
  return event("input_audio_buffer.speech_started", { audio_start_ms: Math.round(audioStartMs), item_id: itemId });
}

export function speechStoppedEvent(itemId: string, audioEndMs: number) {
  return event("input_audio_buffer.speech_stopped", { audio_end_ms: Math.round(audioEndMs), item_id: itemId });
}

/**
 * GA `input_audio_buffer.timeout_triggered` (server_vad `idle_timeout_ms`): `audio_start_ms`..`audio_end_ms` is the
 * stretch with no speech that set it off; `item_id` the item the buffer is committed as.
 */
export function timeoutTriggeredEvent(itemId: string, audioStartMs: number, audioEndMs: number) {
  return event("input_audio_buffer.timeout_triggered", { audio_start_ms: Math.round(audioStartMs), audio_end_ms: Math.round(audioEndMs), item_id: itemId });
}

export function committedEvent(itemId: string, previousItemId: string | null) {
  return event("input_audio_buffer.committed", { previous_item_id: previousItemId, item_id: itemId });
}

export function clearedEvent() {
  return event("input_audio_buffer.cleared");
}

/** The user message item a committed turn becomes; `transcript` is null until it is transcribed. */
export function userAudioItem(itemId: string, transcript: string | null, status: "in_progress" | "completed" = "completed") {
  return { id: itemId, object: "realtime.item", type: "message", status, role: "user", content: [{ type: "input_audio", transcript }] };
}

/** GA `conversation.item.added` / `conversation.item.done`, beta `conversation.item.created`. */
export function itemEvent(
  type: "conversation.item.added" | "conversation.item.done" | "conversation.item.created",
  item: ReturnType<typeof userAudioItem>,
  previousItemId: string | null,
) {
  return event(type, { previous_item_id: previousItemId, item });
}

export function transcriptionDeltaEvent(itemId: string, delta: string, logprobs?: TranscriptionLogprob[]) {
  return event("conversation.item.input_audio_transcription.delta", { item_id: itemId, content_index: 0, delta, ...(logprobs ? { logprobs } : {}) });
}

/** `language`: the turn's language, sent as `languages: [{code}]` (when the session set `languages[]`). */
export function transcriptionCompletedEvent(
  itemId: string,
  transcript: string,
  usage: TranscriptionUsageDuration,
  logprobs?: TranscriptionLogprob[],
  language?: string,
) {
  return event("conversation.item.input_audio_transcription.completed", {
    item_id: itemId,
    content_index: 0,
    transcript,
    ...(logprobs ? { logprobs } : {}),
    usage,
    ...(language ? { languages: [{ code: language }] } : {}),
  });
}

export function transcriptionFailedEvent(itemId: string, error: { type: string; code: string | null; message: string; param: string | null }) {
  return event("conversation.item.input_audio_transcription.failed", { item_id: itemId, content_index: 0, error });
}

/**
 * Earshot's live caption for the turn in progress: `transcript` holds the words two successive passes agree on
 * (never changed afterwards; `delta` is what this event added to it), `unstable` the rest of the latest pass.
 */
export function transcriptionPartialEvent(itemId: string, transcript: string, delta: string, unstable: string) {
  return event("conversation.item.input_audio_transcription.partial", { item_id: itemId, content_index: 0, delta, transcript, unstable });
}

export function errorEvent(error: RealtimeErrorDetails) {
  return event("error", { error });
}
