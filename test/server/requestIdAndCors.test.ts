// Headers every route shares: x-request-id (kept when given and usable, generated otherwise, the SDK's requestID)
// and CORS (the default allowed origins, preflight, same origin; nothing for others, Origin: null included).
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { startTestServer, type TestServer } from "../support/server.js";

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.close();
});

describe("x-request-id", () => {
  it("keeps a given id, on success and on errors", async () => {
    const health = await fetch(`${server.url}/health`, { headers: { "x-request-id": "client-id.42" } });
    expect(health.headers.get("x-request-id")).toBe("client-id.42");
    const missing = await fetch(`${server.url}/v1/nothing`, { headers: { "x-request-id": "abc-123" } });
    expect(missing.status).toBe(404);
    expect(missing.headers.get("x-request-id")).toBe("abc-123");
  });

  it("generates one otherwise (and for an unusable given id), different per request", async () => {
    const a = (await fetch(`${server.url}/v1/models`)).headers.get("x-request-id");
    const b = (await fetch(`${server.url}/v1/models`)).headers.get("x-request-id");
    expect(a).toMatch(/^req_[0-9a-f]{32}$/);
    expect(b).toMatch(/^req_[0-9a-f]{32}$/);
    expect(a).not.toBe(b);
    const bad = (await fetch(`${server.url}/health`, { headers: { "x-request-id": "no spaces <allowed>" } })).headers.get("x-request-id");
    expect(bad).toMatch(/^req_[0-9a-f]{32}$/);
  });

  it("is what the SDK reports as the error's requestID", async () => {
    const error = await server.client().models.retrieve("nope").catch((e: { requestID?: string; status?: number }) => e);
    expect((error as { status?: number }).status).toBe(404);
    expect((error as { requestID?: string }).requestID).toMatch(/^req_[0-9a-f]{32}$/);
  });
});

describe("CORS", () => {
  it("a default allowed origin gets access-control-allow-origin, preflight included", async () => {
    const origin = "http://localhost:5173";
    const get = await fetch(`${server.url}/v1/models`, { headers: { origin } });
    expect(get.headers.get("access-control-allow-origin")).toBe(origin);
    expect(get.headers.get("access-control-expose-headers")).toMatch(/x-request-id/);

    const preflight = await fetch(`${server.url}/v1/audio/transcriptions`, {
      method: "OPTIONS",
      headers: { origin, "access-control-request-method": "POST", "access-control-request-headers": "authorization,content-type" },
    });
    expect(preflight.status).toBeLessThan(300);
    expect(preflight.headers.get("access-control-allow-origin")).toBe(origin);
    expect(preflight.headers.get("access-control-allow-methods")).toMatch(/POST/);
  });

  it("a random origin gets no access-control-allow-origin", async () => {
    const origin = "https://evil.example";
    const get = await fetch(`${server.url}/v1/models`, { headers: { origin } });
    expect(get.headers.get("access-control-allow-origin")).toBeNull();
    const preflight = await fetch(`${server.url}/v1/audio/transcriptions`, {
      method: "OPTIONS",
      headers: { origin, "access-control-request-method": "POST" },
    });
    expect(preflight.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("Origin: null (file:// pages, sandboxed frames) or a malformed origin is not allowed, and is no error", async () => {
    for (const origin of ["null", "not a url"]) {
      const health = await fetch(`${server.url}/health`, { headers: { origin } });
      expect(health.status, origin).toBe(200);
      expect(health.headers.get("access-control-allow-origin")).toBeNull();
      const models = await fetch(`${server.url}/v1/models`, { headers: { origin } });
      expect(models.status, origin).toBe(200);
      expect(models.headers.get("access-control-allow-origin")).toBeNull();
    }
  });

  it("same-origin requests work", async () => {
    const origin = server.url;
    const get = await fetch(`${server.url}/v1/models`, { headers: { origin } });
    expect(get.status).toBe(200);
    expect(get.headers.get("access-control-allow-origin")).toBe(origin);
  });
});
