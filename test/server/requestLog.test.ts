// Operational hygiene, on the real server: the temp dirs a killed Earshot left are swept at start (only those of
// dead processes), secrets never reach the log, a client that goes away is one info line (499), and the upload
// routes answer a body that is not a multipart form, or a form without a file, the same way, in OpenAI's shape.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Writable } from "node:stream";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { rawUpload, silenceFile } from "../support/abuse.js";
import { RealtimeClient, realtimeUrl } from "../support/realtime.js";
import { startTestServer, waitFor, type TestServer } from "../support/server.js";

const UPLOAD_ROUTES = ["/v1/audio/transcriptions", "/v1/audio/translations", "/api/transcribe"];

describe("stale temp dirs", () => {
  it("are removed at start when their owner process is dead; others are kept", async () => {
    const tempDir = fs.mkdtempSync(path.join(os.tmpdir(), "earshot-sweep-test-"));
    try {
      const dead = spawnSync(process.execPath, ["-e", ""]).pid!;
      const names = {
        dead: `earshot-audio-${dead}-Ab12Cd`,
        live: `earshot-audio-${process.ppid}-Ef34Gh`,
        unrelated: "something-else",
      };
      for (const name of Object.values(names)) {
        fs.mkdirSync(path.join(tempDir, name));
        fs.writeFileSync(path.join(tempDir, name, "input"), Buffer.alloc(1024));
      }
      const server = await startTestServer({}, { tempDir });
      await server.close();
      expect(fs.readdirSync(tempDir).sort()).toEqual([names.live, names.unrelated].sort());
    } finally {
      fs.rmSync(tempDir, { recursive: true, force: true });
    }
  });
});

describe("the log", () => {
  const KEY = "sk-earshot-real-key-7f3a9c1e5b";
  const secrets = [KEY, "sk-query-secret-4d2b8e", "sk-wrong-bearer-6c1f0a", "sk-subprotocol-secret-9e7d3b"];
  let server: TestServer;
  const lines: string[] = [];

  beforeAll(async () => {
    const stream = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        lines.push(...chunk.toString().split("\n").filter(Boolean));
        callback();
      },
    });
    server = await startTestServer({ apiKeys: KEY }, { logger: { level: "info", stream } });
  });
  afterAll(async () => {
    await server?.close();
  });

  const records = () => lines.map((line) => JSON.parse(line) as Record<string, unknown> & { level: number; msg: string });

  it("never holds a key: not from ?api_key=, an Authorization header or the WebSocket subprotocol", async () => {
    const inQuery = await fetch(`${server.url}/v1/models?api_key=sk-query-secret-4d2b8e&limit=2`);
    expect(inQuery.status).toBe(401);
    const realKeyInQuery = await fetch(`${server.url}/v1/models?key=${KEY}`, { headers: { authorization: `Bearer ${KEY}` } });
    expect(realKeyInQuery.status).toBe(200);
    const wrongBearer = await fetch(`${server.url}/v1/audio/transcriptions?api_key=${KEY}`, {
      method: "POST",
      headers: { authorization: "Bearer sk-wrong-bearer-6c1f0a" },
      body: new FormData(),
    });
    expect(wrongBearer.status).toBe(401);
    const socket = await RealtimeClient.connect(realtimeUrl(server.url, `intent=transcription&api_key=${KEY}`), {
      protocols: ["realtime", "openai-insecure-api-key.sk-subprotocol-secret-9e7d3b"],
    }).catch((e: { status?: number }) => e);
    expect((socket as { status?: number }).status).toBe(401);

    await waitFor("the refusals in the log", async () => records().filter((r) => r.msg === "realtime connection refused").length > 0);
    const text = lines.join("\n");
    for (const secret of secrets) expect(text, `the log holds ${secret}`).not.toContain(secret);
    // The requests are still there, their URLs with the key's value replaced
    const urls = records()
      .map((r) => (r.req as { url?: string } | undefined)?.url ?? (r.url as string | undefined))
      .filter((url): url is string => typeof url === "string");
    expect(urls).toContain("/v1/models?api_key=[REDACTED]&limit=2");
    expect(urls).toContain("/v1/audio/transcriptions?api_key=[REDACTED]");
    expect(urls.some((url) => url.startsWith("/v1/realtime?intent=transcription&api_key=[REDACTED]"))).toBe(true);
  });

  it("a client that goes away mid-upload is one info line with status 499, no error and no stack", async () => {
    const before = lines.length;
    const flac = await silenceFile(600, "flac-stream");
    // The upload stalls, then the client gives up
    const gone = await rawUpload(`${server.url}/v1/audio/transcriptions`, {
      file: flac,
      stallAfterBytes: 128 * 1024,
      headers: { authorization: `Bearer ${KEY}` },
      timeoutMs: 500,
    });
    expect(gone.status).toBe(0);
    await waitFor("the 499 line", async () => records().slice(before).some((r) => r.status === 499));
    const logged = records().slice(before);
    const closed = logged.filter((r) => r.status === 499);
    expect(closed).toHaveLength(1);
    expect(closed[0]).toMatchObject({ level: 30, msg: "client closed the request", code: "client_closed_request" });
    expect(logged.filter((r) => r.level >= 50)).toEqual([]);
    expect(JSON.stringify(logged)).not.toMatch(/stack|"err"/);
  });
});

describe("upload routes", () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server?.close();
  });

  it("answer a urlencoded or JSON body (or none) with OpenAI's error shape, not a framework code", async () => {
    const bodies: Array<{ type?: string; body?: string; shown: string }> = [
      { type: "application/x-www-form-urlencoded", body: "model=whisper-1&file=abc", shown: "application/x-www-form-urlencoded" },
      { type: "application/json", body: JSON.stringify({ model: "whisper-1", file: "abc" }), shown: "application/json" },
      { type: "application/json", body: "{not json", shown: "application/json" },
      { type: "text/plain; charset=utf-8", body: "hello", shown: "text/plain" },
      { shown: "none" },
    ];
    for (const route of UPLOAD_ROUTES) {
      for (const { type, body, shown } of bodies) {
        const response = await fetch(`${server.url}${route}`, { method: "POST", ...(type ? { headers: { "content-type": type } } : {}), ...(body ? { body } : {}) });
        expect(response.status, `${route} with ${shown}`).toBe(400);
        expect(await response.json()).toEqual({
          error: {
            message: `Invalid Content-Type header (${shown}), expected multipart/form-data. (HINT: If you're using curl, you can pass -H 'Content-Type: multipart/form-data')`,
            type: "invalid_request_error",
            param: "file",
            code: "invalid_content_type",
          },
        });
      }
    }
  });

  it("give the same answer to a form without a file on every route, whatever else the form lacks", async () => {
    const forms: Array<[string, FormData]> = [];
    const withModel = new FormData();
    withModel.append("model", "whisper-1");
    forms.push(["model only", withModel]);
    forms.push(["empty form", new FormData()]);
    const otherFile = new FormData();
    otherFile.append("audio", new Blob([Buffer.alloc(100)]), "a.wav");
    forms.push(["a file under another name", otherFile]);
    for (const route of UPLOAD_ROUTES) {
      for (const [what, form] of forms) {
        const response = await fetch(`${server.url}${route}`, { method: "POST", body: form });
        expect(response.status, `${route}, ${what}`).toBe(400);
        expect(await response.json(), `${route}, ${what}`).toEqual({
          error: { message: "Missing required parameter: 'file'.", type: "invalid_request_error", param: "file", code: "missing_required_parameter" },
        });
      }
    }
  });
});
