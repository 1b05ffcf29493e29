import fs from "node:fs";
import fsp from "node:fs/promises";
import os from "node:os";
import path from "node:path";

import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { catalogEntry } from "../../src/models/catalog.js";
import { describeChecks, sha256FromEtag } from "../../src/models/checksums.js";
import { downloadModel, type DownloadStart } from "../../src/models/downloadModel.js";
import { ChecksumMismatchError, ModelDownloadAbortedError, ModelDownloadError, UnknownModelError } from "../../src/models/errors.js";
import { generatedModelBytes, type ModelServer, sha256Hex, startModelServer } from "./loopbackModelServer.js";

const DATA = generatedModelBytes(300_000);
const SHA = sha256Hex(DATA);

let dir: string;
let server: ModelServer;

beforeEach(async () => {
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), "earshot-download-"));
  server = await startModelServer({ "ggml-tiny.bin": DATA });
});

afterEach(async () => {
  await server.close();
  await fsp.rm(dir, { recursive: true, force: true });
});

const finalPath = (): string => path.join(dir, "ggml-tiny.bin");
const partialPath = (): string => path.join(dir, "ggml-tiny.bin.partial");

async function caught(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected the promise to reject");
}

describe("downloadModel", () => {
  it("downloads through a Hugging Face style redirect and verifies the sha256 from X-Linked-ETag", async () => {
    const progress: Array<[number, number | undefined]> = [];
    const result = await downloadModel("tiny", {
      dir,
      baseUrl: server.baseUrl,
      expectedSha256: null,
      onProgress: (received, total) => progress.push([received, total]),
    });

    expect(result.alreadyInstalled).toBe(false);
    expect(result.path).toBe(finalPath());
    expect(result.url).toBe(`${server.baseUrl}/ggml-tiny.bin`);
    expect(result.sha256).toBe(SHA);
    expect(result.checks).toEqual([{ expected: SHA, source: "server" }]);
    expect(result.resumedFrom).toBe(0);
    expect(result.sizeBytes).toBe(DATA.length);
    expect(fs.readFileSync(finalPath()).equals(DATA)).toBe(true);
    expect(fs.existsSync(partialPath())).toBe(false);

    expect(server.requests.map((r) => [r.path, r.status, r.range])).toEqual([
      ["/resolve/main/ggml-tiny.bin", 302, undefined],
      ["/cdn/ggml-tiny.bin", 200, undefined],
    ]);
    expect(progress[0]).toEqual([0, DATA.length]);
    expect(progress.at(-1)).toEqual([DATA.length, DATA.length]);
  });

  it("checks both the server's hash and an explicitly pinned one", async () => {
    const result = await downloadModel("tiny", { dir, baseUrl: server.baseUrl, expectedSha256: SHA.toUpperCase() });
    expect(result.checks).toEqual([
      { expected: SHA, source: "server" },
      { expected: SHA, source: "option" },
    ]);
    expect(describeChecks(result.checks)).toMatch(/^verified \(from the server's X-Linked-ETag\/ETag header; given with --sha256\)$/);
  });

  it("resumes an existing partial file with a Range request and receives only the remaining bytes", async () => {
    const kept = 123_457;
    fs.writeFileSync(partialPath(), DATA.subarray(0, kept));
    const starts: DownloadStart[] = [];
    const progress: number[] = [];

    const result = await downloadModel("tiny", {
      dir,
      baseUrl: server.baseUrl,
      expectedSha256: SHA,
      onStart: (info) => starts.push(info),
      onProgress: (received) => progress.push(received),
    });

    expect(result.resumedFrom).toBe(kept);
    expect(starts).toEqual([{ url: `${server.baseUrl}/ggml-tiny.bin`, resumeFrom: kept, totalBytes: DATA.length, restarted: false }]);
    expect(progress[0]).toBe(kept);
    const body = server.requests.find((r) => r.path.startsWith("/cdn/"));
    expect(body).toMatchObject({ range: `bytes=${kept}-`, status: 206, bodyBytes: DATA.length - kept });
    // The redirect hop got the Range header too.
    expect(server.requests[0]?.range).toBe(`bytes=${kept}-`);
    expect(fs.readFileSync(finalPath()).equals(DATA)).toBe(true);
    expect(fs.existsSync(partialPath())).toBe(false);
  });

  it("keeps what arrived when the server cuts the connection, and the next pull resumes from there", async () => {
    server.options = { cutAfter: 100_000 };
    const err = await caught(downloadModel("tiny", { dir, baseUrl: server.baseUrl, expectedSha256: SHA }));
    expect(err).toBeInstanceOf(ModelDownloadError);
    expect((err as ModelDownloadError).resumable).toBe(true);
    expect(err.message).toContain("run the same pull again to resume");
    expect(fs.existsSync(finalPath())).toBe(false);
    const kept = fs.statSync(partialPath()).size;
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThanOrEqual(100_000);

    server.requests.length = 0;
    const result = await downloadModel("tiny", { dir, baseUrl: server.baseUrl, expectedSha256: SHA });
    expect(result.resumedFrom).toBe(kept);
    expect(server.requests.find((r) => r.path.startsWith("/cdn/"))).toMatchObject({
      range: `bytes=${kept}-`,
      status: 206,
      bodyBytes: DATA.length - kept,
    });
    expect(fs.readFileSync(finalPath()).equals(DATA)).toBe(true);
    expect(fs.existsSync(partialPath())).toBe(false);
  });

  it("restarts cleanly when the server ignores Range and answers 200", async () => {
    server.options = { honorRange: false };
    fs.writeFileSync(partialPath(), Buffer.alloc(5_000, 0xff)); // not a prefix of the file: must not survive
    const starts: DownloadStart[] = [];

    const result = await downloadModel("tiny", { dir, baseUrl: server.baseUrl, expectedSha256: SHA, onStart: (info) => starts.push(info) });

    expect(starts[0]).toMatchObject({ resumeFrom: 0, restarted: true, totalBytes: DATA.length });
    expect(result.resumedFrom).toBe(0);
    expect(server.requests.find((r) => r.path.startsWith("/cdn/"))).toMatchObject({ range: "bytes=5000-", status: 200, bodyBytes: DATA.length });
    expect(fs.readFileSync(finalPath()).equals(DATA)).toBe(true);
    expect(fs.existsSync(partialPath())).toBe(false);
  });

  it("finishes a partial file that is already complete (the server answers 416)", async () => {
    server.options = { redirect: false };
    fs.writeFileSync(partialPath(), DATA);
    const result = await downloadModel("tiny", { dir, baseUrl: server.baseUrl, expectedSha256: SHA });
    expect(server.requests).toMatchObject([{ status: 416, range: `bytes=${DATA.length}-`, bodyBytes: 0 }]);
    expect(result.resumedFrom).toBe(DATA.length);
    expect(fs.readFileSync(finalPath()).equals(DATA)).toBe(true);
  });

  it("starts over when the partial file is bigger than the published file", async () => {
    server.options = { redirect: false };
    fs.writeFileSync(partialPath(), Buffer.concat([DATA, Buffer.from("junk")]));
    const result = await downloadModel("tiny", { dir, baseUrl: server.baseUrl, expectedSha256: SHA });
    expect(server.requests.map((r) => r.status)).toEqual([416, 200]);
    expect(result.resumedFrom).toBe(0);
    expect(fs.readFileSync(finalPath()).equals(DATA)).toBe(true);
  });

  it("deletes the download and installs nothing when the bytes do not match the server's hash", async () => {
    const wrong = "0".repeat(64);
    server.options = { linkedEtag: wrong };
    const err = await caught(downloadModel("tiny", { dir, baseUrl: server.baseUrl, expectedSha256: null }));

    expect(err).toBeInstanceOf(ChecksumMismatchError);
    const mismatch = err as ChecksumMismatchError;
    expect(mismatch.code).toBe("checksum_mismatch");
    expect(mismatch.expected).toBe(wrong);
    expect(mismatch.actual).toBe(SHA);
    expect(mismatch.source).toBe("server");
    expect(mismatch.message).toContain(`${server.baseUrl}/ggml-tiny.bin`);
    expect(mismatch.message).toContain("The corrupt download was deleted");
    expect(fs.existsSync(finalPath())).toBe(false);
    expect(fs.existsSync(partialPath())).toBe(false);
  });

  it("checks the built-in table when the server sends no hash", async () => {
    server.options = { linkedEtag: false };
    const err = await caught(downloadModel("tiny", { dir, baseUrl: server.baseUrl }));

    expect(err).toBeInstanceOf(ChecksumMismatchError);
    expect((err as ChecksumMismatchError).source).toBe("catalog");
    expect((err as ChecksumMismatchError).expected).toBe(catalogEntry("tiny")?.sha256);
    expect(err.message).toContain("from earshot's built-in table");
    expect(err.message).toContain(`pass --model /path/to/ggml-tiny.bin, or place it in ${dir}`);
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it("refuses before downloading when the server's hash contradicts the built-in table", async () => {
    fs.writeFileSync(partialPath(), DATA.subarray(0, 1000));
    const err = await caught(downloadModel("tiny", { dir, baseUrl: server.baseUrl }));

    expect(err).toBeInstanceOf(ModelDownloadError);
    expect(err).not.toBeInstanceOf(ChecksumMismatchError);
    expect((err as ModelDownloadError).code).toBe("checksum_mismatch");
    expect(err.message).toContain(`announces sha256 ${SHA}`);
    expect(err.message).toContain(`--sha256 ${SHA}`);
    expect(fs.existsSync(finalPath())).toBe(false);
    // The earlier partial download is left alone.
    expect(fs.statSync(partialPath()).size).toBe(1000);
  });

  it("installs but reports 'not verified' when no reference hash exists at all", async () => {
    server.options = { linkedEtag: false };
    const result = await downloadModel("tiny", { dir, baseUrl: server.baseUrl, expectedSha256: null });
    expect(result.sha256).toBe(SHA);
    expect(result.checks).toEqual([]);
    expect(describeChecks(result.checks)).toContain("NOT verified");
    expect(fs.readFileSync(finalPath()).equals(DATA)).toBe(true);
  });

  it("says which URL failed and how to use a local file instead on a 404", async () => {
    const err = await caught(downloadModel("base", { dir, baseUrl: server.baseUrl }));
    expect(err).toBeInstanceOf(ModelDownloadError);
    const failure = err as ModelDownloadError;
    expect(failure.status).toBe(404);
    expect(failure.url).toBe(`${server.baseUrl}/ggml-base.bin`);
    expect(failure.message).toContain(`${server.baseUrl}/ggml-base.bin`);
    expect(failure.message).toContain("HTTP 404");
    expect(failure.message).toContain(`Download it yourself and pass --model /path/to/ggml-base.bin, or place it in ${dir}.`);
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it("reports a refused connection with the URL", async () => {
    const closed = server.baseUrl;
    await server.close();
    server = await startModelServer({});
    const err = await caught(downloadModel("tiny", { dir, baseUrl: closed }));
    expect(err).toBeInstanceOf(ModelDownloadError);
    expect(err.message).toContain(`${closed}/ggml-tiny.bin`);
    expect(err.message).toContain("ECONNREFUSED");
  });

  it("aborts through an AbortSignal and keeps the partial file", async () => {
    server.options = { stallAfter: 64_000 };
    const controller = new AbortController();
    const err = await caught(
      downloadModel("tiny", {
        dir,
        baseUrl: server.baseUrl,
        expectedSha256: SHA,
        signal: controller.signal,
        onProgress: (received) => {
          if (received >= 64_000) controller.abort();
        },
      }),
    );
    expect(err).toBeInstanceOf(ModelDownloadAbortedError);
    expect(err.name).toBe("AbortError");
    expect(fs.existsSync(finalPath())).toBe(false);
    expect(fs.statSync(partialPath()).size).toBe(64_000);
  });

  it("gives up on a stalled connection after the stall timeout, keeping the partial file", async () => {
    server.options = { stallAfter: 20_000 };
    const started = Date.now();
    const err = await caught(downloadModel("tiny", { dir, baseUrl: server.baseUrl, expectedSha256: SHA, stallTimeoutMs: 300 }));
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(err).toBeInstanceOf(ModelDownloadError);
    expect(err.message).toContain("stalled");
    expect((err as ModelDownloadError).resumable).toBe(true);
    expect(fs.statSync(partialPath()).size).toBe(20_000);
  });

  it("does nothing when the model is already installed, unless forced", async () => {
    fs.writeFileSync(finalPath(), Buffer.from("already here"));
    const kept = await downloadModel("tiny", { dir, baseUrl: server.baseUrl, expectedSha256: SHA });
    expect(kept).toMatchObject({ alreadyInstalled: true, path: finalPath(), sizeBytes: 12, sha256: undefined });
    expect(server.requests).toEqual([]);

    const forced = await downloadModel("tiny", { dir, baseUrl: server.baseUrl, expectedSha256: SHA, force: true });
    expect(forced.alreadyInstalled).toBe(false);
    expect(fs.readFileSync(finalPath()).equals(DATA)).toBe(true);
  });

  it("creates the models directory, and takes a base URL with a trailing slash", async () => {
    const nested = path.join(dir, "a", "b");
    const result = await downloadModel("tiny", { dir: nested, baseUrl: `${server.baseUrl}/`, expectedSha256: SHA });
    expect(result.url).toBe(`${server.baseUrl}/ggml-tiny.bin`);
    expect(fs.readFileSync(path.join(nested, "ggml-tiny.bin")).equals(DATA)).toBe(true);
  });

  it("rejects names that are not in the catalog without any request", async () => {
    const err = await caught(downloadModel("huge-v9", { dir, baseUrl: server.baseUrl }));
    expect(err).toBeInstanceOf(UnknownModelError);
    expect(err.message).toContain('Unknown model "huge-v9"');
    expect(server.requests).toEqual([]);
  });

  it("refuses a catalog model with no known SHA-256 without any request, unless one is given", async () => {
    const err = await caught(downloadModel("parakeet-tdt-0.6b-v3-f32", { dir, baseUrl: server.baseUrl }));
    expect(err).toBeInstanceOf(ModelDownloadError);
    expect((err as ModelDownloadError).code).toBe("checksum_unknown");
    expect((err as ModelDownloadError).url).toBe(`${server.baseUrl}/ggml-parakeet-tdt-0.6b-v3-f32.bin`);
    expect(server.requests).toEqual([]);
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it("rejects a base URL that is not http(s)", async () => {
    const err = await caught(downloadModel("tiny", { dir, baseUrl: "ftp://mirror/models" }));
    expect(err).toBeInstanceOf(ModelDownloadError);
    expect(err.message).toBe('Cannot download "tiny" from ftp://mirror/models/ggml-tiny.bin: the base URL must be an http:// or https:// URL.');
  });

  it("rejects a malformed --sha256 value", async () => {
    const err = await caught(downloadModel("tiny", { dir, baseUrl: server.baseUrl, expectedSha256: "abc" }));
    expect(err).toBeInstanceOf(ModelDownloadError);
    expect(err.message).toContain("not a SHA-256");
  });
});

describe("sha256FromEtag", () => {
  it("accepts quoted, weak and bare 64-hex values, and nothing else", () => {
    expect(sha256FromEtag(`"${SHA}"`)).toBe(SHA);
    expect(sha256FromEtag(`W/"${SHA.toUpperCase()}"`)).toBe(SHA);
    expect(sha256FromEtag(SHA)).toBe(SHA);
    expect(sha256FromEtag('"d41d8cd98f00b204e9800998ecf8427e"')).toBeUndefined();
    expect(sha256FromEtag('"5f3e-abc"')).toBeUndefined();
    expect(sha256FromEtag(undefined)).toBeUndefined();
  });
});
