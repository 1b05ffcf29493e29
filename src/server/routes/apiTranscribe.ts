// POST /api/transcribe: the simple browser pattern, multipart `file` (+ optional model, language, prompt) →
// {"transcript": "..."}, over the same upload pipeline as OpenAI's routes.
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from "fastify";

import type { FormFields } from "../../api/transcriptionForm.js";
import { languageSetting, promptSetting, type TranscriptionSettings } from "../../transcription/settings.js";
import { requireMultipart, transcriptionFor, withAudioForm, type UploadDeps } from "../upload/audioUpload.js";

/** The simple browser pattern: multipart `file` (+ optional model, language, prompt) → {"transcript": "..."}. */
function simpleSettings(context: UploadDeps, fields: FormFields): { settings: TranscriptionSettings } {
  const language = languageSetting(fields.get("language")?.[0]);
  // The same bound as every other door's prompt (transcription/fieldLimits.ts).
  const prompt = promptSetting(fields.get("prompt")?.[0]);
  return { settings: { model: fields.get("model")?.[0] ?? context.transcription.models.defaultModel.name, task: "transcribe", language, prompt } };
}

function handleSimpleUpload(context: UploadDeps, request: FastifyRequest, reply: FastifyReply): Promise<void> {
  return withAudioForm(
    context,
    request,
    reply,
    (fields) => simpleSettings(context, fields),
    async ({ settings }, upload, signal) => {
      const transcription = await transcriptionFor(context, settings, upload, signal);
      upload.sink.discard();
      const result = await transcription.run.finish(upload.audio.samples);
      await reply.send({ transcript: result.text });
    },
  );
}

export const apiTranscribeRoute: FastifyPluginAsync<UploadDeps> = async (app, context) => {
  app.post("/api/transcribe", { onRequest: requireMultipart }, (request, reply) => handleSimpleUpload(context, request, reply));
};
