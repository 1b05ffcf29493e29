// Following batch jobs until they finish: polls GET /v1/audio/jobs/{id} for each unfinished job and shows
// their progress (audio seconds done of total): progress bars on a terminal, plain lines otherwise. A server
// that goes away for a while (a restart: jobs survive it; or 502/503/504 from it or a proxy before it) is waited
// for, up to a grace period.
import cliProgress from "cli-progress";

import { isFinished, type Job, type JobsApi, ServerError, ServerUnreachableError } from "./jobsApi.js";

/** Where the follower writes; `isTTY` decides between progress bars and plain lines. */
export interface FollowOutput {
  write(text: string): unknown;
  isTTY?: boolean;
}

/** Shows jobs as they change. */
export interface JobView {
  update(job: Job): void;
  /** A line that is not about one job (e.g. the server is unreachable). */
  note(text: string): void;
  stop(): void;
}

export interface FollowOptions {
  view: JobView;
  signal?: AbortSignal;
  /** Give up (JobWaitTimeoutError) when the jobs have not all finished after this long, in ms. */
  timeoutMs: number;
  /** Keep polling through an unreachable server for this long (a restart), in ms; default 60 s. */
  unreachableGraceMs?: number;
  /** First and longest pause between polls, in ms; default 250 and 2000 (the pause grows in between). */
  firstPollMs?: number;
  maxPollMs?: number;
}

export class JobWaitTimeoutError extends Error {
  override name = "JobWaitTimeoutError";
}

/** A job's label in the views: its file name when it has one, its id otherwise. */
export function jobLabel(job: Job): string {
  return job.filename ? `${job.id} ${job.filename}` : job.id;
}

/** `40%` from the job's progress (100% once it succeeded; 0% while nothing is known). */
export function jobPercent(job: Job): number {
  if (job.status === "succeeded") return 100;
  const { audio_seconds_done: done, audio_seconds_total: total } = job.progress;
  return total > 0 ? Math.min(100, Math.floor((100 * done) / total)) : 0;
}

/** Polls until every job has finished; returns their last state, in the order given. */
export async function followJobs(api: JobsApi, jobs: Job[], options: FollowOptions): Promise<Job[]> {
  const latest = new Map(jobs.map((job) => [job.id, job]));
  const deadline = Date.now() + options.timeoutMs;
  const grace = options.unreachableGraceMs ?? 60_000;
  let pause = options.firstPollMs ?? 250;
  const maxPause = options.maxPollMs ?? 2_000;
  let unreachableSince: number | undefined;
  for (const job of jobs) options.view.update(job);
  try {
    for (;;) {
      const open = [...latest.values()].filter((job) => !isFinished(job.status));
      if (open.length === 0) return jobs.map((job) => latest.get(job.id)!);
      if (Date.now() >= deadline) {
        throw new JobWaitTimeoutError(`${open.length} job(s) still ${describeOpen(open)} after ${Math.round(options.timeoutMs / 1000)} s of waiting; they go on on the server`);
      }
      await sleep(Math.min(pause, Math.max(0, deadline - Date.now())), options.signal);
      pause = Math.min(maxPause, Math.round(pause * 1.5));
      try {
        for (const job of open) {
          const now = await api.get(job.id, options.signal);
          latest.set(now.id, now);
          options.view.update(now);
        }
        if (unreachableSince !== undefined) options.view.note(`the server at ${api.baseUrl} answers again`);
        unreachableSince = undefined;
      } catch (error) {
        if (!(error instanceof ServerUnreachableError) && !(error instanceof ServerError && [502, 503, 504].includes(error.status))) throw error;
        if (unreachableSince === undefined) {
          unreachableSince = Date.now();
          options.view.note(`${error.message}; retrying for up to ${Math.round(grace / 1000)} s`);
        } else if (Date.now() - unreachableSince > grace) {
          throw error;
        }
        pause = maxPause;
      }
    }
  } finally {
    options.view.stop();
  }
}

function describeOpen(open: Job[]): string {
  const queued = open.filter((job) => job.status === "queued").length;
  const running = open.length - queued;
  return [running ? `${running} running` : "", queued ? `${queued} queued` : ""].filter(Boolean).join(", ");
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

const seconds = (value: number) => value.toFixed(1);

/** The view for `out`: progress bars on a terminal (unless `bars` is false), lines otherwise. */
export function jobView(out: FollowOutput, jobCount: number, bars: boolean): JobView {
  if (!bars || out.isTTY !== true) return lineView(out);
  return jobCount <= MAX_BARS ? barsView(out) : totalBarView(out, jobCount);
}

/** Above this many jobs one bar shows them all (a bar each would not fit a terminal). */
const MAX_BARS = 8;

function barOptions(out: FollowOutput, format: string): cliProgress.Options {
  return { stream: out as unknown as NodeJS.WritableStream, format, hideCursor: true, clearOnComplete: false, autopadding: true, barsize: 24 };
}

/** A bar's label: the file name (shortened), else the id (the ids were printed as the jobs were submitted). */
function barLabel(job: Job): string {
  const name = job.filename ?? job.id;
  return name.length > 32 ? `${name.slice(0, 14)}…${name.slice(-17)}` : name;
}

/** A bar per job: `speech.wav [███░░░] 40% | running | 24.0/60.0 s`. */
function barsView(out: FollowOutput): JobView {
  const multi = new cliProgress.MultiBar(barOptions(out, "{label} [{bar}] {percentage}% | {status} | {done}/{total_s} s"), cliProgress.Presets.shades_classic);
  const bars = new Map<string, cliProgress.SingleBar>();
  return {
    update(job) {
      const payload = { label: barLabel(job), status: job.status, done: seconds(job.progress.audio_seconds_done), total_s: seconds(job.progress.audio_seconds_total) };
      let bar = bars.get(job.id);
      if (!bar) {
        bar = multi.create(100, 0, payload);
        bars.set(job.id, bar);
      }
      bar.update(jobPercent(job), payload);
    },
    note(text) {
      multi.log(`${text}\n`);
    },
    stop() {
      multi.stop();
    },
  };
}

/** One bar for many jobs: audio seconds done of all of them, and how many are in each state. */
function totalBarView(out: FollowOutput, jobCount: number): JobView {
  const bar = new cliProgress.SingleBar(barOptions(out, `${jobCount} jobs [{bar}] {percentage}% | {counts} | {done}/{total_s} s of audio`), cliProgress.Presets.shades_classic);
  const jobs = new Map<string, Job>();
  let started = false;
  return {
    update(job) {
      jobs.set(job.id, job);
      let done = 0;
      let total = 0;
      const counts = new Map<string, number>();
      for (const each of jobs.values()) {
        total += each.progress.audio_seconds_total;
        done += each.status === "succeeded" ? each.progress.audio_seconds_total : each.progress.audio_seconds_done;
        counts.set(each.status, (counts.get(each.status) ?? 0) + 1);
      }
      const payload = { counts: [...counts].map(([status, n]) => `${n} ${status}`).join(", "), done: seconds(done), total_s: seconds(total) };
      const percent = total > 0 ? Math.min(100, Math.floor((100 * done) / total)) : 0;
      if (!started) {
        started = true;
        bar.start(100, percent, payload);
      } else {
        bar.update(percent, payload);
      }
    },
    note(text) {
      out.write(`\n${text}\n`);
    },
    stop() {
      if (started) bar.stop();
    },
  };
}

/** Plain lines: one when a job changes status, one each time it passes a quarter of its audio. */
function lineView(out: FollowOutput): JobView {
  const shown = new Map<string, { status: string; quarter: number }>();
  return {
    update(job) {
      const before = shown.get(job.id);
      const quarter = Math.floor(jobPercent(job) / 25);
      if (before?.status === job.status && (job.status !== "running" || quarter <= before.quarter)) return;
      shown.set(job.id, { status: job.status, quarter });
      const audio = `${seconds(job.progress.audio_seconds_done)} of ${seconds(job.progress.audio_seconds_total)} s of audio`;
      const detail =
        job.status === "running"
          ? `${jobPercent(job)}% (${audio})`
          : job.status === "succeeded"
            ? `${seconds(job.progress.audio_seconds_total)} s of audio${job.started_at !== null && job.completed_at !== null ? ` in ${job.completed_at - job.started_at} s` : ""}`
            : "";
      const reason = job.status === "failed" && job.error ? `: ${job.error.message}` : "";
      out.write(`${jobLabel(job)}: ${job.status}${detail ? ` ${detail}` : ""}${reason}\n`);
    },
    note(text) {
      out.write(`${text}\n`);
    },
    stop() {},
  };
}
