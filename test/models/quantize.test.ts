// `earshot models quantize`: whisper.cpp's parakeet-quantize, built from the addon's tree, run on the generated tiny
// Parakeet model, writes `ggml-<name>-<type>.bin` into the models directory with the quantized ftype in its header,
// and the store then finds it by name. Heavy: the first run builds parakeet-quantize (about a minute on two cores).
import fs from "node:fs";
import fsp from "node:fs/promises";
import os from "node:os";
import path from "node:path";

import { Command } from "commander";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { registerModelsCommand } from "../../src/cli/commands/models.js";
import { loadEngine } from "../../src/engine/loadEngine.js";
import { readModelKind } from "../../src/engine/modelKind.js";
import { resolveModel } from "../../src/models/modelStore.js";
import { quantizeModel } from "../../src/models/quantizeModel.js";
import { getParakeetTestModelPath } from "../../src/models/testModel/parakeet/index.js";
import { speechOfLength } from "../support/engineFixtures.js";

/** ggml's ftype numbers (ggml.h enum ggml_ftype) and the quantization version factor the header's ftype carries. */
const GGML_FTYPE = { f16: 1, q4_0: 2, q5_0: 8, q8_0: 7 } as const;
const GGML_QNT_VERSION_FACTOR = 1000;
/** Parakeet's hparams start after the 4-byte magic; ftype is the 7th. */
const FTYPE_OFFSET = 4 + 6 * 4;

let dir: string;

beforeEach(async () => {
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), "earshot-quantize-"));
  process.exitCode = undefined;
});

afterEach(async () => {
  process.exitCode = undefined;
  await fsp.rm(dir, { recursive: true, force: true });
});

async function headerFtype(file: string): Promise<number> {
  const handle = await fsp.open(file, "r");
  try {
    const head = Buffer.alloc(FTYPE_OFFSET + 4);
    await handle.read(head, 0, head.length, 0);
    return head.readInt32LE(FTYPE_OFFSET) % GGML_QNT_VERSION_FACTOR;
  } finally {
    await handle.close();
  }
}

/** The generated tiny Parakeet model installed in `dir` as `ggml-parakeet-tiny.bin` (model name `parakeet-tiny`). */
async function installTinyParakeet(): Promise<string> {
  const file = path.join(dir, "ggml-parakeet-tiny.bin");
  await fsp.copyFile(await getParakeetTestModelPath("tiny"), file);
  return file;
}

describe("earshot models quantize", () => {
  it("writes ggml-<name>-<type>.bin with the quantized ftype, smaller, found by name afterwards", async () => {
    const source = await installTinyParakeet();
    expect(await headerFtype(source)).toBe(GGML_FTYPE.f16);

    let stdout = "";
    let stderr = "";
    const program = new Command().name("earshot").exitOverride();
    registerModelsCommand(program, {
      stdout: { write: (text: string) => (stdout += text), isTTY: false },
      stderr: { write: (text: string) => (stderr += text), isTTY: false },
      env: { EARSHOT_MODELS_DIR: dir },
      cwd: dir,
    });
    await program.parseAsync(["node", "earshot", "models", "quantize", "parakeet-tiny", "q8_0"]);

    expect(process.exitCode ?? 0, stderr).toBe(0);
    const made = path.join(dir, "ggml-parakeet-tiny-q8_0.bin");
    expect(stdout).toContain(`Made parakeet-tiny-q8_0: ${made}`);
    expect(stdout).toContain("serve it with --model parakeet-tiny-q8_0");
    expect(await readModelKind(made)).toBe("parakeet");
    expect(await headerFtype(made)).toBe(GGML_FTYPE.q8_0);
    expect(fs.statSync(made).size).toBeLessThan(fs.statSync(source).size * 0.7);
    expect(resolveModel("parakeet-tiny-q8_0", { dir })).toMatchObject({ path: made, source: "store" });
    expect(fs.readdirSync(dir).sort()).toEqual(["ggml-parakeet-tiny-q8_0.bin", "ggml-parakeet-tiny.bin"]); // no partial left
  });

  it("takes a path, each type's own ftype, and refuses to overwrite unless forced", async () => {
    const source = await installTinyParakeet();
    const q4 = await quantizeModel(source, "q4_0", { dir });
    expect(q4).toMatchObject({ name: "parakeet-tiny-q4_0", path: path.join(dir, "ggml-parakeet-tiny-q4_0.bin"), sourcePath: source });
    expect(await headerFtype(q4.path)).toBe(GGML_FTYPE.q4_0);
    const q5 = await quantizeModel("parakeet-tiny", "q5_0", { dir });
    expect(await headerFtype(q5.path)).toBe(GGML_FTYPE.q5_0);
    expect(q4.sizeBytes).toBeLessThan(q5.sizeBytes);

    await expect(quantizeModel("parakeet-tiny", "q4_0", { dir })).rejects.toThrow(/already exists; pass --force/);
    await expect(quantizeModel("parakeet-tiny", "q4_0", { dir, force: true })).resolves.toMatchObject({ sizeBytes: q4.sizeBytes });
  });

  it("refuses what it cannot make, before running the tool, in one line each", async () => {
    await installTinyParakeet();
    await expect(quantizeModel("parakeet-tiny", "q9_9", { dir })).rejects.toThrow('"q9_9" is not a quantization type; use one of q4_0, q4_1, q5_0');
    await expect(quantizeModel("parakeet-tdt-0.6b-v3", "q8_0", { dir })).rejects.toThrow(/is not installed in .*earshot models pull parakeet-tdt-0.6b-v3/);

    fs.writeFileSync(path.join(dir, "ggml-not-a-model.bin"), Buffer.alloc(200));
    await expect(quantizeModel("not-a-model", "q8_0", { dir })).rejects.toThrow(/is not a Parakeet model/);

    await quantizeModel("parakeet-tiny", "q8_0", { dir });
    await expect(quantizeModel("parakeet-tiny-q8_0", "q4_0", { dir })).rejects.toThrow(/"parakeet-tiny-q8_0" is already quantized/);
    expect(fs.readdirSync(dir).filter((f) => f.endsWith(".partial"))).toEqual([]);
  });

  it("stops a run past its deadline and leaves no model file", async () => {
    await installTinyParakeet();
    await expect(quantizeModel("parakeet-tiny", "q8_0", { dir, timeoutMs: 1 })).rejects.toThrow(/ran past 0 s and was stopped\. Nothing was written\./);
    expect(fs.readdirSync(dir)).toEqual(["ggml-parakeet-tiny.bin"]);
  });

  it("a quantized model transcribes through the engine like the f16 one (on an AMX CPU this crashed the process before native/patches/parakeet-no-amx.patch)", async () => {
    const source = await installTinyParakeet();
    const pcm = await speechOfLength(6);
    for (const type of ["q8_0", "q4_0"] as const) {
      const made = await quantizeModel(source, type, { dir });
      const engine = await loadEngine(made.path, { threadsPerJob: 2, parallelJobs: 1 });
      try {
        const result = await engine.transcribe(pcm, { wordTimestamps: true });
        expect(result.text.length, type).toBeGreaterThan(0);
        expect(result.segments.flatMap((s) => s.words ?? []).length, type).toBeGreaterThan(3);
      } finally {
        await engine.close();
      }
    }
  });
});

