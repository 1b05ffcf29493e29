// The temp dirs a killed Earshot left behind are swept when the server starts: only those whose owner process is
// dead (the pid is in the name), never another's or a live process's.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

import { describe, expect, it } from "vitest";

import { startTestServer } from "../support/server.js";

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
