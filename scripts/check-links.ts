/**
 * `npm run check-links`, part of `npm test`: every relative link in README.md and docs/ resolves.
 *
 * For each Markdown link `[text](target)`, image and reference definition outside code: a target
 * with a scheme (`https:`, `mailto:`) is left alone, since the tests run offline; any other names
 * a file or folder (relative to the file it is in) that must exist, and its `#anchor`, if any, a
 * heading of that Markdown file, turned into an anchor the way GitHub does (lower case,
 * punctuation dropped, spaces to hyphens, `-1`, `-2` on repeats). Every docs/ page must also be
 * linked from the README, so none is out of a newcomer's reach. Prints each broken link as
 * `file:line` and exits 1.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

type Link = { line: number; target: string };
type Parsed = { links: Link[]; anchors: Set<string> };

/** A heading's text as GitHub renders it, made into its anchor (github-slugger's rules). */
function slug(heading: string): string {
  const text = heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, "$1")
    .replace(/<[^>]+>/g, "")
    .replace(/`/g, "");
  return text
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, "")
    .replace(/ /g, "-");
}

/** A line with its inline code spans blanked, so a link shown as code is not taken for one. */
function withoutCode(line: string): string {
  return line.replace(/(`+)(?:(?!\1).)+?\1/g, (span) => " ".repeat(span.length));
}

const cache = new Map<string, Parsed>();

/** The links and the anchors of a Markdown file; fenced code blocks hold neither. */
function parse(file: string): Parsed {
  const cached = cache.get(file);
  if (cached) return cached;
  const links: Link[] = [];
  const anchors = new Set<string>();
  const repeats = new Map<string, number>();
  let fence: string | undefined;
  readFileSync(file, "utf8")
    .split("\n")
    .forEach((raw, index) => {
      const marker = /^\s{0,3}(`{3,}|~{3,})/.exec(raw)?.[1];
      if (fence) {
        if (marker && marker[0] === fence[0] && marker.length >= fence.length) fence = undefined;
        return;
      }
      if (marker) {
        fence = marker;
        return;
      }
      const line = withoutCode(raw);
      const heading = /^\s{0,3}#{1,6}\s+(.*?)(?:\s+#+)?\s*$/.exec(raw)?.[1];
      if (heading !== undefined) {
        const base = slug(heading);
        const seen = repeats.get(base) ?? 0;
        repeats.set(base, seen + 1);
        anchors.add(seen === 0 ? base : `${base}-${seen}`);
      }
      for (const match of line.matchAll(/<a\s[^>]*\b(?:id|name)="([^"]+)"/g)) anchors.add(match[1] ?? "");
      for (const match of line.matchAll(/\]\(\s*(<[^>]*>|[^)\s]*)/g)) {
        links.push({ line: index + 1, target: (match[1] ?? "").replace(/^<|>$/g, "") });
      }
      const definition = /^\s{0,3}\[[^\]]+\]:\s*(<[^>]*>|\S+)/.exec(line)?.[1];
      if (definition) links.push({ line: index + 1, target: definition.replace(/^<|>$/g, "") });
    });
  const parsed = { links, anchors };
  cache.set(file, parsed);
  return parsed;
}

/** Why `target`, linked from `file`, does not resolve; undefined when it does. */
function problem(file: string, target: string): string | undefined {
  if (target === "") return "empty link";
  if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith("//")) return undefined;
  const hash = target.indexOf("#");
  const pathPart = hash === -1 ? target : target.slice(0, hash);
  const anchor = hash === -1 ? undefined : decodeURIComponent(target.slice(hash + 1));
  const resolved = pathPart === "" ? file : path.resolve(path.dirname(file), decodeURIComponent(pathPart));
  if (!existsSync(resolved)) return `no file ${path.relative(ROOT, resolved)}`;
  if (anchor === undefined) return undefined;
  if (statSync(resolved).isDirectory() || !resolved.endsWith(".md")) {
    return `#${anchor} points into ${path.relative(ROOT, resolved)}, which is not a Markdown file`;
  }
  if (!parse(resolved).anchors.has(anchor)) {
    return `no heading #${anchor} in ${path.relative(ROOT, resolved)}`;
  }
  return undefined;
}

const readme = path.join(ROOT, "README.md");
const docsDir = path.join(ROOT, "docs");
const docs = existsSync(docsDir)
  ? readdirSync(docsDir, { recursive: true, encoding: "utf8" })
      .filter((name) => name.endsWith(".md"))
      .map((name) => path.join(docsDir, name))
      .sort()
  : [];

const failures: string[] = [];
let checked = 0;
for (const file of [readme, ...docs]) {
  for (const { line, target } of parse(file).links) {
    checked += 1;
    const why = problem(file, target);
    if (why) failures.push(`${path.relative(ROOT, file)}:${line}: (${target}) ${why}`);
  }
}

const linkedFromReadme = new Set(
  parse(readme).links.map(({ target }) => path.resolve(ROOT, decodeURIComponent(target.split("#")[0] ?? ""))),
);
for (const doc of docs) {
  if (!linkedFromReadme.has(doc)) failures.push(`${path.relative(ROOT, doc)}: not linked from README.md`);
}

if (failures.length > 0) {
  console.error(`Broken documentation links (${failures.length}):\n${failures.join("\n")}`);
  process.exit(1);
}
console.log(`Documentation links: ${checked} in ${1 + docs.length} files, all resolve.`);
