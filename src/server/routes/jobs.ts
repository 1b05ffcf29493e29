// Batch transcription jobs (an Earshot extension in OpenAI's conventions):
//   POST   /v1/audio/jobs              multipart, the fields of /v1/audio/transcriptions + task, webhook_url,
//                                      metadata[key]; the upload is decoded and validated before the answer (202)
//   GET    /v1/audio/jobs              list, newest first (after, limit, status)
//   GET    /v1/audio/jobs/{id}         the job
//   GET    /v1/audio/jobs/{id}/result  the stored transcription in any of the five formats (no re-run); a job with
//                                      speakers also as diarized_json and rttm, its srt/vtt cues as `A: text`
//   DELETE /v1/audio/jobs/{id}         cancel (idempotent)
// A job is visible only to the API key that created it: another key's job is answered 404 like an unknown one.
import { rm } from "node:fs/promises";

import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from "fastify";

import { isAudioResponseFormat, isSpeakerFormat, renderSpeakers, renderTranscription, type AudioResponseFormat } from "../../formats/index.js";
import { dataUrlBytes } from "../../api/transcriptionForm.js";
import { singleSpeakerChannelError } from "../../transcription/channelTranscription.js";
import type { EncodedJobAudio } from "../../jobs/jobAudio.js";
import { jobListObject, jobObject } from "../../jobs/jobObject.js";
import { parseJobRequest } from "../../jobs/jobRequest.js";
import type { JobsRuntime } from "../../jobs/jobsRuntime.js";
import { validateWebhookTarget } from "../../jobs/webhookTarget.js";
import { isJobStatus, JOB_STATUSES, UnknownCursorError, type JobPlace, type JobResult } from "../../jobs/types.js";
import { ApiError, clientClosedRequest, invalidUploadContentType, jobHasNoResult, jobNotFound, shuttingDown } from "../../api/errors.js";
import { receiveUpload } from "../receiveUpload.js";
import type { ServerContext } from "../serverContext.js";

function limitParam(value: unknown): number {
  if (value === undefined || value === "") return 20;
  const limit = Number(value);
  if (!Number.isInteger(limit) || limit < 1 || limit > 100) {
    throw ApiError.invalidParam("limit", `Invalid value for 'limit': expected an integer between 1 and 100, got '${String(value)}'.`);
  }
  return limit;
}

type Query = Record<string, string | undefined>;
type IdParams = { id: string };

async function submitJob(context: JobDeps, jobs: JobsRuntime, request: FastifyRequest, reply: FastifyReply): Promise<void> {
  if (context.admission.draining) throw shuttingDown();
  const release = jobs.admitUpload();
  reply.raw.once("close", release);
  const gone = new AbortController();
  reply.raw.on("close", () => {
    if (!reply.raw.writableFinished) gone.abort(new Error("client closed the request"));
  });
  const stop = new AbortController();
  let filename = "";
  let file: Promise<EncodedJobAudio> | undefined;
  let place: JobPlace | undefined;
  try {
    // A place in the queue (all keys, and this key) before a byte of the body is read, so uploads at once cannot
    // overshoot the bounds: given back below when the upload fails, taken over by the job at submit.
    place = await jobs.reserve(request.caller);
    const held = place;
    // No room for the audio at rest (429, 507) is answered at once, not once the rest of the upload has arrived.
    let refuseRoom: (error: ApiError) => void = () => undefined;
    const noRoom = new Promise<never>((_, reject) => (refuseRoom = reject));
    noRoom.catch(() => undefined);
    const receiving = receiveUpload(request.raw, {
      maxFileBytes: jobs.limits.maxUploadBytes,
      signal: gone.signal,
      idleTimeoutMs: context.uploadIdleTimeoutMs,
      totalTimeoutMs: jobs.limits.uploadTimeoutMs,
      consumeFile: (stream, fileSignal, _fieldsBeforeFile, name) => {
        filename = name;
        const encoding = jobs.encode(stream, AbortSignal.any([fileSignal, gone.signal, stop.signal]), held);
        encoding.catch((error: unknown) => {
          if (error instanceof ApiError && (error.status === 429 || error.status === 507)) refuseRoom(error);
        });
        return encoding;
      },
    });
    receiving.catch(() => undefined);
    const upload = await Promise.race([receiving, noRoom]);
    file = upload.file;
    file?.catch(() => undefined);
    if (!file) throw ApiError.missingParam("file");
    const parsed = parseJobRequest(upload.fields, jobs.webhookAllowlist);
    // Its host must be (or resolve to) an address webhooks may reach: 400 otherwise (see webhookTarget.ts).
    await validateWebhookTarget(parsed.webhookUrl, jobs.webhookTargets);
    // An unknown model is refused now, not when the job runs.
    context.transcription.servedFor(parsed.settings);
    if (parsed.speakers) {
      // Speakers by voice need the speaker models; the reference clips are checked now (decodable, 2 to 10 s).
      if (!context.transcription.voices.available) throw singleSpeakerChannelError("mono");
      await context.transcription.referenceClips(parsed.speakers.references.map(dataUrlBytes), gone.signal);
    }
    const encoded = await file;
    file = undefined; // handed to the backend, which takes the file over
    request.log.info({ model: parsed.settings.model, seconds: Number(encoded.decoded.duration.toFixed(2)), format: encoded.decoded.format }, "job audio decoded");
    const record = await jobs.backend.submit(
      {
        owner: request.caller,
        task: parsed.task,
        model: parsed.settings.model,
        filename: filename === "" ? null : filename,
        metadata: parsed.metadata,
        webhookUrl: parsed.webhookUrl,
        settings: parsed.settings,
        render: parsed.render,
        ...(parsed.speakers ? { speakers: parsed.speakers } : {}),
        audioSeconds: encoded.decoded.duration,
      },
      encoded.audio,
      place,
    );
    request.log.info({ job: record.id, audioSeconds: record.audioSeconds }, "job queued");
    await reply.code(202).send(jobObject(record));
  } catch (error) {
    stop.abort();
    // The decode stops (its FLAC file is removed); one that finished before the form was refused: its file goes.
    await file?.then(
      (encoded) => rm(encoded.audio.path, { force: true }),
      () => undefined,
    );
    await place?.release();
    if (gone.signal.aborted) throw clientClosedRequest();
    throw error;
  }
}

/** The jobs runtime, or a 503 while there is none (the server is starting or stopping). */
function runtime(context: JobDeps): JobsRuntime {
  const jobs = context.jobs?.();
  if (!jobs) throw ApiError.notReady("Batch jobs are not available right now; retry shortly.");
  return jobs;
}

/** What the jobs door needs of the server. */
type JobDeps = Pick<ServerContext, "jobs" | "admission" | "uploadIdleTimeoutMs" | "transcription">;

export const jobRoutes: FastifyPluginAsync<JobDeps> = async (app, context) => {
  app.post(
    "/v1/audio/jobs",
    {
      onRequest: async (request) => {
        if (!/^multipart\/form-data\b/i.test(request.headers["content-type"] ?? "")) throw invalidUploadContentType(request.headers["content-type"]);
      },
    },
    (request, reply) => submitJob(context, runtime(context), request, reply),
  );

  app.get<{ Querystring: Query }>("/v1/audio/jobs", async (request) => {
    const jobs = runtime(context);
    const { after, status } = request.query;
    const limit = limitParam(request.query.limit);
    if (status !== undefined && !isJobStatus(status)) {
      throw ApiError.invalidParam("status", `Invalid value for 'status': '${status}'. Supported values are: ${JOB_STATUSES.map((s) => `'${s}'`).join(", ")}.`);
    }
    try {
      const page = await jobs.backend.list(request.caller, { after: after || undefined, limit, status });
      return jobListObject(page.jobs, page.hasMore);
    } catch (error) {
      if (error instanceof UnknownCursorError) throw ApiError.invalidParam("after", error.message);
      throw error;
    }
  });

  app.get<{ Params: IdParams }>("/v1/audio/jobs/:id", async (request) => {
    const jobs = runtime(context);
    const job = await jobs.backend.get(request.caller, request.params.id);
    if (!job) throw jobNotFound(request.params.id);
    return jobObject(job);
  });

  app.get<{ Params: IdParams; Querystring: Query }>("/v1/audio/jobs/:id/result", async (request, reply) => {
    const jobs = runtime(context);
    const owner = request.caller;
    const job = await jobs.backend.get(owner, request.params.id);
    if (!job) throw jobNotFound(request.params.id);
    const format = request.query.response_format || job.render.responseFormat;
    const speakerJob = job.speakers !== undefined;
    if (!isAudioResponseFormat(format) && !(speakerJob && isSpeakerFormat(format))) {
      const supported = speakerJob ? "'json', 'text', 'srt', 'verbose_json', 'vtt', 'diarized_json' and 'rttm'" : "'json', 'text', 'srt', 'verbose_json', and 'vtt'";
      throw ApiError.invalidParam("response_format", `Invalid value for 'response_format': '${format}'. Supported values are: ${supported}.`);
    }
    if (job.status !== "succeeded") throw jobHasNoResult(job);
    const result = (await jobs.backend.result(owner, job.id)) as JobResult | undefined;
    // Deleted between the two reads (retention): as gone as an unknown job.
    if (!result) throw jobNotFound(job.id);
    const rendered =
      result.speakers && isSpeakerFormat(format)
        ? renderSpeakers(format, result.speakers, job.id)
        : renderTranscription(format as AudioResponseFormat, result, {
            includeLogprobs: job.render.includeLogprobs && format === "json",
            timestampGranularities: job.render.timestampGranularities,
            includeLanguages: job.render.includeLanguages,
          });
    return reply.type(rendered.contentType).send(rendered.body);
  });

  app.delete<{ Params: IdParams }>("/v1/audio/jobs/:id", async (request) => {
    const jobs = runtime(context);
    const job = await jobs.backend.cancel(request.caller, request.params.id);
    if (!job) throw jobNotFound(request.params.id);
    return jobObject(job);
  });
};
