// The field limits every door shares (prompt, keywords, languages), OpenAI's refusals they share (keywords with '<',
// '>', CR or LF; language beside languages), how the form reads booleans and granularities, and the prompt tail that
// reaches the engine.
import { describe, expect, it } from "vitest";

import { ApiError, toApiError } from "../../src/api/errors.js";
import { InvalidSettingError } from "../../src/transcription/errors.js";
import { ENGINE_PROMPT_BYTES, ENGINE_PROMPT_RUN_BYTES, MAX_KEYWORDS, MAX_LANGUAGES, MAX_PROMPT_BYTES, quoted } from "../../src/transcription/fieldLimits.js";
import { parseTranscriptionRequest } from "../../src/api/transcriptionForm.js";
import { parseJobRequest } from "../../src/jobs/jobRequest.js";
import { applyBetaSession, applyGaSession, defaultSessionConfig } from "../../src/api/realtimeSession.js";
import { checkLanguageFields, decoderPrompt, keywordsSetting, languagesSetting, promptSetting, promptTail } from "../../src/transcription/settings.js";

/** The refusal as the client gets it: a settings validator's InvalidSettingError goes through the one wire mapping. */
function refusal(work: () => unknown): ApiError {
  try {
    work();
  } catch (error) {
    if (error instanceof ApiError || error instanceof InvalidSettingError) return toApiError(error);
    throw error;
  }
  throw new Error("not refused");
}

/** The longest run of one character class (as whisper's tokenizer splits words) in `text`, in UTF-8 bytes. */
function longestRun(text: string): number {
  const kind = (char: string) => (/[A-Za-z]/.test(char) ? 0 : /[0-9]/.test(char) ? 1 : /\s/.test(char) ? 2 : 3);
  let longest = 0;
  let run = 0;
  let last = -1;
  for (const char of text) {
    const k = kind(char);
    run = k === last ? run + Buffer.byteLength(char) : Buffer.byteLength(char);
    last = k;
    longest = Math.max(longest, run);
  }
  return longest;
}

describe("field limits", () => {
  it("accepts a prompt up to MAX_PROMPT_BYTES (UTF-8) and refuses one byte more, naming the param", () => {
    expect(promptSetting("a".repeat(MAX_PROMPT_BYTES))).toHaveLength(MAX_PROMPT_BYTES);
    expect(promptSetting("")).toBeUndefined();
    expect(promptSetting(null)).toBeUndefined();
    expect(refusal(() => promptSetting("a".repeat(MAX_PROMPT_BYTES + 1), "session.prompt"))).toMatchObject({ status: 400, param: "session.prompt" });
    // Counted in bytes: a third as many three-byte characters fit.
    expect(refusal(() => promptSetting("語".repeat(MAX_PROMPT_BYTES / 3 + 1)))).toMatchObject({ status: 400, param: "prompt" });
  });

  it("bounds keywords and languages, naming the param", () => {
    expect(keywordsSetting(Array.from({ length: MAX_KEYWORDS }, (_, i) => `k${i}`))).toHaveLength(MAX_KEYWORDS);
    expect(refusal(() => keywordsSetting(Array.from({ length: MAX_KEYWORDS + 1 }, (_, i) => `k${i}`)))).toMatchObject({ param: "keywords" });
    expect(refusal(() => keywordsSetting(["k".repeat(101)], "x.keywords"))).toMatchObject({ param: "x.keywords" });
    expect(refusal(() => languagesSetting(Array.from({ length: MAX_LANGUAGES + 1 }, () => "en")))).toMatchObject({ param: "languages" });
    // A refused value is quoted, not echoed whole.
    const error = refusal(() => languagesSetting(["x".repeat(1_000_000)]));
    expect(error.message.length).toBeLessThan(300);
    expect(quoted("x".repeat(1000))).toMatch(/^'x{100}…' \(1000 characters\)$/);
  });

  it("are the same for the HTTP form and for batch jobs", () => {
    const form = (fields: Record<string, string | string[]>) => new Map(Object.entries(fields).map(([k, v]) => [k, Array.isArray(v) ? v : [v]]));
    const tooLong = { model: "whisper-1", prompt: "a".repeat(MAX_PROMPT_BYTES + 1) };
    expect(refusal(() => parseTranscriptionRequest("transcriptions", form(tooLong)))).toMatchObject({ status: 400, param: "prompt" });
    expect(refusal(() => parseTranscriptionRequest("translations", form(tooLong)))).toMatchObject({ status: 400, param: "prompt" });
    expect(refusal(() => parseJobRequest(form(tooLong), []))).toMatchObject({ status: 400, param: "prompt" });
    const keywords = { model: "whisper-1", "keywords[]": Array.from({ length: MAX_KEYWORDS + 1 }, (_, i) => `k${i}`) };
    expect(refusal(() => parseTranscriptionRequest("transcriptions", form(keywords)))).toMatchObject({ param: "keywords" });
    expect(refusal(() => parseJobRequest(form(keywords), []))).toMatchObject({ param: "keywords" });
    expect(parseTranscriptionRequest("transcriptions", form({ model: "whisper-1", prompt: "a".repeat(MAX_PROMPT_BYTES) })).settings.prompt).toHaveLength(MAX_PROMPT_BYTES);
  });

  it("refuse what OpenAI refuses at every door: a keyword with '<', '>', CR or LF, and language beside languages", () => {
    const form = (fields: Record<string, string | string[]>) => new Map(Object.entries(fields).map(([k, v]) => [k, Array.isArray(v) ? v : [v]]));
    for (const keyword of ["a<b", "a>b", "a\rb", "a\nb", "trailing\n"]) {
      expect(refusal(() => keywordsSetting(["fine", keyword]))).toMatchObject({ status: 400, param: "keywords", code: "invalid_value" });
      const fields = { model: "whisper-1", "keywords[]": ["fine", keyword] };
      expect(refusal(() => parseTranscriptionRequest("transcriptions", form(fields)))).toMatchObject({ param: "keywords" });
      expect(refusal(() => parseJobRequest(form(fields), []))).toMatchObject({ param: "keywords" });
      const session = { type: "transcription", audio: { input: { transcription: { keywords: ["fine", keyword] } } } };
      expect(refusal(() => applyGaSession(defaultSessionConfig("whisper-1"), session))).toMatchObject({ param: "session.audio.input.transcription.keywords" });
      expect(refusal(() => applyBetaSession(defaultSessionConfig("whisper-1"), { input_audio_transcription: { keywords: [keyword] } }, ""))).toMatchObject({
        param: "input_audio_transcription.keywords",
      });
    }
    expect(keywordsSetting(["Earshot", " Silero & co. "])).toEqual(["Earshot", "Silero & co."]);

    expect(() => checkLanguageFields("en", ["de"])).toThrow(InvalidSettingError);
    expect(refusal(() => checkLanguageFields("en", ["de"], "session.languages"))).toMatchObject({ param: "session.languages", message: expect.stringContaining("'session.language'") });
    for (const [language, languages] of [["en", []], [undefined, ["de"]], [null, ["de"]], ["", ["de"]]] as const) {
      expect(() => checkLanguageFields(language, languages)).not.toThrow();
    }
    const both = { model: "gpt-transcribe", language: "en", "languages[]": ["de"] };
    expect(refusal(() => parseTranscriptionRequest("transcriptions", form(both)))).toMatchObject({ param: "languages" });
    expect(refusal(() => parseJobRequest(form(both), []))).toMatchObject({ param: "languages" });
    const session = (transcription: Record<string, unknown>) => ({ type: "transcription", audio: { input: { transcription } } });
    expect(refusal(() => applyGaSession(defaultSessionConfig("whisper-1"), session({ language: "en", languages: ["de"] })))).toMatchObject({
      param: "session.audio.input.transcription.languages",
    });
    // A session's update is checked against the language already in effect; clearing it in the same update is fine.
    const english = applyGaSession(defaultSessionConfig("whisper-1"), session({ language: "en" }));
    expect(refusal(() => applyGaSession(english, session({ languages: ["de"] })))).toMatchObject({ param: "session.audio.input.transcription.languages" });
    expect(applyGaSession(english, session({ language: null, languages: ["de"] }))).toMatchObject({ language: null, languages: ["de"] });
  });

  it("read booleans and timestamp granularities as OpenAI does", () => {
    const form = (fields: Record<string, string | string[]>) => new Map(Object.entries(fields).map(([k, v]) => [k, Array.isArray(v) ? v : [v]]));
    const parse = (fields: Record<string, string | string[]>) => parseTranscriptionRequest("transcriptions", form({ model: "whisper-1", ...fields }));
    for (const value of ["true", "True", "TRUE", "tRuE"]) expect(parse({ stream: value }).stream).toBe(true);
    for (const value of ["false", "False", "FALSE", ""]) expect(parse({ stream: value }).stream).toBe(false);
    for (const value of ["1", "0", "yes", "no", "on", " true"]) expect(refusal(() => parse({ stream: value }))).toMatchObject({ param: "stream", code: "invalid_value" });

    for (const format of ["json", "text", "srt", "vtt", "verbose_json"]) {
      expect(parse({ response_format: format, "timestamp_granularities[]": "segment" })).toMatchObject({ timestampGranularities: ["segment"], settings: { wordTimestamps: false } });
    }
    for (const format of ["json", "text", "srt", "vtt"]) {
      expect(refusal(() => parse({ response_format: format, "timestamp_granularities[]": ["segment", "word"] }))).toMatchObject({ param: "timestamp_granularities" });
    }
    expect(parse({ response_format: "verbose_json", "timestamp_granularities[]": "word" }).settings.wordTimestamps).toBe(true);
    for (const value of ["segment", "word"]) {
      expect(refusal(() => parse({ response_format: "diarized_json", "timestamp_granularities[]": value }))).toMatchObject({ param: "timestamp_granularities" });
    }
    // Batch jobs share the parser: segment with json is a job like any other.
    expect(parseJobRequest(form({ model: "whisper-1", response_format: "json", "timestamp_granularities[]": "segment" }), []).render.responseFormat).toBe("json");
  });
});

describe("the prompt tail that reaches the engine", () => {
  const english = "The quick brown fox jumps over the lazy dog near the Earshot river bank. ".repeat(4000);

  it("keeps a short prompt whole, keywords first", () => {
    expect(decoderPrompt({ keywords: ["Earshot", "Silero"], prompt: "Hello." })).toBe("Earshot, Silero. Hello.");
    expect(decoderPrompt({})).toBeUndefined();
  });

  it("keeps the last ENGINE_PROMPT_BYTES of ordinary text: far more than whisper's 224 tokens", () => {
    const tail = decoderPrompt({ keywords: ["Earshot"], prompt: english })!;
    expect(Buffer.byteLength(tail)).toBe(ENGINE_PROMPT_BYTES);
    expect(english.endsWith(tail)).toBe(true);
    // Keywords come first, so a long prompt drops them before any of its own end.
    expect(tail.startsWith("Earshot,")).toBe(false);
  });

  it("keeps no more than one long run's worth of tokenizer work", () => {
    for (const text of ["a".repeat(200_000), "語".repeat(70_000), "😀".repeat(50_000), " ".repeat(200_000), "1".repeat(200_000), `${"x".repeat(2000)} `.repeat(100)]) {
      const tail = promptTail(text);
      expect(text.endsWith(tail)).toBe(true);
      expect(longestRun(tail)).toBeLessThanOrEqual(ENGINE_PROMPT_RUN_BYTES);
      expect(Buffer.byteLength(tail)).toBeLessThanOrEqual(ENGINE_PROMPT_BYTES);
      // ... and no less than what whisper reads: a run of 1024 bytes is ~340 CJK characters, ~1000 letters.
      expect(Buffer.byteLength(tail)).toBeGreaterThan(ENGINE_PROMPT_RUN_BYTES - 4);
    }
    // Runs of 864 bytes (288 CJK characters): the last one whole, and what the rest of the budget allows of the one before.
    const runs = promptTail(`${"語".repeat(288)} `.repeat(200));
    expect(Buffer.byteLength(runs)).toBeGreaterThan(864);
    expect(Buffer.byteLength(runs)).toBeLessThan(2 * 864);
  });

  it("never splits a surrogate pair", () => {
    const tail = promptTail(`a${"😀".repeat(10_000)}`);
    expect(tail.codePointAt(0)).toBe(0x1f600);
    expect(Buffer.from(tail, "utf8").toString("utf8")).toBe(tail);
  });
});
