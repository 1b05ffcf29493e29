// The session audio buffer (src/server/realtime/sessionAudio.ts): samples addressed by their absolute position
// in the session, what was dropped forgotten.
import { describe, expect, it } from "vitest";

import { SessionAudio } from "../../src/server/realtime/sessionAudio.js";

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
