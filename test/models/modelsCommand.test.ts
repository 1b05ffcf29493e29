import fs from "node:fs";
import fsp from "node:fs/promises";
import os from "node:os";
import path from "node:path";

import { Command } from "commander";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { formatBytes, registerModelsCommand } from "../../src/cli/commands/models.js";
import { generatedModelBytes, type ModelServer, sha256Hex, startModelServer } from "./loopbackModelServer.js";

const DATA = generatedModelBytes(2_000_000, 7);
const SHA = sha256Hex(DATA);

let dir: string;
let server: ModelServer;

beforeEach(async () => {
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), "earshot-cli-"));
  server = await startModelServer({ "ggml-tiny.bin": DATA, "ggml-base.en.bin": DATA });
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
    expect(table.stdout).toContain("Other ggml files in the models directory:");
    expect(table.stdout).toContain(path.join(dir, "ggml-my-finetune.bin"));

    const json = JSON.parse((await earshot(["list", "--json"])).stdout) as {
      modelsDir: string;
      models: Array<{ name: string; installed: boolean; path: string | null; partialBytes: number | null; url: string; sha256: string }>;
      otherLocalModels: Array<{ name: string }>;
    };
    expect(json.modelsDir).toBe(dir);
    expect(json.models.find((m) => m.name === "tiny")).toMatchObject({ installed: true, path: path.join(dir, "ggml-tiny.bin"), url: `${server.baseUrl}/ggml-tiny.bin` });
    expect(json.models.find((m) => m.name === "base")).toMatchObject({ installed: false, path: null, partialBytes: 1024 });
    expect(json.otherLocalModels).toEqual([{ name: "my-finetune", path: path.join(dir, "ggml-my-finetune.bin"), sizeBytes: 1 }]);
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
