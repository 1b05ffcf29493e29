import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** The version in the package's package.json. */
export function packageVersion(): string {
  const file = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "package.json");
  return (JSON.parse(fs.readFileSync(file, "utf8")) as { version: string }).version;
}
