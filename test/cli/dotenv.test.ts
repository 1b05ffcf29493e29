// The built `earshot` command reads every EARSHOT_* setting through src/config.ts, so a `.env` file in
// its working directory works for the models commands too: flags > environment > .env > default.
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { generatedModelBytes, type ModelServer, sha256Hex, startModelServer } from "../models/loopbackModelServer.js";

const earshot = path.resolve("bin", "earshot.js");
const run = promisify(execFile);

const DATA = generatedModelBytes(300_000, 3);
const SHA = sha256Hex(DATA);

let project: string;
let server: ModelServer;

/** The process environment without any EARSHOT_* setting, so only what a test gives counts. */
function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith("EARSHOT_")));
  return { ...env, ...extra };
}

async function cli(args: string[], extraEnv: NodeJS.ProcessEnv = {}) {
  return run(process.execPath, [earshot, ...args], { cwd: project, env: cleanEnv(extraEnv), maxBuffer: 16 << 20 });
}

async function listJson(args: string[] = [], extraEnv: NodeJS.ProcessEnv = {}): Promise<{ modelsDir: string; baseUrl: string; models: Array<{ name: string; installed: boolean }> }> {
  return JSON.parse((await cli(["models", "list", "--json", ...args], extraEnv)).stdout);
}

beforeAll(async () => {
  // realpath: the child's working directory is reported without symbolic links.
  project = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "earshot-dotenv-")));
  server = await startModelServer({ "ggml-tiny.bin": DATA });
  fs.writeFileSync(path.join(project, ".env"), `EARSHOT_MODELS_DIR=./models-from-dotenv\nEARSHOT_MODELS_BASE_URL=${server.baseUrl}/\n`);
});

afterAll(async () => {
  await server?.close();
  fs.rmSync(project, { recursive: true, force: true });
});

describe(".env in the working directory", () => {
  it("sets the models directory and the download server of `earshot models`", async () => {
    const listed = await listJson();
    expect(listed.modelsDir).toBe(path.join(project, "models-from-dotenv"));
    expect(listed.baseUrl).toBe(server.baseUrl);

    const pulled = await cli(["models", "pull", "tiny", "--sha256", SHA, "--no-progress"]);
    expect(pulled.stderr).toContain(`Downloading tiny from ${server.baseUrl}/ggml-tiny.bin`);
    expect(server.requests.some((request) => request.path.endsWith("/ggml-tiny.bin"))).toBe(true);
    const file = path.join(project, "models-from-dotenv", "ggml-tiny.bin");
    expect(fs.readFileSync(file).equals(DATA)).toBe(true);
    expect((await listJson()).models.find((model) => model.name === "tiny")?.installed).toBe(true);

    await cli(["models", "rm", "tiny"]);
    expect(fs.existsSync(file)).toBe(false);
  }, 60_000);

  it("loses to the environment, which loses to the flags", async () => {
    const fromEnv = path.join(project, "models-from-env");
    const fromFlag = path.join(project, "models-from-flag");
    const env = { EARSHOT_MODELS_DIR: fromEnv, EARSHOT_MODELS_BASE_URL: "http://127.0.0.1:9/from-env" };
    expect(await listJson([], env)).toMatchObject({ modelsDir: fromEnv, baseUrl: "http://127.0.0.1:9/from-env" });
    expect((await listJson(["--models-dir", fromFlag], env)).modelsDir).toBe(fromFlag);
  }, 60_000);
});
