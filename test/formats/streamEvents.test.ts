import { describe, expect, it } from "vitest";
import { formatSseEvent, textDeltaEvent, textDoneEvent, tokenUsage } from "../../src/formats/streamEvents.js";

describe("stream events", () => {
  it("builds a delta event with the type first and no logprobs key unless given", () => {
    const event = textDeltaEvent(" Hello");
    expect(event).toEqual({ type: "transcript.text.delta", delta: " Hello" });
    expect(Object.keys(event)).toEqual(["type", "delta"]);
  });

  it("carries logprobs on the delta when given", () => {
    const logprobs = [{ token: " Hello", logprob: -0.01, bytes: [32, 72, 101, 108, 108, 111] }];
    expect(textDeltaEvent(" Hello", logprobs)).toEqual({ type: "transcript.text.delta", delta: " Hello", logprobs });
  });

  it("builds the done event with optional logprobs and token usage", () => {
    expect(textDoneEvent("Hello world.")).toEqual({ type: "transcript.text.done", text: "Hello world." });
    const usage = tokenUsage({ inputTokens: 14, outputTokens: 45, audioTokens: 14, textTokens: 0 });
    expect(usage).toEqual({
      type: "tokens",
      input_tokens: 14,
      output_tokens: 45,
      total_tokens: 59,
      input_token_details: { text_tokens: 0, audio_tokens: 14 },
    });
    const done = textDoneEvent("Hello world.", [{ token: "Hello", logprob: 0, bytes: [72] }], usage);
    expect(Object.keys(done)).toEqual(["type", "text", "logprobs", "usage"]);
    expect(done.usage?.total_tokens).toBe(59);
    expect(textDoneEvent("x", undefined, tokenUsage({ inputTokens: 1, outputTokens: 2 })).usage).toEqual({
      type: "tokens",
      input_tokens: 1,
      output_tokens: 2,
      total_tokens: 3,
    });
  });

  it("frames an event as one SSE data line and a blank line", () => {
    const framed = formatSseEvent(textDeltaEvent("line one\nline two"));
    expect(framed).toBe('data: {"type":"transcript.text.delta","delta":"line one\\nline two"}\n\n');
    expect(framed.split("\n")).toEqual([framed.slice(0, -2), "", ""]);
    const payload = JSON.parse(framed.slice("data: ".length));
    expect(payload).toEqual({ type: "transcript.text.delta", delta: "line one\nline two" });
  });
});
