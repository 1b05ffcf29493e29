import { defineConfig } from "vitest/config";

import { LIGHT_TESTS } from "./test/lightTests.js";

// Two projects, both in every `vitest run` (`npx vitest run --project light` runs one):
//   - light: the files that start no server, FFmpeg, engine or browser (test/lightTests.ts); seconds, side by side;
//   - heavy: every other file, after the light ones (sequence.groupOrder), one at a time: the engine tests use both
//     cores of the machine.
export default defineConfig({
  test: {
    globalSetup: ["test/support/globalSetup.ts"],
    pool: "forks",
    testTimeout: 120_000,
    // On CI (two full passes, on a shared 2-core machine) a failed test runs once more: one that fails twice fails the
    // run, and vitest prints every retried test, so a flaky one shows up and gets fixed rather than hidden.
    retry: process.env.CI ? 1 : 0,
    hookTimeout: 300_000,
    projects: [
      {
        extends: true,
        test: { name: "light", include: LIGHT_TESTS, sequence: { groupOrder: 0 } },
      },
      {
        extends: true,
        test: { name: "heavy", include: ["test/**/*.test.ts"], exclude: LIGHT_TESTS, fileParallelism: false, sequence: { groupOrder: 1 } },
      },
    ],
  },
});
