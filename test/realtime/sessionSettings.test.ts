// The realtime session's pure parts: settings in both dialects, the session audio buffer, commit-order output,
// live-partial word agreement and client secret expiry.
import { describe, expect, it } from "vitest";

import { ClientSecretStore } from "../../src/server/realtime/clientSecrets.js";
import { OrderedOutput } from "../../src/server/realtime/orderedOutput.js";
import { ApiError } from "../../src/api/errors.js";
import { SessionAudio } from "../../src/server/realtime/sessionAudio.js";
import { applyBetaSession, applyGaSession, defaultSessionConfig } from "../../src/api/realtimeSession.js";
import { renderBetaSession, renderGaSession } from "../../src/api/realtimeSessionJson.js";
import { agreedPrefixLength, WordAgreement } from "../../src/server/realtime/wordAgreement.js";

const identity = { id: "sess_1", expiresAt: 1000 };

describe("session settings", () => {
  it("applies GA updates partially and renders them back", () => {
    const base = defaultSessionConfig("base");
    const next = applyGaSession(base, {
      type: "transcription",
      audio: { input: { format: { type: "audio/pcma" }, transcription: { language: "EN", prompt: "Earshot" }, noise_reduction: { type: "near_field" } } },
      include: ["item.input_audio_transcription.logprobs"],
    });
    expect(base.format.type).toBe("audio/pcm");
    expect(next).toMatchObject({ model: "base", language: "en", prompt: "Earshot", noiseReduction: "near_field", includeLogprobs: true });
    expect(renderGaSession(next, identity)).toEqual({
      type: "transcription",
      id: "sess_1",
      object: "realtime.transcription_session",
      expires_at: 1000,
      audio: {
        input: {
          format: { type: "audio/pcma" },
          noise_reduction: { type: "near_field" },
          transcription: { model: "base", language: "en", prompt: "Earshot" },
          turn_detection: { type: "server_vad", threshold: 0.5, prefix_padding_ms: 300, silence_duration_ms: 500, idle_timeout_ms: null },
        },
      },
      include: ["item.input_audio_transcription.logprobs"],
    });
    // A later update that names only turn detection keeps the rest.
    const manual = applyGaSession(next, { type: "transcription", audio: { input: { turn_detection: null } } });
    expect(manual).toMatchObject({ language: "en", turnDetection: null, includeLogprobs: true });
  });

  it("maps semantic_vad's eagerness onto a silence duration", () => {
    const config = applyGaSession(defaultSessionConfig("base"), { audio: { input: { turn_detection: { type: "semantic_vad", eagerness: "low" } } } });
    expect(config.turnDetection).toMatchObject({ type: "semantic_vad", silenceDurationMs: 1500, eagerness: "low" });
    expect(renderGaSession(config, identity).audio.input.turn_detection).toEqual({ type: "semantic_vad", eagerness: "low" });
  });

  it("applies beta updates and renders the beta shape", () => {
    const config = applyBetaSession(defaultSessionConfig("base"), {
      input_audio_format: "g711_ulaw",
      input_audio_transcription: { model: "small", language: "german" },
      turn_detection: { type: "server_vad", threshold: 0.7, prefix_padding_ms: 200, silence_duration_ms: 900 },
    });
    expect(renderBetaSession(config, identity)).toEqual({
      id: "sess_1",
      object: "realtime.transcription_session",
      expires_at: 1000,
      modalities: ["text"],
      input_audio_format: "g711_ulaw",
      input_audio_transcription: { model: "small", language: "de", prompt: "" },
      turn_detection: { type: "server_vad", threshold: 0.7, prefix_padding_ms: 200, silence_duration_ms: 900, idle_timeout_ms: null },
      input_audio_noise_reduction: null,
      include: [],
    });
  });

  it("names the offending parameter of a bad update", () => {
    const attempt = (session: unknown) => {
      try {
        applyGaSession(defaultSessionConfig("base"), session);
      } catch (error) {
        expect(error).toBeInstanceOf(ApiError);
        return (error as ApiError).param;
      }
      throw new Error("accepted");
    };
    expect(attempt("text")).toBe("session");
    expect(attempt({ audio: { input: { turn_detection: { silence_duration_ms: -1 } } } })).toBe("session.audio.input.turn_detection.silence_duration_ms");
    expect(attempt({ audio: { input: { format: "mp3" } } })).toBe("session.audio.input.format");
    expect(attempt({ audio: { input: { transcription: { prompt: 5 } } } })).toBe("session.audio.input.transcription.prompt");
    expect(() => applyBetaSession(defaultSessionConfig("base"), { input_audio_format: "opus" }, "")).toThrow(
      expect.objectContaining({ param: "input_audio_format" }),
    );
  });
});

describe("SessionAudio", () => {
  it("slices by absolute position across chunks and forgets what was dropped", () => {
    const audio = new SessionAudio();
    audio.append(Float32Array.from([0, 1, 2]));
    audio.append(Float32Array.from([3, 4]));
    audio.append(Float32Array.from([5, 6, 7, 8]));
    expect(Array.from(audio.slice(2, 7))).toEqual([2, 3, 4, 5, 6]);
    audio.dropBefore(4);
    expect(audio.startSample).toBe(4);
    expect(audio.length).toBe(5);
    expect(Array.from(audio.slice(0, 6))).toEqual([4, 5]);
    audio.dropBefore(100);
    expect(audio.length).toBe(0);
    expect(audio.endSample).toBe(9);
    audio.append(Float32Array.from([9]));
    expect(Array.from(audio.slice(9, 10))).toEqual([9]);
  });
});

describe("OrderedOutput", () => {
  it("holds a later turn's events until every earlier turn has finished", () => {
    const sent: string[] = [];
    const output = new OrderedOutput<string>((event) => sent.push(event));
    output.open("a");
    output.open("b");
    output.open("c");
    output.emit("b", "b1");
    output.emit("c", "c1");
    output.finish("c");
    output.emit("a", "a1");
    expect(sent).toEqual(["a1"]);
    output.emit("b", "b2");
    output.finish("a");
    expect(sent).toEqual(["a1", "b1", "b2"]);
    output.emit("b", "b3");
    output.finish("b");
    expect(sent).toEqual(["a1", "b1", "b2", "b3", "c1"]);
    expect(output.pending).toBe(0);
  });
});

describe("WordAgreement", () => {
  it("confirms words two passes agree on, never taking one back", () => {
    expect(agreedPrefixLength(["Hello,", "world"], ["hello", "World!", "again"])).toBe(2);
    const agreement = new WordAgreement();
    expect(agreement.update("the quick")).toEqual([]);
    expect(agreement.update("the quick brown")).toEqual(["the", "quick"]);
    expect(agreement.update("the quick brown fox")).toEqual(["brown"]);
    // A pass that rewrites confirmed words confirms nothing new.
    expect(agreement.update("a quick brown fox jumps")).toEqual([]);
    expect(agreement.update("the quick brown fox jumps over")).toEqual([]);
    expect(agreement.update("the quick brown fox jumps over it")).toEqual(["fox", "jumps", "over"]);
    expect(agreement.text).toBe("the quick brown fox jumps over");
  });
});

describe("ClientSecretStore", () => {
  it("redeems a secret until it expires", () => {
    let now = 1_000;
    const store = new ClientSecretStore({ now: () => now });
    const secret = store.mint(defaultSessionConfig("base"), "sess_x", 10, "open");
    expect(secret.value).toMatch(/^ek_[\w-]+\.[\w-]{43}$/);
    expect(secret.expiresAt).toBe(1_010);
    expect(store.redeem(secret.value)).toMatchObject({ ok: true, secret: { sessionId: "sess_x", expiresAt: 1_010, config: defaultSessionConfig("base") } });
    expect(store.redeem("ek_unknown")).toEqual({ ok: false, reason: "unknown" });
    now = 1_010;
    expect(store.redeem(secret.value)).toEqual({ ok: false, reason: "expired" });
  });

  it("is verified with the key alone: another store with the same key accepts it, one with another key does not", () => {
    const key = "k".repeat(32);
    const secret = new ClientSecretStore({ key }).mint(defaultSessionConfig("base"), "sess_x", 60, "open");
    expect(new ClientSecretStore({ key }).redeem(secret.value)).toMatchObject({ ok: true, secret: { sessionId: "sess_x" } });
    expect(new ClientSecretStore({ key: "j".repeat(32) }).redeem(secret.value)).toEqual({ ok: false, reason: "unknown" });
    expect(new ClientSecretStore().redeem(secret.value)).toEqual({ ok: false, reason: "unknown" });
    expect(() => new ClientSecretStore({ key: "short" })).toThrow(RangeError);
  });

  it("refuses a secret altered or cut short", () => {
    const store = new ClientSecretStore({ key: "k".repeat(32) });
    const { value } = store.mint(defaultSessionConfig("base"), "sess_x", 60, "open");
    const [body, signature] = value.split(".") as [string, string];
    const flip = (text: string, at: number) => text.slice(0, at) + (text[at] === "A" ? "B" : "A") + text.slice(at + 1);
    for (const bad of [value.slice(0, -1), body, `${body}.`, `${flip(body, 10)}.${signature}`, `${body}.${flip(signature, 5)}`, `${body}x.${signature}`, `${value}A`, value.slice(3), `ek_.${signature}`]) {
      expect(store.redeem(bad), bad).toEqual({ ok: false, reason: "unknown" });
    }
  });
});
