// The batch jobs API of a running Earshot server (POST/GET/DELETE /v1/audio/jobs...) over HTTP, for
// `earshot jobs` and the jobs benchmark: node:http(s), files streamed from disk (src/cli/multipartUpload.ts, so
// an hours-long recording is never read into memory), the server's OpenAI-shaped errors and an
// unreachable server turned into errors that say what happened.
import http from "node:http";
import https from "node:https";
import path from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";

import type { AudioResponseFormat } from "../formats/index.js";
import type { JobListObject, JobObject } from "../jobs/jobObject.js";
import type { JobStatus } from "../jobs/types.js";
import { multipartUpload, type MultipartUpload } from "./multipartUpload.js";

// The wire types are the server's own (src/jobs: types only, and the statuses, at run time).
export { isFinished, JOB_STATUSES, type JobStatus } from "../jobs/types.js";
/** The job object of jobshape.md. */
export type Job = JobObject;
export type JobList = JobListObject;

export interface OpenAIErrorFields {
  message: string;
  type: string;
  param: string | null;
  code: string | null;
}

/** The form fields of a submission besides the file (the same names as /v1/audio/transcriptions). */
export interface JobFields {
  model: string;
  task?: "transcribe" | "translate";
  language?: string;
  prompt?: string;
  responseFormat?: AudioResponseFormat;
  webhookUrl?: string;
  metadata?: Record<string, string>;
}

/** The server answered with an error (OpenAI's shape when it is Earshot; whatever it sent otherwise). */
export class ServerError extends Error {
  override name = "ServerError";
  constructor(
    readonly status: number,
    readonly error: OpenAIErrorFields,
  ) {
    super(error.message);
  }
}

/** No answer: nothing listens at the URL, the name does not resolve, the connection broke, or a deadline passed. */
export class ServerUnreachableError extends Error {
  override name = "ServerUnreachableError";
  constructor(
    message: string,
    /** Nothing listens at the URL (as opposed to a name that does not resolve, a broken connection, a deadline). */
    readonly refused = false,
  ) {
    super(message);
  }
}

export interface JobsApiOptions {
  /** The server's base URL, e.g. http://127.0.0.1:8000 (a trailing /v1, as an OpenAI base URL has, is fine). */
  url: string;
  apiKey?: string | undefined;
  /** Deadline of each request other than an upload, in ms. */
  timeoutMs: number;
  /** Deadline of each upload (sent, decoded and answered by the server), in ms. */
  uploadTimeoutMs: number;
}

/** `http://host:8000/v1/` → `http://host:8000`. Throws on something that is not an http(s) URL. */
export function serverBaseUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`"${url}" is not a URL (expected e.g. http://127.0.0.1:8000)`);
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") throw new Error(`"${url}" is not an http(s) URL`);
  return `${parsed.origin}${parsed.pathname.replace(/\/+$/, "").replace(/\/v1$/, "")}`;
}

export class JobsApi {
  readonly baseUrl: string;

  constructor(private readonly options: JobsApiOptions) {
    this.baseUrl = serverBaseUrl(options.url);
  }

  /** POST /v1/audio/jobs with the file streamed from disk; the server decodes it before it answers 202. */
  async submit(file: string, fields: JobFields, signal?: AbortSignal): Promise<Job> {
    // The fields before the file, as the server reads them before the audio arrives.
    const form: Array<[string, string]> = [["model", fields.model]];
    if (fields.task) form.push(["task", fields.task]);
    if (fields.language) form.push(["language", fields.language]);
    if (fields.prompt) form.push(["prompt", fields.prompt]);
    if (fields.responseFormat) form.push(["response_format", fields.responseFormat]);
    if (fields.webhookUrl) form.push(["webhook_url", fields.webhookUrl]);
    for (const [key, value] of Object.entries(fields.metadata ?? {})) form.push([`metadata[${key}]`, value]);
    const upload = await multipartUpload(form, "file", file, path.basename(file));
    return JSON.parse(await this.request("POST", "/v1/audio/jobs", { upload, timeoutMs: this.options.uploadTimeoutMs, signal })) as Job;
  }

  async get(id: string, signal?: AbortSignal): Promise<Job> {
    return JSON.parse(await this.request("GET", `/v1/audio/jobs/${encodeURIComponent(id)}`, { signal })) as Job;
  }

  async list(query: { status?: JobStatus; limit?: number; after?: string } = {}, signal?: AbortSignal): Promise<JobList> {
    const params = new URLSearchParams();
    if (query.after) params.set("after", query.after);
    if (query.limit !== undefined) params.set("limit", String(query.limit));
    if (query.status) params.set("status", query.status);
    const search = params.toString() ? `?${params}` : "";
    return JSON.parse(await this.request("GET", `/v1/audio/jobs${search}`, { signal })) as JobList;
  }

  /** The stored result rendered in `format`: the body exactly as the server sent it. */
  async result(id: string, format: AudioResponseFormat, signal?: AbortSignal): Promise<string> {
    return this.request("GET", `/v1/audio/jobs/${encodeURIComponent(id)}/result?response_format=${format}`, { signal });
  }

  /** DELETE /v1/audio/jobs/{id}: the job, cancelled, or unchanged when it had already finished. */
  async cancel(id: string, signal?: AbortSignal): Promise<Job> {
    return JSON.parse(await this.request("DELETE", `/v1/audio/jobs/${encodeURIComponent(id)}`, { signal })) as Job;
  }

  /** The answer's body when it is a 2xx; a ServerError with the server's error otherwise. */
  private async request(
    method: string,
    pathAndQuery: string,
    init: { upload?: MultipartUpload; timeoutMs?: number; signal?: AbortSignal | undefined },
  ): Promise<string> {
    const url = new URL(`${this.baseUrl}${pathAndQuery}`);
    const timeoutMs = init.timeoutMs ?? this.options.timeoutMs;
    const deadline = AbortSignal.timeout(timeoutMs);
    const signal = init.signal ? AbortSignal.any([init.signal, deadline]) : deadline;
    const headers: Record<string, string> = { accept: "application/json, text/plain" };
    if (this.options.apiKey) headers.authorization = `Bearer ${this.options.apiKey}`;
    if (init.upload) {
      headers["content-type"] = init.upload.contentType;
      // Sent, so that the server can refuse an upload over its limit (413) before a byte of it.
      headers["content-length"] = String(init.upload.length);
    }
    let answer: Answer;
    try {
      answer = await send(url, method, headers, init.upload, signal);
    } catch (error) {
      if (init.signal?.aborted) throw init.signal.reason;
      if (deadline.aborted) throw new ServerUnreachableError(`${method} ${url}: no answer within ${formatSeconds(timeoutMs)}`);
      if (error instanceof UploadFileError) throw error.cause;
      const problem = connectionProblem(error);
      throw new ServerUnreachableError(`cannot reach the Earshot server at ${this.baseUrl} (${problem})`, problem === REFUSED);
    }
    if (answer.status >= 200 && answer.status < 300) return answer.body;
    throw serverError(answer);
  }
}

interface Answer {
  status: number;
  statusText: string;
  body: string;
}

/** Largest answer read (a verbose_json of many hours is tens of MB). */
const MAX_ANSWER_BYTES = 512 * 1_048_576;

/** Reading the file to upload failed (not the connection). */
class UploadFileError extends Error {
  constructor(override readonly cause: unknown) {
    super((cause as Error).message);
  }
}

/**
 * One request with node:http(s). Not fetch: Node 20's fetch reads a streamed (or Blob) request body into memory
 * faster than the socket takes it, so a 1 GB upload cost 1.2 GB of memory; node:http keeps to the socket's pace.
 * An answer that comes before the whole upload has gone (a 413, a 415 from the first bytes) is taken as the answer.
 */
function send(url: URL, method: string, headers: Record<string, string>, upload: MultipartUpload | undefined, signal: AbortSignal): Promise<Answer> {
  return new Promise<Answer>((resolve, reject) => {
    const request = (url.protocol === "https:" ? https : http).request(url, { method, headers, signal });
    let answered = false;
    request.once("response", (response) => {
      answered = true;
      const chunks: Buffer[] = [];
      let size = 0;
      response.on("data", (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_ANSWER_BYTES) request.destroy(new Error(`the answer is larger than ${MAX_ANSWER_BYTES / 1_048_576} MB`));
        else chunks.push(chunk);
      });
      response.once("end", () => resolve({ status: response.statusCode ?? 0, statusText: response.statusMessage ?? "", body: Buffer.concat(chunks).toString("utf8") }));
      response.once("error", reject);
    });
    request.once("error", (error) => {
      if (!answered) reject(error);
    });
    if (!upload) {
      request.end();
      return;
    }
    let fileError: unknown;
    const body = Readable.from(upload.body);
    body.once("error", (error) => {
      fileError = error;
    });
    pipeline(body, request).catch((error: unknown) => {
      if (fileError !== undefined) reject(new UploadFileError(fileError));
      else if (!answered) reject(error);
    });
  });
}

function formatSeconds(ms: number): string {
  return `${ms % 1000 === 0 ? ms / 1000 : (ms / 1000).toFixed(1)} s`;
}

const REFUSED = "connection refused";

/** The cause in words: ECONNREFUSED, ENOTFOUND, a reset, a TLS problem. */
function connectionProblem(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  switch (code) {
    case "ECONNREFUSED":
      return REFUSED;
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return "host not found";
    case "ECONNRESET":
    case "EPIPE":
      return "the connection was closed before the answer";
    default:
      return (error as Error).message;
  }
}

/** The server's error: OpenAI's shape when it sent one, else its status and the start of its body. */
function serverError(answer: Answer): ServerError {
  try {
    const body = JSON.parse(answer.body) as { error?: Partial<OpenAIErrorFields> };
    if (body.error && typeof body.error.message === "string") {
      return new ServerError(answer.status, {
        message: body.error.message,
        type: body.error.type ?? "server_error",
        param: body.error.param ?? null,
        code: body.error.code ?? null,
      });
    }
  } catch {
    // not JSON
  }
  const excerpt = answer.body.trim().replace(/\s+/g, " ").slice(0, 200);
  return new ServerError(answer.status, {
    message: `HTTP ${answer.status} ${answer.statusText}${excerpt ? `: ${excerpt}` : ""}`,
    type: "server_error",
    param: null,
    code: null,
  });
}
