// The messages between the event loop and the speaker models' inference thread (worker/inferenceThread.ts).
import type { FrameGrid } from "../speakerPieces.js";

export interface ModelPaths {
  /** pyannote-style segmentation: `x` [N, 1, window] → `y` [N, frames, powerset classes] (log-probabilities). */
  segmentation: string;
  /** WeSpeaker / 3D-Speaker-style embedding: `feats` [N, T, 80] (Kaldi fbank, CMN) → `embs` [N, dim]. */
  embedding: string;
}

export interface ThreadInit {
  paths: ModelPaths;
  /** onnxruntime's intra-op threads for each model. */
  threads: number;
}

/** What the loaded models are. */
export interface LoadedModels {
  grid: FrameGrid;
  embeddingDim: number;
  /** The segmentation's and the embedding's metadata_props, as the files carry them. */
  segmentationMetadata: Record<string, string>;
  embeddingMetadata: Record<string, string>;
}

export type ThreadRequest =
  | { id: number; kind: "segment"; /** `windows` × window samples, 16 kHz. */ samples: Float32Array; windows: number }
  | { id: number; kind: "embed"; /** 16 kHz mono in [-1, 1]. */ samples: Float32Array };

export type ThreadReply =
  | { id: number; kind: "segment"; /** [window][frame][local speaker]: 1 where that local speaker speaks. */ active: Uint8Array }
  | { id: number; kind: "embed"; /** Unit length. */ embedding: Float32Array }
  | { id: number; kind: "error"; message: string };

export type ThreadHello = { kind: "ready"; models: LoadedModels } | { kind: "failed"; message: string; path: string };
