// Runs once around the whole suite: every Earshot process a test starts without its own data dir
// (the CLI tests, the signal tests) keeps its jobs database in a temp dir removed at the end, never in the
// user's data directory (~/.local/share/earshot).
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

export default function setup(): () => void {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "earshot-suite-data-"));
  process.env.EARSHOT_DATA_DIR = dataDir;
  return () => fs.rmSync(dataDir, { recursive: true, force: true });
}
