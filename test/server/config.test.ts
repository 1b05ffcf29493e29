// Server configuration: flags > environment > .env > defaults, validated with messages that name
// the setting; the data, models and TLS dirs made. Light: no server is started (startup.test.ts starts one).
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { ConfigError, DEFAULT_ALIASES, DEFAULT_CORS_ORIGINS, loadConfig, loadServerConfig, readDotenv } from "../../src/config.js";
import { makeDirectory } from "../../src/makeDirectory.js";

let dir: string;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "earshot-config-test-"));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function configError(load: () => unknown): ConfigError {
  try {
    load();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error("expected a ConfigError");
}

describe("loadServerConfig", () => {
  it("has OpenAI-friendly defaults", () => {
    const config = loadServerConfig({}, {}, {});
    expect(config).toMatchObject({
      host: "127.0.0.1",
      port: 8000,
      model: "base",
      extraModels: [],
      aliases: [...DEFAULT_ALIASES],
      apiKeys: [],
      corsOrigins: DEFAULT_CORS_ORIGINS,
      maxUploadMb: 25,
      maxQueuedJobs: 16,
      logLevel: "info",
    });
    expect(config.parallelJobs).toBeUndefined();
    expect(config.threadsPerJob).toBeUndefined();
  });

  it("fails closed: a key setting that names no key, or a key too short to be secret, stops startup", () => {
    for (const given of [" ", ",", " , ", ""]) {
      const error = configError(() => loadServerConfig({}, { EARSHOT_API_KEYS: given }, {}));
      expect(error.message, JSON.stringify(given)).toMatch(/EARSHOT_API_KEYS.*names no key.*unset it/);
    }
    expect(configError(() => loadServerConfig({ apiKeys: "" }, {}, {})).message).toMatch(/names no key/);
    expect(configError(() => loadServerConfig({}, {}, { EARSHOT_API_KEYS: "," })).message).toMatch(/names no key/);
    const short = configError(() => loadServerConfig({}, { EARSHOT_API_KEYS: "sk-long-enough-key-1,abc" }, {}));
    expect(short.message).toMatch(/at least 16 characters/);
    expect(short.message).not.toContain("sk-long-enough-key-1");
    // Unset: an open server (warned at startup).
    expect(loadServerConfig({}, {}, {}).apiKeys).toEqual([]);
  });

  it("/metrics follows the API keys unless EARSHOT_METRICS says otherwise", () => {
    expect(loadServerConfig({}, {}, {}).metrics).toBe("open");
    expect(loadServerConfig({}, { EARSHOT_API_KEYS: "sk-metrics-default-1" }, {}).metrics).toBe("key");
    expect(loadServerConfig({ apiKeys: "sk-metrics-default-1" }, {}, {}).metrics).toBe("key");
    expect(loadServerConfig({}, { EARSHOT_API_KEYS: "sk-metrics-default-1", EARSHOT_METRICS: "open" }, {}).metrics).toBe("open");
    expect(loadServerConfig({}, { EARSHOT_METRICS: "off" }, {}).metrics).toBe("off");
  });

  it("a non-numeric port names the setting, its flag and its variable", () => {
    const error = configError(() => loadServerConfig({ port: "abc" }, {}, {}));
    expect(error.message).toMatch(/\bport\b/);
    expect(error.message).toContain("--port");
    expect(error.message).toContain("EARSHOT_PORT");
    expect(error.message).toContain('"abc"');
  });

  it("a negative upload limit, from the environment, names it", () => {
    const error = configError(() => loadServerConfig({}, { EARSHOT_MAX_UPLOAD_MB: "-1" }, {}));
    expect(error.message).toContain("maxUploadMb");
    expect(error.message).toContain("--max-upload-mb");
    expect(error.message).toContain("EARSHOT_MAX_UPLOAD_MB");
    expect(error.message).toContain('"-1"');
    expect(configError(() => loadServerConfig({ maxUploadMb: "-1" }, {}, {})).message).toContain("EARSHOT_MAX_UPLOAD_MB");
  });

  it("the limits have their defaults, read from flags and variables like the rest", () => {
    expect(loadServerConfig({}, {}, {})).toMatchObject({
      maxDecodedSeconds: 7200,
      maxDecodedAudioMb: 1024,
      uploadIdleTimeoutSeconds: 30,
      uploadTimeoutSeconds: 600,
      drainTimeoutSeconds: 30,
    });
    expect(loadServerConfig({}, {}, {}).maxConcurrentDecodes).toBeUndefined();
    const env = {
      EARSHOT_MAX_DECODED_SECONDS: "600",
      EARSHOT_MAX_DECODED_AUDIO_MB: "256",
      EARSHOT_MAX_CONCURRENT_DECODES: "4",
      EARSHOT_UPLOAD_IDLE_TIMEOUT_SECONDS: "2.5",
      EARSHOT_UPLOAD_TIMEOUT_SECONDS: "60",
      EARSHOT_DRAIN_TIMEOUT_SECONDS: "0",
    };
    expect(loadServerConfig({ maxConcurrentDecodes: "8" }, env, {})).toMatchObject({
      maxDecodedSeconds: 600,
      maxDecodedAudioMb: 256,
      maxConcurrentDecodes: 8,
      uploadIdleTimeoutSeconds: 2.5,
      uploadTimeoutSeconds: 60,
      drainTimeoutSeconds: 0,
    });
    expect(configError(() => loadServerConfig({ uploadIdleTimeoutSeconds: "0" }, {}, {})).message).toContain("EARSHOT_UPLOAD_IDLE_TIMEOUT_SECONDS");
    expect(configError(() => loadServerConfig({}, { EARSHOT_MAX_CONCURRENT_DECODES: "0" }, {})).message).toContain("--max-concurrent-decodes");
  });

  it("a decoded-audio budget that cannot hold the longest upload (twice its samples while it is joined) is refused", () => {
    // 7200 s is 439.5 MB of samples: 879 MB while an upload without a declared length is joined
    const error = configError(() => loadServerConfig({ maxDecodedAudioMb: "800" }, {}, {}));
    expect(error.message).toContain("EARSHOT_MAX_DECODED_AUDIO_MB");
    expect(error.message).toContain("EARSHOT_MAX_DECODED_SECONDS");
    expect(loadServerConfig({ maxDecodedAudioMb: "800", maxDecodedSeconds: "3600" }, {}, {}).maxDecodedAudioMb).toBe(800);
  });

  it("other bad values are refused too", () => {
    expect(configError(() => loadServerConfig({ port: "70000" }, {}, {})).message).toContain("EARSHOT_PORT");
    expect(configError(() => loadServerConfig({ parallelJobs: "0" }, {}, {})).message).toContain("EARSHOT_PARALLEL_JOBS");
    expect(configError(() => loadServerConfig({}, { EARSHOT_THREADS: "two" }, {})).message).toContain("EARSHOT_THREADS");
    expect(configError(() => loadServerConfig({}, {}, { EARSHOT_LOG_LEVEL: "loud" })).message).toContain("EARSHOT_LOG_LEVEL");
    expect(configError(() => loadServerConfig({ aliases: "whisper 1" }, {}, {})).message).toContain("EARSHOT_MODEL_ALIASES");
    expect(configError(() => loadServerConfig({}, { EARSHOT_SLOT_SHARING: "sometimes" }, {})).message).toContain("EARSHOT_SLOT_SHARING");
  });

  it("slot sharing is on unless EARSHOT_SLOT_SHARING turns it off", () => {
    expect(loadServerConfig({}, {}, {}).slotSharing).toBe(true);
    expect(loadServerConfig({}, { EARSHOT_SLOT_SHARING: "0" }, {}).slotSharing).toBe(false);
    expect(loadServerConfig({}, {}, { EARSHOT_SLOT_SHARING: "no" }).slotSharing).toBe(false);
  });

  it("uses .env values when the environment has none; the environment wins over .env, flags win over both", () => {
    fs.writeFileSync(
      path.join(dir, ".env"),
      "EARSHOT_PORT=9100\nEARSHOT_MAX_UPLOAD_MB=7\nEARSHOT_API_KEYS=sk-from-dotenv-0000\nEARSHOT_CORS_ORIGINS=https://a.example, https://b.example\n",
    );
    const dotenv = readDotenv(dir);
    expect(dotenv.EARSHOT_PORT).toBe("9100");

    const fromDotenv = loadServerConfig({}, {}, dotenv);
    expect(fromDotenv.port).toBe(9100);
    expect(fromDotenv.maxUploadMb).toBe(7);
    expect(fromDotenv.apiKeys).toEqual(["sk-from-dotenv-0000"]);
    expect(fromDotenv.corsOrigins).toEqual(["https://a.example", "https://b.example"]);

    const env = { EARSHOT_PORT: "9200", EARSHOT_API_KEYS: "sk-from-env-one-1,sk-from-env-two-2" };
    const fromEnv = loadServerConfig({}, env, dotenv);
    expect(fromEnv.port).toBe(9200);
    expect(fromEnv.apiKeys).toEqual(["sk-from-env-one-1", "sk-from-env-two-2"]);
    expect(fromEnv.maxUploadMb).toBe(7); // not in the environment: .env still applies

    const fromFlags = loadServerConfig({ port: "9300", maxUploadMb: "2.5" }, env, dotenv);
    expect(fromFlags.port).toBe(9300);
    expect(fromFlags.maxUploadMb).toBe(2.5);
    expect(fromFlags.apiKeys).toEqual(["sk-from-env-one-1", "sk-from-env-two-2"]);
  });

  it("reads the models directory, download server and FFmpeg path like the other settings", () => {
    const defaults = loadServerConfig({}, {}, {});
    expect(defaults.modelsDir).toBe(path.join(os.homedir(), ".cache", "earshot", "models"));
    expect(defaults.modelsBaseUrl).toBeUndefined(); // each engine's own repository (catalog.ts DEFAULT_BASE_URLS)
    expect(defaults.ffmpegPath).toBeUndefined();
    expect(loadServerConfig({}, { XDG_CACHE_HOME: "/xdg" }, {}).modelsDir).toBe(path.join("/xdg", "earshot", "models"));

    const dotenv = { EARSHOT_MODELS_DIR: "~/dotenv-models", EARSHOT_MODELS_BASE_URL: "http://mirror.example/m/", EARSHOT_FFMPEG_PATH: "/opt/ffmpeg" };
    expect(loadServerConfig({}, {}, dotenv)).toMatchObject({
      modelsDir: path.join(os.homedir(), "dotenv-models"),
      modelsBaseUrl: "http://mirror.example/m",
      ffmpegPath: "/opt/ffmpeg",
    });
    const env = { EARSHOT_MODELS_DIR: "/env/models", EARSHOT_MODELS_BASE_URL: "http://env.example" };
    expect(loadServerConfig({}, env, dotenv)).toMatchObject({ modelsDir: "/env/models", modelsBaseUrl: "http://env.example", ffmpegPath: "/opt/ffmpeg" });
    expect(loadServerConfig({ modelsDir: "relative/models", modelsBaseUrl: "http://flag.example" }, env, dotenv)).toMatchObject({
      modelsDir: path.resolve("relative/models"),
      modelsBaseUrl: "http://flag.example",
    });
  });

  it("loadConfig reads only the settings asked for, so a bad server setting does not stop `earshot models`", () => {
    const env = { EARSHOT_PORT: "not a port", EARSHOT_MODELS_DIR: "/env/models" };
    expect(loadConfig(["modelsDir", "modelsBaseUrl"], {}, env, {})).toEqual({ modelsDir: "/env/models", modelsBaseUrl: undefined });
    expect(configError(() => loadServerConfig({}, env, {})).message).toContain("EARSHOT_PORT");
  });

  it("no .env file is no settings", () => {
    const empty = fs.mkdtempSync(path.join(dir, "empty-"));
    expect(readDotenv(empty)).toEqual({});
  });
});

describe("makeDirectory (the data, models and TLS dirs)", () => {
  it("makes missing parents, and fails at once where Node's recursive mkdir would spin forever (/proc) or a file is in the way", () => {
    const base = fs.mkdtempSync(path.join(os.tmpdir(), "earshot-mkdir-"));
    try {
      makeDirectory(path.join(base, "a", "b", "c"));
      expect(fs.statSync(path.join(base, "a", "b", "c")).isDirectory()).toBe(true);
      makeDirectory(path.join(base, "a", "b", "c"));
      fs.writeFileSync(path.join(base, "file"), "x");
      expect(() => makeDirectory(path.join(base, "file", "sub"))).toThrow(/ENOTDIR|not a directory/);
      expect(() => makeDirectory(path.join(base, "file"))).toThrow(/not a directory/);
      const started = performance.now();
      expect(() => makeDirectory("/proc/earshot-test/models")).toThrow(/ENOENT/);
      expect(performance.now() - started).toBeLessThan(1_000);
    } finally {
      fs.rmSync(base, { recursive: true, force: true });
    }
  });
});
