// Models on demand (docs/model-loading.md), on the real server with two generated models (tiny- and base-shaped,
// different files): a model loads on its first request and /v1/models shows it; it unloads after the idle time; under
// a budget that fits one model, asking for the other unloads the idle one, never one a running request or a realtime
// session or a running batch job holds (that request gets 503 model_memory_exhausted with Retry-After); a load slower than the load wait
// answers 503 model_loading with Retry-After while the load goes on; a catalog model the server does not serve is
// refused (404 model_not_found, saying how an operator would serve it), never downloaded.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

import OpenAI, { APIError, toFile } from "openai";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";

import { getTestModelPath } from "../../src/models/testModel/index.js";
import { estimateModelMemory } from "../../src/transcription/modelMemory.js";
import { JobsClient } from "../jobs/jobsClient.js";
import { RealtimeClient, realtimeUrl } from "../support/realtime.js";
import { longSpeechWav, startTestServer, waitFor, type TestServer } from "../support/server.js";

/** What /v1/models adds to OpenAI's model object. */
interface ServedModelObject {
  id: string;
  object: "model";
  root: string;
  engine: string | null;
  state: "unloaded" | "loading" | "loaded";
  loaded: boolean;
  preloaded: boolean;
  memory_bytes: number | null;
  measured_load_bytes: number | null;
  holders: number;
}

const MIB = 1_048_576;
/** One job slot of one thread: one working state per model, so each model's estimate is small and known. */
const ONE_SLOT = { parallelJobs: "1", threadsPerJob: "1" };

let tinyPath: string;
let basePath: string;
let wav: Buffer;
let modelsDir: string;

beforeAll(async () => {
  [tinyPath, basePath, wav] = await Promise.all([getTestModelPath("tiny"), getTestModelPath("base"), longSpeechWav(6)]);
  modelsDir = fs.mkdtempSync(path.join(os.tmpdir(), "earshot-on-demand-models-"));
});
afterAll(() => {
  fs.rmSync(modelsDir, { recursive: true, force: true });
});

const nameOf = (file: string) => path.basename(file).replace(/^ggml-/, "").replace(/\.bin$/, "");

async function listed(client: OpenAI): Promise<Map<string, ServedModelObject>> {
  const page = await client.models.list();
  return new Map(page.data.map((model) => [model.id, model as unknown as ServedModelObject]));
}

async function modelState(client: OpenAI, id: string): Promise<ServedModelObject> {
  return (await client.models.retrieve(id)) as unknown as ServedModelObject;
}

async function transcribe(client: OpenAI, model: string, audio: Buffer = wav) {
  return client.audio.transcriptions.create({ file: await toFile(audio, "speech.wav"), model, response_format: "json" });
}

/** The value of one Prometheus sample (`name{labels} value`), undefined when absent. */
async function sample(url: string, name: string, labels: Record<string, string>): Promise<number | undefined> {
  const text = await (await fetch(`${url}/metrics`)).text();
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${name}{`)) continue;
    const labelText = line.slice(name.length).match(/^\{(.*)\}/)?.[1] ?? "";
    if (Object.entries(labels).every(([key, value]) => labelText.includes(`${key}="${value}"`))) return Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return undefined;
}

/** The error a request was refused with (the SDK's APIError), failing when it succeeded. */
async function refused(request: Promise<unknown>): Promise<APIError> {
  const error = await request.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, "the request was expected to be refused").toBeInstanceOf(APIError);
  return error as APIError;
}

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe("two models in one server", () => {
  it("loads the second on its first request, lists both with their engine, state and memory, and counts it", async () => {
    server = await startTestServer({ extraModels: basePath, modelsDir, modelIdleUnloadSeconds: "0" });
    const client = server.client();
    const [tiny, base] = [nameOf(tinyPath), nameOf(basePath)];

    const before = await listed(client);
    expect(before.get(tiny)).toMatchObject({ object: "model", root: tiny, engine: "whisper", state: "loaded", loaded: true, preloaded: true, holders: 0 });
    expect(before.get(base)).toMatchObject({ object: "model", root: base, engine: "whisper", state: "unloaded", loaded: false, preloaded: false, measured_load_bytes: null });
    // Sized before it is loaded: the base-shaped model's weights are twice the tiny one's.
    expect(before.get(base)!.memory_bytes).toBeGreaterThan(before.get(tiny)!.memory_bytes!);
    // The aliases run on the default model.
    expect(before.get("whisper-1")).toMatchObject({ root: tiny, loaded: true });
    expect(await sample(server.url, "earshot_model_loads_total", { model: base })).toBeUndefined();

    const result = await transcribe(client, base);
    expect(result.text.length).toBeGreaterThan(0);

    const after = await modelState(client, base);
    expect(after).toMatchObject({ state: "loaded", loaded: true, holders: 0, memory_bytes: before.get(base)!.memory_bytes });
    // The weights were read into memory: the process grew by about the file's size.
    expect(after.measured_load_bytes).toBeGreaterThan(fs.statSync(basePath).size / 2);
    expect(await sample(server.url, "earshot_model_loads_total", { model: base, outcome: "ok" })).toBe(1);
    expect(await sample(server.url, "earshot_model_load_duration_seconds_count", { model: base })).toBe(1);
    expect(await sample(server.url, "earshot_model_memory_bytes", { model: base })).toBe(after.memory_bytes);
    // /ready counts per model: both loaded, nothing running.
    const ready = (await (await fetch(`${server.url}/ready`)).json()) as { status: string; models: Array<{ model: string; state: string; running: number }> };
    expect(ready.status).toBe("ready");
    expect(ready.models).toEqual(expect.arrayContaining([expect.objectContaining({ model: tiny, state: "loaded" }), expect.objectContaining({ model: base, state: "loaded", running: 0 })]));
  });

  it("unloads a model idle for the idle time, and keeps the preloaded default", async () => {
    server = await startTestServer({ extraModels: basePath, modelsDir, modelIdleUnloadSeconds: "1" });
    const client = server.client();
    const [tiny, base] = [nameOf(tinyPath), nameOf(basePath)];
    await transcribe(client, base);
    const loadedAt = performance.now();
    await waitFor("the idle model to unload", async () => (await modelState(client, base)).state === "unloaded", 15_000, 100);
    expect(performance.now() - loadedAt).toBeGreaterThanOrEqual(900);
    expect(await sample(server.url, "earshot_model_unloads_total", { model: base, reason: "idle" })).toBe(1);
    expect(await sample(server.url, "earshot_model_memory_bytes", { model: base })).toBe(0);
    // The default model was idle all along: preloaded models stay.
    expect(await modelState(client, tiny)).toMatchObject({ state: "loaded" });
    // Asked for again, it loads again.
    await transcribe(client, base);
    expect(await modelState(client, base)).toMatchObject({ state: "loaded" });
    expect(await sample(server.url, "earshot_model_loads_total", { model: base, outcome: "ok" })).toBe(2);
  });

  it("refuses a catalog model it does not serve, installed or not, and downloads nothing", async () => {
    server = await startTestServer({ modelsDir });
    const client = server.client();
    const missing = await refused(transcribe(client, "small"));
    expect(missing.status).toBe(404);
    expect(missing.error).toMatchObject({ type: "invalid_request_error", code: "model_not_found", param: "model" });
    expect(missing.message).toMatch(/not installed on this server.*earshot models pull small/);
    expect(fs.readdirSync(modelsDir)).toEqual([]);

    // In the models directory but not configured: still not served by a request's say-so.
    fs.copyFileSync(tinyPath, path.join(modelsDir, "ggml-base.en.bin"));
    const unserved = await refused(transcribe(client, "base.en"));
    expect(unserved.status).toBe(404);
    expect(unserved.error).toMatchObject({ code: "model_not_found", param: "model" });
    expect(unserved.message).toMatch(/installed but not served.*EARSHOT_EXTRA_MODELS/);
    fs.rmSync(path.join(modelsDir, "ggml-base.en.bin"));

    // Any other id is OpenAI's unknown model.
    const unknown = await refused(transcribe(client, "no-such-model"));
    expect(unknown.status).toBe(404);
    expect(unknown.error).toMatchObject({ message: "The model 'no-such-model' does not exist or you do not have access to it.", code: "model_not_found" });
  });
});

describe("a memory budget that fits one model", () => {
  let budgetMb: number;
  beforeAll(async () => {
    const slots = { parallelJobs: 1, threadsPerJob: 1 };
    const [tiny, base] = await Promise.all([estimateModelMemory(tinyPath, "whisper", slots), estimateModelMemory(basePath, "whisper", slots)]);
    // Either model fits alone, never both.
    budgetMb = Math.ceil((Math.max(tiny.totalBytes, base.totalBytes) + Math.min(tiny.totalBytes, base.totalBytes) / 2) / MIB);
  });

  const start = () => startTestServer({ extraModels: basePath, modelsDir, preloadModels: "none", modelsMemoryMb: String(budgetMb), modelIdleUnloadSeconds: "0", ...ONE_SLOT });

  it("nothing preloaded: ready at once, and asking for the other model unloads the idle one", async () => {
    server = await start();
    const client = server.client();
    const [tiny, base] = [nameOf(tinyPath), nameOf(basePath)];
    expect((await fetch(`${server.url}/ready`)).status).toBe(200);
    expect(await modelState(client, tiny)).toMatchObject({ state: "unloaded", preloaded: false });

    await transcribe(client, tiny);
    expect(await modelState(client, tiny)).toMatchObject({ state: "loaded" });
    await transcribe(client, base);
    const models = await listed(client);
    expect(models.get(base)).toMatchObject({ state: "loaded" });
    expect(models.get(tiny)).toMatchObject({ state: "unloaded" });
    expect(await sample(server.url, "earshot_model_unloads_total", { model: tiny, reason: "evicted" })).toBe(1);
    // And back: the least recently used (base now) gives way.
    await transcribe(client, tiny);
    expect(await modelState(client, base)).toMatchObject({ state: "unloaded" });
    expect(await sample(server.url, "earshot_model_unloads_total", { model: base, reason: "evicted" })).toBe(1);
  });

  it("never unloads a model a running request holds: the other model's request gets 503 with Retry-After", async () => {
    server = await start();
    const client = server.client();
    const [tiny, base] = [nameOf(tinyPath), nameOf(basePath)];
    // Several 30-s windows on one thread: it runs long enough to be held while the other request comes.
    const long = transcribe(client, tiny, await longSpeechWav(120));
    long.catch(() => undefined);
    await waitFor(
      "the long request to hold its loaded model",
      async () => {
        const state = await modelState(client, tiny);
        return state.holders > 0 && state.state === "loaded";
      },
      30_000,
      20,
    );

    const error = await refused(transcribe(client, base));
    expect(error.status).toBe(503);
    expect(error.error).toMatchObject({ type: "server_error", code: "model_memory_exhausted" });
    expect(Number(error.headers?.get("retry-after"))).toBeGreaterThan(0);
    expect(await modelState(client, base)).toMatchObject({ state: "unloaded" });
    expect(await modelState(client, tiny)).toMatchObject({ state: "loaded" });

    expect((await long).text.length).toBeGreaterThan(0);
    // Given back once answered: now the other model loads, in place of the idle one.
    await waitFor("the model to be given back", async () => (await modelState(client, tiny)).holders === 0, 5_000, 20);
    await transcribe(client, base);
    expect(await modelState(client, tiny)).toMatchObject({ state: "unloaded" });
  }, 120_000);

  it("never unloads a model a realtime session holds, until the session closes", async () => {
    server = await start();
    const client = server.client();
    const [tiny, base] = [nameOf(tinyPath), nameOf(basePath)];
    await transcribe(client, tiny);
    const session = await RealtimeClient.open(realtimeUrl(server.url, `intent=transcription&model=${tiny}`), { headers: { authorization: "Bearer sk-test" } });
    try {
      expect(await modelState(client, tiny)).toMatchObject({ holders: 1 });
      const error = await refused(transcribe(client, base));
      expect(error.status).toBe(503);
      expect(error.error).toMatchObject({ code: "model_memory_exhausted" });
      expect(error.headers?.get("retry-after")).toBeTruthy();
    } finally {
      await session.close();
    }
    await waitFor("the session to give its model back", async () => (await modelState(client, tiny)).holders === 0, 5_000, 20);
    await transcribe(client, base);
    expect(await modelState(client, tiny)).toMatchObject({ state: "unloaded" });
    expect(await modelState(client, base)).toMatchObject({ state: "loaded" });
  });

  it("never unloads the model of a running batch job, until the job ends", async () => {
    server = await start();
    const client = server.client();
    const jobs = new JobsClient(server.url, "sk-test");
    const [tiny, base] = [nameOf(tinyPath), nameOf(basePath)];
    const job = await jobs.submit(await longSpeechWav(120), { model: tiny });
    await waitFor(
      "the job to run on its loaded model",
      async () => {
        const state = await modelState(client, tiny);
        return (await jobs.job(job.id)).status === "running" && state.state === "loaded" && state.holders > 0;
      },
      30_000,
      20,
    );
    const error = await refused(transcribe(client, base));
    expect(error.status).toBe(503);
    expect(error.error).toMatchObject({ code: "model_memory_exhausted" });
    expect(await modelState(client, tiny)).toMatchObject({ state: "loaded" });

    // Cancelled, the job gives its model back: the other model now loads in its place.
    expect((await jobs.cancel(job.id)).status).toBe(200);
    await waitFor("the job to give its model back", async () => (await modelState(client, tiny)).holders === 0, 10_000, 20);
    await transcribe(client, base);
    expect(await modelState(client, tiny)).toMatchObject({ state: "unloaded" });
  }, 120_000);
});

describe("a load slower than the load wait", () => {
  it("answers 503 model_loading with Retry-After, and the load goes on", async () => {
    server = await startTestServer({ extraModels: basePath, modelsDir, modelLoadWaitSeconds: "0.001", modelIdleUnloadSeconds: "0" });
    const client = server.client();
    const base = nameOf(basePath);
    const error = await refused(transcribe(client, base));
    expect(error.status).toBe(503);
    expect(error.error).toMatchObject({ type: "server_error", code: "model_loading" });
    expect(error.message).toContain(base);
    expect(Number(error.headers?.get("retry-after"))).toBeGreaterThanOrEqual(1);
    await waitFor("the load to finish", async () => (await modelState(client, base)).state === "loaded", 30_000, 50);
    // Loaded, a request no longer waits.
    expect((await transcribe(client, base)).text.length).toBeGreaterThan(0);
    expect(await sample(server.url, "earshot_model_loads_total", { model: base, outcome: "ok" })).toBe(1);
  });
});
