// Typed errors for the model catalog, the local model store and model downloads. Each carries a
// stable `code`; messages are one line, written for the person at the terminal, and say what to do.

/**
 * Why a model operation failed.
 * - `unknown_model`: the name is not in the catalog (and is not an existing file).
 * - `model_not_found`: a known name that is not installed, or a path that does not exist.
 * - `download_failed`: the HTTP request failed, was refused, stalled or was cut short.
 * - `checksum_mismatch`: the downloaded bytes do not hash to the expected value.
 * - `checksum_unknown`: the catalog knows no SHA-256 for the model and none was given, so nothing was downloaded.
 * - `quantize_failed`: `earshot models quantize` refused its arguments, or parakeet-quantize failed.
 */
export type ModelErrorCode = "unknown_model" | "model_not_found" | "download_failed" | "checksum_mismatch" | "checksum_unknown" | "quantize_failed";

/** Base class of every error this module throws (except aborts, which are `AbortError`s). */
export class ModelError extends Error {
  /** Stable error code, see {@link ModelErrorCode}. */
  readonly code: ModelErrorCode;

  constructor(code: ModelErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
  }
}

/**
 * The sentence every failure ends with: how to get the model without `earshot models pull`.
 * @param fileName e.g. `ggml-base.bin`
 * @param modelsDir the directory `resolveModel` looks in
 */
export function localFileHint(fileName: string, modelsDir: string): string {
  return `Download it yourself and pass --model /path/to/${fileName}, or place it in ${modelsDir}.`;
}

/** `resolveModel` found nothing: a known model that is not installed, or a missing file. */
export class ModelNotFoundError extends ModelError {
  constructor(
    readonly nameOrPath: string,
    readonly modelsDir: string,
    message: string,
    code: "model_not_found" | "unknown_model" = "model_not_found",
  ) {
    super(code, message);
  }
}

/**
 * A name that is neither in the catalog nor a path to an existing file (nor installed by hand as
 * `ggml-<name>.bin`). A {@link ModelNotFoundError}, so one `catch` covers every resolve failure.
 */
export class UnknownModelError extends ModelNotFoundError {
  /**
   * @param alternative the sentence after the known names: what else the argument may be (default: a ggml file's
   *   path, or a `ggml-<name>.bin` in the models directory).
   */
  constructor(modelName: string, modelsDir: string, knownNames: readonly string[], alternative?: string) {
    super(
      modelName,
      modelsDir,
      `Unknown model "${modelName}". Known models: ${knownNames.join(", ")}. ` +
        (alternative ?? `A path to a local ggml .bin file works too, as does a ggml-<name>.bin file placed in ${modelsDir}.`),
      "unknown_model",
    );
  }
}

/** A download failed. `url` is the last URL tried (after redirects, the one that failed). */
export class ModelDownloadError extends ModelError {
  /** HTTP status of the failing response, when there was one. */
  readonly status: number | undefined;
  /** True when a `.partial` file was kept and the next pull resumes from it. */
  readonly resumable: boolean;

  constructor(
    readonly modelName: string,
    readonly url: string,
    message: string,
    options?: { status?: number; resumable?: boolean; cause?: unknown; code?: ModelErrorCode },
  ) {
    super(options?.code ?? "download_failed", message, { cause: options?.cause });
    this.status = options?.status;
    this.resumable = options?.resumable ?? false;
  }
}

/** Where an expected hash came from, for the error message and the pull report. */
export type ChecksumSource = "server" | "catalog" | "option";

/** The downloaded file did not hash to the expected SHA-256. The download has been deleted. */
export class ChecksumMismatchError extends ModelDownloadError {
  constructor(
    modelName: string,
    url: string,
    readonly expected: string,
    readonly actual: string,
    readonly source: ChecksumSource,
    hint: string,
  ) {
    super(
      modelName,
      url,
      `Checksum mismatch for "${modelName}" downloaded from ${url}: expected sha256 ${expected} ` +
        `(${describeChecksumSource(source)}) but got ${actual}. The corrupt download was deleted; run the same pull again to retry. ${hint}`,
      { code: "checksum_mismatch" },
    );
  }
}

/** Human words for a {@link ChecksumSource}. */
export function describeChecksumSource(source: ChecksumSource): string {
  switch (source) {
    case "server":
      return "from the server's X-Linked-ETag/ETag header";
    case "catalog":
      return "from earshot's built-in table";
    case "option":
      return "given with --sha256";
  }
}

/** An `Error` named `AbortError`, as `fetch` and `stream.pipeline` throw on abort. */
export class ModelDownloadAbortedError extends Error {
  override readonly name = "AbortError";
  readonly code = "aborted" as const;

  constructor(
    readonly modelName: string,
    reason?: unknown,
  ) {
    super(
      `The download of "${modelName}" was aborted; the partial file is kept and the next pull resumes it`,
      reason === undefined ? undefined : { cause: reason },
    );
  }
}
