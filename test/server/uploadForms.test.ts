// Every upload route (OpenAI's two and the browser's) answers a body that is not a multipart form (urlencoded, JSON,
// text or none), or a form without a file, the same way, in OpenAI's error shape. The other bad fields are in
// errors.test.ts.
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { startTestServer, type TestServer } from "../support/server.js";

const UPLOAD_ROUTES = ["/v1/audio/transcriptions", "/v1/audio/translations", "/api/transcribe"];

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
