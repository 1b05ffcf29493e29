// Cancellation of a decode: the caller's signal, the timeout and input stream errors all funnel into one internal
// signal, whose reason is the error decodeAudio rejects with.

import { AudioDecodeAbortedError, AudioDecodeError } from "../errors.js";

export interface Cancellation {
  signal: AbortSignal;
  fail(reason: unknown): void;
  throwIfFailed(): void;
  dispose(): void;
}

export function createCancellation(external: AbortSignal | undefined, timeoutMs: number): Cancellation {
  const controller = new AbortController();
  const fail = (reason: unknown) => {
    if (!controller.signal.aborted) controller.abort(reason);
  };
  const onExternalAbort = () => fail(new AudioDecodeAbortedError(external?.reason));
  if (external?.aborted) onExternalAbort();
  else external?.addEventListener("abort", onExternalAbort, { once: true });
  const timer =
    timeoutMs > 0 && Number.isFinite(timeoutMs)
      ? setTimeout(() => fail(new AudioDecodeError("timeout", `Decoding did not finish within ${timeoutMs} ms`)), timeoutMs)
      : undefined;
  return {
    signal: controller.signal,
    fail,
    throwIfFailed: () => {
      if (controller.signal.aborted) throw controller.signal.reason;
    },
    dispose: () => {
      clearTimeout(timer);
      external?.removeEventListener("abort", onExternalAbort);
    },
  };
}
