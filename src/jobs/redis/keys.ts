// Where the Redis backend keeps what: every key under one prefix (default "earshot"). BullMQ's own keys are under
// `<prefix>:bull:<queue>:*`. The Lua scripts (scripts.ts) build the same names from the prefix.
//
//   <p>:job:<id>                 hash: the job record (fields in records.ts)
//   <p>:job:<id>:audio           string: the job's FLAC audio, until the job finishes
//   <p>:job:<id>:result          string: the transcription result of a succeeded job (resultCodec: gzipped JSON)
//   <p>:owner:<owner>:all        sorted set: the owner's job ids by submission sequence
//   <p>:owner:<owner>:status:<s> sorted set: the owner's jobs in status s, by submission sequence
//   <p>:queued, <p>:running      sorted sets: every queued / running job, by submission sequence (counts, and
//                                finding a queued job whose BullMQ job went missing)
//   <p>:finished                 sorted set: finished jobs by completion time (Unix ms), for the retention sweep
//   <p>:seq                      counter: submission sequence
//   <p>:audio-bytes              counter: bytes of audio held by unfinished jobs
//   <p>:places                   sorted set: places held by uploads in flight (ids), by expiry (Unix ms)
//   <p>:owner:<owner>:places     sorted set: the owner's places, by expiry (the key expires with its last place)
//   <p>:cancel                   pub/sub channel: ids of running jobs just cancelled
//   <p>:webhook-secret           the generated webhook key shared by every process (when none is configured)

export const DEFAULT_REDIS_PREFIX = "earshot";

/** BullMQ queue name of the jobs. */
export const QUEUE_NAME = "jobs";

export class RedisKeys {
  constructor(readonly prefix: string = DEFAULT_REDIS_PREFIX) {}

  job(id: string): string {
    return `${this.prefix}:job:${id}`;
  }
  audio(id: string): string {
    return `${this.prefix}:job:${id}:audio`;
  }
  result(id: string): string {
    return `${this.prefix}:job:${id}:result`;
  }
  ownerAll(owner: string): string {
    return `${this.prefix}:owner:${owner}:all`;
  }
  ownerStatus(owner: string, status: string): string {
    return `${this.prefix}:owner:${owner}:status:${status}`;
  }
  get queued(): string {
    return `${this.prefix}:queued`;
  }
  get running(): string {
    return `${this.prefix}:running`;
  }
  get finished(): string {
    return `${this.prefix}:finished`;
  }
  get places(): string {
    return `${this.prefix}:places`;
  }
  ownerPlaces(owner: string): string {
    return `${this.prefix}:owner:${owner}:places`;
  }
  get audioBytes(): string {
    return `${this.prefix}:audio-bytes`;
  }
  get cancelChannel(): string {
    return `${this.prefix}:cancel`;
  }
  get webhookSecret(): string {
    return `${this.prefix}:webhook-secret`;
  }
  /** BullMQ's key prefix (its keys are `<this>:<queue>:...`). */
  get bullPrefix(): string {
    return `${this.prefix}:bull`;
  }
}
