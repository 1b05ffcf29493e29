// The light project stays light: every file it names exists (a renamed file would silently leave it), and neither
// the file nor a helper beside it (./x.js) calls what starts a server, FFmpeg, the engine, Chromium, redis-server,
// haproxy or another process. What test/support exports is allowed as long as nothing of the kind is called.
import fs from "node:fs";
import path from "node:path";

import { describe, expect, it } from "vitest";

import { LIGHT_TESTS } from "./lightTests.js";

const ROOT = path.resolve(import.meta.dirname, "..");

/** What a light file must not call or import: each starts a process, a server, the engine or a browser. */
const HEAVY = [
  "startTestServer",
  "startServer(",
  "startWorkerServer",
  "startEarshot",
  "startReplica",
  "loadTestEngine",
  "WhisperEngine.load",
  "SileroVadModel",
  "decodeAudio(",
  "runFfmpeg",
  "encodeWithFfmpeg",
  "launchChromium",
  "startTestRedis",
  "startHaproxy",
  "node:child_process",
];

/** The file's own source and that of the helpers it imports from its own folder. */
function sources(file: string): Array<[string, string]> {
  const text = fs.readFileSync(path.join(ROOT, file), "utf8");
  const helpers = [...text.matchAll(/from "\.\/([\w.]+)\.js"/g)].map((match) => path.join(path.dirname(file), `${match[1]}.ts`));
  return [[file, text], ...helpers.map((helper): [string, string] => [helper, fs.readFileSync(path.join(ROOT, helper), "utf8")])];
}

describe("the light test files", () => {
  it("all exist", () => {
    expect(LIGHT_TESTS.filter((file) => !fs.existsSync(path.join(ROOT, file)))).toEqual([]);
  });

  it("start no server, FFmpeg, engine, browser or process", () => {
    const found = LIGHT_TESTS.filter((file) => file !== "test/lightTests.test.ts").flatMap((file) =>
      sources(file).flatMap(([source, text]) => HEAVY.filter((name) => text.includes(name)).map((name) => `${source}: ${name}`)),
    );
    expect(found).toEqual([]);
  });
});
