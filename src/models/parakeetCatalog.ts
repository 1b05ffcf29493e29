// The ggml Parakeet TDT files whisper.cpp's maintainers publish in the Hugging Face repository ggml-org/parakeet-GGUF
// (the repository whisper.cpp's examples/parakeet-cli/README.md downloads from; scripts/upload-parakeet.py in the same
// tree uploads f32, f16, q8_0, q4_0 and q4_k conversions of nvidia/parakeet-tdt-0.6b-v3 there). Only v3 is published
// upstream: there is no ggml-org conversion of the English-only parakeet-tdt-0.6b-v2 (convert it yourself with
// models/convert-parakeet-to-ggml.py and load the file by path).
//
// Where the numbers come from (none is made up; docs/models.md lists the public sources by URL):
// - f16, q8_0, q4_k: sha256 and byte size as pinned, at repository revision 35156454d1a39de06863303dd209fd2bed6ee079,
//   by several independent public projects that verify their downloads against them, and agreeing value for value.
// - q4_0: sha256 and size as pinned by two independent public projects (downloading from `main`); the size agrees
//   with a third.
// - f32: the size is from one public model table only; no public source gives its SHA-256, so the entry has none and
//   `earshot models pull` asks for it (--sha256, from the file's page on Hugging Face) instead of guessing.
// The weights are NVIDIA's, under CC-BY-4.0 (the nvidia/parakeet-tdt-0.6b-v3 model card: attribution required);
// ggml-org's conversion repository is tagged MIT, which covers the conversion, not the weights.

import type { ParakeetCatalogEntry } from "./catalogEntry.js";
import type { ParakeetModelName } from "./modelNames.js";

export { PARAKEET_MODEL_NAMES, type ParakeetModelName } from "./modelNames.js";

/** Where Parakeet models are downloaded from unless a base URL is configured. */
export const PARAKEET_MODELS_BASE_URL = "https://huggingface.co/ggml-org/parakeet-GGUF/resolve/main";

/**
 * The 25 languages of parakeet-tdt-0.6b-v3 as ISO 639-1 codes, in the order of NVIDIA's model card: Bulgarian,
 * Croatian, Czech, Danish, Dutch, English, Estonian, Finnish, French, German, Greek, Hungarian, Italian, Latvian,
 * Lithuanian, Maltese, Polish, Portuguese, Romanian, Slovak, Slovenian, Spanish, Swedish, Russian, Ukrainian.
 */
export const PARAKEET_TDT_V3_LANGUAGES = [
  "bg", "hr", "cs", "da", "nl", "en", "et", "fi", "fr", "de", "el", "hu", "it",
  "lv", "lt", "mt", "pl", "pt", "ro", "sk", "sl", "es", "sv", "ru", "uk",
] as const;

// name → [file on the server, size in bytes, sha256 (undefined: no public source gives it)]
const PUBLISHED: Readonly<Record<ParakeetModelName, readonly [string, number, string | undefined]>> = {
  "parakeet-tdt-0.6b-v3": ["ggml-parakeet-tdt-0.6b-v3-f16.bin", 1_255_897_319, "833bffc9513b2cae867ee9e51633cfd11e4d51aaa5597c8ac02159385a2b426f"],
  "parakeet-tdt-0.6b-v3-q8_0": ["ggml-parakeet-tdt-0.6b-v3-q8_0.bin", 668_757_119, "4d64e9e96c2792186d072fde0034df0ad670cf680a2f53069052ead827fd600e"],
  "parakeet-tdt-0.6b-v3-q4_k": ["ggml-parakeet-tdt-0.6b-v3-q4_k.bin", 415_611_879, "8b205b8b39c6535e153de6fb11c51db46125d45c4f16ba496fe41a0fe71b885e"],
  "parakeet-tdt-0.6b-v3-q4_0": ["ggml-parakeet-tdt-0.6b-v3-q4_0.bin", 355_615_679, "aa7fe2f5fb47d863ca23e8b1d490632d63a2599f515268b6d6bd656158dad45e"],
  "parakeet-tdt-0.6b-v3-f32": ["ggml-parakeet-tdt-0.6b-v3-f32.bin", 2_508_463_079, undefined],
};

/** The catalog entry of a published Parakeet file. */
export function parakeetEntry(name: ParakeetModelName): ParakeetCatalogEntry {
  const [remoteFileName, sizeBytes, sha256] = PUBLISHED[name];
  return {
    name,
    engine: "parakeet",
    fileName: `ggml-${name}.bin`,
    remoteFileName,
    sizeBytes,
    sha256,
    multilingual: true,
    languages: PARAKEET_TDT_V3_LANGUAGES,
    quantization: /-(q\d_[0-9a-z]+)$/.exec(name)?.[1],
    license: "CC-BY-4.0",
    source: "https://huggingface.co/ggml-org/parakeet-GGUF",
    convertedFrom: "https://huggingface.co/nvidia/parakeet-tdt-0.6b-v3",
    defaultBaseUrl: PARAKEET_MODELS_BASE_URL,
  };
}
