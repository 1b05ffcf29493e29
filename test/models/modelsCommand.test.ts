import fs from "node:fs";
import fsp from "node:fs/promises";
import os from "node:os";
import path from "node:path";

import { Command } from "commander";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { formatBytes, registerModelsCommand } from "../../src/cli/commands/models.js";
import { resolveModel } from "../../src/models/modelStore.js";
import { speakerModelPath } from "../../src/models/speakerModelPath.js";
import { generatedModelBytes, type ModelServer, sha256Hex, startModelServer } from "./loopbackModelServer.js";

const DATA = generatedModelBytes(2_000_000, 7);
const SHA = sha256Hex(DATA);
const PARAKEET = generatedModelBytes(1_500_000, 11);
const PARAKEET_SHA = sha256Hex(PARAKEET);
const SEGMENTATION = generatedModelBytes(600_000, 13);
const SEGMENTATION_SHA = sha256Hex(SEGMENTATION);

let dir: string;
let server: ModelServer;

beforeEach(async () => {
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), "earshot-cli-"));
  server = await startModelServer({
    "ggml-tiny.bin": DATA,
    "ggml-base.en.bin": DATA,
    // Stand-ins under Parakeet's published names (the real files are 0.4–2.5 GB and cannot be downloaded here).
    "ggml-parakeet-tdt-0.6b-v3-f16.bin": PARAKEET,
    "ggml-parakeet-tdt-0.6b-v3-f32.bin": PARAKEET,
    // A stand-in for the 5.7 MB segmentation model, under the name a mirror serves speaker models by.
    "pyannote-segmentation-3.0.onnx": SEGMENTATION,
  });
  process.exitCode = undefined;
});

afterEach(async () => {
  process.exitCode = undefined;
  await server.close();
  await fsp.rm(dir, { recursive: true, force: true });
});

interface Run {
  stdout: string;
  stderr: string;
  exitCode: number | string | undefined;
}

/** Runs `earshot models ...args` in-process with EARSHOT_MODELS_DIR / EARSHOT_MODELS_BASE_URL set. */
async function earshot(args: string[], env: NodeJS.ProcessEnv = { EARSHOT_MODELS_DIR: dir, EARSHOT_MODELS_BASE_URL: server.baseUrl }): Promise<Run> {
  let stdout = "";
  let stderr = "";
  const program = new Command().name("earshot").exitOverride();
  registerModelsCommand(program, {
    stdout: { write: (text: string) => (stdout += text), isTTY: false },
    stderr: { write: (text: string) => (stderr += text), isTTY: false },
    env,
    cwd: dir, // no .env there: only `env` counts
  });
  await program.parseAsync(["node", "earshot", "models", ...args]);
  const exitCode = process.exitCode;
  process.exitCode = undefined;
  return { stdout, stderr, exitCode };
}

describe("earshot models pull", () => {
  it("downloads with plain progress lines off a terminal, and reports the verification", async () => {
    const run = await earshot(["pull", "tiny", "--sha256", SHA]);

    expect(run.exitCode ?? 0).toBe(0);
    expect(run.stderr).toContain(`Downloading tiny from ${server.baseUrl}/ggml-tiny.bin`);
    expect(run.stderr).toContain("tiny: 50% (");
    expect(run.stderr).toContain("tiny: 100% (1.9 MiB of 1.9 MiB)");
    expect(run.stderr).not.toMatch(/\r|\u001b\[/); // no bar redraws off a terminal
    expect(run.stdout).toContain(`Installed tiny: ${path.join(dir, "ggml-tiny.bin")} (1.9 MiB)`);
    expect(run.stdout).toContain(`sha256 ${SHA}, verified (from the server's X-Linked-ETag/ETag header; given with --sha256)`);
    expect(fs.readFileSync(path.join(dir, "ggml-tiny.bin")).equals(DATA)).toBe(true);

    const again = await earshot(["pull", "tiny"]);
    expect(again.stdout).toContain("tiny is already installed");
  });

  it("takes --base-url and --models-dir options over the environment, and resumes a partial download", async () => {
    const other = path.join(dir, "other");
    fs.mkdirSync(other);
    fs.writeFileSync(path.join(other, "ggml-base.en.bin.partial"), DATA.subarray(0, 500_000));

    const run = await earshot(["pull", "base.en", "--sha256", SHA, "--base-url", server.baseUrl, "--models-dir", other, "--no-progress"], {
      EARSHOT_MODELS_BASE_URL: "http://127.0.0.1:1/unused",
    });

    expect(run.exitCode ?? 0).toBe(0);
    expect(run.stderr).not.toContain("%");
    expect(server.requests.at(-1)).toMatchObject({ range: "bytes=500000-", status: 206, bodyBytes: DATA.length - 500_000 });
    expect(fs.readFileSync(path.join(other, "ggml-base.en.bin")).equals(DATA)).toBe(true);
  });

  it("refuses a file whose server hash contradicts the built-in table, in one line, with the fix", async () => {
    const run = await earshot(["pull", "tiny"]);

    expect(run.exitCode).toBe(1);
    expect(run.stderr.trim().split("\n").at(-1)).toMatch(/^error: The server announces sha256 /);
    expect(run.stderr).toContain(`--sha256 ${SHA}`);
    expect(run.stderr).not.toContain("    at ");
    expect(fs.existsSync(path.join(dir, "ggml-tiny.bin"))).toBe(false);
  });

  it("deletes a download that fails verification and says so", async () => {
    server.options = { linkedEtag: false };
    const run = await earshot(["pull", "tiny"]);

    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain(`error: Checksum mismatch for "tiny" downloaded from ${server.baseUrl}/ggml-tiny.bin`);
    expect(run.stderr).toContain("The corrupt download was deleted; run the same pull again to retry.");
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it("names the URL and the local-file alternative when the download fails", async () => {
    const run = await earshot(["pull", "base"]);

    expect(run.exitCode).toBe(1);
    const lines = run.stderr.trim().split("\n");
    expect(lines.at(-1)).toBe(
      `error: Could not download "base" from ${server.baseUrl}/ggml-base.bin: HTTP 404 Not Found. ` +
        `Download it yourself and pass --model /path/to/ggml-base.bin, or place it in ${dir}.`,
    );
  });

  it("rejects unknown names before downloading anything", async () => {
    const run = await earshot(["pull", "tiny", "huge-v9"]);

    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain('error: Unknown model "huge-v9". Known models: tiny, tiny.en');
    expect(server.requests).toEqual([]);
  });

  it("refuses --sha256 with several models", async () => {
    const run = await earshot(["pull", "tiny", "base.en", "--sha256", SHA]);
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toBe("error: --sha256 applies to a single model: pull one model at a time with it\n");
  });
});

describe("earshot models pull parakeet-…", () => {
  it("downloads the published f16 file under the catalog name, verified, and names its license", async () => {
    const run = await earshot(["pull", "parakeet-tdt-0.6b-v3", "--sha256", PARAKEET_SHA]);

    expect(run.exitCode ?? 0).toBe(0);
    expect(run.stderr).toContain(`Downloading parakeet-tdt-0.6b-v3 from ${server.baseUrl}/ggml-parakeet-tdt-0.6b-v3-f16.bin`);
    const installed = path.join(dir, "ggml-parakeet-tdt-0.6b-v3.bin");
    expect(run.stdout).toContain(`Installed parakeet-tdt-0.6b-v3: ${installed} (1.4 MiB)`);
    expect(run.stdout).toContain(`sha256 ${PARAKEET_SHA}, verified (from the server's X-Linked-ETag/ETag header; given with --sha256)`);
    expect(run.stdout).toContain("license CC-BY-4.0 (https://huggingface.co/nvidia/parakeet-tdt-0.6b-v3), published at https://huggingface.co/ggml-org/parakeet-GGUF");
    expect(fs.readFileSync(installed).equals(PARAKEET)).toBe(true);
    expect(resolveModel("parakeet-tdt-0.6b-v3", { dir })).toMatchObject({ path: installed, source: "store", catalog: { engine: "parakeet", license: "CC-BY-4.0" } });

    const again = await earshot(["pull", "parakeet-tdt-0.6b-v3"]);
    expect(again.stdout).toContain("parakeet-tdt-0.6b-v3 is already installed");
  });

  it("checks the stand-in against the built-in SHA-256 of the real file, and refuses it", async () => {
    server.options = { linkedEtag: false };
    const run = await earshot(["pull", "parakeet-tdt-0.6b-v3"]);

    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain("expected sha256 833bffc9513b2cae867ee9e51633cfd11e4d51aaa5597c8ac02159385a2b426f (from earshot's built-in table)");
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it("refuses a file with no published SHA-256 before any request, and takes one given with --sha256", async () => {
    const refused = await earshot(["pull", "tiny", "parakeet-tdt-0.6b-v3-f32"]);
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toContain('error: No SHA-256 is known for "parakeet-tdt-0.6b-v3-f32" (ggml-parakeet-tdt-0.6b-v3-f32.bin)');
    expect(refused.stderr).toContain("https://huggingface.co/ggml-org/parakeet-GGUF and pull it with --sha256 <hex>");
    expect(server.requests).toEqual([]); // not even tiny: one refused name stops the whole pull

    const run = await earshot(["pull", "parakeet-tdt-0.6b-v3-f32", "--sha256", PARAKEET_SHA]);
    expect(run.exitCode ?? 0).toBe(0);
    expect(fs.readFileSync(path.join(dir, "ggml-parakeet-tdt-0.6b-v3-f32.bin")).equals(PARAKEET)).toBe(true);
  });
});

describe("earshot models pull <speaker model>", () => {
  it("downloads a speaker model as <name>.onnx, verified, and says which setting takes it", async () => {
    const run = await earshot(["pull", "pyannote-segmentation-3.0", "--sha256", SEGMENTATION_SHA]);

    expect(run.exitCode ?? 0).toBe(0);
    expect(run.stderr).toContain(`Downloading pyannote-segmentation-3.0 from ${server.baseUrl}/pyannote-segmentation-3.0.onnx`);
    const installed = path.join(dir, "pyannote-segmentation-3.0.onnx");
    expect(run.stdout).toContain(`Installed pyannote-segmentation-3.0: ${installed} (585.9 KiB)`);
    expect(run.stdout).toContain(`sha256 ${SEGMENTATION_SHA}, verified (from the server's X-Linked-ETag/ETag header; given with --sha256)`);
    expect(run.stdout).toContain("license MIT (https://huggingface.co/pyannote/segmentation-3.0), published at https://huggingface.co/csukuangfj/sherpa-onnx-pyannote-segmentation-3-0");
    expect(run.stdout).toContain("a segmentation model for diarization: EARSHOT_SEGMENTATION_MODEL=pyannote-segmentation-3.0 (or --segmentation-model pyannote-segmentation-3.0)");
    expect(fs.readFileSync(installed).equals(SEGMENTATION)).toBe(true);
    expect(speakerModelPath(dir, "pyannote-segmentation-3.0", "segmentation")).toBe(installed);

    const again = await earshot(["pull", "pyannote-segmentation-3.0"]);
    expect(again.stdout).toContain("pyannote-segmentation-3.0 is already installed");
  });

  it("resumes a partial download with a Range request", async () => {
    fs.writeFileSync(path.join(dir, "pyannote-segmentation-3.0.onnx.partial"), SEGMENTATION.subarray(0, 200_000));
    const run = await earshot(["pull", "pyannote-segmentation-3.0", "--sha256", SEGMENTATION_SHA, "--no-progress"]);

    expect(run.exitCode ?? 0).toBe(0);
    expect(server.requests.at(-1)).toMatchObject({ range: "bytes=200000-", status: 206, bodyBytes: SEGMENTATION.length - 200_000 });
    expect(fs.readFileSync(path.join(dir, "pyannote-segmentation-3.0.onnx")).equals(SEGMENTATION)).toBe(true);
    expect(fs.readdirSync(dir)).toEqual(["pyannote-segmentation-3.0.onnx"]);
  });

  it("checks the stand-in against the built-in SHA-256 of the real file, and refuses it", async () => {
    const contradicted = await earshot(["pull", "pyannote-segmentation-3.0"]);
    expect(contradicted.exitCode).toBe(1);
    expect(contradicted.stderr).toContain(`--sha256 ${SEGMENTATION_SHA}`);

    server.options = { linkedEtag: false };
    const run = await earshot(["pull", "pyannote-segmentation-3.0"]);
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain("expected sha256 220ad67ca923bef2fa91f2390c786097bf305bceb5e261d4af67b38e938e1079 (from earshot's built-in table)");
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it("names the speaker model's setting as the local-file alternative when the download fails", async () => {
    const run = await earshot(["pull", "wespeaker-voxceleb-resnet34-lm"]);

    expect(run.exitCode).toBe(1);
    expect(run.stderr.trim().split("\n").at(-1)).toBe(
      `error: Could not download "wespeaker-voxceleb-resnet34-lm" from ${server.baseUrl}/wespeaker-voxceleb-resnet34-lm.onnx: HTTP 404 Not Found. ` +
        `Download it yourself and pass its path with --speaker-embedding-model (EARSHOT_SPEAKER_EMBEDDING_MODEL), or place it in ${dir} as wespeaker-voxceleb-resnet34-lm.onnx.`,
    );
  });

  it("lists the speaker models by kind, with their status, and removes one", async () => {
    fs.writeFileSync(path.join(dir, "pyannote-segmentation-3.0.onnx"), "x");
    fs.writeFileSync(path.join(dir, "wespeaker-voxceleb-campplus.onnx.partial"), Buffer.alloc(2_929_269));

    const table = await earshot(["list"], { EARSHOT_MODELS_DIR: dir });
    expect(table.stdout).toContain(
      "Speaker segmentation (kind segmentation, onnxruntime; EARSHOT_SEGMENTATION_MODEL): license MIT; " +
        "from https://huggingface.co/csukuangfj/sherpa-onnx-pyannote-segmentation-3-0/resolve/main",
    );
    expect(table.stdout).toContain(
      "Speaker embedding (kind speaker-embedding, onnxruntime; EARSHOT_SPEAKER_EMBEDDING_MODEL): license CC-BY-4.0, Apache-2.0; " +
        "from https://github.com/k2-fsa/sherpa-onnx/releases/download/speaker-recongition-models",
    );
    expect(table.stdout).toMatch(/^pyannote-segmentation-3\.0\s+5\.7 MiB\s+installed$/m);
    expect(table.stdout).toMatch(/^pyannote-segmentation-3\.0-int8\s+1\.5 MiB\s+-$/m);
    expect(table.stdout).toMatch(/^wespeaker-voxceleb-resnet34-lm\s+25\.3 MiB\s+-$/m);
    expect(table.stdout).toMatch(/^wespeaker-voxceleb-campplus\s+27\.9 MiB\s+partial download \(10%\)$/m);
    expect(table.stdout).not.toContain("Other ggml files");

    const json = JSON.parse((await earshot(["list", "--json"], { EARSHOT_MODELS_DIR: dir })).stdout) as { models: Array<Record<string, unknown>> };
    expect(json.models.find((m) => m.name === "tiny")).toMatchObject({ kind: "transcription", engine: "whisper" });
    expect(json.models.find((m) => m.name === "pyannote-segmentation-3.0")).toMatchObject({
      kind: "segmentation",
      engine: "onnxruntime",
      fileName: "pyannote-segmentation-3.0.onnx",
      sizeBytes: 5_992_913,
      sha256: "220ad67ca923bef2fa91f2390c786097bf305bceb5e261d4af67b38e938e1079",
      sha1: null,
      license: "MIT",
      url: "https://huggingface.co/csukuangfj/sherpa-onnx-pyannote-segmentation-3-0/resolve/main/model.onnx",
      installed: true,
      path: path.join(dir, "pyannote-segmentation-3.0.onnx"),
    });
    expect(json.models.find((m) => m.name === "wespeaker-voxceleb-campplus")).toMatchObject({
      kind: "speaker-embedding",
      installed: false,
      partialBytes: 2_929_269,
      url: "https://github.com/k2-fsa/sherpa-onnx/releases/download/speaker-recongition-models/wespeaker_en_voxceleb_CAM%2B%2B.onnx",
    });

    const rm = await earshot(["rm", "pyannote-segmentation-3.0", "wespeaker-voxceleb-campplus"]);
    expect(rm.stdout).toBe(
      `Removed ${path.join(dir, "pyannote-segmentation-3.0.onnx")}\nRemoved ${path.join(dir, "wespeaker-voxceleb-campplus.onnx.partial")}\n`,
    );
    expect(fs.readdirSync(dir)).toEqual([]);
  });
});

describe("earshot models list / rm", () => {
  it("lists the catalog with installed and partial status, as a table and as JSON", async () => {
    fs.writeFileSync(path.join(dir, "ggml-tiny.bin"), "x");
    fs.writeFileSync(path.join(dir, "ggml-base.bin.partial"), Buffer.alloc(1024));
    fs.writeFileSync(path.join(dir, "ggml-my-finetune.bin"), "y");

    const table = await earshot(["list"]);
    expect(table.exitCode ?? 0).toBe(0);
    expect(table.stdout).toContain(`Models directory: ${dir}`);
    expect(table.stdout).toContain(`Download source:  ${server.baseUrl}`);
    expect(table.stdout).toMatch(/^tiny\s+74\.1 MiB\s+installed$/m);
    expect(table.stdout).toMatch(/^base\s+141\.1 MiB\s+partial download \(0%\)$/m);
    expect(table.stdout).toMatch(/^large-v3-turbo-q5_0\s+547\.4 MiB\s+-$/m);
    expect(table.stdout).toContain(`Whisper (engine whisper): license MIT; from ${server.baseUrl}`);
    expect(table.stdout).toContain(`NVIDIA Parakeet TDT (engine parakeet): license CC-BY-4.0; from ${server.baseUrl}`);
    expect(table.stdout).toMatch(/^parakeet-tdt-0\.6b-v3\s+1\.2 GiB\s+-$/m);
    expect(table.stdout).toMatch(/^parakeet-tdt-0\.6b-v3-f32\s+2\.3 GiB\s+-  \(no published SHA-256: pull with --sha256\)$/m);
    expect(table.stdout).toContain("Other ggml files in the models directory:");
    expect(table.stdout).toContain(path.join(dir, "ggml-my-finetune.bin"));

    const json = JSON.parse((await earshot(["list", "--json"])).stdout) as {
      modelsDir: string;
      models: Array<{ name: string; installed: boolean; path: string | null; partialBytes: number | null; url: string; sha256: string | null }>;
      otherLocalModels: Array<{ name: string }>;
    };
    expect(json.modelsDir).toBe(dir);
    expect(json.models.find((m) => m.name === "tiny")).toMatchObject({ installed: true, path: path.join(dir, "ggml-tiny.bin"), url: `${server.baseUrl}/ggml-tiny.bin` });
    expect(json.models.find((m) => m.name === "base")).toMatchObject({ installed: false, path: null, partialBytes: 1024 });
    expect(json.otherLocalModels).toEqual([{ name: "my-finetune", path: path.join(dir, "ggml-my-finetune.bin"), sizeBytes: 1 }]);
    expect(json.models.find((m) => m.name === "parakeet-tdt-0.6b-v3-q8_0")).toMatchObject({
      engine: "parakeet",
      license: "CC-BY-4.0",
      sizeBytes: 668_757_119,
      quantization: "q8_0",
      sha1: null,
      url: `${server.baseUrl}/ggml-parakeet-tdt-0.6b-v3-q8_0.bin`,
      installed: false,
    });
    expect(json.models.find((m) => m.name === "parakeet-tdt-0.6b-v3-f32")).toMatchObject({ sha256: null });
  });

  it("names each engine's own repository when no mirror is configured", async () => {
    const table = await earshot(["list"], { EARSHOT_MODELS_DIR: dir });
    expect(table.stdout).toContain("Download source:  each engine's repository (below)");
    expect(table.stdout).toContain("Whisper (engine whisper): license MIT; from https://huggingface.co/ggerganov/whisper.cpp/resolve/main");
    expect(table.stdout).toContain("NVIDIA Parakeet TDT (engine parakeet): license CC-BY-4.0; from https://huggingface.co/ggml-org/parakeet-GGUF/resolve/main");

    const json = JSON.parse((await earshot(["list", "--json"], { EARSHOT_MODELS_DIR: dir })).stdout) as { baseUrl: string | null; models: Array<{ name: string; url: string }> };
    expect(json.baseUrl).toBeNull();
    expect(json.models.find((m) => m.name === "parakeet-tdt-0.6b-v3")?.url).toBe("https://huggingface.co/ggml-org/parakeet-GGUF/resolve/main/ggml-parakeet-tdt-0.6b-v3-f16.bin");
    expect(json.models.find((m) => m.name === "tiny")?.url).toBe("https://huggingface.co/ggerganov/whisper.cpp/resolve/main/ggml-tiny.bin");
  });

  it("removes models and reports the ones that are not there", async () => {
    fs.writeFileSync(path.join(dir, "ggml-tiny.bin"), "x");
    fs.writeFileSync(path.join(dir, "ggml-tiny.bin.partial"), "x");

    const run = await earshot(["rm", "tiny", "base"]);
    expect(run.stdout).toBe(`Removed ${path.join(dir, "ggml-tiny.bin")}\nRemoved ${path.join(dir, "ggml-tiny.bin.partial")}\n`);
    expect(run.stderr).toBe(`error: Model "base" is not installed in ${dir}; nothing to remove.\n`);
    expect(run.exitCode).toBe(1);
    expect(fs.readdirSync(dir)).toEqual([]);
  });
});

describe("formatBytes", () => {
  it("uses binary units", () => {
    expect(formatBytes(512)).toBe("512 B");
    expect(formatBytes(77_691_713)).toBe("74.1 MiB");
    expect(formatBytes(1_624_555_275)).toBe("1.5 GiB");
  });
});
