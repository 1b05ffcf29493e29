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

/** A model still loading when the request's wait for it ran out (the load goes on). */
export class ModelLoadingError extends Error {
  override readonly name = "ModelLoadingError";

  constructor(
    readonly model: string,
    readonly waitedSeconds: number,
    /** When the load will likely be done. */
    readonly retryAfterSeconds: number,
  ) {
    super(`The model '${model}' is still loading after ${waitedSeconds} s; retry after ${retryAfterSeconds} s.`);
  }
}

/** A load that would exceed the models' memory budget while every model that could give way is in use. */
export class ModelMemoryError extends Error {
  override readonly name = "ModelMemoryError";

  constructor(
    readonly model: string,
    readonly neededBytes: number,
    /** What the models in use hold (they cannot be unloaded now). */
    readonly heldBytes: number,
    readonly budgetBytes: number,
    readonly retryAfterSeconds: number,
  ) {
    const mb = (bytes: number) => Math.round(bytes / 1_048_576);
    super(
      `The model '${model}' (about ${mb(neededBytes)} MB) does not fit in the models' memory budget (${mb(budgetBytes)} MB) beside the models in use now (${mb(heldBytes)} MB); retry after ${retryAfterSeconds} s.`,
    );
  }
}

/**
 * A catalog model this server does not serve: a request never makes the server download (or load) a model the
 * operator did not configure. `installed`: the file is in the models directory, only not served.
 */
export class ModelNotInstalledError extends Error {
  override readonly name = "ModelNotInstalledError";

  constructor(
    readonly model: string,
    readonly installed: boolean,
  ) {
    super(
      installed
        ? `The model '${model}' is installed but not served by this server; an operator serves it by adding it to EARSHOT_EXTRA_MODELS.`
        : `The model '${model}' is not installed on this server, and requests do not download models. An operator installs it with \`earshot models pull ${model}\` and serves it (EARSHOT_EXTRA_MODELS).`,
    );
  }
}
