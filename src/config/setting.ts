// The shape of one row of the settings table (src/config/settings.ts), and what is read off a row: its flag's
// name, its default in words. Everything else about a setting (the zod schema, CONFIG_ENV, the commander options,
// ConfigError's hint, docs/configuration.md) is derived from these rows, so that a setting is spelled once.
import { z } from "zod";

/** The `earshot` commands that read settings. */
export const COMMAND_NAMES = ["serve", "worker", "transcribe", "models", "jobs"] as const;
export type CommandName = (typeof COMMAND_NAMES)[number];

/** One setting: where it is read from, which commands take it, how it is validated, what it means. */
export interface Setting {
  /** Its environment variable (also read from `.env`). */
  readonly env: `EARSHOT_${string}`;
  /**
   * Its flag as commander spells it: `--host <host>`, `-p, --port <port>`; a switch has no value
   * (`--tls-self-signed`), and a setting that is on by default is switched off (`--no-gpu-offload`).
   */
  readonly flag: string;
  /** The commands that read it (the page lists them). */
  readonly commands: readonly CommandName[];
  /**
   * The commands that offer `flag`, where not all of `commands` do: the others read the variable only (`earshot
   * jobs` reads EARSHOT_PORT for its default server), or declare a flag of their own for it (`ownFlags`).
   */
  readonly flagOn?: readonly CommandName[];
  /** Flags of its own that a command declares for it, with more values or another name (`transcribe --threads`). */
  readonly ownFlags?: Partial<Record<CommandName, string>>;
  /** Validates and coerces the raw string (flag, variable or `.env` line); holds the default. */
  readonly schema: z.ZodType;
  /** One line, plain text: what it does. The flag's help and the page's first sentence. */
  readonly doc: string;
  /** More for the page (Markdown): bounds, what happens beyond them, how it plays with other settings. */
  readonly note?: string;
  /** The default in words (Markdown), where the schema has none or its value needs explaining. */
  readonly defaultText?: string;
  /** Masked in messages and logs: the whole value, or the credentials of a URL. */
  readonly secret?: "value" | "credentials";
}

/** A variable read outside the configuration: by the build script, the native addon or the test setup. */
export interface OtherVariable {
  readonly env: `EARSHOT_${string}`;
  /** The files that read it (why it has no flag: no `earshot` command reads it). */
  readonly readBy: readonly string[];
  readonly doc: string;
  readonly note?: string;
  readonly defaultText: string;
}

/** The long name of a setting's flag (`--port` of `-p, --port <port>`). */
export function flagName(flag: string): string {
  return /--[\w-]+/.exec(flag)![0];
}

/** The commands that offer a setting's flag. */
export function flagCommands(setting: Setting): readonly CommandName[] {
  return setting.flagOn ?? setting.commands;
}

/** A setting's default in words (Markdown): its `defaultText`, else the schema's default, else "unset". */
export function defaultText(setting: Setting): string {
  if (setting.defaultText !== undefined) return setting.defaultText;
  const value = schemaDefault(setting.schema);
  if (value === undefined) return "unset";
  if (Array.isArray(value)) return value.length === 0 ? "none" : `\`${value.join(",")}\``;
  if (typeof value === "boolean") return value ? "on" : "off";
  return `\`${String(value)}\``;
}

/** The default a schema fills in (through `.default()`, before or after transforms), if any. */
function schemaDefault(schema: z.ZodType): unknown {
  if (schema instanceof z.ZodDefault) return schema.def.defaultValue;
  if (schema instanceof z.ZodPipe) return schemaDefault(schema.def.in as z.ZodType);
  return undefined;
}
