// The speaker models of the catalog (diarization's ONNX files): names, published files and numbers, licenses, where
// they download from, the file each is stored as, and how a setting's value (a name or a path) becomes the file to
// load. Reads tables and a temporary models directory: no server, no model.
import fs from "node:fs";
import fsp from "node:fs/promises";
import os from "node:os";
import path from "node:path";

import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { catalogEntry, MODEL_CATALOG, modelFileName, modelUrl, PULLABLE_MODEL_NAMES, pullableEntry } from "../../src/models/catalog.js";
import {
  DEFAULT_SEGMENTATION_MODEL,
  DEFAULT_SPEAKER_EMBEDDING_MODEL,
  SEGMENTATION_MODELS_BASE_URL,
  SPEAKER_EMBEDDING_MODELS_BASE_URL,
  SPEAKER_MODEL_CATALOG,
  speakerModelNames,
} from "../../src/models/diarizationCatalog.js";
import { ModelNotFoundError, UnknownModelError } from "../../src/models/errors.js";
import { modelPaths, resolveModel } from "../../src/models/modelStore.js";
import { defaultSpeakerModelPath, speakerModelPath } from "../../src/models/speakerModelPath.js";

const HF_SEGMENTATION = "https://huggingface.co/csukuangfj/sherpa-onnx-pyannote-segmentation-3-0/resolve/main";
const GH_EMBEDDING = "https://github.com/k2-fsa/sherpa-onnx/releases/download/speaker-recongition-models";

describe("speaker model catalog entries", () => {
  it("pins each published ONNX file by name, size and SHA-256, with its kind and license", () => {
    expect(SPEAKER_MODEL_CATALOG.map((e) => [e.name, e.kind, e.remoteFileName, e.sizeBytes, e.sha256, e.license])).toEqual([
      ["pyannote-segmentation-3.0", "segmentation", "model.onnx", 5_992_913, "220ad67ca923bef2fa91f2390c786097bf305bceb5e261d4af67b38e938e1079", "MIT"],
      ["pyannote-segmentation-3.0-int8", "segmentation", "model.int8.onnx", 1_540_506, "d582f4b4c6b48205de7e0643c57df0df5615a3c176189be3fc461e9d18827b5d", "MIT"],
      ["wespeaker-voxceleb-resnet34-lm", "speaker-embedding", "wespeaker_en_voxceleb_resnet34_LM.onnx", 26_530_550, "e9848563da86f263117134dfd7ad63c92355b37de492b55e325400c9d9c39012", "CC-BY-4.0"],
      ["wespeaker-voxceleb-resnet34", "speaker-embedding", "wespeaker_en_voxceleb_resnet34.onnx", 26_534_365, "5ef208a9da1453335308a6b6f4e6dfbd7e183a38b604de0a57664f45d257fe94", "CC-BY-4.0"],
      ["wespeaker-voxceleb-campplus", "speaker-embedding", "wespeaker_en_voxceleb_CAM++.onnx", 29_292_684, "c46fad10b5f81e1aa4a60c162714208577093655076c5450f8c469e522ec54ef", "CC-BY-4.0"],
      ["3dspeaker-eres2net-base-zh", "speaker-embedding", "3dspeaker_speech_eres2net_base_sv_zh-cn_3dspeaker_16k.onnx", 39_593_761, "1a331345f04805badbb495c775a6ddffcdd1a732567d5ec8b3d5749e3c7a5e4b", "Apache-2.0"],
    ]);
    for (const entry of SPEAKER_MODEL_CATALOG) {
      expect(entry.fileName).toBe(`${entry.name}.onnx`);
      expect(modelFileName(entry.name)).toBe(entry.fileName);
      expect(entry.sha256).toMatch(/^[0-9a-f]{64}$/);
      expect(entry.convertedFrom).toMatch(/^https:\/\//);
      expect(entry.trainedOn.length).toBeGreaterThan(0);
    }
    expect(SPEAKER_MODEL_CATALOG.map((e) => e.quantization)).toEqual([undefined, "int8", undefined, undefined, undefined, undefined]);
  });

  it("names a default of each kind, first in its list", () => {
    expect(DEFAULT_SEGMENTATION_MODEL).toBe("pyannote-segmentation-3.0");
    expect(DEFAULT_SPEAKER_EMBEDDING_MODEL).toBe("wespeaker-voxceleb-resnet34-lm");
    expect(speakerModelNames("segmentation")[0]).toBe(DEFAULT_SEGMENTATION_MODEL);
    expect(speakerModelNames("speaker-embedding")[0]).toBe(DEFAULT_SPEAKER_EMBEDDING_MODEL);
  });

  it("downloads each from its repository, and from a mirror under its local name", () => {
    expect(SEGMENTATION_MODELS_BASE_URL).toBe(HF_SEGMENTATION);
    expect(SPEAKER_EMBEDDING_MODELS_BASE_URL).toBe(GH_EMBEDDING);
    expect(modelUrl("pyannote-segmentation-3.0")).toBe(`${HF_SEGMENTATION}/model.onnx`);
    expect(modelUrl("pyannote-segmentation-3.0-int8")).toBe(`${HF_SEGMENTATION}/model.int8.onnx`);
    expect(modelUrl("wespeaker-voxceleb-resnet34-lm")).toBe(`${GH_EMBEDDING}/wespeaker_en_voxceleb_resnet34_LM.onnx`);
    expect(modelUrl("wespeaker-voxceleb-campplus")).toBe(`${GH_EMBEDDING}/wespeaker_en_voxceleb_CAM%2B%2B.onnx`);
    expect(modelUrl("pyannote-segmentation-3.0", "http://mirror/m/")).toBe("http://mirror/m/pyannote-segmentation-3.0.onnx");
    expect(modelUrl("wespeaker-voxceleb-resnet34-lm", "http://mirror/m")).toBe("http://mirror/m/wespeaker-voxceleb-resnet34-lm.onnx");
  });

  it("is pullable, and stays out of the transcription catalog", () => {
    expect(PULLABLE_MODEL_NAMES).toEqual(expect.arrayContaining(["tiny", "parakeet-tdt-0.6b-v3", "pyannote-segmentation-3.0", "3dspeaker-eres2net-base-zh"]));
    expect(new Set(PULLABLE_MODEL_NAMES).size).toBe(PULLABLE_MODEL_NAMES.length);
    expect(pullableEntry("pyannote-segmentation-3.0")).toMatchObject({ kind: "segmentation" });
    expect(pullableEntry("tiny")).toMatchObject({ engine: "whisper" });
    expect(pullableEntry("nope")).toBeUndefined();
    expect(catalogEntry("pyannote-segmentation-3.0")).toBeUndefined();
    expect(MODEL_CATALOG.some((e) => e.name.includes("pyannote"))).toBe(false);
    expect(modelPaths("wespeaker-voxceleb-resnet34", "/m")).toEqual({ path: "/m/wespeaker-voxceleb-resnet34.onnx", partialPath: "/m/wespeaker-voxceleb-resnet34.onnx.partial" });
  });
});

describe("speakerModelPath", () => {
  let dir: string;
  let cwd: string;

  beforeEach(async () => {
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), "earshot-speaker-models-"));
    cwd = await fsp.mkdtemp(path.join(os.tmpdir(), "earshot-speaker-cwd-"));
  });

  afterEach(async () => {
    await fsp.rm(dir, { recursive: true, force: true });
    await fsp.rm(cwd, { recursive: true, force: true });
  });

  function thrown(fn: () => unknown): Error {
    try {
      fn();
    } catch (err) {
      return err as Error;
    }
    throw new Error("expected a throw");
  }

  it("finds an installed catalog model in the models directory", () => {
    fs.writeFileSync(path.join(dir, "pyannote-segmentation-3.0.onnx"), "onnx");
    fs.writeFileSync(path.join(dir, "wespeaker-voxceleb-resnet34-lm.onnx"), "onnx");
    expect(speakerModelPath(dir, "pyannote-segmentation-3.0", "segmentation", cwd)).toBe(path.join(dir, "pyannote-segmentation-3.0.onnx"));
    expect(speakerModelPath(dir, " wespeaker-voxceleb-resnet34-lm ", "speaker-embedding", cwd)).toBe(path.join(dir, "wespeaker-voxceleb-resnet34-lm.onnx"));
  });

  it("finds each kind's default only once it is installed (what an unset setting falls back to)", () => {
    expect(defaultSpeakerModelPath(dir, "segmentation")).toBeUndefined();
    expect(defaultSpeakerModelPath(dir, "speaker-embedding")).toBeUndefined();
    fs.writeFileSync(path.join(dir, "pyannote-segmentation-3.0.onnx"), "onnx");
    fs.writeFileSync(path.join(dir, "wespeaker-voxceleb-resnet34.onnx"), "onnx"); // not the default
    expect(defaultSpeakerModelPath(dir, "segmentation")).toBe(path.join(dir, "pyannote-segmentation-3.0.onnx"));
    expect(defaultSpeakerModelPath(dir, "speaker-embedding")).toBeUndefined();
    fs.writeFileSync(path.join(dir, "wespeaker-voxceleb-resnet34-lm.onnx"), "onnx");
    expect(defaultSpeakerModelPath(dir, "speaker-embedding")).toBe(path.join(dir, "wespeaker-voxceleb-resnet34-lm.onnx"));
  });

  it("uses a path as it is, relative to the working directory, whatever the file is called", () => {
    fs.writeFileSync(path.join(cwd, "model.onnx"), "onnx");
    expect(speakerModelPath(dir, "model.onnx", "segmentation", cwd)).toBe(path.join(cwd, "model.onnx"));
    expect(speakerModelPath(dir, path.join(cwd, "model.onnx"), "speaker-embedding", cwd)).toBe(path.join(cwd, "model.onnx"));
  });

  it("takes a file placed by hand in the models directory by its name", () => {
    fs.writeFileSync(path.join(dir, "my-embedding.onnx"), "onnx");
    expect(speakerModelPath(dir, "my-embedding", "speaker-embedding", cwd)).toBe(path.join(dir, "my-embedding.onnx"));
    expect(speakerModelPath(dir, "my-embedding.onnx", "speaker-embedding", cwd)).toBe(path.join(dir, "my-embedding.onnx"));
  });

  it("says how to pull a catalog model that is not installed", () => {
    const err = thrown(() => speakerModelPath(dir, "pyannote-segmentation-3.0", "segmentation", cwd));
    expect(err).toBeInstanceOf(ModelNotFoundError);
    expect(err).not.toBeInstanceOf(UnknownModelError);
    expect((err as ModelNotFoundError).code).toBe("model_not_found");
    expect(err.message).toContain(`The speaker segmentation model "pyannote-segmentation-3.0" is not installed in ${dir}.`);
    expect(err.message).toContain('Run "earshot models pull pyannote-segmentation-3.0"');
    expect(err.message).toContain("EARSHOT_SEGMENTATION_MODEL, --segmentation-model");
  });

  it("refuses a catalog model of the other kind, naming the right ones", () => {
    fs.writeFileSync(path.join(dir, "pyannote-segmentation-3.0.onnx"), "onnx");
    const err = thrown(() => speakerModelPath(dir, "pyannote-segmentation-3.0", "speaker-embedding", cwd));
    expect(err).toBeInstanceOf(ModelNotFoundError);
    expect((err as ModelNotFoundError).code).toBe("unknown_model");
    expect(err.message).toBe(
      '"pyannote-segmentation-3.0" is a speaker segmentation model (for EARSHOT_SEGMENTATION_MODEL), not a speaker embedding model. ' +
        "Known speaker embedding models: wespeaker-voxceleb-resnet34-lm, wespeaker-voxceleb-resnet34, wespeaker-voxceleb-campplus, 3dspeaker-eres2net-base-zh.",
    );
  });

  it("names a missing path, and lists the known names for an unknown one", () => {
    const missing = thrown(() => speakerModelPath(dir, "models/seg.onnx", "segmentation", cwd));
    expect(missing).toBeInstanceOf(ModelNotFoundError);
    expect(missing.message).toBe(`The speaker segmentation model file was not found: ${path.join(cwd, "models/seg.onnx")}`);

    const unknown = thrown(() => speakerModelPath(dir, "base", "segmentation", cwd));
    expect(unknown).toBeInstanceOf(UnknownModelError);
    expect(unknown.message).toContain('Unknown model "base". Known models: pyannote-segmentation-3.0, pyannote-segmentation-3.0-int8.');
    expect(unknown.message).toContain(`a <name>.onnx file placed in ${dir}`);
  });
});

describe("resolveModel (transcription models)", () => {
  it("refuses a speaker model's name as a transcription model, even when it is installed", async () => {
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), "earshot-speaker-store-"));
    try {
      fs.writeFileSync(path.join(dir, "wespeaker-voxceleb-resnet34-lm.onnx"), "onnx");
      let err: unknown;
      try {
        resolveModel("wespeaker-voxceleb-resnet34-lm", { dir });
      } catch (caught) {
        err = caught;
      }
      expect(err).toBeInstanceOf(ModelNotFoundError);
      expect((err as Error).message).toContain(
        '"wespeaker-voxceleb-resnet34-lm" is a speaker embedding model for diarization (EARSHOT_SPEAKER_EMBEDDING_MODEL), not a transcription model.',
      );
    } finally {
      await fsp.rm(dir, { recursive: true, force: true });
    }
  });
});
