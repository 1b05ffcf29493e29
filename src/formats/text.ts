import type { TranscriptionResult } from "../engine/types.js";
import type { RenderOptions } from "./types.js";

/**
 * `response_format=text`: the trimmed text followed by one newline.
 * (Decision: OpenAI's text bodies end with "\n"; the SDK returns the body as-is.)
 */
export function renderText(result: TranscriptionResult, _options: RenderOptions = {}): string {
  return `${result.text.trim()}\n`;
}
