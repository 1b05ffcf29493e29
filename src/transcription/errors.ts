// Errors the transcription pipeline throws, without a status: the wire layer (src/api/errors.ts) decides how each one
// is answered (a 400 naming the param, a 404 for a model, a realtime error event).

/** A setting a client gave (a form field, a session field) that the pipeline cannot take: names the param. */
export class InvalidSettingError extends Error {
  override readonly name = "InvalidSettingError";

  constructor(
    /** The setting as the client spelled it (`language`, `session.audio.input.transcription.keywords`). */
    readonly param: string,
    message: string,
    /** A stable code (`invalid_value`, `unsupported_language`, `string_above_max_length`, ...). */
    readonly code = "invalid_value",
  ) {
    super(message);
  }
}

/** A model id this server does not serve. */
export class ModelNotServedError extends Error {
  override readonly name = "ModelNotServedError";

  constructor(readonly model: string) {
    super(`The model '${model}' does not exist or you do not have access to it.`);
  }
}
