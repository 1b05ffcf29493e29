// How the server serves the browser app: from the package's web/ directory, with content types,
// revalidation, a strict Content-Security-Policy, no secrets in the page, and the API still guarded.
import fs from "node:fs";
import http from "node:http";
import path from "node:path";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { LANGUAGES } from "../../src/transcription/languages.js";
import { WEB_ROOT } from "../../src/server/routes/web.js";
import { startTestServer, type TestServer } from "../support/server.js";

const KEY = "sk-earshot-web-test-1234567890";
let server: TestServer;

beforeAll(async () => {
  server = await startTestServer({ apiKeys: KEY });
});
afterAll(async () => {
  await server?.close();
});

/** A GET with the path sent exactly as given (fetch would normalize "..") */
function rawGet(pathname: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  const url = new URL(server.url);
  return new Promise((resolve, reject) => {
    http
      .get({ host: url.hostname, port: url.port, path: pathname, headers }, (response) => {
        let body = "";
        response.on("data", (chunk: Buffer) => (body += chunk.toString()));
        response.on("end", () => resolve({ status: response.statusCode ?? 0, body }));
      })
      .on("error", reject);
  });
}

describe("the browser app's files", () => {
  it("serves the page at / without a key (the API keeps asking for one), and no key is in it", async () => {
    const page = await fetch(`${server.url}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(page.headers.get("cache-control")).toBe("no-cache");
    expect(page.headers.get("x-content-type-options")).toBe("nosniff");
    expect(page.headers.get("x-frame-options")).toBe("DENY");
    const html = await page.text();
    expect(html).toContain("<title>Earshot");
    expect(html).not.toContain(KEY);
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/); // no inline scripts
    expect(html).not.toMatch(/\sstyle=/); // no inline styles
    expect(html).not.toMatch(/https?:\/\//); // no CDN, nothing external

    const csp = page.headers.get("content-security-policy") ?? "";
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("style-src 'self'");
    expect(csp).toContain(`connect-src 'self' ws://${new URL(server.url).host} wss://${new URL(server.url).host}`);
    expect(csp).toContain("media-src 'self' blob:");
    expect(csp).not.toContain("unsafe");

    expect((await fetch(`${server.url}/v1/models`)).status).toBe(401);
    expect((await fetch(`${server.url}/v1/models`, { headers: { authorization: `Bearer ${KEY}` } })).status).toBe(200);
  });

  it("serves scripts, styles and the icon with their types, and 304 when unchanged", async () => {
    const types: Record<string, string> = {
      "main.js": "text/javascript; charset=utf-8",
      "pcm-worklet.js": "text/javascript; charset=utf-8",
      "styles.css": "text/css; charset=utf-8",
      "icon.svg": "image/svg+xml",
    };
    for (const [name, type] of Object.entries(types)) {
      const response = await fetch(`${server.url}/app/${name}`);
      expect(response.status, name).toBe(200);
      expect(response.headers.get("content-type"), name).toBe(type);
      expect(await response.text()).toBe(fs.readFileSync(path.join(WEB_ROOT, name), "utf8"));
      const etag = response.headers.get("etag");
      expect(etag).toMatch(/^"[\w-]+"$/);
      const again = await fetch(`${server.url}/app/${name}`, { headers: { "if-none-match": etag! } });
      expect(again.status, name).toBe(304);
      expect(await again.text()).toBe("");
    }
    const head = await fetch(`${server.url}/`, { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe("");
  });

  it("generates language-codes.js from the server's language table, served like the other scripts", async () => {
    expect(fs.existsSync(path.join(WEB_ROOT, "language-codes.js"))).toBe(false);
    const response = await fetch(`${server.url}/app/language-codes.js`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
    expect(response.headers.get("cache-control")).toBe("no-cache");
    const body = await response.text();
    const codes = /^export const CODES = (\[.*\]);\n$/.exec(body)?.[1];
    expect(JSON.parse(codes ?? "null")).toEqual(Object.keys(LANGUAGES));
    const etag = response.headers.get("etag");
    expect(etag).toMatch(/^"[\w-]+"$/);
    expect((await fetch(`${server.url}/app/language-codes.js`, { headers: { "if-none-match": etag! } })).status).toBe(304);
  });

  it("answers 404 (OpenAI's error shape) for anything else, including paths out of web/", async () => {
    for (const pathname of ["/app/nope.js", "/app/index.html", "/app/", "/app/..%2Fpackage.json", "/app/../package.json", "/app/%2e%2e/src/config.ts"]) {
      const response = await rawGet(pathname);
      expect(response.status, pathname).toBe(404);
      expect(JSON.parse(response.body).error.code, pathname).toBe("unknown_url");
    }
    // A URL no route serves is not public: without the key it is a 401, as every other route that is not declared public.
    expect((await rawGet("/index.html")).status).toBe(401);
    const unknown = await rawGet("/index.html", { authorization: `Bearer ${KEY}` });
    expect(unknown.status).toBe(404);
    expect(JSON.parse(unknown.body).error.code).toBe("unknown_url");
  });

  it("every file the page refers to is served: index.html's links and every module import", async () => {
    const html = fs.readFileSync(path.join(WEB_ROOT, "index.html"), "utf8");
    const referenced = [...html.matchAll(/(?:src|href)="(\/app\/[^"]+)"/g)].map((match) => match[1]!);
    expect(referenced).toEqual(expect.arrayContaining(["/app/main.js", "/app/styles.css", "/app/icon.svg"]));
    for (const file of fs.readdirSync(WEB_ROOT).filter((name) => name.endsWith(".js"))) {
      const source = fs.readFileSync(path.join(WEB_ROOT, file), "utf8");
      for (const match of source.matchAll(/(?:from\s+|import\s*\(\s*|new URL\(\s*)"(\.\/[^"]+)"/g)) referenced.push(`/app/${match[1]!.slice(2)}`);
    }
    expect(referenced).toContain("/app/pcm-worklet.js");
    expect(referenced).toContain("/app/language-codes.js");
    for (const url of new Set(referenced)) {
      expect((await fetch(`${server.url}${url}`)).status, url).toBe(200);
    }
  });

  it("ships web/ in the package", () => {
    const manifest = JSON.parse(fs.readFileSync("package.json", "utf8")) as { files: string[] };
    expect(manifest.files).toContain("web");
    expect(WEB_ROOT).toBe(path.resolve("web"));
  });
});
