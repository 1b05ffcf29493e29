// GET /metrics: Prometheus text from the app's own registry, HTTP requests by route pattern, engine jobs, audio
// seconds, job-slot gauges read at scrape time, realtime sessions and turns; exposure open, key or off.
import { toFile } from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { COMPLETED, RealtimeClient, realtimeUrl, spokenTurns } from "../support/realtime.js";
import { longSpeechWav, startTestServer, type TestServer } from "../support/server.js";

const KEY = "sk-earshot-metrics-key";

/** The value of one sample line (`name{labels} value`), undefined when absent. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const labelText = line.slice(name.length).match(/^\{(.*)\}/)?.[1] ?? "";
    if (Object.entries(labels).every(([key, value]) => labelText.includes(`${key}="${value}"`))) return Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return undefined;
}

async function scrape(url: string, headers: Record<string, string> = {}): Promise<{ status: number; type: string | null; text: string }> {
  const response = await fetch(`${url}/metrics`, { headers });
  return { status: response.status, type: response.headers.get("content-type"), text: await response.text() };
}

describe("GET /metrics (open, the default)", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server?.close();
  });

  it("counts requests by route pattern, jobs, audio seconds, and reads the job slots at scrape time", async () => {
    const model = server.server.models.defaultModel.name;
    const wav = await longSpeechWav(8);
    const transcription = await server.client().audio.transcriptions.create({ file: await toFile(wav, "speech.wav"), model: "whisper-1" });
    expect(transcription.text.length).toBeGreaterThan(0);
    expect((await fetch(`${server.url}/no/such/route?token=abc`)).status).toBe(404);
    expect((await fetch(`${server.url}/v1/models/whisper-1`)).status).toBe(200);

    const { status, type, text } = await scrape(server.url);
    expect(status).toBe(200);
    expect(type).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(sample(text, "earshot_http_requests_total", { method: "POST", route: "/v1/audio/transcriptions", status: "200" })).toBe(1);
    expect(sample(text, "earshot_http_requests_total", { route: "unmatched", status: "404" })).toBe(1);
    // Route patterns, never raw URLs.
    expect(sample(text, "earshot_http_requests_total", { method: "GET", route: "/v1/models/:id", status: "200" })).toBe(1);
    expect(text).not.toContain("/no/such/route");
    expect(text).not.toContain("whisper-1\"");
    expect(sample(text, "earshot_http_request_duration_seconds_count", { route: "/v1/audio/transcriptions" })).toBe(1);

    expect(sample(text, "earshot_engine_jobs_total", { model, outcome: "ok" })).toBeGreaterThanOrEqual(1);
    expect(sample(text, "earshot_audio_received_seconds_total", { source: "http" })).toBeCloseTo(8, 0);
    expect(sample(text, "earshot_audio_transcribed_seconds_total", { model })).toBeCloseTo(8, 0);
    expect(sample(text, "earshot_engine_job_duration_seconds_count", { model })).toBeGreaterThanOrEqual(1);
    expect(sample(text, "earshot_engine_job_real_time_factor_sum", { model })).toBeGreaterThan(0);
    // Gauges from engine.stats() at scrape time.
    const { maxParallel } = (await (await fetch(`${server.url}/ready`)).json()) as { maxParallel: number };
    expect(sample(text, "earshot_engine_job_slots", { model })).toBe(maxParallel);
    expect(sample(text, "earshot_engine_job_slots_busy", { model })).toBe(0);
    expect(sample(text, "earshot_engine_queue_depth", { model })).toBe(0);
    expect(sample(text, "earshot_model_loads_total", { model, outcome: "ok" })).toBe(1);
    expect(sample(text, "earshot_model_load_duration_seconds_count", { model })).toBe(1);
    expect(sample(text, "earshot_realtime_sessions_open")).toBe(0);
    // prom-client's default process metrics.
    expect(sample(text, "process_cpu_user_seconds_total")).toBeGreaterThan(0);
    expect(sample(text, "nodejs_heap_size_used_bytes")).toBeGreaterThan(0);
    // The model label is always one of the served ids.
    const served = new Set(server.server.models.list().map((m) => m.id));
    for (const [, value] of text.matchAll(/model="([^"]*)"/g)) expect(served.has(value!)).toBe(true);
  }, 60_000);

  it("counts realtime sessions open and the turns committed and completed", async () => {
    const turns = await spokenTurns(["Hello there, this is a short turn."], { gapMs: 200, leadMs: 200 });
    const client = await RealtimeClient.open(realtimeUrl(server.url));
    expect(sample((await scrape(server.url)).text, "earshot_realtime_sessions_open")).toBe(1);
    client.send({ type: "session.update", session: { type: "transcription", audio: { input: { turn_detection: null } } } });
    await client.next("session.updated");
    await client.streamAudio(turns.pcm);
    client.send({ type: "input_audio_buffer.commit" });
    await client.next(COMPLETED);
    const text = (await scrape(server.url)).text;
    expect(sample(text, "earshot_realtime_turns_total", { event: "committed" })).toBe(1);
    expect(sample(text, "earshot_realtime_turns_total", { event: "completed" })).toBe(1);
    expect(sample(text, "earshot_realtime_turns_total", { event: "failed" })).toBe(0);
    expect(sample(text, "earshot_audio_received_seconds_total", { source: "realtime" })).toBeGreaterThan(1);
    await client.close();
    await expect.poll(async () => sample((await scrape(server.url)).text, "earshot_realtime_sessions_open")).toBe(0);
  }, 60_000);
});

describe("GET /metrics exposure", () => {
  it("by default with API keys: behind the keys, as the API (a client secret does not open it)", async () => {
    const server = await startTestServer({ apiKeys: KEY });
    try {
      const missing = await scrape(server.url);
      expect(missing.status).toBe(401);
      expect(JSON.parse(missing.text).error).toMatchObject({ type: "authentication_error" });
      expect((await scrape(server.url, { authorization: "Bearer sk-wrong" })).status).toBe(401);
      const { value } = await server.client(KEY).realtime.clientSecrets.create({});
      expect((await scrape(server.url, { authorization: `Bearer ${value}` })).status).toBe(401);
      const open = await scrape(server.url, { authorization: `Bearer ${KEY}` });
      expect(open.status).toBe(200);
      expect(sample(open.text, "earshot_http_requests_total", { route: "/metrics", status: "401" })).toBe(3);
    } finally {
      await server.close();
    }
  }, 60_000);

  it("EARSHOT_METRICS=open with API keys: scraped without a key while the API still needs one", async () => {
    const server = await startTestServer({ apiKeys: KEY, metrics: "open" });
    try {
      expect((await scrape(server.url)).status).toBe(200);
      expect((await fetch(`${server.url}/v1/models`)).status).toBe(401);
    } finally {
      await server.close();
    }
  }, 60_000);

  it("off: 404, as an unknown route", async () => {
    const server = await startTestServer({ metrics: "off" });
    try {
      const off = await scrape(server.url);
      expect(off.status).toBe(404);
      expect(JSON.parse(off.text).error).toMatchObject({ type: "invalid_request_error" });
    } finally {
      await server.close();
    }
  }, 60_000);
});
