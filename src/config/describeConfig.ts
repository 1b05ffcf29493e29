// The configuration as the startup log shows it: the settings the table marks secret are masked.
import type { ServerConfig } from "./loadConfig.js";
import { redactUrl } from "./redactUrl.js";
import type { Setting } from "./setting.js";
import { SERVER_SETTINGS } from "./settings.js";

/** The effective configuration for the startup log, secrets masked (API keys keep a few characters to tell them apart). */
export function describeConfig(config: ServerConfig): Record<string, unknown> {
  const shown: Record<string, unknown> = { ...config };
  for (const [key, setting] of Object.entries(SERVER_SETTINGS) as Array<[string, Setting]>) {
    const value = shown[key];
    if (value === undefined || setting.secret === undefined) continue;
    if (setting.secret === "credentials") shown[key] = redactUrl(value as string);
    else shown[key] = Array.isArray(value) ? value.map((each: string) => (each.length <= 8 ? "****" : `${each.slice(0, 3)}…${each.slice(-2)}`)) : "****";
  }
  return shown;
}
