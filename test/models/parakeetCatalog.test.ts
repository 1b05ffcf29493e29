// The Parakeet entries of the model catalog: engine, published file names and numbers, languages, license, and where
// they download from (their own repository unless a mirror is configured). Reads tables only: no server, no model.
import { describe, expect, it } from "vitest";

import { catalogEntry, DEFAULT_BASE_URLS, DEFAULT_MODELS_BASE_URL, MODEL_CATALOG, modelsBaseUrl, modelUrl } from "../../src/models/catalog.js";
import { PARAKEET_MODEL_NAMES, PARAKEET_TDT_V3_LANGUAGES } from "../../src/models/parakeetCatalog.js";

const PARAKEET_REPO = "https://huggingface.co/ggml-org/parakeet-GGUF/resolve/main";

describe("Parakeet catalog entries", () => {
  it("lists ggml-org/parakeet-GGUF's v3 files with their published names, sizes and SHA-256 (none where unknown)", () => {
    const parakeet = MODEL_CATALOG.filter((e) => e.engine === "parakeet");
    expect(parakeet.map((e) => e.name)).toEqual([...PARAKEET_MODEL_NAMES]);
    expect(parakeet.map((e) => [e.name, e.remoteFileName, e.sizeBytes, e.sha256])).toEqual([
      ["parakeet-tdt-0.6b-v3", "ggml-parakeet-tdt-0.6b-v3-f16.bin", 1_255_897_319, "833bffc9513b2cae867ee9e51633cfd11e4d51aaa5597c8ac02159385a2b426f"],
      ["parakeet-tdt-0.6b-v3-q8_0", "ggml-parakeet-tdt-0.6b-v3-q8_0.bin", 668_757_119, "4d64e9e96c2792186d072fde0034df0ad670cf680a2f53069052ead827fd600e"],
      ["parakeet-tdt-0.6b-v3-q4_k", "ggml-parakeet-tdt-0.6b-v3-q4_k.bin", 415_611_879, "8b205b8b39c6535e153de6fb11c51db46125d45c4f16ba496fe41a0fe71b885e"],
      ["parakeet-tdt-0.6b-v3-q4_0", "ggml-parakeet-tdt-0.6b-v3-q4_0.bin", 355_615_679, "aa7fe2f5fb47d863ca23e8b1d490632d63a2599f515268b6d6bd656158dad45e"],
      ["parakeet-tdt-0.6b-v3-f32", "ggml-parakeet-tdt-0.6b-v3-f32.bin", 2_508_463_079, undefined],
    ]);
    for (const entry of parakeet) {
      expect(entry.fileName).toBe(`ggml-${entry.name}.bin`); // stored under the name it is asked for by
      expect(entry).toMatchObject({ license: "CC-BY-4.0", multilingual: true, defaultBaseUrl: PARAKEET_REPO, source: "https://huggingface.co/ggml-org/parakeet-GGUF" });
      expect(entry.convertedFrom).toBe("https://huggingface.co/nvidia/parakeet-tdt-0.6b-v3");
      expect(entry.sha1).toBeUndefined();
      expect(entry.alignmentHeads).toBeUndefined();
    }
    expect(parakeet.map((e) => e.quantization)).toEqual([undefined, "q8_0", "q4_k", "q4_0", undefined]);
  });

  it("carries v3's 25 European languages as ISO 639-1 codes", () => {
    expect(PARAKEET_TDT_V3_LANGUAGES).toHaveLength(25);
    expect(new Set(PARAKEET_TDT_V3_LANGUAGES).size).toBe(25);
    for (const code of PARAKEET_TDT_V3_LANGUAGES) expect(code).toMatch(/^[a-z]{2}$/);
    expect(catalogEntry("parakeet-tdt-0.6b-v3-q8_0")?.languages).toEqual(expect.arrayContaining(["en", "de", "fr", "es", "it", "pt", "nl", "pl", "ru", "uk", "mt"]));
  });

  it("leaves the Whisper entries as they were, with their engine, license and alignment heads", () => {
    expect(catalogEntry("tiny")).toMatchObject({
      engine: "whisper",
      remoteFileName: "ggml-tiny.bin",
      sizeBytes: 77_691_713,
      sha256: "be07e048e1e599ad46341c8d2a135645097a538221678b7acdd1b1919c6e1b21",
      license: "MIT",
      alignmentHeads: "tiny",
      languages: undefined,
    });
    expect(catalogEntry("base.en")?.languages).toEqual(["en"]);
  });

  it("downloads each engine from its own repository, and everything from a configured mirror under the published names", () => {
    expect(DEFAULT_BASE_URLS).toEqual({ whisper: DEFAULT_MODELS_BASE_URL, parakeet: PARAKEET_REPO });
    expect(modelsBaseUrl(undefined, "parakeet")).toBe(PARAKEET_REPO);
    expect(modelsBaseUrl("http://mirror/m/", "parakeet")).toBe("http://mirror/m");
    expect(modelUrl("parakeet-tdt-0.6b-v3")).toBe(`${PARAKEET_REPO}/ggml-parakeet-tdt-0.6b-v3-f16.bin`);
    expect(modelUrl("parakeet-tdt-0.6b-v3-q4_k")).toBe(`${PARAKEET_REPO}/ggml-parakeet-tdt-0.6b-v3-q4_k.bin`);
    expect(modelUrl("tiny")).toBe(`${DEFAULT_MODELS_BASE_URL}/ggml-tiny.bin`);
    expect(modelUrl("parakeet-tdt-0.6b-v3", "http://mirror/m")).toBe("http://mirror/m/ggml-parakeet-tdt-0.6b-v3-f16.bin");
    expect(modelUrl("tiny", "http://mirror/m")).toBe("http://mirror/m/ggml-tiny.bin");
  });
});
