// The ONNX speaker models diarization runs on onnxruntime (src/diarization): pyannote segmentation-3.0 as sherpa-onnx
// exports it (input `x` [N, 1, 160000], output `y` [N, 589, 7]), from the Hugging Face repository
// csukuangfj/sherpa-onnx-pyannote-segmentation-3-0 (the same files as in sherpa-onnx's release archive
// sherpa-onnx-pyannote-segmentation-3-0.tar.bz2, published there one by one, so no archive has to be unpacked); and
// speaker-embedding models from sherpa-onnx's GitHub release `speaker-recongition-models` (the tag's spelling),
// single .onnx files with sherpa-onnx's metadata (framework, sample_rate, output_dim, normalize_samples, ...).
//
// Where the numbers come from (none is made up; docs/models.md says the same per file): every size and SHA-256 below
// is pinned, for the URL this catalog downloads from, by several independent public projects that verify their
// downloads against it, agreeing value for value (download scripts and app model tables in Kotlin, Rust, Python,
// C#, Swift, PowerShell and Inno Setup); the int8 segmentation file's also by projects that take it from the release
// archive, which holds the same bytes.
//
// Not in the catalog: NeMo's TitaNet exports (`nemo_en_titanet_*.onnx`), whose inputs are NeMo's own features
// (a different window, per-feature normalisation, an extra `length` input) rather than the Kaldi fbank `feats`
// [N, T, 80] the embedding step computes.
//
// Licenses: pyannote segmentation-3.0 is MIT (its model card); WeSpeaker's VoxCeleb models follow VoxCeleb's
// CC-BY-4.0 (WeSpeaker's docs/pretrained.md: credit the authors when you redistribute); 3D-Speaker's models are
// Apache-2.0 (ModelScope model card, the 3D-Speaker repository).

import type { SpeakerModelEntry, SpeakerModelKind } from "./catalogEntry.js";
import {
  SEGMENTATION_MODEL_NAMES,
  type SegmentationModelName,
  SPEAKER_EMBEDDING_MODEL_NAMES,
  type SpeakerEmbeddingModelName,
  type SpeakerModelName,
} from "./modelNames.js";

export { SEGMENTATION_MODEL_NAMES, SPEAKER_EMBEDDING_MODEL_NAMES, type SpeakerModelName } from "./modelNames.js";

/** Every speaker model `earshot models pull` knows: the segmentation models, then the embedding models. */
export const SPEAKER_MODEL_NAMES: readonly SpeakerModelName[] = [...SEGMENTATION_MODEL_NAMES, ...SPEAKER_EMBEDDING_MODEL_NAMES];

/** The segmentation model EARSHOT_SEGMENTATION_MODEL names by default. */
export const DEFAULT_SEGMENTATION_MODEL: SegmentationModelName = "pyannote-segmentation-3.0";

/**
 * The embedding model EARSHOT_SPEAKER_EMBEDDING_MODEL names by default: WeSpeaker's ResNet34-LM, the embedding
 * pyannote's own speaker-diarization-3.1 pipeline pairs with segmentation-3.0; trained on English (VoxCeleb), 26.5 MB,
 * 256 dimensions, and one of the smallest of sherpa-onnx's embedding models.
 */
export const DEFAULT_SPEAKER_EMBEDDING_MODEL: SpeakerEmbeddingModelName = "wespeaker-voxceleb-resnet34-lm";

/** Where the segmentation models download from unless a base URL is configured. */
export const SEGMENTATION_MODELS_BASE_URL = "https://huggingface.co/csukuangfj/sherpa-onnx-pyannote-segmentation-3-0/resolve/main";

/** Where the embedding models download from unless a base URL is configured (the release tag is spelt so upstream). */
export const SPEAKER_EMBEDDING_MODELS_BASE_URL = "https://github.com/k2-fsa/sherpa-onnx/releases/download/speaker-recongition-models";

const SEGMENTATION_SOURCE = "https://huggingface.co/csukuangfj/sherpa-onnx-pyannote-segmentation-3-0";
const EMBEDDING_SOURCE = "https://github.com/k2-fsa/sherpa-onnx/releases/tag/speaker-recongition-models";
const WESPEAKER_MODELS = "https://github.com/wenet-e2e/wespeaker/blob/master/docs/pretrained.md";
const VOXCELEB = "VoxCeleb 1+2 (English-dominant celebrity interviews)";

type Published = Omit<SpeakerModelEntry, "name" | "kind" | "fileName" | "defaultBaseUrl" | "source">;

// name → the published file and what is known about it
const SEGMENTATION: Readonly<Record<SegmentationModelName, Published>> = {
  "pyannote-segmentation-3.0": {
    remoteFileName: "model.onnx",
    sizeBytes: 5_992_913,
    sha256: "220ad67ca923bef2fa91f2390c786097bf305bceb5e261d4af67b38e938e1079",
    quantization: undefined,
    trainedOn: "pyannote's training mix (AISHELL, AliMeeting, AMI, AVA-AVD, DIHARD, Ego4D, MSDWild, REPERE, VoxConverse)",
    license: "MIT",
    convertedFrom: "https://huggingface.co/pyannote/segmentation-3.0",
  },
  "pyannote-segmentation-3.0-int8": {
    remoteFileName: "model.int8.onnx",
    sizeBytes: 1_540_506,
    sha256: "d582f4b4c6b48205de7e0643c57df0df5615a3c176189be3fc461e9d18827b5d",
    quantization: "int8",
    trainedOn: "pyannote's training mix (AISHELL, AliMeeting, AMI, AVA-AVD, DIHARD, Ego4D, MSDWild, REPERE, VoxConverse)",
    license: "MIT",
    convertedFrom: "https://huggingface.co/pyannote/segmentation-3.0",
  },
};

const EMBEDDING: Readonly<Record<SpeakerEmbeddingModelName, Published>> = {
  "wespeaker-voxceleb-resnet34-lm": {
    remoteFileName: "wespeaker_en_voxceleb_resnet34_LM.onnx",
    sizeBytes: 26_530_550,
    sha256: "e9848563da86f263117134dfd7ad63c92355b37de492b55e325400c9d9c39012",
    quantization: undefined,
    trainedOn: VOXCELEB,
    license: "CC-BY-4.0",
    convertedFrom: WESPEAKER_MODELS,
  },
  "wespeaker-voxceleb-resnet34": {
    remoteFileName: "wespeaker_en_voxceleb_resnet34.onnx",
    sizeBytes: 26_534_365,
    sha256: "5ef208a9da1453335308a6b6f4e6dfbd7e183a38b604de0a57664f45d257fe94",
    quantization: undefined,
    trainedOn: VOXCELEB,
    license: "CC-BY-4.0",
    convertedFrom: WESPEAKER_MODELS,
  },
  "wespeaker-voxceleb-campplus": {
    remoteFileName: "wespeaker_en_voxceleb_CAM++.onnx",
    sizeBytes: 29_292_684,
    sha256: "c46fad10b5f81e1aa4a60c162714208577093655076c5450f8c469e522ec54ef",
    quantization: undefined,
    trainedOn: VOXCELEB,
    license: "CC-BY-4.0",
    convertedFrom: WESPEAKER_MODELS,
  },
  "3dspeaker-eres2net-base-zh": {
    remoteFileName: "3dspeaker_speech_eres2net_base_sv_zh-cn_3dspeaker_16k.onnx",
    sizeBytes: 39_593_761,
    sha256: "1a331345f04805badbb495c775a6ddffcdd1a732567d5ec8b3d5749e3c7a5e4b",
    quantization: undefined,
    trainedOn: "3D-Speaker (Mandarin)",
    license: "Apache-2.0",
    convertedFrom: "https://www.modelscope.cn/models/iic/speech_eres2net_base_sv_zh-cn_3dspeaker_16k",
  },
};

function isSegmentationName(name: SpeakerModelName): name is SegmentationModelName {
  return (SEGMENTATION_MODEL_NAMES as readonly string[]).includes(name);
}

/** The catalog entry of a published speaker model. */
export function speakerModelEntry(name: SpeakerModelName): SpeakerModelEntry {
  const segmentation = isSegmentationName(name);
  const published = segmentation ? SEGMENTATION[name] : EMBEDDING[name];
  return {
    name,
    kind: segmentation ? "segmentation" : "speaker-embedding",
    fileName: `${name}.onnx`,
    ...published,
    source: segmentation ? SEGMENTATION_SOURCE : EMBEDDING_SOURCE,
    defaultBaseUrl: segmentation ? SEGMENTATION_MODELS_BASE_URL : SPEAKER_EMBEDDING_MODELS_BASE_URL,
  };
}

/** The speaker models, in {@link SPEAKER_MODEL_NAMES} order. */
export const SPEAKER_MODEL_CATALOG: readonly SpeakerModelEntry[] = SPEAKER_MODEL_NAMES.map(speakerModelEntry);

const BY_NAME: ReadonlyMap<string, SpeakerModelEntry> = new Map(SPEAKER_MODEL_CATALOG.map((entry) => [entry.name, entry]));

/** The speaker model called `name`, or undefined when it is none. */
export function speakerCatalogEntry(name: string): SpeakerModelEntry | undefined {
  return BY_NAME.get(name);
}

/** The names of one kind's models, default first. */
export function speakerModelNames(kind: SpeakerModelKind): readonly SpeakerModelName[] {
  return kind === "segmentation" ? SEGMENTATION_MODEL_NAMES : SPEAKER_EMBEDDING_MODEL_NAMES;
}

/** What each kind is called in messages, and the setting and flag that choose one. */
export const SPEAKER_MODEL_KINDS: Readonly<Record<SpeakerModelKind, { title: string; setting: string; flag: string }>> = {
  segmentation: { title: "speaker segmentation", setting: "EARSHOT_SEGMENTATION_MODEL", flag: "--segmentation-model" },
  "speaker-embedding": { title: "speaker embedding", setting: "EARSHOT_SPEAKER_EMBEDDING_MODEL", flag: "--speaker-embedding-model" },
};
