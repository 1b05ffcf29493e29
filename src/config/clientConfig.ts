// Client settings: the server the commands that talk to a running server (`earshot jobs`) call, and its key.
// Their own small table, in the shape of the server settings' (setting.ts), so that the page and the flags are
// read off it too.
import { z } from "zod";

import { ConfigError } from "./ConfigError.js";
import { loadConfig, readDotenv } from "./loadConfig.js";
import type { Setting } from "./setting.js";
import { settingLabel } from "./settings.js";

export const CLIENT_SETTINGS = {
  url: {
    env: "EARSHOT_URL",
    flag: "--url <url>",
    commands: ["jobs"],
    schema: z.string().regex(/^https?:\/\/[^\s]+$/, "must be an http:// or https:// URL such as http://127.0.0.1:8000").optional(),
    doc: "the Earshot server earshot jobs talks to (an OpenAI base URL ending in /v1 works too)",
    defaultText: "the server this machine's settings would start: `http(s)://EARSHOT_HOST:EARSHOT_PORT` (loopback for `0.0.0.0` and `::`; `https` with the TLS settings)",
  },
  apiKey: {
    env: "EARSHOT_API_KEY",
    flag: "--api-key <key>",
    commands: ["jobs"],
    schema: z.string().min(1).optional(),
    doc: "bearer key earshot jobs sends, when the server has EARSHOT_API_KEYS",
    defaultText: "`OPENAI_API_KEY`, else none",
    secret: "value",
  },
} as const satisfies Record<string, Setting>;

/** The server a client command talks to, and its key. */
export interface ClientConfig {
  /** Base URL of the server: EARSHOT_URL, else http(s)://EARSHOT_HOST:EARSHOT_PORT (loopback for 0.0.0.0/::). */
  url: string;
  /** Bearer key: EARSHOT_API_KEY, else OPENAI_API_KEY; none when neither is set. */
  apiKey: string | undefined;
}

/** Environment variables of the client settings (OPENAI_API_KEY is also read for the key, after EARSHOT_API_KEY). */
export const CLIENT_CONFIG_ENV = { url: CLIENT_SETTINGS.url.env, apiKey: CLIENT_SETTINGS.apiKey.env } as const;

const clientConfigSchema = z.object({ url: CLIENT_SETTINGS.url.schema, apiKey: CLIENT_SETTINGS.apiKey.schema });

/**
 * The client settings: flags > environment > .env, as {@link loadServerConfig}. Without a URL, the server this
 * machine's own settings (EARSHOT_HOST, EARSHOT_PORT, TLS) would start.
 */
export function loadClientConfig(
  flags: { url?: string | undefined; apiKey?: string | undefined } = {},
  env: NodeJS.ProcessEnv = process.env,
  dotenv: Record<string, string> = readDotenv(),
): ClientConfig {
  const pick = (...values: Array<string | undefined>) => values.find((value) => value !== undefined && value !== "");
  const raw = {
    url: pick(flags.url, env[CLIENT_CONFIG_ENV.url], dotenv[CLIENT_CONFIG_ENV.url]),
    apiKey: pick(flags.apiKey, env[CLIENT_CONFIG_ENV.apiKey], env.OPENAI_API_KEY, dotenv[CLIENT_CONFIG_ENV.apiKey], dotenv.OPENAI_API_KEY),
  };
  const parsed = clientConfigSchema.safeParse(raw);
  if (!parsed.success) {
    const key = String(parsed.error.issues[0]!.path[0]) as keyof ClientConfig;
    const shown = key === "apiKey" ? "****" : raw[key];
    throw new ConfigError(`invalid ${settingLabel(key, CLIENT_SETTINGS)}: "${shown}": ${parsed.error.issues[0]!.message}`);
  }
  if (parsed.data.url) return { url: parsed.data.url, apiKey: parsed.data.apiKey };
  const server = loadConfig(["host", "port", "tlsCert", "tlsSelfSigned"], {}, env, dotenv);
  const host = server.host === "0.0.0.0" || server.host === "::" ? "127.0.0.1" : server.host.includes(":") ? `[${server.host}]` : server.host;
  const scheme = server.tlsCert || server.tlsSelfSigned ? "https" : "http";
  return { url: `${scheme}://${host}:${server.port}`, apiKey: parsed.data.apiKey };
}
