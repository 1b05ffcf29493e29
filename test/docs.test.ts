// The documentation's shape: README is a front door (at most 250 lines) that links every page in docs/, and every
// relative link in README.md and docs/*.md reaches a file that exists and, with a #fragment into a Markdown file, a
// heading that exists there (GitHub's anchors). Reads files only: no server, no model.
import fs from "node:fs";
import path from "node:path";

import { describe, expect, it } from "vitest";

const ROOT = path.resolve(import.meta.dirname, "..");
const README = path.join(ROOT, "README.md");
const DOCS = path.join(ROOT, "docs");
const README_MAX_LINES = 250;

/** README.md and every Markdown page in docs/, as absolute paths. */
function markdownFiles(): string[] {
  const pages = fs.readdirSync(DOCS).filter((name) => name.endsWith(".md")).sort();
  return [README, ...pages.map((name) => path.join(DOCS, name))];
}

/** The file's lines outside fenced code blocks (a `#` or `[x](y)` inside one is code, not Markdown). */
function proseLines(text: string): string[] {
  const lines: string[] = [];
  let fence: string | undefined;
  for (const line of text.split("\n")) {
    const marker = /^\s*(`{3,}|~{3,})/.exec(line)?.[1];
    if (fence) {
      if (marker && marker[0] === fence[0] && marker.length >= fence.length) fence = undefined;
    } else if (marker) {
      fence = marker;
    } else {
      lines.push(line);
    }
  }
  return lines;
}

/** A heading's anchor as GitHub makes it: the rendered text lowercased, punctuation dropped, spaces → '-'. */
function githubSlug(heading: string): string {
  const rendered = heading
    .replace(/\[([^\]]*)\]\([^)]*\)/g, "$1") // a link shows its text
    .replace(/`([^`]*)`/g, "$1") // code shows its content
    .replace(/(\*\*|__|\*)(.*?)\1/g, "$2"); // emphasis markers are not text
  return rendered
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc}\- ]/gu, "")
    .replace(/ /g, "-");
}

/** The anchors of a Markdown file's headings; a repeated heading gets -1, -2, … as on GitHub. */
function anchorsOf(file: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const line of proseLines(fs.readFileSync(file, "utf8"))) {
    const heading = /^#{1,6}\s+(.*?)(?:\s+#+)?\s*$/.exec(line)?.[1];
    if (heading === undefined) continue;
    const slug = githubSlug(heading);
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    anchors.add(count === 0 ? slug : `${slug}-${count}`);
  }
  return anchors;
}

/** Every inline link target in a file's prose (code spans left out), with the line it is on. */
function linksOf(file: string): Array<{ target: string; line: string }> {
  const links: Array<{ target: string; line: string }> = [];
  for (const line of proseLines(fs.readFileSync(file, "utf8"))) {
    const prose = line.replace(/`[^`]*`/g, "``");
    for (const match of prose.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) links.push({ target: match[1]!, line: line.trim() });
  }
  return links;
}

const isExternal = (target: string) => /^[a-z][a-z0-9+.-]*:/i.test(target);

describe("README", () => {
  it(`is a front door: at most ${README_MAX_LINES} lines`, () => {
    const lines = fs.readFileSync(README, "utf8").replace(/\n$/, "").split("\n").length;
    expect(lines, `README.md has ${lines} lines`).toBeLessThanOrEqual(README_MAX_LINES);
  });

  it("links every page in docs/", () => {
    const linked = new Set(
      linksOf(README)
        .filter(({ target }) => !isExternal(target))
        .map(({ target }) => path.resolve(ROOT, decodeURIComponent(target.split("#")[0]!))),
    );
    const unlinked = markdownFiles()
      .filter((file) => file !== README && !linked.has(file))
      .map((file) => path.relative(ROOT, file));
    expect(unlinked).toEqual([]);
  });
});

describe("links in README.md and docs/*.md", () => {
  it("GitHub's anchors are what the check expects", () => {
    expect(githubSlug("Fields of `POST /v1/audio/transcriptions`")).toBe("fields-of-post-v1audiotranscriptions");
    expect(githubSlug("Speakers (`diarized_json`)")).toBe("speakers-diarized_json");
    expect(githubSlug("Node.js versions")).toBe("nodejs-versions");
    expect(githubSlug("Many machines: BullMQ on Redis")).toBe("many-machines-bullmq-on-redis");
    expect(githubSlug("What is checked, bounded and when it runs")).toBe("what-is-checked-bounded-and-when-it-runs");
  });

  for (const file of markdownFiles()) {
    const name = path.relative(ROOT, file);
    it(`${name}: every relative link reaches a file, and every #anchor a heading`, () => {
      const broken: string[] = [];
      for (const { target, line } of linksOf(file)) {
        if (isExternal(target)) continue;
        const [pathPart = "", anchor] = target.split("#", 2);
        const linked = pathPart === "" ? file : path.resolve(path.dirname(file), decodeURIComponent(pathPart));
        if (!fs.existsSync(linked)) {
          broken.push(`${target}: no file ${path.relative(ROOT, linked)} (in: ${line})`);
          continue;
        }
        if (anchor === undefined || anchor === "") continue;
        if (!linked.endsWith(".md")) {
          broken.push(`${target}: an anchor into a file that is not Markdown (in: ${line})`);
          continue;
        }
        if (!anchorsOf(linked).has(decodeURIComponent(anchor))) broken.push(`${target}: no heading #${anchor} in ${path.relative(ROOT, linked)} (in: ${line})`);
      }
      expect(broken).toEqual([]);
    });
  }
});
