// `earshot jobs submit|list|get|result|cancel`: batch jobs on a running server, over HTTP (src/cli/jobsApi.ts).
// The server is --url, else EARSHOT_URL, else the one this machine's settings would start (src/config.ts);
// the key is --api-key, else EARSHOT_API_KEY, else OPENAI_API_KEY. Server errors are printed as the server
// worded them, with a non-zero exit code; what it prints is worded in src/cli/jobText.ts.
import fs from "node:fs/promises";
import path from "node:path";

import { type Command, InvalidArgumentError, Option } from "commander";

import { CLIENT_SETTINGS, ConfigError, loadClientConfig, readDotenv } from "../../config.js";
import { audioResponseFormats, type AudioResponseFormat } from "../../formats/index.js";
import { followJobs, jobView, JobWaitTimeoutError, type FollowOutput } from "../jobFollower.js";
import { isFinished, type Job, type JobFields, JOB_STATUSES, JobsApi, type JobStatus, ServerError, ServerUnreachableError } from "../jobsApi.js";
import { describeFailure, describeJob, jobTable } from "../jobText.js";
import { settingOption } from "../settingOptions.js";

/** The command's surroundings, replaceable in tests. */
export interface JobsCommandIO {
  stdout: FollowOutput;
  stderr: FollowOutput;
  /** The environment the settings are read from. */
  env: NodeJS.ProcessEnv;
  /** Where `.env` is read from. */
  cwd: string;
}

interface ConnectionOptions {
  url?: string;
  apiKey?: string;
  timeout: number;
}
interface SubmitOptions extends ConnectionOptions {
  model: string;
  language?: string;
  prompt?: string;
  task?: "transcribe" | "translate";
  responseFormat?: AudioResponseFormat;
  webhookUrl?: string;
  metadata?: Record<string, string>;
  uploadTimeout: number;
  wait?: boolean;
  waitTimeout: number;
  output?: string;
  progress: boolean;
}
interface ListOptions extends ConnectionOptions {
  status?: JobStatus;
  limit?: number;
  after?: string;
  json?: boolean;
}
interface GetOptions extends ConnectionOptions {
  follow?: boolean;
  waitTimeout: number;
  json?: boolean;
  progress: boolean;
}
interface ResultOptions extends ConnectionOptions {
  format: AudioResponseFormat;
  output?: string;
}

/** Exit code of a follow interrupted by Ctrl-C (the jobs go on on the server). */
const INTERRUPTED = 130;

const fileExtensions: Record<AudioResponseFormat, string> = { json: "json", verbose_json: "verbose.json", text: "txt", srt: "srt", vtt: "vtt" };

function positiveNumber(max: number, integer = false) {
  return (raw: string): number => {
    const value = Number(raw);
    if (!Number.isFinite(value) || value <= 0 || value > max || (integer && !Number.isInteger(value))) {
      throw new InvalidArgumentError(`expected ${integer ? "an integer" : "a number"} above 0, at most ${max}`);
    }
    return value;
  };
}

/** `--metadata key=value`, repeatable, into one object. */
function collectMetadata(raw: string, previous: Record<string, string> | undefined): Record<string, string> {
  const at = raw.indexOf("=");
  if (at <= 0) throw new InvalidArgumentError(`expected key=value, got "${raw}"`);
  return { ...previous, [raw.slice(0, at)]: raw.slice(at + 1) };
}

function line(out: FollowOutput, text = ""): void {
  out.write(`${text}\n`);
}

class Context {
  constructor(readonly io: JobsCommandIO) {}

  api(options: ConnectionOptions, uploadTimeoutSeconds = options.timeout): JobsApi {
    const client = loadClientConfig({ url: options.url, apiKey: options.apiKey }, this.io.env, readDotenv(this.io.cwd));
    return new JobsApi({ url: client.url, apiKey: client.apiKey, timeoutMs: options.timeout * 1000, uploadTimeoutMs: uploadTimeoutSeconds * 1000 });
  }

  fail(error: unknown, subject?: string): void {
    line(this.io.stderr, `earshot: ${subject ? `${subject}: ` : ""}${describeFailure(error)}`);
    if (!process.exitCode) process.exitCode = 1;
  }

  /** Runs an action; an error becomes one line on stderr and exit code 1 (2 for a bad setting), never a stack trace. */
  async guarded(action: () => Promise<void>): Promise<void> {
    try {
      await action();
    } catch (error) {
      this.fail(error);
      if (error instanceof ConfigError) process.exitCode = 2;
    }
  }
}

/** An AbortSignal fired by Ctrl-C (and SIGTERM) until `release` is called. */
function interruptible(): { signal: AbortSignal; release(): void } {
  const controller = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => controller.abort(new InterruptedError(signal));
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  return {
    signal: controller.signal,
    release() {
      process.removeListener("SIGINT", onSignal);
      process.removeListener("SIGTERM", onSignal);
    },
  };
}

class InterruptedError extends Error {
  override name = "InterruptedError";
  constructor(signal: string) {
    super(`interrupted by ${signal}`);
  }
}

// ---- submit -----------------------------------------------------------------------------------

async function submitJobs(ctx: Context, files: string[], options: SubmitOptions): Promise<void> {
  const api = ctx.api(options, options.uploadTimeout);
  const fields: JobFields = {
    model: options.model,
    ...(options.task ? { task: options.task } : {}),
    ...(options.language ? { language: options.language } : {}),
    ...(options.prompt ? { prompt: options.prompt } : {}),
    ...(options.responseFormat ? { responseFormat: options.responseFormat } : {}),
    ...(options.webhookUrl ? { webhookUrl: options.webhookUrl } : {}),
    ...(options.metadata ? { metadata: options.metadata } : {}),
  };
  const interrupt = interruptible();
  const submitted: Array<{ file: string; job: Job }> = [];
  try {
    for (const file of files) {
      try {
        await fs.access(file);
        const job = await api.submit(file, fields, interrupt.signal);
        submitted.push({ file, job });
        line(ctx.io.stderr, `${file}: submitted as ${job.id} (${job.status}, ${job.progress.audio_seconds_total.toFixed(1)} s of audio)`);
        if (!options.wait) line(ctx.io.stdout, job.id);
      } catch (error) {
        if (interrupt.signal.aborted) {
          line(ctx.io.stderr, `earshot: interrupted while submitting ${file}${submitted.length > 0 ? `; ${submitted.length} job(s) submitted go on on the server` : ""}`);
          process.exitCode = INTERRUPTED;
          return;
        }
        ctx.fail(error, file);
        // An unreachable server or a refused key will refuse the next files too.
        if (error instanceof ServerUnreachableError || (error instanceof ServerError && (error.status === 401 || error.status === 403))) return;
      }
    }
    if (!options.wait || submitted.length === 0) return;

    let finished: Job[];
    try {
      finished = await followJobs(
        api,
        submitted.map((each) => each.job),
        { view: jobView(ctx.io.stderr, submitted.length, options.progress), signal: interrupt.signal, timeoutMs: options.waitTimeout * 1000 },
      );
    } catch (error) {
      reportFollowFailure(ctx, error, submitted.map((each) => each.job.id));
      return;
    }
    const format = options.responseFormat ?? "text";
    if (options.output) await fs.mkdir(options.output, { recursive: true });
    for (const [index, job] of finished.entries()) {
      const file = submitted[index]!.file;
      if (job.status !== "succeeded") {
        ctx.fail(new Error(job.status === "failed" ? `job ${job.id} failed: ${job.error?.message ?? "no reason given"}` : `job ${job.id} was cancelled`), file);
        continue;
      }
      try {
        const body = await api.result(job.id, format, interrupt.signal);
        await emitResult(ctx, file, body, format, options.output, finished.length);
      } catch (error) {
        ctx.fail(error, file);
      }
    }
  } finally {
    interrupt.release();
  }
}

function reportFollowFailure(ctx: Context, error: unknown, ids: string[]): void {
  const follow = `follow them with: earshot jobs get --follow ${ids.length === 1 ? ids[0] : "ID"}`;
  if (error instanceof InterruptedError) {
    line(ctx.io.stderr, `earshot: stopped following (${error.message}); the jobs go on on the server: ${follow}`);
    process.exitCode = INTERRUPTED;
  } else if (error instanceof JobWaitTimeoutError) {
    ctx.fail(new Error(`${error.message}: ${follow}`));
  } else {
    ctx.fail(error);
  }
}

async function emitResult(ctx: Context, file: string, body: string, format: AudioResponseFormat, dir: string | undefined, count: number): Promise<void> {
  const text = body.endsWith("\n") ? body : `${body}\n`;
  if (dir) {
    const target = path.join(dir, `${path.basename(file, path.extname(file))}.${fileExtensions[format]}`);
    await fs.writeFile(target, text);
    line(ctx.io.stderr, `wrote ${target}`);
    return;
  }
  if (count > 1 && format !== "json" && format !== "verbose_json") line(ctx.io.stdout, `==> ${file} <==`);
  ctx.io.stdout.write(text);
}

// ---- list, get --------------------------------------------------------------------------------

async function listJobs(ctx: Context, options: ListOptions): Promise<void> {
  const page = await ctx.api(options).list({
    ...(options.status ? { status: options.status } : {}),
    ...(options.limit !== undefined ? { limit: options.limit } : {}),
    ...(options.after ? { after: options.after } : {}),
  });
  if (options.json) {
    line(ctx.io.stdout, JSON.stringify(page, null, 2));
    return;
  }
  if (page.data.length === 0) {
    line(ctx.io.stderr, options.status ? `no ${options.status} jobs` : "no jobs");
    return;
  }
  for (const row of jobTable(page.data)) line(ctx.io.stdout, row);
  if (page.has_more) line(ctx.io.stderr, `more: earshot jobs list --after ${page.last_id}${options.status ? ` --status ${options.status}` : ""}`);
}

async function getJobs(ctx: Context, ids: string[], options: GetOptions): Promise<void> {
  const api = ctx.api(options);
  const jobs: Job[] = [];
  for (const id of ids) {
    try {
      jobs.push(await api.get(id));
    } catch (error) {
      ctx.fail(error, id);
    }
  }
  if (jobs.length === 0) return;
  let shown = jobs;
  if (options.follow && jobs.some((job) => !isFinished(job.status))) {
    const interrupt = interruptible();
    try {
      shown = await followJobs(api, jobs, { view: jobView(ctx.io.stderr, jobs.length, options.progress), signal: interrupt.signal, timeoutMs: options.waitTimeout * 1000 });
    } catch (error) {
      reportFollowFailure(ctx, error, jobs.map((job) => job.id));
      return;
    } finally {
      interrupt.release();
    }
  }
  if (options.json) line(ctx.io.stdout, JSON.stringify(ids.length === 1 ? shown[0] ?? null : shown, null, 2));
  else for (const job of shown) line(ctx.io.stdout, describeJob(job).join("\n"));
  // Followed to the end: the exit code says how it ended.
  if (options.follow && shown.some((job) => job.status !== "succeeded") && !process.exitCode) process.exitCode = 1;
}

// ---- result, cancel ---------------------------------------------------------------------------

async function jobResult(ctx: Context, id: string, options: ResultOptions): Promise<void> {
  const body = await ctx.api(options).result(id, options.format);
  const text = body.endsWith("\n") ? body : `${body}\n`;
  if (options.output) {
    await fs.writeFile(options.output, text);
    line(ctx.io.stderr, `wrote ${options.output}`);
  } else {
    ctx.io.stdout.write(text);
  }
}

async function cancelJobs(ctx: Context, ids: string[], options: ConnectionOptions): Promise<void> {
  const api = ctx.api(options);
  for (const id of ids) {
    try {
      const job = await api.cancel(id);
      line(ctx.io.stdout, job.status === "cancelled" ? `${job.id}: cancelled` : `${job.id}: already ${job.status}, nothing to cancel`);
    } catch (error) {
      ctx.fail(error, id);
    }
  }
}

// ---- registration -----------------------------------------------------------------------------

function withConnection(command: Command): Command {
  return command
    .addOption(settingOption("url", CLIENT_SETTINGS))
    .addOption(settingOption("apiKey", CLIENT_SETTINGS))
    .option("--timeout <seconds>", "deadline of each API request", positiveNumber(86_400), 30);
}

/**
 * Adds `jobs submit|list|get|result|cancel` to `program`. Failures print one `earshot: ...` line to stderr
 * and set `process.exitCode` (1; 2 for a bad setting; 130 when following is interrupted).
 * @param io where to write, which environment to read and where `.env` is; defaults to the process's.
 */
export function registerJobsCommand(program: Command, io: Partial<JobsCommandIO> = {}): void {
  const ctx = new Context({ stdout: io.stdout ?? process.stdout, stderr: io.stderr ?? process.stderr, env: io.env ?? process.env, cwd: io.cwd ?? process.cwd() });
  const jobs = program.command("jobs").description("batch transcription jobs on a running server: submit files, follow them, fetch results");
  const waitTimeout = ["--wait-timeout <seconds>", "stop following after this long (the jobs go on)", positiveNumber(30 * 86_400), 86_400] as const;

  withConnection(
    jobs
      .command("submit")
      .description("upload audio files as jobs (streamed from disk: hours of audio are fine); prints each job id")
      .argument("<files...>", "audio or video files"),
  )
    .option("-m, --model <id>", "model id as the server knows it (see GET /v1/models)", "whisper-1")
    .option("-l, --language <code>", "spoken language (ISO-639-1 code or name); default: detect")
    .option("--prompt <text>", "text to guide style and spelling")
    .addOption(new Option("--task <task>", "transcribe, or translate to English").choices(["transcribe", "translate"]))
    .addOption(new Option("--response-format <format>", "format of the result printed by --wait (default text; any format can be fetched later)").choices(audioResponseFormats))
    .option("--webhook-url <url>", "the server POSTs a signed event there when the job finishes")
    .option("--metadata <key=value>", "a key/value kept with the job (repeatable)", collectMetadata)
    .option("--upload-timeout <seconds>", "deadline of each upload, sent and checked by the server", positiveNumber(86_400), 3_600)
    .option("-w, --wait", "follow the jobs to the end, then print their results")
    .option(...waitTimeout)
    .option("-o, --output <dir>", "with --wait: write <name>.<ext> files into this directory instead of printing")
    .option("--no-progress", "with --wait: no progress bars (plain lines are printed when stderr is not a terminal)")
    .action(async (files: string[], options: SubmitOptions) => ctx.guarded(() => submitJobs(ctx, files, options)));

  withConnection(jobs.command("list").alias("ls").description("your jobs, newest first"))
    .addOption(new Option("--status <status>", "only jobs in this state").choices(JOB_STATUSES))
    .option("--limit <n>", "at most this many (1-100, server default 20)", positiveNumber(100, true))
    .option("--after <id>", "the page after this job id (see the `more:` line)")
    .option("--json", "print the server's list object")
    .action(async (options: ListOptions) => ctx.guarded(() => listJobs(ctx, options)));

  withConnection(jobs.command("get").description("status and progress of jobs").argument("<ids...>", "job ids"))
    .option("--follow", "follow the jobs to the end with a progress bar; exit code 1 unless all succeed")
    .option(...waitTimeout)
    .option("--json", "print the server's job objects")
    .option("--no-progress", "with --follow: no progress bars")
    .action(async (ids: string[], options: GetOptions) => ctx.guarded(() => getJobs(ctx, ids, options)));

  withConnection(jobs.command("result").description("a finished job's transcript, in any format").argument("<id>", "job id"))
    .addOption(new Option("-f, --format <format>", "output format").choices(audioResponseFormats).default("text"))
    .option("-o, --output <file>", "write it to this file instead of printing")
    .action(async (id: string, options: ResultOptions) => ctx.guarded(() => jobResult(ctx, id, options)));

  withConnection(jobs.command("cancel").description("cancel queued or running jobs (finished ones are left as they are)").argument("<ids...>", "job ids"))
    .action(async (ids: string[], options: ConnectionOptions) => ctx.guarded(() => cancelJobs(ctx, ids, options)));
}
