// Batch transcription jobs: the job record, what a job asks for, and the contract every queue backend keeps
// (embedded SQLite in src/jobs/sqlite/, BullMQ on Redis in src/jobs/redis/).
//
// THE CONTRACT (a backend is written from this comment alone; test/jobs/backendContract.ts runs it on both)
//
// Two sides use a backend: the API (routes in src/server/routes/jobs.ts: submit, get, list, cancel, result) and
// the worker (src/jobs/jobRunner.ts: claims jobs and transcribes them through TranscriptionService). One process
// may be both (`earshot serve`) or only the worker (`earshot worker`) or only the API.
//
// Owners. Every job belongs to an owner (a hash of the API key that created it, see owner.ts). Every API-side
// read or write takes the owner: a job of another owner is exactly as absent as a job that does not exist
// (undefined, never an error that tells it exists).
//
// Audio. The API decodes and validates the upload before submitting it, and hands the backend a FLAC file of the
// decoded audio (16 kHz, mono, 16-bit; see jobAudio.ts): `submit(job, audio)`. The backend takes the file over in
// every outcome, success or throw: the embedded backend renames it into its jobs directory, the Redis backend
// reads it into Redis (the same bytes) and deletes it. On the worker side the backend hands the processor a local
// path to that FLAC file (`ClaimedJob.audioPath`), valid until the processor has settled (a cancel included); a
// backend that had to fetch it (Redis) removes its copy afterwards. The stored audio goes once the job is finished
// and no processor reads it, at the latest with the job (retention, see below).
//
// Places. A job takes a place before its upload is read: `reserve(owner)` counts it against the bound of unfinished
// jobs of all owners together (maxQueued) and of this owner (maxQueuedPerOwner) along with every job queued or running
// and every place held, atomically (across processes), and throws a 429 ApiError when either is reached, so N
// concurrent uploads against a bound of M leave exactly M jobs (the bounds are the settings of the process that counts:
// processes sharing a store are given the same). The place is handed to `submit` (which turns it into the job, in the
// same atomic step) or released when the upload fails. A place whose holder is gone (its process died mid-upload)
// lapses by itself within about a minute. While the upload is decoded, the place also asks for room for the job's audio
// at rest (`reserveAudio`, with the most the FLAC can take so far): the embedded backend counts it against its
// stored-audio budget and the disk's free space (429 / 507 when there is none); Redis checks its own budget at submit.
// `submit` without a place checks the bounds itself.
//
// States. queued → running → succeeded | failed; queued | running → cancelled. A job that was running when its
// worker stopped (shutdown, crash, kill -9) goes back to queued and runs again from the start, in this or another
// process: never lost, never completed twice. Terminal states never change again. Timestamps are Unix
// milliseconds in records (the wire object has seconds, see jobObject.ts).
//
// cancel(owner, id). Idempotent: cancelling a finished or cancelled job returns it unchanged. A queued job
// becomes cancelled at once (completedAt set). A running job becomes cancelled at once too (the record says so
// from this call on), and the processor working on it, in whichever process, sees `ClaimedJob.signal` abort with
// a JobCancelledError within about a second (the embedded backend aborts it synchronously in its own process, and
// at the worker's next one-second tick in another process sharing the data dir; Redis through pub/sub); whatever the
// processor returns afterwards is discarded (no result is stored for a cancelled job).
//
// list(owner, query). Newest first (by creation, ties by submission order), `limit` jobs at most, those created
// before the job `after` when given, only `status` when given; `hasMore` tells whether older ones remain.
// `after` that is no job of this owner throws UnknownCursorError (the route answers 400 naming `after`).
//
// Worker side. `startWorker(processor, { concurrency })` first recovers what a previous process left running
// (embedded: every job still `running` from a process that is gone goes back to queued; Redis: BullMQ's
// stalled-job recovery), then claims queued jobs oldest first, at most `concurrency` at once, each exactly once:
// the record goes to running (startedAt set, attempts + 1) and the processor is called. The processor reports
// progress through `ClaimedJob.progress(done, total)` (audio seconds; the runner throttles it, the backend stores
// every call it gets) and settles with a JobOutcome, which the backend stores:
//   succeeded: the result is stored (get it back with `result`), status succeeded, completedAt set;
//   failed: status failed with the error (OpenAI's error shape), completedAt set;
//   interrupted: the worker is stopping (its signal aborted with JobInterruptedError): the job goes back to queued,
//     to run again from the start (startedAt and progress cleared);
//   cancelled: the job was cancelled meanwhile: nothing to store (cancel already did).
// A processor that throws is a failure with a 500 internal_error. `JobWorker.stop()` stops claiming, aborts every
// running processor's signal with JobInterruptedError, waits for them to settle (they stop within one encoder pass)
// and leaves those jobs queued for the next start; it never waits for a job to finish.
//
// Events. `onSettled(listener)`: the listener is called once for each job that reaches succeeded, failed or
// cancelled, in the process that made that change (the API process for a cancel, the worker's for the others),
// with the final record. Webhooks go out from there.
//
// Retention. `sweepExpired(before)` deletes every finished job (succeeded, failed, cancelled: record, result and
// audio) whose completedAt is before `before` (Unix ms), and returns how many it deleted. Queued and running jobs
// never expire. The server calls it periodically (EARSHOT_JOBS_RETENTION_HOURS).
//
// close(): stops the worker if one was started (as stop()), then releases the database/connection. Idempotent.
import { randomBytes } from "node:crypto";

import type { TranscriptionResult } from "../engine/types.js";
import type { ApiErrorBody } from "../api/errors.js";
import type { SpeakerTranscript, TimestampGranularity } from "../formats/index.js";
import type { SpeakerCount } from "../diarization/index.js";
import type { TranscriptionSettings } from "../transcription/settings.js";

export const JOB_STATUSES = ["queued", "running", "succeeded", "failed", "cancelled"] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];
export type FinishedJobStatus = Extract<JobStatus, "succeeded" | "failed" | "cancelled">;

export function isJobStatus(value: unknown): value is JobStatus {
  return typeof value === "string" && (JOB_STATUSES as readonly string[]).includes(value);
}

export function isFinished(status: JobStatus): status is FinishedJobStatus {
  return status === "succeeded" || status === "failed" || status === "cancelled";
}

export type JobTask = "transcribe" | "translate";

/** OpenAI's error object (the `error` of an error body). */
export type JobError = ApiErrorBody["error"];

/** How the stored result is rendered by default (the fields of the submit form that shape the output). */
export interface JobRenderOptions {
  /** `response_format` given at submit (json when none): the default of GET .../result. */
  responseFormat: "json" | "text" | "srt" | "verbose_json" | "vtt" | "diarized_json" | "rttm";
  timestampGranularities: TimestampGranularity[];
  includeLogprobs: boolean;
  includeLanguages: boolean;
}

/** What the API submits: everything about a job but its id, state and audio. Plain JSON (stored as such). */
export interface NewJob {
  owner: string;
  task: JobTask;
  /** The model id as the client requested it (a served name or alias). */
  model: string;
  /** The uploaded file's name, as the client gave it (never used as a path). */
  filename: string | null;
  /** OpenAI metadata: at most 16 keys of at most 64 characters, values of at most 512. */
  metadata: Record<string, string> | null;
  webhookUrl: string | null;
  /** The transcription settings as parsed from the form; always with `chunking` set (jobs are VAD-chunked). */
  settings: TranscriptionSettings;
  render: JobRenderOptions;
  /** Length of the decoded audio, seconds. */
  audioSeconds: number;
  /** Speakers told apart by voice (`diarized_json` or `rttm` at submit); absent: a plain transcription. */
  speakers?: JobSpeakers | undefined;
}

/** What a job that tells speakers apart was asked for. */
export interface JobSpeakers {
  /** `known_speaker_names[]`. */
  names: string[];
  /** `known_speaker_references[]`: the data URLs as sent (checked at submit: decodable, 2 to 10 s). */
  references: string[];
  /** `num_speakers`, `min_speakers`, `max_speakers`. */
  count?: SpeakerCount | undefined;
}

/** A job's stored result: the transcription and, for a job with speakers, its speakers' segments and turns. */
export interface JobResult extends TranscriptionResult {
  speakers?: SpeakerTranscript | undefined;
}

export interface JobProgress {
  audioSecondsDone: number;
  audioSecondsTotal: number;
}

/** A job as stored. */
export interface JobRecord extends NewJob {
  /** "job_" + 24 lowercase hex characters (see newJobId). */
  id: string;
  status: JobStatus;
  /** Unix ms. */
  createdAt: number;
  startedAt: number | null;
  completedAt: number | null;
  progress: JobProgress;
  error: JobError | null;
  /** Times the job was claimed by a worker (a restart mid-run makes it 2). */
  attempts: number;
}

export interface JobListQuery {
  /** The id of a job of this owner: list the ones created before it. */
  after?: string | undefined;
  /** 1..100. */
  limit: number;
  status?: JobStatus | undefined;
}

export interface JobPage {
  jobs: JobRecord[];
  hasMore: boolean;
}

/** The decoded audio of a new job: a FLAC file (16 kHz mono) the backend takes over. */
export interface JobAudioFile {
  path: string;
  bytes: number;
}

/** What the worker side hands a processor. */
export interface ClaimedJob {
  record: JobRecord;
  /** A local FLAC file (16 kHz mono) of the job's audio, valid until the processor settles. */
  audioPath: string;
  /** Aborts with JobCancelledError (the job was cancelled) or JobInterruptedError (the worker is stopping). */
  signal: AbortSignal;
  /** Audio seconds transcribed so far, of `total`. */
  progress(done: number, total: number): void;
}

export type JobOutcome =
  | { status: "succeeded"; result: JobResult }
  | { status: "failed"; error: JobError }
  | { status: "interrupted" }
  | { status: "cancelled" };

export type JobProcessor = (job: ClaimedJob) => Promise<JobOutcome>;

export interface JobWorkerOptions {
  /** Jobs processed at once by this worker. */
  concurrency: number;
}

export interface JobWorker {
  /** Stops claiming, interrupts running jobs (left queued to run again), resolves once their processors settled. */
  stop(): Promise<void>;
}

/** A place in the queue for one job of `owner`, taken before its upload is read (see "Places" above). */
export interface JobPlace {
  readonly owner: string;
  /**
   * Room for the job's FLAC, `bytes` in all so far (asked again with larger totals as the audio is decoded); throws
   * a 429 (the stored-audio budget) or 507 (the disk) ApiError when there is none.
   */
  reserveAudio(bytes: number): void;
  /** Gives the place (and the room it holds) back; idempotent, and nothing once `submit` took it. */
  release(): Promise<void>;
}

/** The bounds of unfinished jobs (queued, running and places held). */
export interface JobQueueBounds {
  /** All owners together. */
  maxQueued: number;
  /** One owner (API key); not checked when it is not below maxQueued (one owner: the server's bound is its share). */
  maxQueuedPerOwner: number;
}

export interface JobBackend {
  readonly kind: "sqlite" | "redis";

  // ---- API side ----
  /** A place for one job of `owner` before its upload is read; throws a 429 ApiError when a bound is reached. */
  reserve(owner: string): Promise<JobPlace>;
  /**
   * Stores a new queued job with its audio, in the place `reserve` gave; both are taken over in every outcome (the
   * place becomes the job, or is given back). Without a place, the bounds are checked here.
   */
  submit(job: NewJob, audio: JobAudioFile, place?: JobPlace): Promise<JobRecord>;
  get(owner: string, id: string): Promise<JobRecord | undefined>;
  list(owner: string, query: JobListQuery): Promise<JobPage>;
  /** Undefined when there is no such job (of this owner); else the job after the cancel (idempotent). */
  cancel(owner: string, id: string): Promise<JobRecord | undefined>;
  /** The stored result of a succeeded job; undefined when there is none (unknown, other owner, not succeeded). */
  result(owner: string, id: string): Promise<TranscriptionResult | undefined>;
  /** Jobs queued and running now, all owners together (the API refuses new jobs past a bound; /metrics). */
  counts(): Promise<{ queued: number; running: number }>;

  // ---- worker side ----
  startWorker(processor: JobProcessor, options: JobWorkerOptions): JobWorker;

  // ---- both ----
  /** Called once per job that reaches succeeded, failed or cancelled, in the process that made the change. */
  onSettled(listener: (job: JobRecord) => void): void;
  /** Deletes the jobs (and their results and audio) that finished before `before` (Unix ms); returns how many. */
  sweepExpired(before: number): Promise<number>;
  close(): Promise<void>;
}

/** The signal reason when a job is cancelled while it runs. */
export class JobCancelledError extends Error {
  override name = "JobCancelledError";
  constructor(readonly jobId: string) {
    super(`job ${jobId} was cancelled`);
  }
}

/** The signal reason when the worker stops while the job runs (it goes back to the queue). */
export class JobInterruptedError extends Error {
  override name = "JobInterruptedError";
  constructor(readonly jobId: string) {
    super(`job ${jobId} was interrupted: the worker is stopping`);
  }
}

/** `list` was given an `after` that is no job of this owner. */
export class UnknownCursorError extends Error {
  override name = "UnknownCursorError";
  constructor(readonly after: string) {
    super(`No job '${after}' to list after.`);
  }
}

/** "job_" + 24 lowercase hex characters (96 random bits). */
export const JOB_ID = /^job_[0-9a-f]{24}$/;

export function newJobId(): string {
  return `job_${randomBytes(12).toString("hex")}`;
}
