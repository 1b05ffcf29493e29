import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: ["test/support/globalSetup.ts"],
    pool: "forks",
    // The machine has 2 cores and the engine tests use both: run files one at a time.
    fileParallelism: false,
    testTimeout: 120_000,
    // On CI (two full passes, on a shared 2-core machine) a failed test runs once more: one that fails twice fails the
    // run, and vitest prints every retried test, so a flaky one shows up and gets fixed rather than hidden.
    retry: process.env.CI ? 1 : 0,
    hookTimeout: 300_000,
  },
});
