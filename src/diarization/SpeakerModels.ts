// The speaker models (segmentation and embedding), loaded once in their own inference thread and shared by every
// diarization. Requests queue in the order they come; the queue is bounded (a run that would pass it waits, see
// `idle`), and a request whose run was aborted is dropped before it reaches the thread.
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";

import { DiarizationAbortedError, DiarizationFailedError, SpeakerModelError } from "./errors.js";
import type { LoadedModels, ModelPaths, ThreadHello, ThreadInit, ThreadReply, ThreadRequest } from "./worker/protocol.js";

export interface SpeakerModelsOptions {
  /** onnxruntime's threads for each model (default 2). */
  threads?: number | undefined;
}

type Pending = { resolve: (reply: ThreadReply) => void; reject: (error: Error) => void };

/**
 * The inference thread: the compiled .js beside this module, or (sources run by tsx or vitest, a development setup)
 * the .ts source loaded through tsx's loader registered in the thread first.
 */
function startThread(init: ThreadInit): Worker {
  if (fileURLToPath(import.meta.url).endsWith(".js")) return new Worker(new URL("./worker/inferenceThread.js", import.meta.url), { workerData: init });
  const tsx = import.meta.resolve("tsx/esm/api");
  const source = new URL("./worker/inferenceThread.ts", import.meta.url).href;
  const code = `import(${JSON.stringify(tsx)}).then((api) => { api.register(); return import(${JSON.stringify(source)}); }).catch((error) => { throw error; });`;
  return new Worker(code, { eval: true, workerData: init });
}

export class SpeakerModels {
  private nextId = 0;
  private readonly pending = new Map<number, Pending>();
  private failure: Error | undefined;
  private closed = false;

  private constructor(
    private readonly worker: Worker,
    readonly info: LoadedModels,
    readonly paths: ModelPaths,
  ) {
    worker.on("message", (reply: ThreadReply) => {
      const waiting = this.pending.get(reply.id);
      if (!waiting) return;
      this.pending.delete(reply.id);
      if (reply.kind === "error") waiting.reject(new DiarizationFailedError(reply.message));
      else waiting.resolve(reply);
    });
    const fail = (error: Error) => {
      this.failure ??= new DiarizationFailedError(`the speaker models' thread stopped: ${error.message}`);
      for (const waiting of this.pending.values()) waiting.reject(this.failure);
      this.pending.clear();
    };
    worker.on("error", fail);
    worker.on("exit", (code) => {
      if (!this.closed) fail(new Error(`exit code ${code}`));
    });
  }

  /** Loads both models in a new inference thread; a file that is missing or is not such a model: SpeakerModelError. */
  static async load(paths: ModelPaths, options: SpeakerModelsOptions = {}): Promise<SpeakerModels> {
    for (const path of [paths.segmentation, paths.embedding]) {
      if (!existsSync(path)) throw new SpeakerModelError(`${path}: no such file`, path);
    }
    const worker = startThread({ paths, threads: options.threads ?? 2 });
    const hello = await new Promise<ThreadHello>((resolve, reject) => {
      worker.once("message", resolve);
      worker.once("error", reject);
      // A thread that ends before it says anything (killed, out of memory) must not leave the load waiting.
      worker.once("exit", (code) => reject(new Error(`it exited with code ${code} before loading the models`)));
    }).catch(async (error: unknown) => {
      await worker.terminate();
      throw new SpeakerModelError(`the speaker models' thread failed to start: ${(error as Error).message}`, paths.segmentation);
    });
    if (hello.kind === "failed") {
      await worker.terminate();
      throw new SpeakerModelError(hello.message, hello.path || paths.segmentation);
    }
    return new SpeakerModels(worker, hello.models, paths);
  }

  /** Requests sent and not answered yet. */
  get queued(): number {
    return this.pending.size;
  }

  /** Who speaks in each of `windows` windows laid end to end in `samples`: [window][frame][local speaker]. */
  async segment(samples: Float32Array, windows: number, signal?: AbortSignal): Promise<Uint8Array> {
    const reply = await this.request({ id: 0, kind: "segment", samples, windows }, signal);
    return (reply as Extract<ThreadReply, { kind: "segment" }>).active;
  }

  /** The unit embedding of one speaker's speech. */
  async embed(samples: Float32Array, signal?: AbortSignal): Promise<Float32Array> {
    const reply = await this.request({ id: 0, kind: "embed", samples }, signal);
    return (reply as Extract<ThreadReply, { kind: "embed" }>).embedding;
  }

  private request(request: ThreadRequest, signal: AbortSignal | undefined): Promise<ThreadReply> {
    if (signal?.aborted) return Promise.reject(new DiarizationAbortedError());
    if (this.failure) return Promise.reject(this.failure);
    if (this.closed) return Promise.reject(new DiarizationFailedError("the speaker models are closed"));
    const id = ++this.nextId;
    return new Promise<ThreadReply>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      // The samples are the caller's copy: handed over to the thread, not copied again.
      this.worker.postMessage({ ...request, id }, [request.samples.buffer as ArrayBuffer]);
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const waiting of this.pending.values()) waiting.reject(new DiarizationFailedError("the speaker models were closed"));
    this.pending.clear();
    await this.worker.terminate();
  }
}
