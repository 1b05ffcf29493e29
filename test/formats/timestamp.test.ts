import { describe, expect, it } from "vitest";
import { srtTimestamp } from "../../src/formats/srt.js";
import { formatTimestamp } from "../../src/formats/timestamp.js";
import { vttTimestamp } from "../../src/formats/vtt.js";

const short = (s: number) => formatTimestamp(s, { decimalMarker: ".", alwaysIncludeHours: false });

describe("formatTimestamp", () => {
  it("writes SRT timestamps as HH:MM:SS,mmm", () => {
    expect(srtTimestamp(0)).toBe("00:00:00,000");
    expect(srtTimestamp(3.32)).toBe("00:00:03,320");
    expect(srtTimestamp(65.25)).toBe("00:01:05,250");
  });

  it("writes VTT timestamps as HH:MM:SS.mmm (hours always, as OpenAI's API does)", () => {
    expect(vttTimestamp(0)).toBe("00:00:00.000");
    expect(vttTimestamp(7.9)).toBe("00:00:07.900");
  });

  it("rounds to the millisecond and carries into seconds, minutes and hours", () => {
    expect(srtTimestamp(1.9996)).toBe("00:00:02,000");
    expect(srtTimestamp(1.0004)).toBe("00:00:01,000");
    expect(srtTimestamp(59.9996)).toBe("00:01:00,000");
    expect(srtTimestamp(3599.9996)).toBe("01:00:00,000");
    expect(srtTimestamp(0.1 + 0.2)).toBe("00:00:00,300");
  });

  it("rounds halves to even like Python's round()", () => {
    // 0.0025 s * 1000 = 2.5 ms -> 2 (Python), not 3 (Math.round); 0.0015 -> 1.5 -> 2.
    expect(srtTimestamp(0.0025)).toBe("00:00:00,002");
    expect(srtTimestamp(0.0015)).toBe("00:00:00,002");
  });

  it("handles times over an hour and over 99 hours", () => {
    expect(srtTimestamp(3725.5)).toBe("01:02:05,500");
    expect(vttTimestamp(3725.5)).toBe("01:02:05.500");
    expect(srtTimestamp(360_000)).toBe("100:00:00,000");
  });

  it("omits hours below one hour unless asked (whisper's format_timestamp default)", () => {
    expect(short(65.25)).toBe("01:05.250");
    expect(short(3725.5)).toBe("01:02:05.500");
  });

  it("never writes a negative or non-finite time", () => {
    expect(srtTimestamp(-0.5)).toBe("00:00:00,000");
    expect(srtTimestamp(Number.NaN)).toBe("00:00:00,000");
    expect(srtTimestamp(-0.0001)).toBe("00:00:00,000");
  });
});
