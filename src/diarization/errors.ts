// Errors of the speaker models. Each has a stable `code` that upper layers map to API errors.

export class DiarizationError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** A speaker model file that is missing, is no ONNX model, or has inputs/outputs other than the pipeline's. */
export class SpeakerModelError extends DiarizationError {
  constructor(
    message: string,
    readonly modelPath: string,
  ) {
    super(message, "speaker_model_invalid");
  }
}

/** The speaker models' queue is full: the request is refused before any work (a 503 with Retry-After). */
export class DiarizationOverloadedError extends DiarizationError {
  constructor(readonly retryAfterSeconds: number) {
    super("the speaker models are busy: try again shortly", "diarization_overloaded");
  }
}

export class DiarizationAbortedError extends DiarizationError {
  constructor() {
    super("the diarization was aborted", "aborted");
  }
}

/** The inference thread failed (or died): the run cannot go on. */
export class DiarizationFailedError extends DiarizationError {
  constructor(message: string) {
    super(message, "diarization_failed");
  }
}
