// A new job into Redis: its FLAC file is stored under the job's audio key (audioTransfer.ts, with an expiry), then one
// Lua script (scripts.ts) checks the room (the queue bounds, the stored-audio budget), records the job, makes its
// audio permanent and takes its place, and the job is added to BullMQ's queue. A job's audio is at most
// maxJobAudioBytes (413 beyond: Redis's strings stop at 512 MB), all unfinished jobs' together at most
// maxStoredAudioBytes (429 beyond), since Redis holds it all in memory.
import { rm } from "node:fs/promises";

import type { Queue } from "bullmq";
import type { Redis } from "ioredis";

import { redisJobAudioTooLarge } from "../../api/errors.js";
import { newJobId, type JobAudioFile, type JobPlace, type JobQueueBounds, type JobRecord, type NewJob } from "../types.js";
import { AudioTooLargeError, uploadAudio } from "./audioTransfer.js";
import { jobsUnavailable } from "./connections.js";
import type { RedisKeys } from "./keys.js";
import { throwRoomRefusal, type RedisPlaces, type ScriptReply } from "./places.js";
import { hashFromReply, recordFromHash, specJson } from "./records.js";
import { scripts } from "./scripts.js";

/** How long the audio of a submission that never completed stays in Redis. */
const PENDING_AUDIO_SECONDS = 3600;

export interface AudioBounds extends JobQueueBounds {
  /** Largest FLAC audio of one job (413 beyond). */
  maxJobAudioBytes: number;
  /** FLAC audio of all unfinished jobs together (429 beyond). */
  maxStoredAudioBytes: number;
}

/** What a submit works with: the backend's API side. */
export interface SubmitContext {
  api: Redis;
  keys: RedisKeys;
  queue: Queue;
  places: RedisPlaces;
  bounds: AudioBounds;
  /** Runs an API-side operation (RedisApiCalls.call: 503 when Redis is away). */
  call<T>(operation: () => Promise<T>): Promise<T>;
}

/** JobBackend.submit on Redis: takes the file over in every outcome (../types.ts). */
export async function submitJob(context: SubmitContext, job: NewJob, audio: JobAudioFile, place?: JobPlace): Promise<JobRecord> {
  const { api, keys, queue, places, bounds } = context;
  const id = newJobId();
  const placeId = places.idOf(place);
  if (placeId === undefined) {
    // The file is taken over in every outcome (../types.ts), this one included.
    await rm(audio.path, { force: true });
    throw new Error("RedisJobBackend: submit was given a place this backend did not give (or one already used)");
  }
  let reply: [string, unknown] | undefined;
  try {
    if (audio.bytes > bounds.maxJobAudioBytes) throw redisJobAudioTooLarge(audio.bytes, bounds.maxJobAudioBytes);
    reply = (await context.call(async () => {
      await uploadAudio(api, keys.audio(id), audio.path, bounds.maxJobAudioBytes, PENDING_AUDIO_SECONDS);
      const { maxStoredAudioBytes, maxQueued, maxQueuedPerOwner } = bounds;
      return scripts.submit.run(api, [keys.prefix, id, job.owner, specJson(job), Date.now(), job.audioSeconds, maxStoredAudioBytes, placeId, maxQueued, maxQueuedPerOwner, Date.now()]);
    })) as [string, unknown];
  } catch (error) {
    // (The file grew past its announced size: refused on what was read.)
    throw error instanceof AudioTooLargeError ? redisJobAudioTooLarge(error.bytes, bounds.maxJobAudioBytes) : error;
  } finally {
    // The place is taken over: the job's now, or given back (a no-op where the script already consumed it).
    if (placeId !== "" && reply?.[0] === "ok") places.forget(placeId);
    else if (placeId !== "") await places.release(placeId, job.owner);
    await rm(audio.path, { force: true });
  }
  throwRoomRefusal(reply as ScriptReply, bounds);
  if (reply[0] !== "ok") throw jobsUnavailable(new Error("the job's audio was lost before it was queued"));
  const record = recordFromHash(hashFromReply(reply[1]))!;
  try {
    await queue.add("transcribe", { id }, { jobId: id, removeOnComplete: true, removeOnFail: true });
  } catch (error) {
    // Not queued: remove the record (if Redis allows; else a worker finds the record queued with no BullMQ
    // job and queues it, see RedisJobWorker.requeueOrphans).
    await scripts.discard.run(api, [keys.prefix, id]).catch(() => {});
    throw jobsUnavailable(error);
  }
  return record;
}
