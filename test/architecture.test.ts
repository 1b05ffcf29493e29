// The floors of src/ (docs/architecture.md): every import goes down or stays on its floor, and no module imports itself
// back through others (no cycle). Read from the sources' relative imports, static and dynamic, type-only included.
import fs from "node:fs";
import path from "node:path";

import { describe, expect, it } from "vitest";

const SRC = path.resolve(import.meta.dirname, "..", "src");

/** Each room of src/ (a folder, or a top-level module) and its floor; a higher floor may import a lower one. */
const FLOORS: Record<string, number> = {
  makeDirectory: 0,
  processAlive: 0,
  engine: 1,
  audio: 2,
  models: 2,
  diarization: 2,
  transcription: 3,
  config: 3,
  formats: 4,
  api: 5,
  jobs: 6,
  server: 7,
  cli: 8,
};

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    return entry.isDirectory() ? sourceFiles(full) : entry.name.endsWith(".ts") ? [full] : [];
  });
}

/** The room of a file under src/: its first path segment, without extension. */
function roomOf(file: string): string {
  return path.relative(SRC, file).split(path.sep)[0]!.replace(/\.ts$/, "");
}

/** The files under src/ that `file` imports by a relative specifier. */
function importsOf(file: string): string[] {
  const text = fs.readFileSync(file, "utf8");
  const specifiers = [...text.matchAll(/(?:\bfrom\s+|\bimport\s*\(\s*|^\s*import\s+)"(\.{1,2}\/[^"]+)"/gm)].map((match) => match[1]!);
  return specifiers.map((specifier) => path.resolve(path.dirname(file), specifier).replace(/\.js$/, ".ts"));
}

const files = sourceFiles(SRC);
const graph = new Map(files.map((file) => [file, importsOf(file)]));
const relative = (file: string) => path.relative(SRC, file);

describe("the floors of src/", () => {
  it("every room has a floor, and every import goes down or stays on its floor", () => {
    const rooms = new Set(files.map(roomOf));
    expect([...rooms].filter((room) => FLOORS[room] === undefined), "rooms with no floor (add them to FLOORS and docs/architecture.md)").toEqual([]);
    const upward: string[] = [];
    for (const [file, imports] of graph) {
      for (const target of imports) {
        expect(fs.existsSync(target), `${relative(file)} imports ${relative(target)}, which does not exist`).toBe(true);
        if (FLOORS[roomOf(target)]! > FLOORS[roomOf(file)]!) upward.push(`${relative(file)} -> ${relative(target)}`);
      }
    }
    expect(upward).toEqual([]);
  });

  it("no module imports itself back through others (no cycle)", () => {
    // Tarjan's strongly connected components: any component of more than one file is a cycle.
    const index = new Map<string, number>();
    const low = new Map<string, number>();
    const stack: string[] = [];
    const onStack = new Set<string>();
    const cycles: string[][] = [];
    let next = 0;
    const visit = (file: string): void => {
      index.set(file, next);
      low.set(file, next++);
      stack.push(file);
      onStack.add(file);
      for (const target of graph.get(file) ?? []) {
        if (!index.has(target)) {
          if (!graph.has(target)) continue;
          visit(target);
          low.set(file, Math.min(low.get(file)!, low.get(target)!));
        } else if (onStack.has(target)) {
          low.set(file, Math.min(low.get(file)!, index.get(target)!));
        }
      }
      if (low.get(file) === index.get(file)) {
        const component: string[] = [];
        let member: string;
        do {
          member = stack.pop()!;
          onStack.delete(member);
          component.push(relative(member));
        } while (member !== file);
        if (component.length > 1) cycles.push(component.sort());
      }
    };
    for (const file of files) if (!index.has(file)) visit(file);
    expect(cycles).toEqual([]);
  });
});
