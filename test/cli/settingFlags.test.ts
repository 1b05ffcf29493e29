// The commands' setting flags come from the settings table, and reach the configuration as the variables would:
// a flag given wins, a flag not given leaves the environment and .env in charge. Light: parses, starts nothing.
import { Command } from "commander";
import { describe, expect, it } from "vitest";

import { addSettingOptions, settingFlags } from "../../src/cli/settingOptions.js";
import { loadServerConfig } from "../../src/config.js";

function parsed(name: "serve" | "worker" | "transcribe", args: string[]): Command {
  const command = addSettingOptions(new Command(name).exitOverride(), name);
  return command.parse(args, { from: "user" });
}

describe("setting flags", () => {
  it("are given to the configuration as strings; switches as true/false", () => {
    const serve = parsed("serve", ["--jobs-max-queued", "5", "--no-gpu-offload", "--tls-self-signed", "-p", "9100", "--redis-url", "redis://127.0.0.1:6379"]);
    const flags = settingFlags(serve, "serve");
    expect(flags).toEqual({ jobsMaxQueued: "5", gpuOffload: "false", tlsSelfSigned: "true", port: "9100", redisUrl: "redis://127.0.0.1:6379" });
    expect(loadServerConfig(flags, {}, {})).toMatchObject({ jobsMaxQueued: 5, gpuOffload: false, tlsSelfSigned: true, port: 9100 });
  });

  it("a flag not given leaves the variable in charge (a --no- switch included)", () => {
    const flags = settingFlags(parsed("serve", []), "serve");
    expect(flags).toEqual({});
    expect(loadServerConfig(flags, { EARSHOT_GPU_OFFLOAD: "0", EARSHOT_JOBS_MAX_QUEUED: "7" }, {})).toMatchObject({ gpuOffload: false, jobsMaxQueued: 7 });
    // The flag beats the variable.
    const given = settingFlags(parsed("serve", ["--jobs-max-queued", "9"]), "serve");
    expect(loadServerConfig(given, { EARSHOT_JOBS_MAX_QUEUED: "7" }, {}).jobsMaxQueued).toBe(9);
  });

  it("`earshot worker --port` is the worker's port, EARSHOT_WORKER_PORT", () => {
    const flags = settingFlags(parsed("worker", ["-p", "8101", "--jobs-concurrency", "2"]), "worker");
    expect(flags).toEqual({ workerPort: "8101", jobsConcurrency: "2" });
    const config = loadServerConfig(flags, { EARSHOT_PORT: "8000" }, {});
    expect(config.workerPort).toBe(8101);
    expect(config.port).toBe(8000);
  });

  it("a command has only the flags of the settings it reads", () => {
    expect(() => parsed("worker", ["--realtime-max-sessions", "3"])).toThrow(/unknown option/);
    expect(() => parsed("transcribe", ["--threads-per-job", "3"])).toThrow(/unknown option/); // its own is --threads
    expect(settingFlags(parsed("transcribe", ["--models-dir", "/m", "-m", "tiny"]), "transcribe")).toEqual({ modelsDir: "/m", model: "tiny" });
  });
});
