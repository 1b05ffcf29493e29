// Talking to the Earshot server: the optional API key (this tab only), OpenAI-shaped errors,
// the model list, the upload with progress, the realtime client secret and the WebRTC call's offer.

const KEY_STORAGE = "earshot.apiKey";
/** Where the key lives when sessionStorage is unavailable. */
let memoryKey = "";

/** The API key the user typed in this tab, or "" (the server is open by default). */
export function getApiKey() {
  try {
    return sessionStorage.getItem(KEY_STORAGE) ?? memoryKey;
  } catch {
    return memoryKey;
  }
}

export function setApiKey(key) {
  try {
    if (key) sessionStorage.setItem(KEY_STORAGE, key);
    else sessionStorage.removeItem(KEY_STORAGE);
  } catch {
    // storage disabled: the key lives as long as the page
  }
  memoryKey = key;
}

function authHeaders() {
  const key = getApiKey();
  return key ? { Authorization: `Bearer ${key}` } : {};
}

/** A failed request. `status` 0 means the server could not be reached. */
export class RequestError extends Error {
  /**
   * @param {number} status
   * @param {string} message
   * @param {{code?: string|null, type?: string|null, param?: string|null, retryAfter?: number|null}} [details]
   */
  constructor(status, message, details = {}) {
    super(message);
    this.name = "RequestError";
    this.status = status;
    this.code = details.code ?? null;
    this.type = details.type ?? null;
    this.param = details.param ?? null;
    /** Seconds to wait before retrying (429/503), from Retry-After. */
    this.retryAfter = details.retryAfter ?? null;
  }
}

function parseRetryAfter(value) {
  if (!value) return null;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(1, Math.ceil(seconds));
  const date = Date.parse(value);
  return Number.isNaN(date) ? null : Math.max(1, Math.ceil((date - Date.now()) / 1000));
}

/** The server could not be reached at all. */
function networkError() {
  return new RequestError(0, "Could not reach the server.", { code: "network_error" });
}

/** A success answer whose body is not the JSON it should be. */
function badResponse(status) {
  return new RequestError(status, "The server's answer could not be read.", { code: "bad_response" });
}

/** The RequestError for an HTTP error answer (OpenAI's {"error":{...}} body, or anything else). */
function errorFromResponse(status, bodyText, retryAfterHeader) {
  let error = {};
  try {
    error = JSON.parse(bodyText)?.error ?? {};
  } catch {
    // not JSON (a proxy's page, say)
  }
  const message = typeof error.message === "string" && error.message ? error.message : `The server answered ${status}.`;
  return new RequestError(status, message, { code: error.code, type: error.type, param: error.param, retryAfter: parseRetryAfter(retryAfterHeader) });
}

async function requestJson(path, init = {}) {
  let response;
  try {
    response = await fetch(path, { ...init, headers: { ...authHeaders(), ...init.headers } });
  } catch {
    throw networkError();
  }
  const text = await response.text();
  if (!response.ok) throw errorFromResponse(response.status, text, response.headers.get("retry-after"));
  try {
    return JSON.parse(text);
  } catch {
    throw badResponse(response.status);
  }
}

/** Whether the server answers at all (GET /health). */
export async function serverAlive() {
  try {
    return (await fetch("/health", { cache: "no-store" })).ok;
  } catch {
    return false;
  }
}

/** The ids of the models the server offers (GET /v1/models), the default model first. */
export async function listModels() {
  const body = await requestJson("/v1/models");
  return (body.data ?? []).map((model) => model.id).filter((id) => typeof id === "string");
}

/**
 * Uploads `blob` to /v1/audio/transcriptions (or /translations) as verbose_json with segment (and,
 * for transcriptions, word) timestamps; with `speakers` (transcriptions only) as diarized_json, whose segments carry
 * their speaker and which has no word times. XMLHttpRequest rather than fetch: it reports upload progress.
 *
 * @param {{blob: Blob, filename: string, model: string, language?: string, prompt?: string, translate?: boolean,
 *          speakers?: boolean, signal?: AbortSignal, onProgress?: (fraction: number) => void, onUploaded?: () => void}} request
 * @returns {Promise<any>} the verbose_json or diarized_json transcription
 */
export function uploadAudio(request) {
  const { blob, filename, model, language, prompt, translate, speakers, signal, onProgress, onUploaded } = request;
  const form = new FormData();
  form.append("model", model);
  // The fields go before the file: the server then knows at once to decode a diarized upload's channels apart.
  if (translate) {
    form.append("response_format", "verbose_json");
  } else if (speakers) {
    form.append("response_format", "diarized_json");
    if (language) form.append("language", language);
  } else {
    form.append("response_format", "verbose_json");
    if (language) form.append("language", language);
    form.append("timestamp_granularities[]", "word");
    form.append("timestamp_granularities[]", "segment");
  }
  if (prompt) form.append("prompt", prompt);
  form.append("file", blob, filename);

  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(new DOMException("Cancelled", "AbortError"));
      return;
    }
    const xhr = new XMLHttpRequest();
    xhr.open("POST", translate ? "/v1/audio/translations" : "/v1/audio/transcriptions");
    for (const [name, value] of Object.entries(authHeaders())) xhr.setRequestHeader(name, value);
    xhr.responseType = "text";
    let uploaded = false;
    const finishUpload = () => {
      if (uploaded) return;
      uploaded = true;
      onProgress?.(1);
      onUploaded?.();
    };
    xhr.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable && event.total > 0) onProgress?.(event.loaded / event.total);
    });
    xhr.upload.addEventListener("load", finishUpload);
    xhr.addEventListener("load", () => {
      signal?.removeEventListener("abort", abort);
      if (xhr.status >= 200 && xhr.status < 300) {
        finishUpload();
        try {
          resolve(JSON.parse(xhr.responseText));
        } catch {
          reject(badResponse(xhr.status));
        }
        return;
      }
      reject(errorFromResponse(xhr.status, xhr.responseText, xhr.getResponseHeader("retry-after")));
    });
    xhr.addEventListener("error", () => {
      signal?.removeEventListener("abort", abort);
      reject(networkError());
    });
    const abort = () => {
      xhr.abort();
      reject(new DOMException("Cancelled", "AbortError"));
    };
    signal?.addEventListener("abort", abort, { once: true });
    xhr.send(form);
  });
}

/**
 * Mints a short-lived secret for the realtime WebSocket (POST /v1/realtime/client_secrets), so the
 * page never puts a real API key in a WebSocket URL or protocol.
 */
export async function createRealtimeSecret(session) {
  return requestJson("/v1/realtime/client_secrets", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ session }),
  });
}

/**
 * Offers a WebRTC call (POST /v1/realtime/calls, OpenAI's wire): the offer SDP as `application/sdp`, authorized by
 * the minted client secret. Resolves with the answer SDP and the call's URL (from `Location`).
 *
 * @returns {Promise<{sdp: string, url: string}>}
 */
export async function offerRealtimeCall(offerSdp, secret) {
  let response;
  try {
    response = await fetch("/v1/realtime/calls", {
      method: "POST",
      headers: { "Content-Type": "application/sdp", Authorization: `Bearer ${secret}` },
      body: offerSdp,
    });
  } catch {
    throw networkError();
  }
  const text = await response.text();
  if (!response.ok) throw errorFromResponse(response.status, text, response.headers.get("retry-after"));
  const where = response.headers.get("location");
  if (!text.startsWith("v=") || !where) throw badResponse(response.status);
  return { sdp: text, url: new URL(where, location.href).href };
}

/** Ends a WebRTC call (POST <call>/hangup with its secret); failures are ignored (closing the connection ends it too). */
export async function hangUpRealtimeCall(callUrl, secret, timeoutMs) {
  try {
    await fetch(`${callUrl}/hangup`, { method: "POST", headers: { Authorization: `Bearer ${secret}` }, keepalive: true, signal: AbortSignal.timeout(timeoutMs) });
  } catch {
    // the server is gone or slow: the peer connection's close ends the call
  }
}
