import type { Command } from "commander";

import { hardwareThreads } from "../../config.js";
import { loadAddon } from "../../engine/loadAddon.js";

/** `earshot info`: how the engine was built (whisper.cpp version, SIMD features, devices). */
export function registerInfoCommand(program: Command): void {
  program
    .command("info")
    .description("show how the engine was built: whisper.cpp version, CPU features, devices")
    .option("--json", "print JSON")
    .action((options: { json?: boolean }) => {
      const build = loadAddon().buildInfo();
      if (options.json) {
        process.stdout.write(`${JSON.stringify({ ...build, threads: hardwareThreads }, null, 2)}\n`);
        return;
      }
      const features = build.systemInfo
        .split("|")
        .map((part) => part.trim())
        .filter((part) => part.endsWith("= 1"))
        .map((part) => part.replace(/ = 1$/, ""));
      process.stdout.write(
        [
          `whisper.cpp  ${build.whisperVersion}`,
          `CPU features ${features.join(" ") || "(none)"}`,
          `threads      ${hardwareThreads} available`,
          `devices      ${build.devices.map((d) => `${d.name} (${d.description})`).join(", ")}`,
        ].join("\n") + "\n",
      );
    });
}
