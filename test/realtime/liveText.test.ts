// The live window (src/server/realtime/liveText.ts): once a pass's leading segments hold only confirmed words and
// end a second before the audio does, later passes leave their audio out and get their text as prompt.
import { describe, expect, it } from "vitest";

import type { Segment } from "../../src/engine/types.js";
import { LiveText } from "../../src/server/realtime/liveText.js";
import { decoderPrompt } from "../../src/transcription/settings.js";

const RATE = 16_000;

function segment(text: string, start: number, end: number): Segment {
  return { id: 0, seek: 0, start, end, text, tokens: [], temperature: 0, avgLogprob: 0, compressionRatio: 1, noSpeechProb: 0 };
}

describe("LiveText", () => {
  it("moves the window past settled segments only", () => {
    const live = new LiveText({ passes: 2, holdBack: 0 }, 1000);
    const pass = [segment(" One two.", 0, 1.2), segment(" Three four.", 1.2, 2.5), segment(" Five", 2.5, 3)];
    live.agreement.update("One two. Three four. Five");
    live.agreement.update("One two. Three four. Five six");
    expect(live.text).toBe("One two. Three four. Five");
    // The audio ends at 3.0 s into the window: " Three four." ends 0.5 s before it, not settled yet.
    live.settle(pass, 1000 + 3 * RATE);
    expect(live.windowStartSample).toBe(1000 + 1.2 * RATE);
    expect(live.agreement.windowWords).toEqual(["Three", "four.", "Five"]);
    expect(live.context()).toBe("One two.");
    // After the caller's prompt in the decoder prompt of a model that takes one.
    expect(decoderPrompt({ prompt: "Names: Ada.", context: live.context() })).toBe("Names: Ada. One two.");
  });

  it("leaves the window alone when the pass does not start with the confirmed words", () => {
    const live = new LiveText({ passes: 1, holdBack: 0 }, 0);
    live.agreement.update("alpha beta");
    live.settle([segment(" gamma beta", 0, 1)], 5 * RATE);
    expect(live.windowStartSample).toBe(0);
    expect(live.context()).toBe("");
    expect(decoderPrompt({ prompt: undefined, context: live.context() })).toBeUndefined();
  });
});
