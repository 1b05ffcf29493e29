// A plain HTTP client for the batch jobs API, as curl or any HTTP library uses it (the OpenAI SDK has no jobs API).
import http from "node:http";

import { expect } from "vitest";

import type { JobObject } from "../../src/jobs/jobObject.js";
import { sleep } from "../support/server.js";

export interface ErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

export class JobsClient {
  constructor(
    readonly url: string,
    private readonly apiKey?: string,
  ) {}

  private headers(): Record<string, string> {
    return this.apiKey ? { authorization: `Bearer ${this.apiKey}` } : {};
  }

  /** POST /v1/audio/jobs with `file` (named `filename`) and the other fields; the raw response. */
  submitRaw(file: Uint8Array | undefined, fields: Record<string, string | string[]> = {}, filename = "audio.wav"): Promise<Response> {
    const form = new FormData();
    if (!("model" in fields)) form.append("model", "whisper-1");
    for (const [name, value] of Object.entries(fields)) for (const v of [value].flat()) form.append(name, v);
    if (file) form.append("file", new Blob([file]), filename);
    return fetch(`${this.url}/v1/audio/jobs`, { method: "POST", body: form, headers: this.headers() });
  }

  /** Submits and expects the 202 with a queued job. */
  async submit(file: Uint8Array, fields: Record<string, string | string[]> = {}, filename = "audio.wav"): Promise<JobObject> {
    const response = await this.submitRaw(file, fields, filename);
    const body = (await response.json()) as JobObject | ErrorBody;
    expect(response.status, JSON.stringify(body)).toBe(202);
    return body as JobObject;
  }

  async get(id: string): Promise<{ status: number; body: JobObject | ErrorBody }> {
    const response = await fetch(`${this.url}/v1/audio/jobs/${id}`, { headers: this.headers() });
    return { status: response.status, body: (await response.json()) as JobObject | ErrorBody };
  }

  async job(id: string): Promise<JobObject> {
    const { status, body } = await this.get(id);
    expect(status, JSON.stringify(body)).toBe(200);
    return body as JobObject;
  }

  async list(query = ""): Promise<{ status: number; body: { object: string; data: JobObject[]; first_id: string | null; last_id: string | null; has_more: boolean } & Partial<ErrorBody> }> {
    const response = await fetch(`${this.url}/v1/audio/jobs${query}`, { headers: this.headers() });
    return { status: response.status, body: (await response.json()) as never };
  }

  async cancel(id: string): Promise<{ status: number; body: JobObject | ErrorBody }> {
    const response = await fetch(`${this.url}/v1/audio/jobs/${id}`, { method: "DELETE", headers: this.headers() });
    return { status: response.status, body: (await response.json()) as JobObject | ErrorBody };
  }

  result(id: string, format?: string): Promise<Response> {
    const query = format ? `?response_format=${format}` : "";
    return fetch(`${this.url}/v1/audio/jobs/${id}/result${query}`, { headers: this.headers() });
  }

  /** Polls until the job's status is one of `statuses`; fails after `timeoutMs`. */
  async waitFor(id: string, statuses: readonly string[], timeoutMs = 60_000): Promise<JobObject> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const job = await this.job(id);
      if (statuses.includes(job.status)) return job;
      if (Date.now() > deadline) throw new Error(`job ${id} is still ${job.status} after ${timeoutMs} ms (waiting for ${statuses.join("/")})`);
      await sleep(100);
    }
  }
}

/** A job upload sent in two parts: the head of the form now, the rest when asked (or the connection dropped). */
export interface SplitUpload {
  /** The answer, whenever it comes (before the rest, for a refusal at once). */
  response: Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }>;
  /** Sends the rest of the form. */
  sendRest(): void;
  /** Drops the connection mid-upload, as a client that goes away. */
  abort(): void;
}

/**
 * POST /v1/audio/jobs over a raw connection: the form's fields, then the first `headBytes` of `file`; the rest only on
 * `sendRest()`. The server holds the upload's place (and decoder) meanwhile.
 */
export function splitUpload(url: string, apiKey: string | undefined, file: Uint8Array, headBytes: number, fields: Record<string, string> = {}, filename = "audio.wav"): SplitUpload {
  const boundary = `----earshot${Math.random().toString(16).slice(2)}`;
  const parts = Object.entries({ model: "whisper-1", ...fields }).map(
    ([name, value]) => `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`,
  );
  const head = Buffer.from(`${parts.join("")}--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${filename}"\r\nContent-Type: application/octet-stream\r\n\r\n`);
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  const split = Math.min(headBytes, file.length);
  const request = http.request(`${url}/v1/audio/jobs`, {
    method: "POST",
    headers: {
      "content-type": `multipart/form-data; boundary=${boundary}`,
      "content-length": String(head.length + file.length + tail.length),
      ...(apiKey ? { authorization: `Bearer ${apiKey}` } : {}),
    },
  });
  const response = new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }>((resolve, reject) => {
    request.on("response", (answer) => {
      let body = "";
      answer.setEncoding("utf8");
      answer.on("data", (chunk: string) => (body += chunk));
      answer.on("end", () => resolve({ status: answer.statusCode ?? 0, headers: answer.headers, body }));
      answer.on("error", reject);
    });
    request.on("error", reject);
  });
  response.catch(() => undefined);
  request.write(Buffer.concat([head, file.subarray(0, split)]));
  return {
    response,
    sendRest: () => request.end(Buffer.concat([Buffer.from(file.subarray(split)), tail])),
    abort: () => request.destroy(),
  };
}
