// The commander options of the settings a command takes, read off the settings table (src/config/settings.ts):
// each flag's help is the setting's one-line doc, its variable and its default, so that `--help`, the page and the
// configuration never disagree.
import { type Command, Option } from "commander";

import { SERVER_SETTINGS, type ServerConfigInput } from "../config.js";
import { defaultText, flagCommands, type CommandName, type Setting } from "../config/setting.js";

type SettingTable = Readonly<Record<string, Setting>>;

/** The option of one setting: its flag, with its doc, variable and default as help. */
export function settingOption(key: string, table: SettingTable = SERVER_SETTINGS): Option {
  const setting = table[key]!;
  const byDefault = defaultText(setting).replaceAll("`", "");
  return new Option(setting.flag, `${setting.doc} (env ${setting.env}${byDefault === "unset" ? "" : `, default ${byDefault}`})`);
}

/** Adds to `command` the flags of every setting that `name` offers, in the table's order. */
export function addSettingOptions(command: Command, name: CommandName, table: SettingTable = SERVER_SETTINGS): Command {
  for (const key of offeredOn(name, table)) command.addOption(settingOption(key, table));
  return command;
}

/**
 * The settings given as flags on `command`'s line, as the configuration reads them: strings, a switch "true"
 * (`--tls-self-signed`) or "false" (`--no-gpu-offload`). Flags not given are left out, so that the environment and
 * `.env` still apply.
 */
export function settingFlags(command: Command, name: CommandName, table: SettingTable = SERVER_SETTINGS): ServerConfigInput {
  const flags: Record<string, string> = {};
  for (const key of offeredOn(name, table)) {
    const attribute = new Option(table[key]!.flag).attributeName();
    if (command.getOptionValueSource(attribute) !== "cli") continue;
    const value = command.getOptionValue(attribute) as string | boolean;
    flags[key] = String(value);
  }
  return flags;
}

/** The keys of the settings whose flag `name` offers. */
function offeredOn(name: CommandName, table: SettingTable): string[] {
  return Object.keys(table).filter((key) => flagCommands(table[key]!).includes(name));
}
