// Startup fails clearly: a missing model file, one not installed, an alias to a missing model, a file that is no
// whisper model, a port in use (the loaded model unloaded again); and a good configuration starts and closes.
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";

import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";

import { WhisperEngine } from "../../src/engine/WhisperEngine.js";
import { getTestModelPath } from "../../src/models/testModel/index.js";
import { startServer } from "../../src/server/server.js";
import { ConfigError, loadServerConfig } from "../../src/config.js";

let dir: string;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "earshot-startup-test-"));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe("startServer", () => {
  it("rejects a missing model file, naming its path", async () => {
    const missing = path.join(dir, "models", "ggml-missing.bin");
    const start = startServer(loadServerConfig({ model: missing, port: "0" }, {}, {}), { logger: false, tempDir: dir });
    await expect(start).rejects.toBeInstanceOf(ConfigError);
    await expect(start).rejects.toThrow(missing);
  });

  it("rejects a model that is not installed, saying how to pull it", async () => {
    const modelsDir = fs.mkdtempSync(path.join(dir, "store-"));
    const start = startServer(loadServerConfig({ model: "small.en", port: "0", modelsDir }, {}, {}), { logger: false, tempDir: dir });
    await expect(start).rejects.toBeInstanceOf(ConfigError);
    await expect(start).rejects.toThrow(/earshot models pull small\.en/);
  });

  it("rejects an alias to a missing model", async () => {
    const model = await getTestModelPath("tiny");
    const missing = path.join(dir, "nowhere", "ggml-other.bin");
    const start = startServer(loadServerConfig({ model, port: "0", aliases: `whisper-1=${missing}` }, {}, {}), { logger: false, tempDir: dir });
    await expect(start).rejects.toThrow(missing);
  });

  it("rejects a model file that is not a whisper model", async () => {
    const bogus = path.join(dir, "ggml-bogus.bin");
    fs.writeFileSync(bogus, "not a model");
    const start = startServer(loadServerConfig({ model: bogus, port: "0" }, {}, {}), { logger: false, tempDir: dir });
    await expect(start).rejects.toBeInstanceOf(ConfigError);
    await expect(start).rejects.toThrow(bogus);
  });

  it("a port in use rejects, and unloads the model it had loaded", async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
    const port = String((blocker.address() as net.AddressInfo).port);
    const close = vi.spyOn(WhisperEngine.prototype, "close");
    try {
      const start = startServer(loadServerConfig({ model: await getTestModelPath("tiny"), port }, {}, {}), { logger: false, tempDir: dir });
      await expect(start).rejects.toThrow(/EADDRINUSE/);
      expect(close).toHaveBeenCalledTimes(1);
    } finally {
      close.mockRestore();
      blocker.close();
    }
  });

  it("starts on the configured host with the OS's port, and closes", async () => {
    const server = await startServer(loadServerConfig({ model: await getTestModelPath("tiny"), port: "0" }, {}, {}), { logger: false, tempDir: dir });
    try {
      expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(Number(new URL(server.url).port)).toBeGreaterThan(0);
      expect((await fetch(`${server.url}/health`)).status).toBe(200);
    } finally {
      await server.close();
    }
    await expect(fetch(`${server.url}/health`)).rejects.toThrow();
  });
});
