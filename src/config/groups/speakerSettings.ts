// Settings table, group "Speakers": the speaker models that let diarized_json tell voices apart in any recording (mono
// included), and how they cluster and name. See docs/http-api.md "Speakers" and docs/models.md.
import { z } from "zod";

import type { Setting } from "../setting.js";

export const speakerSettings = {
  segmentationModel: {
    env: "EARSHOT_SEGMENTATION_MODEL",
    flag: "--segmentation-model <name|path>",
    commands: ["serve", "worker", "transcribe"],
    schema: z.string().min(1).optional(),
    doc: "the speaker segmentation model (pyannote segmentation-3.0 in ONNX): a catalog name in the models directory, or a file path",
    note:
      "With `EARSHOT_SPEAKER_EMBEDDING_MODEL`, `diarized_json` tells speakers apart by voice in any recording (mono included). " +
      "Unset: the catalog's `pyannote-segmentation-3.0` when it is in the models directory; else speakers are told apart by channel only.",
    defaultText: "`pyannote-segmentation-3.0` when pulled",
  },
  speakerEmbeddingModel: {
    env: "EARSHOT_SPEAKER_EMBEDDING_MODEL",
    flag: "--speaker-embedding-model <name|path>",
    commands: ["serve", "worker", "transcribe"],
    schema: z.string().min(1).optional(),
    doc: "the speaker embedding model (WeSpeaker / 3D-Speaker in ONNX, as sherpa-onnx exports them): a catalog name in the models directory, or a file path",
    defaultText: "the catalog's default speaker embedding model when pulled",
  },
  diarizationThreads: {
    env: "EARSHOT_DIARIZATION_THREADS",
    flag: "--diarization-threads <n>",
    commands: ["serve", "worker", "transcribe"],
    schema: z.coerce.number().int().min(1).max(256).default(2),
    doc: "onnxruntime threads of each speaker model (the models run in their own thread, off the event loop)",
  },
  diarizationThreshold: {
    env: "EARSHOT_DIARIZATION_THRESHOLD",
    flag: "--diarization-threshold <d>",
    commands: ["serve", "worker", "transcribe"],
    schema: z.coerce.number().gt(0).lt(2).default(0.5),
    doc: "cosine distance under which two groups of speaker turns are one speaker (lower: more speakers); a request's `speaker_count` overrides it",
  },
  speakerMatchThreshold: {
    env: "EARSHOT_SPEAKER_MATCH_THRESHOLD",
    flag: "--speaker-match-threshold <s>",
    commands: ["serve", "worker", "transcribe"],
    schema: z.coerce.number().gt(-1).lt(1).default(0.5),
    doc: "cosine similarity from which a `known_speaker_references[]` clip names a speaker; below it the speaker keeps its letter",
  },
  maxDiarizations: {
    env: "EARSHOT_MAX_DIARIZATIONS",
    flag: "--max-diarizations <n>",
    commands: ["serve", "worker"],
    schema: z.coerce.number().int().min(1).max(1000).default(2),
    doc: "recordings diarized by voice at once; more get 429 `diarization_overloaded` with `Retry-After` before any work",
  },
} as const satisfies Record<string, Setting>;
