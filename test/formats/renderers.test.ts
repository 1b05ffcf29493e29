import { describe, expect, it } from "vitest";
import type { Segment, TokenInfo, TranscriptionResult } from "../../src/engine/types.js";
import {
  audioResponseFormats,
  isAudioResponseFormat,
  isTimestampGranularity,
  renderJson,
  renderSrt,
  renderText,
  renderTranscription,
  renderVerboseJson,
  renderVtt,
  responseFormats,
  wireWordText,
  type TranscriptionVerbose,
} from "../../src/formats/index.js";

let nextTime = 0;
/** A token; `bytes` default to the UTF-8 of `text`. */
function tok(text: string, id: number, extra: Partial<TokenInfo> = {}): TokenInfo {
  const start = nextTime;
  nextTime += 0.1;
  return {
    id,
    text,
    bytes: new Uint8Array(Buffer.from(text, "utf8")),
    probability: 0.9,
    logprob: Math.log(0.9),
    start,
    end: nextTime,
    special: false,
    ...extra,
  };
}
const ts = (id: number) => tok(`[_TT_${id - 50364}]`, id, { special: true, logprob: -0.01 });
const rawByte = (byte: number, id: number) => tok("\uFFFD", id, { bytes: Uint8Array.of(byte), logprob: -0.5 });

function fixture(task: "transcribe" | "translate" = "transcribe"): TranscriptionResult {
  const seg0: Segment = {
    id: 0,
    seek: 0,
    start: 0,
    end: 3.32,
    text: " The beach was fun.",
    tokens: [ts(50364), tok(" The", 440), tok(" beach", 7534), tok(" was", 390), tok(" fun", 1019), tok(".", 13), ts(50530)],
    temperature: 0,
    avgLogprob: -0.2860786020755768,
    compressionRatio: 1.2363636363636363,
    noSpeechProb: 0.00985979475080967,
    words: [
      { word: " The", start: 0, end: 0.24, probability: 0.9 },
      { word: " beach", start: 0.24, end: 0.6, probability: 0.8 },
      { word: " was", start: 0.6, end: 0.9, probability: 0.95 },
      { word: " fun.", start: 0.9, end: 1.5, probability: 0.7 },
    ],
  };
  const seg1: Segment = {
    id: 1,
    seek: 0,
    start: 3.32,
    end: 7.9,
    text: " People said --> café.",
    tokens: [
      ts(50530),
      tok(" People", 3432),
      tok(" said", 848),
      tok(" -->", 30718),
      tok(" caf", 47884),
      rawByte(0xc3, 3414),
      rawByte(0xa9, 8255),
      tok(".", 13),
      ts(50759),
    ],
    temperature: 0.2,
    avgLogprob: -0.5,
    compressionRatio: 1.1,
    noSpeechProb: 0.02,
    words: [
      { word: " People", start: 3.32, end: 3.8, probability: 0.9 },
      { word: " said", start: 3.8, end: 4.2, probability: 0.9 },
      { word: " café.", start: 4.5, end: 5.1, probability: 0.6 },
    ],
  };
  return {
    task,
    language: "en",
    languageProbability: 0.98,
    duration: 7.95,
    text: " The beach was fun. People said --> café.",
    segments: [seg0, seg1],
    timings: { decodeMs: 1, detectMs: 0, windows: 1, fallbacks: 0, encoderPasses: 1 },
  };
}

describe("srt", () => {
  it("renders a full document with 1-based cues and OpenAI's trailing newline", () => {
    expect(renderSrt(fixture())).toBe(
      "1\n00:00:00,000 --> 00:00:03,320\nThe beach was fun.\n\n" +
        "2\n00:00:03,320 --> 00:00:07,900\nPeople said -> café.\n\n" +
        "\n",
    );
  });

  it("numbers cues by position and writes hours past one hour", () => {
    const result = fixture();
    result.segments = [{ ...result.segments[1]!, id: 7, start: 3725.5, end: 3727.0004 }];
    expect(renderSrt(result)).toBe("1\n01:02:05,500 --> 01:02:07,000\nPeople said -> café.\n\n\n");
  });
});

describe("vtt", () => {
  it("renders a full document with the WEBVTT header and HH:MM:SS.mmm times", () => {
    expect(renderVtt(fixture())).toBe(
      "WEBVTT\n\n" +
        "00:00:00.000 --> 00:00:03.320\nThe beach was fun.\n\n" +
        "00:00:03.320 --> 00:00:07.900\nPeople said -> café.\n\n",
    );
  });

  it("renders just the header for an empty result", () => {
    expect(renderVtt({ ...fixture(), text: "", segments: [] })).toBe("WEBVTT\n\n");
  });
});

describe("text", () => {
  it("is the trimmed text and a newline", () => {
    expect(renderText(fixture())).toBe("The beach was fun. People said --> café.\n");
  });
});

describe("json", () => {
  it("has text and duration usage in whole seconds rounded up", () => {
    expect(renderJson(fixture())).toEqual({
      text: "The beach was fun. People said --> café.",
      usage: { type: "duration", seconds: 8 },
    });
    expect(renderJson({ ...fixture(), duration: 9 })).toMatchObject({ usage: { seconds: 9 } });
    expect(renderJson({ ...fixture(), duration: 9.0000000001 })).toMatchObject({ usage: { seconds: 9 } });
    expect(renderJson({ ...fixture(), duration: 8.47 })).toMatchObject({ usage: { seconds: 9 } });
  });

  it("adds logprobs of the text tokens only, with byte arrays, when asked", () => {
    const body = renderJson(fixture(), { includeLogprobs: true }) as { logprobs: unknown[] };
    expect(body.logprobs).toHaveLength(12);
    expect(body.logprobs[0]).toEqual({ token: " The", logprob: Math.log(0.9), bytes: [32, 84, 104, 101] });
    expect(Object.keys(body.logprobs[0] as object)).toEqual(["token", "logprob", "bytes"]);
    // "é" split over two one-byte tokens: each carries its own byte.
    expect(body.logprobs[9]).toEqual({ token: "\uFFFD", logprob: -0.5, bytes: [0xc3] });
    expect(body.logprobs[10]).toEqual({ token: "\uFFFD", logprob: -0.5, bytes: [0xa9] });
    expect(Buffer.from(body.logprobs.flatMap((l) => (l as { bytes: number[] }).bytes)).toString("utf8")).toBe(
      " The beach was fun. People said --> café.",
    );
  });

  it("has no logprobs key unless asked", () => {
    expect(Object.keys(renderJson(fixture(), { includeLogprobs: false }))).toEqual(["text", "usage"]);
  });

  it("is {text} for a translation (openai-node Translation)", () => {
    expect(renderJson(fixture("translate"))).toEqual({ text: "The beach was fun. People said --> café." });
  });
});

describe("verbose_json", () => {
  const segmentKeys = [
    "id",
    "seek",
    "start",
    "end",
    "text",
    "tokens",
    "temperature",
    "avg_logprob",
    "compression_ratio",
    "no_speech_prob",
  ];

  it("defaults to segments, with every TranscriptionSegment field and no words", () => {
    const body = renderVerboseJson(fixture());
    expect(Object.keys(body)).toEqual(["task", "language", "duration", "text", "segments", "usage"]);
    expect(body.task).toBe("transcribe");
    expect(body.language).toBe("english");
    expect(body.duration).toBe(7.95);
    expect(body.text).toBe("The beach was fun. People said --> café.");
    expect(body.usage).toEqual({ type: "duration", seconds: 8 });
    expect(body.words).toBeUndefined();
    expect(body.segments).toHaveLength(2);
    for (const segment of body.segments!) {
      expect(Object.keys(segment)).toEqual(segmentKeys);
      for (const key of segmentKeys.filter((k) => k !== "text" && k !== "tokens")) {
        expect(typeof (segment as unknown as Record<string, unknown>)[key]).toBe("number");
      }
      expect(typeof segment.text).toBe("string");
      expect(segment.tokens.every((t) => Number.isInteger(t))).toBe(true);
    }
    expect(body.segments![0]).toEqual({
      id: 0,
      seek: 0,
      start: 0,
      end: 3.32,
      text: " The beach was fun.",
      tokens: [50364, 440, 7534, 390, 1019, 13, 50530],
      temperature: 0,
      avg_logprob: -0.2860786020755768,
      compression_ratio: 1.2363636363636363,
      no_speech_prob: 0.00985979475080967,
    });
    expect(renderVerboseJson(fixture(), { timestampGranularities: [] }).segments).toHaveLength(2);
  });

  it("sends words only with word granularity, stripped of spaces and punctuation", () => {
    const body = renderVerboseJson(fixture(), { timestampGranularities: ["word"] });
    expect(Object.keys(body)).toEqual(["task", "language", "duration", "text", "words", "usage"]);
    expect(body.segments).toBeUndefined();
    expect(body.words).toEqual([
      { word: "The", start: 0, end: 0.24 },
      { word: "beach", start: 0.24, end: 0.6 },
      { word: "was", start: 0.6, end: 0.9 },
      { word: "fun", start: 0.9, end: 1.5 },
      { word: "People", start: 3.32, end: 3.8 },
      { word: "said", start: 3.8, end: 4.2 },
      { word: "café", start: 4.5, end: 5.1 },
    ]);
  });

  it("sends both with both granularities", () => {
    const body = renderVerboseJson(fixture(), { timestampGranularities: ["segment", "word"] });
    expect(body.segments).toHaveLength(2);
    expect(body.words).toHaveLength(7);
  });

  it("sends an empty words array when the engine computed no words", () => {
    const result = fixture();
    for (const segment of result.segments) delete segment.words;
    expect(renderVerboseJson(result, { timestampGranularities: ["word"] }).words).toEqual([]);
  });

  it("maps the language code to its name, passing unknown codes through", () => {
    expect(renderVerboseJson({ ...fixture(), language: "yue" }).language).toBe("cantonese");
    expect(renderVerboseJson({ ...fixture(), language: "de" }).language).toBe("german");
    expect(renderVerboseJson({ ...fixture(), language: "XX" }).language).toBe("xx");
  });

  it("reports a translation as english, without usage (openai-node TranslationVerbose)", () => {
    const body = renderVerboseJson({ ...fixture("translate"), language: "de" });
    expect(body.task).toBe("translate");
    expect(body.language).toBe("english");
    expect(body.usage).toBeUndefined();
    expect(body.segments).toHaveLength(2);
  });

  it("strips punctuation from word edges only", () => {
    expect(wireWordText(" don't,")).toBe("don't");
    expect(wireWordText(" (yes)")).toBe("yes");
    expect(wireWordText("好。")).toBe("好");
    expect(wireWordText(" ...")).toBe("");
  });
});

describe("renderTranscription", () => {
  it("serializes JSON compactly with application/json", () => {
    expect(renderTranscription("json", fixture())).toEqual({
      contentType: "application/json",
      body: '{"text":"The beach was fun. People said --> café.","usage":{"type":"duration","seconds":8}}',
    });
    const verbose = renderTranscription("verbose_json", fixture(), { timestampGranularities: ["word"] });
    expect(verbose.contentType).toBe("application/json");
    expect((JSON.parse(verbose.body) as TranscriptionVerbose).words).toHaveLength(7);
  });

  it("sends text, srt and vtt as text/plain; charset=utf-8, like OpenAI", () => {
    for (const format of ["text", "srt", "vtt"] as const) {
      const rendered = renderTranscription(format, fixture());
      expect(rendered.contentType).toBe("text/plain; charset=utf-8");
      expect(rendered.body).toBe(responseFormats[format].render(fixture(), {}));
    }
  });

  it("has a renderer for each of the five formats", () => {
    expect([...audioResponseFormats]).toEqual(["json", "text", "srt", "verbose_json", "vtt"]);
    expect(Object.keys(responseFormats).sort()).toEqual([...audioResponseFormats].sort());
    expect(isAudioResponseFormat("srt")).toBe(true);
    expect(isAudioResponseFormat("diarized_json")).toBe(false);
    expect(isTimestampGranularity("word")).toBe(true);
    expect(isTimestampGranularity("char")).toBe(false);
  });
});
