// The server's log, on the real server: it never holds a key (not from ?api_key=, an Authorization header or the
// WebSocket subprotocol; the URLs are kept with the key's value replaced), and a client that goes away mid-upload is
// one info line (499), no error and no stack.
import { Writable } from "node:stream";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { rawUpload, silenceFile } from "../support/abuse.js";
import { RealtimeClient, realtimeUrl } from "../support/realtime.js";
import { startTestServer, waitFor, type TestServer } from "../support/server.js";

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
