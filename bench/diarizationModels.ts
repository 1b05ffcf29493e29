// Which speaker models bench:diarization runs, and how each figure names them: a path, a catalog name in the models
// directory (src/models/speakerModelPath.ts), or `generated:<shape>` (src/models/testModel/diarization). With no
// choice, the catalog's default where it is installed, else the generated tiny one: the bench always runs, and says
// plainly which models produced each figure.
import { readOnnxMetadata } from "../src/models/onnx/onnxMetadata.js";
import type { SpeakerModelKind } from "../src/models/catalogEntry.js";
import { DEFAULT_SEGMENTATION_MODEL, DEFAULT_SPEAKER_EMBEDDING_MODEL, speakerCatalogEntry } from "../src/models/diarizationCatalog.js";
import { ModelNotFoundError } from "../src/models/errors.js";
import { modelsDir } from "../src/models/modelStore.js";
import { speakerModelPath } from "../src/models/speakerModelPath.js";
import { getSegmentationTestModelPath, getSpeakerEmbeddingTestModelPath } from "../src/models/testModel/diarization/index.js";

export interface SpeakerModelChoice {
  path: string;
  /** What it is, for the figures: real weights or generated ones, and what generated ones can and cannot do. */
  label: string;
  /** The argument that chooses it again (for the reproduce lines). */
  argument: string;
  /** False for the generated real-shaped models: their random weights cost what a real model costs, but find no speakers. */
  functional: boolean;
}

const GENERATED: Record<SpeakerModelKind, Record<string, string>> = {
  segmentation: {
    tiny: "an energy detector in pyannote segmentation-3.0's inputs and outputs, not a trained model: speech or not, one speaker a frame, no overlap",
    "pyannote-3.0": "pyannote segmentation-3.0's real shape (SincNet, 4 × BiLSTM 128) with seeded random weights: real compute, meaningless output",
  },
  "speaker-embedding": {
    tiny: "a fixed projection of pooled filterbank statistics, not a trained model",
    resnet34: "WeSpeaker ResNet34's real shape with seeded random weights: real compute, meaningless output",
  },
};

async function generated(kind: SpeakerModelKind, shape: string): Promise<SpeakerModelChoice> {
  const what = GENERATED[kind][shape];
  if (!what) throw new Error(`generated ${kind} shapes: ${Object.keys(GENERATED[kind]).join(", ")} (not "${shape}")`);
  const file = kind === "segmentation" ? await getSegmentationTestModelPath(shape as never) : await getSpeakerEmbeddingTestModelPath(shape as never);
  return { path: file, label: `generated ${shape} (${what}): ${file}`, argument: `generated:${shape}`, functional: shape === "tiny" };
}

/** The file of `kind` that `argument` names (see the header); `dir`: the models directory (default: Earshot's). */
export async function resolveSpeakerModel(kind: SpeakerModelKind, argument: string | undefined, dir?: string): Promise<SpeakerModelChoice> {
  const models = modelsDir(dir);
  if (argument?.startsWith("generated:")) return generated(kind, argument.slice("generated:".length));
  const name = argument ?? (kind === "segmentation" ? DEFAULT_SEGMENTATION_MODEL : DEFAULT_SPEAKER_EMBEDDING_MODEL);
  let file: string;
  try {
    file = speakerModelPath(models, name, kind);
  } catch (error) {
    if (argument === undefined && error instanceof ModelNotFoundError) {
      console.log(`  (${kind}: the catalog's ${name} is not in ${models}; the generated tiny model is used instead)`);
      return generated(kind, "tiny");
    }
    throw error;
  }
  const metadata = await readOnnxMetadata(file).catch(() => ({}) as Record<string, string>);
  const facts = ["model_type", "framework", "language", "url"].flatMap((key) => (metadata[key] ? [`${key}=${metadata[key]}`] : []));
  const origin = speakerCatalogEntry(name) ? `the catalog's ${name}, real weights` : "a file given";
  return { path: file, label: `${origin}: ${file}${facts.length > 0 ? ` (${facts.join(", ")})` : ""}`, argument: name, functional: true };
}
