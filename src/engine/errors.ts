// Errors the engine throws. Each has a stable `code` that upper layers map to API errors.

export class EngineError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export class AddonNotBuiltError extends EngineError {
  constructor(readonly addonPath: string) {
    super(`the native addon is not built (${addonPath} is missing): run "npm run build:native" (needs CMake and a C++ compiler)`, "addon_not_built");
  }
}

export class ModelLoadError extends EngineError {
  constructor(
    message: string,
    readonly modelPath: string,
  ) {
    super(message, "model_load_failed");
  }
}

export class TranscriptionAbortedError extends EngineError {
  constructor(message = "the transcription was aborted") {
    super(message, "aborted");
  }
}

export class TranscriptionFailedError extends EngineError {
  constructor(message: string) {
    super(message, "transcription_failed");
  }
}

export class UnsupportedLanguageError extends EngineError {
  constructor(readonly language: string) {
    super(`unsupported language: "${language}"`, "unsupported_language");
  }
}

/** The job queue is full; retry after `retryAfterSeconds`. */
export class EngineOverloadedError extends EngineError {
  constructor(readonly retryAfterSeconds: number) {
    super("the server is busy: too many transcriptions are running or queued", "overloaded");
  }
}

export class EngineClosedError extends EngineError {
  constructor() {
    super("the engine has been closed", "engine_closed");
  }
}

/**
 * The model cannot do what an option asks (a Parakeet model asked to translate, or for a prompt). `option` is the
 * TranscriptionOptions field; the transcription layer names the request field instead (engineFields.ts).
 */
export class UnsupportedOptionError extends EngineError {
  constructor(
    readonly option: string,
    message: string,
  ) {
    super(message, "unsupported_option");
  }
}
