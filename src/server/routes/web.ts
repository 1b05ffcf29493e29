// The browser app: GET / (web/index.html) and GET /app/* (its scripts, styles and icon), served from
// the package's own web/ directory, plus one generated module (language-codes.js, the server's own
// language table). Hand-written ES modules, no bundler and no external assets: the page works
// offline. Files are read once at startup; each answer carries an ETag and must be revalidated
// (unversioned names), plus a strict Content-Security-Policy (no inline code).
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from "fastify";

import { LANGUAGES } from "../../transcription/languages.js";

/** The package's web/ directory (this file is src/server/routes/web.ts or dist/server/routes/web.js). */
export const WEB_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "..", "web");

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".json": "application/json; charset=utf-8",
  ".webmanifest": "application/manifest+json; charset=utf-8",
  ".txt": "text/plain; charset=utf-8",
};

interface WebFile {
  body: Buffer;
  contentType: string;
  etag: string;
}

/** A strong ETag for `body`: the start of its SHA-256. */
function etagOf(body: Buffer): string {
  return `"${createHash("sha256").update(body).digest("base64url").slice(0, 22)}"`;
}

/** Every servable file under `root`, keyed by its path relative to it ("main.js", "icons/a.svg"). */
function loadWebFiles(root: string = WEB_ROOT): Map<string, WebFile> {
  const files = new Map<string, WebFile>();
  if (!fs.existsSync(root)) return files;
  const walk = (dir: string, prefix: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      if (entry.name.startsWith(".")) continue;
      const full = path.join(dir, entry.name);
      const relative = prefix ? `${prefix}/${entry.name}` : entry.name;
      if (entry.isDirectory()) {
        walk(full, relative);
        continue;
      }
      const contentType = CONTENT_TYPES[path.extname(entry.name).toLowerCase()];
      if (!entry.isFile() || !contentType) continue;
      const body = fs.readFileSync(full);
      files.set(relative, { body, contentType, etag: etagOf(body) });
    }
  };
  walk(root, "");
  return files;
}

const HOST = /^[\w.-]+(:\d+)?$|^\[[\da-fA-F:.]+\](:\d+)?$/;

/**
 * The page's policy: scripts, styles and the audio worklet from this origin only; recordings play
 * from blob: URLs; the API and the realtime WebSocket on this origin.
 */
function contentSecurityPolicy(host: string | undefined): string {
  const sockets = host && HOST.test(host) ? ` ws://${host} wss://${host}` : "";
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data: blob:",
    "media-src 'self' blob:",
    `connect-src 'self'${sockets}`,
    "font-src 'self'",
    "manifest-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join("; ");
}

function send(file: WebFile, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  reply
    .header("content-type", file.contentType)
    .header("cache-control", "no-cache")
    .header("etag", file.etag)
    .header("x-content-type-options", "nosniff")
    .header("referrer-policy", "no-referrer");
  if (file.contentType.startsWith("text/html")) {
    reply
      .header("content-security-policy", contentSecurityPolicy(request.headers.host))
      .header("permissions-policy", "microphone=(self), camera=(), geolocation=()")
      .header("x-frame-options", "DENY");
  }
  const match = request.headers["if-none-match"];
  if (match && match.split(",").some((tag) => tag.trim().replace(/^W\//, "") === file.etag)) return reply.code(304).send();
  return reply.send(file.body);
}

/** GET / and GET /app/*: the browser app from `root` (the package's web/ by default). */
export const webRoutes: FastifyPluginAsync<{ root?: string }> = async (app, { root = WEB_ROOT }) => {
  const files = loadWebFiles(root);
  // Generated from the server's own table, so the page offers exactly the languages it accepts.
  const languageCodes = Buffer.from(`export const CODES = ${JSON.stringify(Object.keys(LANGUAGES))};\n`);
  files.set("language-codes.js", { body: languageCodes, contentType: CONTENT_TYPES[".js"]!, etag: etagOf(languageCodes) });
  app.get("/", { config: { access: "public" } }, (request, reply) => {
    const index = files.get("index.html");
    return index ? send(index, request, reply) : reply.callNotFound();
  });
  app.get<{ Params: { "*": string } }>("/app/*", { config: { access: "public" } }, (request, reply) => {
    const name = request.params["*"];
    const file = name === "index.html" ? undefined : files.get(name);
    return file ? send(file, request, reply) : reply.callNotFound();
  });
};
