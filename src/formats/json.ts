import type { TokenInfo, TranscriptionResult } from "../engine/types.js";
import type {
  RenderOptions,
  Transcription,
  TranscriptionLogprob,
  TranscriptionUsageDuration,
  Translation,
} from "./types.js";

/**
 * The `usage` of a duration-billed request. OpenAI sends whole seconds rounded up (its docs show
 * duration 8.47 with `seconds: 9`, and a captured 6.96-s whisper-1 reply carries `seconds: 7`).
 * The duration is first rounded to the millisecond so float noise (3.0000000001) does not add a second.
 */
export function durationUsage(durationSeconds: number): TranscriptionUsageDuration {
  const ms = Math.round(Math.max(0, Number.isFinite(durationSeconds) ? durationSeconds : 0) * 1000);
  return { type: "duration", seconds: Math.ceil(ms / 1000) };
}

/** Wire log-probabilities of the text tokens (special tokens skipped), in order. */
export function tokenLogprobs(tokens: Iterable<TokenInfo>): TranscriptionLogprob[] {
  const out: TranscriptionLogprob[] = [];
  for (const token of tokens) {
    if (token.special) continue;
    out.push({ token: token.text, logprob: token.logprob, bytes: Array.from(token.bytes) });
  }
  return out;
}

/** Every token of the result, segment after segment. */
export function* resultTokens(result: TranscriptionResult): Generator<TokenInfo> {
  for (const segment of result.segments) yield* segment.tokens;
}

/**
 * `response_format=json`. Transcriptions: `{text, logprobs?, usage}` with duration usage (whisper-1
 * shape); `logprobs` only with `includeLogprobs`. Translations: `{text}` (openai-node `Translation`),
 * plus `logprobs` if asked for. The text is trimmed, as OpenAI sends it (no leading space).
 */
export function renderJson(result: TranscriptionResult, options: RenderOptions = {}): Transcription | Translation {
  const body: Transcription = { text: result.text.trim() };
  if (options.includeLogprobs) body.logprobs = tokenLogprobs(resultTokens(result));
  if (result.task === "transcribe") body.usage = durationUsage(result.duration);
  if (options.includeLanguages) body.languages = [{ code: result.language }];
  return body;
}
