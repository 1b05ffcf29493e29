import fs from "node:fs";
import fsp from "node:fs/promises";
import os from "node:os";
import path from "node:path";

import { afterEach, beforeEach, describe, expect, it } from "vitest";

import {
  catalogEntry,
  DEFAULT_MODELS_BASE_URL,
  isModelName,
  MODEL_CATALOG,
  MODEL_NAMES,
  modelsBaseUrl,
  modelUrl,
} from "../../src/models/catalog.js";
import { ModelNotFoundError, UnknownModelError } from "../../src/models/errors.js";
import { listLocalModels, listPartialDownloads, modelsDir, removeModel, resolveModel } from "../../src/models/modelStore.js";

let dir: string;

beforeEach(async () => {
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), "earshot-store-"));
});

afterEach(async () => {
  await fsp.rm(dir, { recursive: true, force: true });
});

function put(name: string, content = "ggml"): string {
  const file = path.join(dir, name);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, content);
  return file;
}

function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected a throw");
}

describe("catalog", () => {
  it("has the models the issue asks for, each with a URL, a size and well-formed hashes", () => {
    for (const name of ["tiny", "tiny.en", "base", "base.en", "small", "small.en", "medium", "large-v3-turbo", "tiny-q5_1", "base-q5_1", "small-q5_1", "medium-q5_0", "large-v3-turbo-q5_0", "large-v3-turbo-q8_0"]) {
      expect(isModelName(name), name).toBe(true);
    }
    expect(new Set(MODEL_NAMES).size).toBe(MODEL_NAMES.length);
    for (const entry of MODEL_CATALOG.filter((e) => e.engine === "whisper")) {
      expect(entry.fileName).toBe(`ggml-${entry.name}.bin`);
      expect(entry.sha256).toMatch(/^[0-9a-f]{64}$/);
      expect(entry.sha1).toMatch(/^[0-9a-f]{40}$/);
      expect(entry.sizeBytes).toBeGreaterThan(30_000_000);
    }
    expect(new Set(MODEL_CATALOG.map((e) => e.sha256)).size).toBe(MODEL_CATALOG.length);
    expect(catalogEntry("base.en")).toMatchObject({ multilingual: false, quantization: undefined });
    expect(catalogEntry("large-v3-turbo-q5_0")).toMatchObject({ multilingual: true, quantization: "q5_0" });
    expect(isModelName("huge")).toBe(false);
  });

  it("builds Hugging Face URLs, or URLs on a configured server", () => {
    expect(modelUrl("base.en", DEFAULT_MODELS_BASE_URL)).toBe("https://huggingface.co/ggerganov/whisper.cpp/resolve/main/ggml-base.en.bin");
    expect(modelsBaseUrl()).toBe(DEFAULT_MODELS_BASE_URL);
    expect(modelsBaseUrl(" ")).toBe(DEFAULT_MODELS_BASE_URL);
    expect(modelsBaseUrl("http://127.0.0.1:9/m/")).toBe("http://127.0.0.1:9/m");
    expect(modelUrl("tiny", "http://mirror/x/")).toBe("http://mirror/x/ggml-tiny.bin");
  });
});

describe("modelsDir", () => {
  it("prefers the configured directory, then XDG_CACHE_HOME, then ~/.cache", () => {
    expect(modelsDir("/srv/models", { XDG_CACHE_HOME: "/xdg" })).toBe("/srv/models");
    expect(modelsDir("~/m", {})).toBe(path.join(os.homedir(), "m"));
    expect(modelsDir("rel/models", {})).toBe(path.resolve("rel/models"));
    expect(modelsDir(undefined, { XDG_CACHE_HOME: "/xdg" })).toBe(path.join("/xdg", "earshot", "models"));
    expect(modelsDir(" ", { XDG_CACHE_HOME: "not/absolute" })).toBe(path.join(os.homedir(), ".cache", "earshot", "models"));
    expect(modelsDir(undefined, {})).toBe(path.join(os.homedir(), ".cache", "earshot", "models"));
  });

  it("does not read EARSHOT_MODELS_DIR itself (src/config.ts does, and passes it down)", () => {
    expect(modelsDir(undefined, { EARSHOT_MODELS_DIR: "/srv/models" } as { XDG_CACHE_HOME?: string })).toBe(
      path.join(os.homedir(), ".cache", "earshot", "models"),
    );
  });
});

describe("listLocalModels / listPartialDownloads", () => {
  it("lists ggml-<name>.bin files, known or not, and unfinished downloads separately", async () => {
    put("ggml-tiny.bin", "12345");
    put("ggml-my-finetune.bin", "abc");
    put("ggml-base.bin.partial", "12");
    put("notes.txt");
    fs.mkdirSync(path.join(dir, "ggml-dir.bin"));

    const models = await listLocalModels(dir);
    expect(models.map((m) => [m.name, m.sizeBytes, m.catalog?.name])).toEqual([
      ["my-finetune", 3, undefined],
      ["tiny", 5, "tiny"],
    ]);
    expect(models[1]?.path).toBe(path.join(dir, "ggml-tiny.bin"));
    expect(await listPartialDownloads(dir)).toEqual([{ name: "base", path: path.join(dir, "ggml-base.bin.partial"), sizeBytes: 2 }]);
  });

  it("treats a missing directory as empty", async () => {
    expect(await listLocalModels(path.join(dir, "nope"))).toEqual([]);
    expect(await listPartialDownloads(path.join(dir, "nope"))).toEqual([]);
  });
});

describe("removeModel", () => {
  it("deletes the model and its unfinished download", async () => {
    const file = put("ggml-tiny.bin");
    const partial = put("ggml-tiny.bin.partial");
    expect(await removeModel("tiny", dir)).toEqual([file, partial]);
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it("fails clearly when there is nothing to remove, and never leaves the directory", async () => {
    await expect(removeModel("tiny", dir)).rejects.toThrow(ModelNotFoundError);
    await expect(removeModel("tiny", dir)).rejects.toThrow(`Model "tiny" is not installed in ${dir}`);
    const outside = path.join(path.dirname(dir), "ggml-x.bin");
    await expect(removeModel("../ggml-x", dir)).rejects.toThrow(ModelNotFoundError);
    expect(fs.existsSync(outside)).toBe(false);
  });
});

describe("resolveModel", () => {
  it("uses a path to an existing file, whatever its name", () => {
    const file = put("elsewhere/whisper-custom.bin");
    expect(resolveModel(file, { dir: path.join(dir, "store") })).toEqual({ name: "whisper-custom", path: file, source: "path", catalog: undefined });
    const ggml = put("elsewhere/ggml-base.en.bin");
    expect(resolveModel("elsewhere/ggml-base.en.bin", { dir: path.join(dir, "store"), cwd: dir })).toMatchObject({
      name: "base.en",
      path: ggml,
      source: "path",
      catalog: { name: "base.en" },
    });
  });

  it("finds a name (or its file name) in the models directory", () => {
    const file = put("ggml-small.en-q5_1.bin");
    expect(resolveModel("small.en-q5_1", { dir, cwd: os.tmpdir() })).toMatchObject({ name: "small.en-q5_1", path: file, source: "store" });
    expect(resolveModel("ggml-small.en-q5_1.bin", { dir, cwd: os.tmpdir() })).toMatchObject({ path: file, source: "store" });
    const custom = put("ggml-my-finetune.bin");
    expect(resolveModel("my-finetune", { dir, cwd: os.tmpdir() })).toMatchObject({ name: "my-finetune", path: custom, catalog: undefined });
  });

  it("prefers an existing path over a name", () => {
    put("ggml-tiny.bin");
    const local = put("cwd/tiny");
    expect(resolveModel("tiny", { dir, cwd: path.join(dir, "cwd") })).toMatchObject({ source: "path", path: local });
  });

  it("says how to pull a known model that is not installed", () => {
    const err = thrown(() => resolveModel("base", { dir, cwd: os.tmpdir() }));
    expect(err).toBeInstanceOf(ModelNotFoundError);
    expect((err as ModelNotFoundError).code).toBe("model_not_found");
    expect(err.message).toBe(
      `Model "base" is not installed in ${dir}. Run "earshot models pull base", or download it yourself and pass --model /path/to/ggml-base.bin, or place it in ${dir}.`,
    );
  });

  it("reports a missing path and an unknown name", () => {
    const missing = path.join(dir, "nope", "model.bin");
    expect(thrown(() => resolveModel(missing, { dir }))).toMatchObject({ code: "model_not_found", message: `Model file not found: ${missing}` });
    const unknown = thrown(() => resolveModel("huge-v9", { dir, cwd: os.tmpdir() }));
    expect(unknown).toBeInstanceOf(UnknownModelError);
    expect(unknown).toBeInstanceOf(ModelNotFoundError);
    expect(unknown.message).toContain('Unknown model "huge-v9". Known models: tiny, tiny.en,');
  });

  it("does not take a directory for a model file", () => {
    fs.mkdirSync(path.join(dir, "ggml-tiny.bin"));
    expect(thrown(() => resolveModel("tiny", { dir, cwd: os.tmpdir() }))).toBeInstanceOf(ModelNotFoundError);
  });
});
