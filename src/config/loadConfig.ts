// Loading the server settings: flags > environment > .env file > defaults, validated against the settings table
// (settings.ts). A bad value stops startup with a message naming the setting, its flag and its variable.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

import { parse as parseDotenv } from "dotenv";
import type { z } from "zod";

import { DECODED_BYTES_PER_SECOND } from "../audio/index.js";
import { modelsDir } from "../models/modelStore.js";
import { ConfigError } from "./ConfigError.js";
import { redactUrl } from "./redactUrl.js";
import { list } from "./schemas.js";
import { CONFIG_ENV, SERVER_SETTINGS, serverConfigSchema, settingLabel } from "./settings.js";

export type ServerConfig = Omit<z.output<typeof serverConfigSchema>, "modelsDir" | "dataDir" | "metrics"> & {
  /** Who may read GET /metrics (always set: the default follows the API keys). */
  metrics: "open" | "key" | "off";
  /** Absolute path of the models directory (always set: the default when not configured). */
  modelsDir: string;
  /** Absolute path of the data directory (always set: the default when not configured). */
  dataDir: string;
};
export type ServerConfigInput = Partial<Record<keyof ServerConfig, string | undefined>>;

/** Reads `.env` in `cwd` if present (values already in the environment win). */
export function readDotenv(cwd: string = process.cwd()): Record<string, string> {
  const file = path.join(cwd, ".env");
  return fs.existsSync(file) ? parseDotenv(fs.readFileSync(file)) : {};
}

/**
 * Merges flags, environment and .env, and validates. Throws ConfigError naming the setting, its
 * flag and its variable.
 */
export function loadServerConfig(
  flags: ServerConfigInput = {},
  env: NodeJS.ProcessEnv = process.env,
  dotenv: Record<string, string> = readDotenv(),
): ServerConfig {
  const config = loadConfig(Object.keys(CONFIG_ENV) as Array<keyof ServerConfig>, flags, env, dotenv);
  // Fail closed: a key setting that is there but names no key (`EARSHOT_API_KEYS=" "`, `=,`, or a template's empty
  // `${KEYS}`) was meant to protect the server; starting it open would be the wrong guess.
  const givenKeys = flags.apiKeys ?? env[CONFIG_ENV.apiKeys] ?? dotenv[CONFIG_ENV.apiKeys];
  if (givenKeys !== undefined && config.apiKeys.length === 0) {
    throw new ConfigError(`invalid ${settingLabel("apiKeys")}: it is set but names no key; give at least one key, or unset it to run an open server`);
  }
  for (const alias of config.aliases) {
    if (!/^[\w.:-]+(=.+)?$/.test(alias)) throw new ConfigError(`invalid model alias "${alias}" in ${CONFIG_ENV.aliases}: use alias or alias=model`);
  }
  if (config.jobsConcurrency === 0 && config.redisUrl === undefined) {
    throw new ConfigError(`invalid ${settingLabel("jobsConcurrency")}: 0 (no jobs run here) needs ${CONFIG_ENV.redisUrl}, where workers run them`);
  }
  // The longest upload whose header does not declare its length needs twice its samples once: the blocks it was
  // decoded into, and the array they are joined into.
  const longestUploadMb = (2 * config.maxDecodedSeconds * DECODED_BYTES_PER_SECOND) / 1_048_576;
  if (config.maxDecodedAudioMb < longestUploadMb) {
    throw new ConfigError(
      `invalid ${settingLabel("maxDecodedAudioMb")}: ${config.maxDecodedAudioMb} MB cannot hold ` +
        `one upload of maxDecodedSeconds (${config.maxDecodedSeconds} s needs ${longestUploadMb.toFixed(1)} MB while it is decoded): raise it, or lower ${CONFIG_ENV.maxDecodedSeconds}`,
    );
  }
  return config;
}

/**
 * Some of the settings, for commands that need only those (e.g. `earshot models` reads the models
 * directory and base URL, and is not stopped by a bad server setting). Same precedence and
 * validation as {@link loadServerConfig}: flags > environment > .env > defaults.
 */
export function loadConfig<K extends keyof ServerConfig>(
  keys: readonly K[],
  flags: ServerConfigInput = {},
  env: NodeJS.ProcessEnv = process.env,
  dotenv: Record<string, string> = readDotenv(),
): Pick<ServerConfig, K> {
  const raw: Record<string, string> = {};
  for (const key of keys) {
    const variable = CONFIG_ENV[key];
    const value = flags[key] ?? env[variable] ?? dotenv[variable];
    if (value !== undefined && value !== "") raw[key] = value;
  }
  const mask = Object.fromEntries(keys.map((key) => [key, true])) as Partial<Record<keyof ServerConfig, true>>;
  const parsed = serverConfigSchema.pick(mask).safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const key = String(issue.path[0]) as keyof ServerConfig;
    const secret = (SERVER_SETTINGS[key] as { secret?: "value" | "credentials" }).secret;
    const shown = secret === "value" ? "****" : secret === "credentials" ? redactUrl(raw[key]) : raw[key];
    throw new ConfigError(`invalid ${settingLabel(key)}: "${shown}": ${issue.message}`);
  }
  const config = parsed.data as Record<string, unknown>;
  // The default directory follows XDG_CACHE_HOME (an operating-system convention, so from the environment only).
  if ((keys as readonly string[]).includes("modelsDir")) config.modelsDir = modelsDir(raw.modelsDir, env);
  if ((keys as readonly string[]).includes("dataDir")) config.dataDir = dataDir(raw.dataDir, env);
  // /metrics follows the API unless told otherwise: behind the keys whenever there are keys.
  if ((keys as readonly string[]).includes("metrics") && config.metrics === undefined) {
    const apiKeys = (config.apiKeys as string[] | undefined) ?? list.parse(flags.apiKeys ?? env[CONFIG_ENV.apiKeys] ?? dotenv[CONFIG_ENV.apiKeys] ?? "");
    config.metrics = apiKeys.length > 0 ? "key" : "open";
  }
  return config as Pick<ServerConfig, K>;
}

/** The data directory: the configured one made absolute, else `$XDG_DATA_HOME/earshot`, else `~/.local/share/earshot`. */
export function dataDir(configured?: string, env: { XDG_DATA_HOME?: string | undefined } = process.env): string {
  const chosen = configured?.trim();
  if (chosen) return path.resolve(chosen.replace(/^~(?=$|\/)/, os.homedir()));
  const xdg = env.XDG_DATA_HOME?.trim();
  return path.join(xdg && path.isAbsolute(xdg) ? xdg : path.join(os.homedir(), ".local", "share"), "earshot");
}
