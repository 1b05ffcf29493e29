// Server-sent events of a streamed transcription (`stream=true`), as openai-node's Stream parses them.
import type { FastifyReply } from "fastify";

import { toApiError } from "../api/errors.js";
import type { TranscriptionResult, Segment } from "../engine/types.js";
import { diarizedSegment, diarizedText, formatSseEvent, resultTokens, textDeltaEvent, textDoneEvent, tokenLogprobs, tokenUsage, type SpeakerTurn } from "../formats/index.js";
import type { ChannelsTranscription } from "../transcription/channelTranscription.js";

/**
 * Server-sent events as openai-node's Stream parses them: one `transcript.text.delta` per decoded segment, then
 * `transcript.text.done`. Once the events have started, an error goes out as `event: error`.
 */
export class SseResponse {
  private first = true;
  private ended = false;

  constructor(
    private readonly reply: FastifyReply,
    private readonly includeLogprobs: boolean,
    private readonly includeLanguages = false,
  ) {
    reply.hijack();
    const headers = { ...reply.getHeaders(), "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache", connection: "keep-alive" };
    reply.raw.writeHead(200, headers as Record<string, string>);
  }

  readonly delta = (segment: Segment): void => {
    if (this.ended) return;
    const text = this.first ? segment.text.trimStart() : segment.text;
    this.first = false;
    this.reply.raw.write(formatSseEvent(textDeltaEvent(text, this.includeLogprobs ? tokenLogprobs(segment.tokens) : undefined)));
  };

  /** One diarized segment: its text as a delta (with the segment's id), then the `transcript.text.segment` event. */
  readonly speakerSegment = (segment: SpeakerTurn, index: number): void => {
    if (this.ended) return;
    const wire = diarizedSegment(segment, index);
    const text = this.first ? segment.text.trimStart() : segment.text;
    this.first = false;
    this.reply.raw.write(formatSseEvent(textDeltaEvent(text, undefined, wire.id)) + formatSseEvent(wire));
  };

  done(result: TranscriptionResult): void {
    if (this.ended) return;
    this.ended = true;
    const logprobs = this.includeLogprobs ? tokenLogprobs(resultTokens(result)) : undefined;
    this.reply.raw.end(formatSseEvent(textDoneEvent(result.text, logprobs, streamUsage([result]), this.includeLanguages ? result.language : undefined)));
  }

  diarizedDone(transcription: ChannelsTranscription): void {
    if (this.ended) return;
    this.ended = true;
    this.reply.raw.end(formatSseEvent(textDoneEvent(diarizedText(transcription.segments), undefined, streamUsage(transcription.results))));
  }

  fail(error: unknown, reply: FastifyReply): void {
    if (this.ended) return;
    this.ended = true;
    if (reply.raw.destroyed || !reply.raw.writable) {
      reply.raw.destroy();
      return;
    }
    const apiError = toApiError(error);
    if (apiError.status >= 500) reply.log.error({ err: error }, "transcription failed while streaming");
    reply.raw.end(`event: error\ndata: ${JSON.stringify(apiError.body())}\n\n`);
  }
}

/** The token usage of `transcript.text.done`: 1500 audio tokens a decoded window, one output token a text token. */
function streamUsage(results: readonly TranscriptionResult[]) {
  let windows = 0;
  let textTokens = 0;
  for (const result of results) {
    windows += result.timings.windows;
    for (const token of resultTokens(result)) if (!token.special) textTokens++;
  }
  return tokenUsage({ inputTokens: windows * 1500, outputTokens: textTokens, audioTokens: windows * 1500, textTokens: 0 });
}
