// The job as the API shows it (OpenAI conventions: snake_case, Unix seconds, `object: "audio.job"`).
import type { JobError, JobRecord, JobStatus, JobTask } from "./types.js";

export interface JobObject {
  id: string;
  object: "audio.job";
  status: JobStatus;
  task: JobTask;
  model: string;
  filename: string | null;
  created_at: number;
  started_at: number | null;
  completed_at: number | null;
  progress: { audio_seconds_done: number; audio_seconds_total: number };
  metadata: Record<string, string> | null;
  webhook_url: string | null;
  error: JobError | null;
}

export interface JobListObject {
  object: "list";
  data: JobObject[];
  first_id: string | null;
  last_id: string | null;
  has_more: boolean;
}

const seconds = (ms: number | null) => (ms === null ? null : Math.floor(ms / 1000));

export function jobObject(record: JobRecord): JobObject {
  return {
    id: record.id,
    object: "audio.job",
    status: record.status,
    task: record.task,
    model: record.model,
    filename: record.filename,
    created_at: Math.floor(record.createdAt / 1000),
    started_at: seconds(record.startedAt),
    completed_at: seconds(record.completedAt),
    progress: { audio_seconds_done: record.progress.audioSecondsDone, audio_seconds_total: record.progress.audioSecondsTotal },
    metadata: record.metadata,
    webhook_url: record.webhookUrl,
    error: record.error,
  };
}

export function jobListObject(jobs: readonly JobRecord[], hasMore: boolean): JobListObject {
  const data = jobs.map(jobObject);
  return { object: "list", data, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null, has_more: hasMore };
}
