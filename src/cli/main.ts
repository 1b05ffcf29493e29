import { Command } from "commander";

import { registerInfoCommand } from "./commands/info.js";
import { registerJobsCommand } from "./commands/jobs.js";
import { registerModelsCommand } from "./commands/models.js";
import { registerServeCommand } from "./commands/serve.js";
import { registerTestModelCommand } from "./commands/testModel.js";
import { registerTranscribeCommand } from "./commands/transcribe.js";
import { registerWorkerCommand } from "./commands/worker.js";
import { packageVersion } from "./packageVersion.js";

const program = new Command()
  .name("earshot")
  .description("Self-hosted speech-to-text that speaks OpenAI's Audio API, on whisper.cpp at native speed")
  .version(packageVersion())
  .showHelpAfterError();

registerServeCommand(program);
registerWorkerCommand(program);
registerTranscribeCommand(program);
registerJobsCommand(program);
registerModelsCommand(program);
registerInfoCommand(program);
registerTestModelCommand(program);

program.parseAsync(process.argv).catch((error: unknown) => {
  process.stderr.write(`earshot: ${(error as Error).message}\n`);
  process.exitCode = 1;
});
