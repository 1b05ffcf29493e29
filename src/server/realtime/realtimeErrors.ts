// A client event the session refuses: it becomes an `error` event and the session stays open.
import { modelNotFoundMessage } from "../../transcription/apiErrors.js";

export class RealtimeProtocolError extends Error {
  override readonly name = "RealtimeProtocolError";

  constructor(
    message: string,
    readonly code: string,
    readonly param: string | null = null,
    readonly type: "invalid_request_error" | "server_error" = "invalid_request_error",
  ) {
    super(message);
  }

  static modelNotFound(model: string, param: string): RealtimeProtocolError {
    return new RealtimeProtocolError(modelNotFoundMessage(model), "model_not_found", param);
  }

  static invalidValue(param: string, message: string, code = "invalid_value"): RealtimeProtocolError {
    return new RealtimeProtocolError(message, code, param);
  }
}
