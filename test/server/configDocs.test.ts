// The settings table is the one spelling of every setting: docs/configuration.md is what it renders, the page names
// every EARSHOT_* variable the code reads, every setting a command reads has its flag there, ConfigError's hint
// names only flags that exist, and what the table marks secret is masked in logs and messages. Light: no server,
// no engine.
import fs from "node:fs";
import path from "node:path";

import { Command } from "commander";
import { describe, expect, it } from "vitest";

import { registerJobsCommand } from "../../src/cli/commands/jobs.js";
import { registerModelsCommand } from "../../src/cli/commands/models.js";
import { registerServeCommand } from "../../src/cli/commands/serve.js";
import { registerTranscribeCommand } from "../../src/cli/commands/transcribe.js";
import { registerWorkerCommand } from "../../src/cli/commands/worker.js";
import { CLIENT_SETTINGS, ConfigError, describeConfig, loadServerConfig, SERVER_SETTINGS, settingLabel } from "../../src/config.js";
import { renderConfigPage } from "../../src/config/configPage.js";
import { OTHER_VARIABLE_GROUPS } from "../../src/config/otherVariables.js";
import { flagCommands, flagName, type CommandName, type Setting } from "../../src/config/setting.js";

const PAGE = path.resolve("docs", "configuration.md");
const ALL_SETTINGS: Record<string, Setting> = { ...SERVER_SETTINGS, ...CLIENT_SETTINGS };

/** The `earshot` program as bin/earshot.js builds it (the commands that take settings). */
function program(): Command {
  const root = new Command();
  registerServeCommand(root);
  registerWorkerCommand(root);
  registerTranscribeCommand(root);
  registerJobsCommand(root);
  registerModelsCommand(root);
  return root;
}

/** The long flags a command offers; for `models` and `jobs`, those of each subcommand. */
function flagsOf(root: Command, name: CommandName): Set<string>[] {
  const command = root.commands.find((candidate) => candidate.name() === name)!;
  const commands = command.commands.length > 0 ? command.commands : [command];
  return commands.map((each) => new Set(each.options.map((option) => option.long!)));
}

/** Every EARSHOT_* name in the code that runs: the CLI, the server, the scripts and the native addon. */
function variablesInCode(): Set<string> {
  const found = new Set<string>();
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const file = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(file);
      else if (/\.(ts|mts|js|mjs|cjs|cpp|h)$/.test(entry.name)) for (const [name] of fs.readFileSync(file, "utf8").matchAll(/EARSHOT_[A-Z0-9_]+/g)) found.add(name);
    }
  };
  for (const dir of ["src", "scripts", "bin", path.join("native", "src")]) walk(path.resolve(dir));
  return found;
}

describe("docs/configuration.md", () => {
  it("is what the settings table renders", () => {
    const committed = fs.existsSync(PAGE) ? fs.readFileSync(PAGE, "utf8") : "";
    expect(committed === renderConfigPage(), "docs/configuration.md is stale: run `npm run docs:config` and commit it").toBe(true);
  });

  it("has a row for every EARSHOT_* variable the code reads", () => {
    const page = renderConfigPage();
    const variables = [...variablesInCode()];
    expect(variables.length).toBeGreaterThan(60);
    const missing = variables.filter((name) => !page.includes(`| \`${name}\` |`));
    expect(missing, "add them to src/config/settings.ts (or otherVariables.ts), then `npm run docs:config`").toEqual([]);
  });

  it("names each variable once, in one table", () => {
    const names = [...Object.values(ALL_SETTINGS).map((setting) => setting.env), ...OTHER_VARIABLE_GROUPS.flatMap((group) => group.variables.map((v) => v.env))];
    expect(new Set(names).size).toBe(names.length);
  });
});

describe("the settings' flags", () => {
  const root = program();

  it("every setting `earshot serve` reads has its flag on serve", () => {
    const serve = flagsOf(root, "serve")[0]!;
    const read = Object.entries(SERVER_SETTINGS).filter(([, setting]) => (setting.commands as readonly string[]).includes("serve"));
    expect(read.length).toBeGreaterThan(60);
    for (const [key, setting] of read) {
      expect(flagCommands(setting), key).toContain("serve");
      expect(serve.has(flagName(setting.flag)), `${key}: ${setting.flag}`).toBe(true);
    }
    // The ones the old option list lacked, among them.
    for (const flag of ["--jobs-max-queued", "--redis-url", "--data-dir", "--webhook-secret", "--no-gpu-offload", "--no-slot-sharing", "--models-dir"]) expect(serve.has(flag), flag).toBe(true);
  });

  it("every command offers the flags the table gives it, and its own flags for the others", () => {
    for (const [key, setting] of Object.entries(ALL_SETTINGS)) {
      for (const command of setting.commands) {
        const own = setting.ownFlags?.[command];
        const expected = flagCommands(setting).includes(command) ? setting.flag : own;
        if (expected === undefined) continue; // read from the environment only (e.g. `earshot jobs` reads EARSHOT_PORT)
        // `models` and `jobs`: on a subcommand at least (`--base-url` is `models pull`'s alone).
        expect(flagsOf(root, command).some((flags) => flags.has(flagName(expected))), `${command} ${flagName(expected)} (${key})`).toBe(true);
      }
    }
  });

  it("no command offers one flag for two settings", () => {
    for (const command of ["serve", "worker", "transcribe", "models", "jobs"] as const) {
      const flags = Object.values(ALL_SETTINGS)
        .filter((setting) => flagCommands(setting).includes(command))
        .map((setting) => flagName(setting.flag));
      expect(new Set(flags).size, command).toBe(flags.length);
    }
  });

  it("ConfigError's hint names only flags that exist, on the command it names", () => {
    for (const [table, keys] of [
      [SERVER_SETTINGS, Object.keys(SERVER_SETTINGS)],
      [CLIENT_SETTINGS, Object.keys(CLIENT_SETTINGS)],
    ] as const) {
      for (const key of keys) {
        const hint = /\(flag (--[\w-]+)(?: of earshot ([\w/]+))?, env (EARSHOT_\w+)\)$/.exec(settingLabel(key, table));
        expect(hint, settingLabel(key, table)).not.toBeNull();
        const [, flag, on, env] = hint!;
        expect(env).toBe((table as Record<string, Setting>)[key]!.env);
        for (const command of (on ?? "serve").split("/") as CommandName[]) {
          expect(flagsOf(root, command).some((flags) => flags.has(flag!)), `${key}: ${flag} on ${command}`).toBe(true);
        }
      }
    }
  });

  it("a refused value names its flag (or the command that has it) and its variable", () => {
    const refused = (flags: Record<string, string>) => {
      try {
        loadServerConfig(flags, {}, {});
      } catch (error) {
        expect(error).toBeInstanceOf(ConfigError);
        return (error as Error).message;
      }
      throw new Error("expected a ConfigError");
    };
    expect(refused({ jobsMaxQueued: "0" })).toContain("(flag --jobs-max-queued, env EARSHOT_JOBS_MAX_QUEUED)");
    expect(refused({ gpuOffload: "sometimes" })).toContain("(flag --no-gpu-offload, env EARSHOT_GPU_OFFLOAD)");
    expect(refused({ workerPort: "http" })).toContain("(flag --port of earshot worker, env EARSHOT_WORKER_PORT)");
  });
});

describe("the settings the table marks secret", () => {
  const secrets = {
    apiKeys: "sk-first-secret-key-0001,sk-second-secret-key-02",
    secretKey: "a-realtime-signing-key-of-40-bytes-000000",
    webhookSecret: `whsec_${Buffer.alloc(32, 7).toString("base64")}`,
    redisUrl: "redis://earshot:redis-password@127.0.0.1:6379",
  };

  it("are exactly these", () => {
    const marked = Object.entries(SERVER_SETTINGS).filter(([, setting]) => (setting as Setting).secret !== undefined).map(([key]) => key);
    expect(marked.sort()).toEqual(Object.keys(secrets).sort());
  });

  it("are masked in the startup log's configuration", () => {
    const shown = JSON.stringify(describeConfig(loadServerConfig(secrets, {}, {})));
    for (const value of [...secrets.apiKeys.split(","), secrets.secretKey, secrets.webhookSecret, "redis-password"]) expect(shown).not.toContain(value);
    expect(shown).toContain("redis://****@127.0.0.1:6379");
  });

  it("are masked in ConfigError's message", () => {
    const message = (flags: Record<string, string>) => {
      try {
        loadServerConfig(flags, {}, {});
      } catch (error) {
        return (error as Error).message;
      }
      throw new Error("expected a ConfigError");
    };
    expect(message({ secretKey: "short-secret" })).not.toContain("short-secret");
    expect(message({ webhookSecret: "whsec_c2hvcnQ=" })).not.toContain("c2hvcnQ");
    expect(message({ apiKeys: "sk-short" })).not.toContain("sk-short");
    expect(message({ redisUrl: "http://user:pass-word@host" })).not.toContain("pass-word");
  });
});
