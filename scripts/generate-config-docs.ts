// Writes docs/configuration.md from the settings table (src/config/settings.ts): `npm run docs:config`.
// test/server/configDocs.test.ts fails when the committed page differs from what the table renders.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { renderConfigPage } from "../src/config/configPage.js";

const page = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "docs", "configuration.md");
fs.mkdirSync(path.dirname(page), { recursive: true });
fs.writeFileSync(page, renderConfigPage());
process.stdout.write(`wrote ${path.relative(process.cwd(), page)}\n`);
