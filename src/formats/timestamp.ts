/** How {@link formatTimestamp} writes a time. */
export interface TimestampFormat {
  /** "," for SRT (HH:MM:SS,mmm), "." for WebVTT (HH:MM:SS.mmm). */
  decimalMarker: "," | ".";
  /** Write the hours field even when it is 0 (otherwise only from one hour on). */
  alwaysIncludeHours: boolean;
}

/** Python's round() to an integer: halves go to the even neighbour (banker's rounding). */
function roundHalfEven(value: number): number {
  const floor = Math.floor(value);
  const diff = value - floor;
  if (diff > 0.5) return floor + 1;
  if (diff < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

const pad = (value: number, width: number) => String(value).padStart(width, "0");

/**
 * Formats a time in seconds as a subtitle timestamp, like faster-whisper's / openai-whisper's
 * `format_timestamp`: rounded to the millisecond (Python `round`, so 1.9996 s -> "00:00:02,000"),
 * minutes and seconds on two digits, hours on at least two digits when shown.
 * Where Python asserts, this clamps: negative or non-finite input is written as 0.
 */
export function formatTimestamp(seconds: number, format: TimestampFormat): string {
  const safe = Number.isFinite(seconds) && seconds > 0 ? seconds : 0;
  let milliseconds = roundHalfEven(safe * 1000);

  const hours = Math.floor(milliseconds / 3_600_000);
  milliseconds -= hours * 3_600_000;
  const minutes = Math.floor(milliseconds / 60_000);
  milliseconds -= minutes * 60_000;
  const wholeSeconds = Math.floor(milliseconds / 1_000);
  milliseconds -= wholeSeconds * 1_000;

  const hoursMarker = format.alwaysIncludeHours || hours > 0 ? `${pad(hours, 2)}:` : "";
  return `${hoursMarker}${pad(minutes, 2)}:${pad(wholeSeconds, 2)}${format.decimalMarker}${pad(milliseconds, 3)}`;
}
