import type {
  TranscriptionLogprob,
  TranscriptionStreamEvent,
  TranscriptionTextDeltaEvent,
  TranscriptionTextDoneEvent,
  TranscriptionUsageTokens,
} from "./types.js";

/** A `transcript.text.delta` event (`type` first, as OpenAI orders it); logprobs and the diarized segment's id only when given. */
export function textDeltaEvent(delta: string, logprobs?: TranscriptionLogprob[], segmentId?: string): TranscriptionTextDeltaEvent {
  const event: TranscriptionTextDeltaEvent = { type: "transcript.text.delta", delta };
  if (logprobs) event.logprobs = logprobs;
  if (segmentId !== undefined) event.segment_id = segmentId;
  return event;
}

/** The closing `transcript.text.done` event; logprobs and usage only when given. */
export function textDoneEvent(
  text: string,
  logprobs?: TranscriptionLogprob[],
  usage?: TranscriptionUsageTokens,
  language?: string,
): TranscriptionTextDoneEvent {
  const event: TranscriptionTextDoneEvent = { type: "transcript.text.done", text };
  if (logprobs) event.logprobs = logprobs;
  if (usage) event.usage = usage;
  if (language) event.languages = [{ code: language }];
  return event;
}

/** Token usage for `transcript.text.done` (the SDK types only the token variant there). */
export function tokenUsage(counts: {
  inputTokens: number;
  outputTokens: number;
  audioTokens?: number;
  textTokens?: number;
}): TranscriptionUsageTokens {
  const usage: TranscriptionUsageTokens = {
    type: "tokens",
    input_tokens: counts.inputTokens,
    output_tokens: counts.outputTokens,
    total_tokens: counts.inputTokens + counts.outputTokens,
  };
  if (counts.audioTokens !== undefined || counts.textTokens !== undefined) {
    usage.input_token_details = {};
    if (counts.textTokens !== undefined) usage.input_token_details.text_tokens = counts.textTokens;
    if (counts.audioTokens !== undefined) usage.input_token_details.audio_tokens = counts.audioTokens;
  }
  return usage;
}

/**
 * Frames one event for Server-Sent Events: `data: <compact JSON>\n\n`. OpenAI sends no `event:` lines
 * and no `data: [DONE]` terminator for transcription streams: the stream ends after the done event.
 */
export function formatSseEvent(event: TranscriptionStreamEvent): string {
  return `data: ${JSON.stringify(event)}\n\n`;
}
