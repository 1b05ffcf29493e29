// A client message (one WebSocket text frame, as bytes) → its event. A large input_audio_buffer.append is not run
// through JSON.parse whole: that would copy its megabytes of base64 twice (bytes → string → the parsed value) in one
// synchronous step. Its top-level "audio" string is located in the bytes instead, everything around it is parsed as
// usual, and the audio is handed on as a view of the message's bytes, to be validated and decoded piece by piece.
import { type Base64Text, bytesAsBase64Text } from "../audio/realtime/pcm16.js";
import { ApiError } from "./errors.js";

export interface ClientEvent {
  type: string;
  event_id?: unknown;
  [key: string]: unknown;
}

export interface ClientMessage {
  event: ClientEvent;
  /** The `audio` member's base64 when it was left in the message's bytes (`event.audio` is then ""). */
  audio?: Base64Text;
}

/** Messages at least this large are scanned for their audio instead of parsed whole. */
export const SCAN_THRESHOLD_BYTES = 64 * 1024;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const AUDIO_KEY = Buffer.from("audio");

function isSpace(byte: number | undefined): boolean {
  return byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09;
}

/** Index of the quote that closes the JSON string whose opening quote is at `open` (escapes honoured); -1 if none. */
function stringEnd(bytes: Buffer, open: number): number {
  let at = open + 1;
  for (;;) {
    const quote = bytes.indexOf(QUOTE, at);
    if (quote < 0) return -1;
    let backslashes = 0;
    while (bytes[quote - 1 - backslashes] === BACKSLASH) backslashes++;
    if (backslashes % 2 === 0) return quote;
    at = quote + 1;
  }
}

/** Index just past the JSON value starting at `at` (not validated: JSON.parse of the rest does that); -1 if none. */
function valueEnd(bytes: Buffer, at: number): number {
  const first = bytes[at];
  if (first === QUOTE) {
    const end = stringEnd(bytes, at);
    return end < 0 ? -1 : end + 1;
  }
  if (first === 0x7b || first === 0x5b) {
    let depth = 0;
    for (let i = at; i < bytes.length; i++) {
      const byte = bytes[i];
      if (byte === QUOTE) {
        i = stringEnd(bytes, i);
        if (i < 0) return -1;
      } else if (byte === 0x7b || byte === 0x5b) depth++;
      else if (byte === 0x7d || byte === 0x5d) {
        if (--depth === 0) return i + 1;
      }
    }
    return -1;
  }
  // A number or literal: up to the next delimiter.
  let i = at;
  while (i < bytes.length && bytes[i] !== 0x2c && bytes[i] !== 0x7d && !isSpace(bytes[i])) i++;
  return i > at ? i : -1;
}

/**
 * Where the content of the top-level "audio" string member is, [start, end) between its quotes; undefined when the
 * message is not an object with exactly one such member free of escapes (the caller then parses it whole).
 */
export function findAudioString(bytes: Buffer): { start: number; end: number } | undefined {
  let i = 0;
  const skipSpace = () => {
    while (isSpace(bytes[i])) i++;
  };
  skipSpace();
  if (bytes[i] !== 0x7b) return undefined;
  i++;
  let found: { start: number; end: number } | undefined;
  for (;;) {
    skipSpace();
    if (bytes[i] === 0x7d && !found) return undefined;
    if (bytes[i] !== QUOTE) return undefined;
    const keyEnd = stringEnd(bytes, i);
    if (keyEnd < 0) return undefined;
    const isAudio = keyEnd - i - 1 === AUDIO_KEY.length && bytes.compare(AUDIO_KEY, 0, AUDIO_KEY.length, i + 1, keyEnd) === 0;
    i = keyEnd + 1;
    skipSpace();
    if (bytes[i] !== 0x3a) return undefined;
    i++;
    skipSpace();
    if (isAudio) {
      // A second "audio" member (JSON.parse keeps the last one) or a non-string value: leave it to JSON.parse.
      if (found || bytes[i] !== QUOTE) return undefined;
      const end = bytes.indexOf(QUOTE, i + 1);
      if (end < 0) return undefined;
      const backslash = bytes.indexOf(BACKSLASH, i + 1);
      if (backslash >= 0 && backslash < end) return undefined;
      found = { start: i + 1, end };
      i = end + 1;
    } else {
      const end = valueEnd(bytes, i);
      if (end < 0) return undefined;
      i = end;
    }
    skipSpace();
    if (bytes[i] === 0x2c) {
      i++;
      continue;
    }
    if (bytes[i] !== 0x7d) return undefined;
    i++;
    skipSpace();
    return i === bytes.length ? found : undefined;
  }
}

/** Parses one client message; throws ApiError (`invalid_json`) when it is not a JSON object. */
export function parseClientMessage(bytes: Buffer): ClientMessage {
  if (bytes.length >= SCAN_THRESHOLD_BYTES) {
    const audio = findAudioString(bytes);
    if (audio) {
      // Cutting out the content of a string without quotes or escapes leaves the same tokens: the rest parses (or
      // fails) exactly as the whole message would.
      let event: ClientEvent | undefined;
      try {
        event = parseObject(`${bytes.toString("utf8", 0, audio.start)}${bytes.toString("utf8", audio.end)}`);
      } catch {
        // Reported below from the whole message, so that the error's position is the message's own.
      }
      if (event?.audio === "") return { event, audio: bytesAsBase64Text(bytes.subarray(audio.start, audio.end)) };
    }
  }
  return { event: parseObject(bytes.toString("utf8")) };
}

function parseObject(text: string): ClientEvent {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw ApiError.invalidRequest(`The message is not valid JSON: ${(error as Error).message}`, "invalid_json");
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw ApiError.invalidRequest("A client event must be a JSON object.", "invalid_json");
  return parsed as ClientEvent;
}
