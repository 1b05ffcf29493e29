// How `earshot jobs` words what it prints: a job's details, the table of a list, and a failed call in one line.
import { jobPercent } from "./jobFollower.js";
import { type Job, ServerError, ServerUnreachableError } from "./jobsApi.js";

/** Why a call failed, in one line: the server's own message (with its status and code), or why there was no answer. */
export function describeFailure(error: unknown): string {
  if (error instanceof ServerError) {
    const { code } = error.error;
    const hint = error.status === 401 ? " (pass the key with --api-key or EARSHOT_API_KEY)" : "";
    return `${error.message}${hint} [HTTP ${error.status}${code ? ` ${code}` : ""}]`;
  }
  if (error instanceof ServerUnreachableError) {
    return `${error.message}${error.refused ? "; is `earshot serve` running there?" : ""} (--url or EARSHOT_URL names the server)`;
  }
  if ((error as NodeJS.ErrnoException).code === "ENOENT") return `no such file: ${(error as NodeJS.ErrnoException).path ?? ""}`;
  return error instanceof Error ? error.message : String(error);
}

const time = (unixSeconds: number | null) => (unixSeconds === null ? "-" : new Date(unixSeconds * 1000).toISOString().replace(".000Z", "Z"));

function progressText(job: Job): string {
  const { audio_seconds_done: done, audio_seconds_total: total } = job.progress;
  const shownDone = job.status === "succeeded" ? total : done;
  return `${shownDone.toFixed(1)} of ${total.toFixed(1)} s of audio (${jobPercent(job)}%)`;
}

/** The lines of `jobs list`: a header and one row per job, in aligned columns. */
export function jobTable(jobs: readonly Job[]): string[] {
  const rows = jobs.map((job) => [job.id, job.status, `${jobPercent(job)}%`, `${job.progress.audio_seconds_total.toFixed(1)} s`, time(job.created_at), job.filename ?? "-"]);
  const header = ["ID", "STATUS", "DONE", "AUDIO", "CREATED", "FILE"];
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  return [header, ...rows].map((row) => row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]! + 2))).join(""));
}

/** The lines of `jobs get` for one job: its id, then its details indented. */
export function describeJob(job: Job): string[] {
  const rows: Array<[string, string]> = [
    ["status", job.status],
    ["file", job.filename ?? "-"],
    ["task", `${job.task} (model ${job.model})`],
    ["progress", progressText(job)],
    ["created", time(job.created_at)],
    ["started", time(job.started_at)],
    ["completed", time(job.completed_at)],
  ];
  if (job.metadata && Object.keys(job.metadata).length > 0) rows.push(["metadata", Object.entries(job.metadata).map(([k, v]) => `${k}=${v}`).join(", ")]);
  if (job.webhook_url) rows.push(["webhook", job.webhook_url]);
  if (job.error) rows.push(["error", `${job.error.message}${job.error.code ? ` [${job.error.code}]` : ""}`]);
  return [job.id, ...rows.map(([key, value]) => `  ${key.padEnd(10)}${value}`)];
}
