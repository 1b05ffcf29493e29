// What to tell the person when something fails: a short title and what to do next.
import { formatBytes } from "./ui.js";

/**
 * @typedef {{title: string, detail: string, kind: string, retryAfter?: number}} Problem
 * `kind`: auth | too_large | unsupported | busy | network | server | request
 */

/**
 * A failed upload or transcription (a RequestError from api.js) → what to show. `speakers`: the request asked who
 * spoke (diarized_json).
 */
export function describeRequestError(error, { bytes, speakers = false } = {}) {
  const status = error?.status ?? 0;
  const said = error?.message ?? "";
  if (status === 0) {
    return {
      kind: "network",
      title: "Could not reach the server",
      detail: "Check that Earshot is still running and that this device is connected, then try again. Your audio is kept here.",
    };
  }
  if (status === 401) {
    return { kind: "auth", title: "The server needs a valid API key", detail: `Enter the key above, then try again. (${said})` };
  }
  if (status === 413) {
    const limit = /\(([\d.]+ MB)\)/.exec(said)?.[1];
    const size = bytes ? `This file is ${formatBytes(bytes)}` : "This file is too big";
    return {
      kind: "too_large",
      title: "The file is too large",
      detail: `${size}; this server accepts up to ${limit ?? "its upload limit"}. Upload a shorter clip, or ask whoever runs the server to raise --max-upload-mb.`,
    };
  }
  if (status === 415) {
    const known = error.code === "unsupported_format" ? "" : ` (The server said: ${said})`;
    return {
      kind: "unsupported",
      title: "This file could not be read as audio",
      detail: `It may be damaged, or not an audio or video file. Use an audio or video file (mp3, m4a, wav, webm, ogg, flac, mp4…).${known}`,
    };
  }
  if (status === 429) {
    const wait = error.retryAfter ?? 5;
    return {
      kind: "busy",
      title: "The server is busy",
      detail: "Other transcriptions are running. Yours will be sent again automatically.",
      retryAfter: wait,
    };
  }
  if (status === 503) {
    return { kind: "busy", title: "The server is starting up", detail: said, retryAfter: error.retryAfter ?? 5 };
  }
  if (status >= 500) {
    return { kind: "server", title: "The server had an error", detail: `${said} Try again in a moment; if it keeps failing, check the server's log.` };
  }
  if (status === 400 && error.code === "empty_file") {
    return { kind: "request", title: "The recording is empty", detail: "Nothing was recorded. Check the microphone and record again." };
  }
  if (status === 400 && error.code === "no_audio") {
    return { kind: "request", title: "No audio in this file", detail: "The file contains no audio samples." };
  }
  if (status === 400 && speakers && error.param === "response_format") {
    // A recording the server cannot tell speakers apart in (mono audio on a server without speaker models, say).
    return {
      kind: "request",
      title: "The speakers could not be told apart",
      detail: `${said} Turn off "Who spoke" to transcribe it without speakers.`,
    };
  }
  return { kind: "request", title: "The server refused the request", detail: said };
}

/** A getUserMedia / MediaRecorder / AudioContext failure → what to show. */
export function describeMicrophoneError(error) {
  const name = error?.name ?? "";
  if (name === "InsecureContext") {
    return {
      kind: "insecure",
      title: "Recording needs a secure page",
      detail: `Browsers allow the microphone only on https:// pages and on localhost. Open this page at http://localhost:${location.port || "8000"} on the server's machine, or serve Earshot over HTTPS. Uploading files works here.`,
    };
  }
  if (name === "NotSupported") {
    return { kind: "unsupported", title: "This browser cannot record audio", detail: "Use a current Chrome, Edge, Firefox or Safari, or upload a file instead." };
  }
  if (name === "NotAllowedError" || name === "PermissionDeniedError" || name === "SecurityError") {
    return {
      kind: "denied",
      title: "Microphone access is blocked",
      detail: "Allow the microphone for this site (the icon at the left of the address bar, or the browser's site settings), then try again. You can still upload a file.",
    };
  }
  if (name === "NotFoundError" || name === "DevicesNotFoundError" || name === "OverconstrainedError") {
    return {
      kind: "no_device",
      title: "No microphone found",
      detail: "Connect a microphone, or check that it is enabled in the system's sound settings, then try again. You can still upload a file.",
    };
  }
  if (name === "NotReadableError" || name === "TrackStartError" || name === "AbortError") {
    return {
      kind: "busy_device",
      title: "The microphone could not be started",
      detail: "Another app may be using it. Close that app or pick another input in the system settings, then try again.",
    };
  }
  return { kind: "mic", title: "The microphone failed", detail: error?.message || String(error) };
}

/** An Error with a `name` the describe functions know. */
function namedError(name, message) {
  const error = new Error(message);
  error.name = name;
  return error;
}

/**
 * Throws a named error when the page cannot use the microphone at all, or lacks what the caller needs
 * on top of it: MediaRecorder (recording, the default) or AudioWorklet (live captions).
 */
export function checkMicrophoneSupport({ needsRecorder = true, needsWorklet = false } = {}) {
  if (!window.isSecureContext || !navigator.mediaDevices?.getUserMedia) {
    throw namedError(window.isSecureContext ? "NotSupported" : "InsecureContext", "microphone unavailable");
  }
  if (needsRecorder && typeof MediaRecorder === "undefined") throw namedError("NotSupported", "no MediaRecorder");
  if (needsWorklet && typeof AudioWorkletNode === "undefined") throw namedError("NotSupported", "no AudioWorklet");
}
