// A plain HTTP client for the batch jobs API, as curl or any HTTP library uses it (the OpenAI SDK has no jobs API).
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
