// `earshot models quantize <name> <type>`: a quantized Parakeet variant made with parakeet-quantize from the same
// whisper.cpp tree as the addon (src/models/quantizeModel.ts), written into the models directory.
import type { Command } from "commander";

import { DEFAULT_QUANTIZE_TIMEOUT_MS, QUANTIZATION_TYPES, quantizeModel } from "../../models/quantizeModel.js";
import { settingOption } from "../settingOptions.js";
import { formatBytes, guarded, line, type ModelsCommandIO, settings } from "./modelsCommandIO.js";

interface QuantizeOptions {
  modelsDir?: string;
  force?: boolean;
  timeout: string;
}

async function quantize(io: ModelsCommandIO, name: string, type: string, opts: QuantizeOptions): Promise<void> {
  const { modelsDir: dir } = settings(io, opts);
  const seconds = Number(opts.timeout);
  if (!Number.isFinite(seconds) || seconds <= 0) throw new Error(`--timeout must be a positive number of seconds, not "${opts.timeout}"`);
  line(io.stderr, `Quantizing ${name} to ${type} with parakeet-quantize (built from the addon's whisper.cpp tree on first use)`);
  const result = await quantizeModel(name, type, { dir, force: opts.force === true, timeoutMs: seconds * 1000 });
  line(io.stdout, `Made ${result.name}: ${result.path} (${formatBytes(result.sizeBytes)}) from ${result.sourcePath}`);
  line(io.stdout, `  serve it with --model ${result.name}`);
}

/** Adds `quantize <name> <type>` to the `models` command. */
export function registerQuantizeCommand(models: Command, io: ModelsCommandIO): void {
  models
    .command("quantize")
    .description("make a quantized copy of an installed Parakeet model with whisper.cpp's parakeet-quantize")
    .argument("<name>", "installed Parakeet model (f16 or f32), e.g. parakeet-tdt-0.6b-v3, or a path to one")
    .argument("<type>", `quantization type: ${QUANTIZATION_TYPES.join(", ")}`)
    .addOption(settingOption("modelsDir"))
    .option("--force", "replace the quantized file if it exists")
    .option("--timeout <seconds>", "stop parakeet-quantize after this long", String(DEFAULT_QUANTIZE_TIMEOUT_MS / 1000))
    .action(async (name: string, type: string, opts: QuantizeOptions) => guarded(io, () => quantize(io, name, type, opts)));
}
