// POST /v1/audio/transcriptions and POST /v1/audio/translations: OpenAI's form (api/transcriptionForm.ts) over the
// upload pipeline (upload/audioUpload.ts): a json/text/srt/vtt/verbose_json answer, an SSE stream (`stream=true`,
// which can start while the upload still comes in), or diarized_json by channel.
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from "fastify";

import { fieldsAfterFile } from "../../api/errors.js";
import { parseTranscriptionRequest, type AudioTask } from "../../api/transcriptionForm.js";
import { renderDiarizedJson, renderRttm, renderTranscription, type SpeakerTurn } from "../../formats/index.js";
import { dataUrlBytes } from "../../api/transcriptionForm.js";
import type { ChannelsTranscription } from "../../transcription/channelTranscription.js";
import { MAX_SPEAKER_CHANNELS } from "../../transcription/channelTranscription.js";
import { SseResponse } from "../sse.js";
import { requireMultipart, separatedChannels, transcriptionFor, type UploadDecode, withAudioForm, type UploadDeps } from "../upload/audioUpload.js";

function handleAudio(context: UploadDeps, kind: AudioTask, request: FastifyRequest, reply: FastifyReply): Promise<void> {
  let sse: SseResponse | undefined;
  return withAudioForm(
    context,
    request,
    reply,
    (fields) => parseTranscriptionRequest(kind, fields),
    async (params, upload, signal) => {
      if (params.responseFormat === "diarized_json") {
        // Deltas of a mono transcription already went out: they cannot become speakers' segments.
        if (sse) throw fieldsAfterFile();
        upload.early?.run.cancel();
        upload.sink.discard();
        const channels = await separatedChannels(upload, signal);
        const references = await context.transcription.referenceClips(params.knownSpeakerReferences.map(dataUrlBytes), signal);
        // The events start with the first segment: a refusal before it (one channel, busy) is a plain HTTP error.
        const events = () => (sse ??= new SseResponse(reply, false));
        const transcription = await context.transcription.transcribeChannels(channels, params.settings, {
          signal,
          speakerNames: params.knownSpeakerNames,
          references,
          count: params.speakerCount,
          ...(params.stream ? { onSegment: (segment: SpeakerTurn, index: number) => events().speakerSegment(segment, index) } : {}),
        });
        if (params.stream) events().diarizedDone(transcription);
        else if (params.rttm) await reply.type("text/plain; charset=utf-8").send(renderRttm("audio", speakerTurnsOf(transcription)));
        else await reply.type("application/json").send(JSON.stringify(renderDiarizedJson(transcription.duration, transcription.segments)));
        return;
      }
      const transcription = await transcriptionFor(context, params.settings, upload, signal);
      const finish = () => transcription.run.finish(upload.audio.samples);
      if (sse) {
        // The events went out while the upload came in: only the work they came from can end them.
        if (!params.stream || transcription !== upload.early) {
          // The run would hold its model until it ended: end it now.
          transcription.run.cancel();
          throw fieldsAfterFile();
        }
        sse.done(await finish());
        return;
      }
      if (params.stream) {
        sse = new SseResponse(reply, params.includeLogprobs, params.settings.languages !== undefined);
        upload.sink.attach(sse.delta);
        sse.done(await finish());
        return;
      }
      upload.sink.discard();
      const result = await finish();
      const rendered = renderTranscription(params.responseFormat, result, {
        includeLogprobs: params.includeLogprobs,
        timestampGranularities: params.timestampGranularities,
        includeLanguages: params.settings.languages !== undefined,
      });
      await reply.type(rendered.contentType).send(rendered.body);
    },
    // Streaming asked for before the file: the events start while the upload is still coming in.
    (early, sink) => {
      if (!early.stream || sse) return;
      sse = new SseResponse(reply, early.includeLogprobs, early.settings.languages !== undefined);
      sink.attach(sse.delta);
    },
    (early, fieldsBeforeFile): UploadDecode => {
      if (kind !== "transcriptions") return {};
      if (early?.responseFormat === "diarized_json") return { channels: "separate", maxChannels: MAX_SPEAKER_CHANNELS };
      // The format may come after the file (the official SDK sends the file first): a multi-channel input is kept
      // (on disk) for a decode of its channels, should the fields after the file ask for diarized_json.
      return fieldsBeforeFile.has("response_format") ? {} : { keepInput: true };
    },
  ).catch((error: unknown) => {
    if (!sse) throw error;
    sse.fail(error, reply);
  });
}

/** RTTM's turns: the speaker models' own (by voice), else each channel's segments (by channel). */
function speakerTurnsOf(transcription: ChannelsTranscription): Array<{ start: number; end: number; speaker: string }> {
  return transcription.spans ?? transcription.segments.map(({ start, end, speaker }) => ({ start, end, speaker }));
}

export const transcriptionRoutes: FastifyPluginAsync<UploadDeps> = async (app, context) => {
  const upload = { onRequest: requireMultipart };
  app.post("/v1/audio/transcriptions", upload, (request, reply) => handleAudio(context, "transcriptions", request, reply));
  app.post("/v1/audio/translations", upload, (request, reply) => handleAudio(context, "translations", request, reply));
};
