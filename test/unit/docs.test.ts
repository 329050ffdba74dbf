import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, posix, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { renderApiDoc, renderErrorCodes } from "../../src/http/api-docs.ts";
import { allPageRouteDocs } from "../../src/http/route-docs.ts";
import { docsApp } from "../support/docs-app.ts";

const root = join(import.meta.dirname, "../..");

describe("generated reference docs are current (run `npm run docs` when this fails)", () => {
  it("docs/reference/routes.md matches the route specs", async () => {
    const app = await docsApp();
    expect(readFileSync(join(root, "docs/reference/routes.md"), "utf8")).toBe(
      renderApiDoc(app.routeSpecs, allPageRouteDocs()),
    );
  });
  it("docs/reference/error-codes.md matches the catalogue", async () => {
    const app = await docsApp();
    expect(readFileSync(join(root, "docs/reference/error-codes.md"), "utf8")).toBe(
      renderErrorCodes(app.routeSpecs),
    );
  });
});

// The specification lives in docs/spec/ (ADR 0055). Every citation of a section must name a file
// inside the repository and a heading that exists there, so that a reader can follow it and a
// renumbering cannot silently leave comments pointing at the wrong rule.
const SPEC_FILES = ["api", "tokens", "storage", "saml", "oauth", "operations", "cli"] as const;
const SCANNED_DIRS = [
  "src",
  "cli",
  "migrate",
  "test",
  "scripts",
  "docs",
  "helm",
  "deploy",
  "packages",
  "config",
];
const SCANNED_ROOT_FILES = ["README.md", "install.sh", "package.json"];
const SCANNED_EXT = /\.(ts|mts|mjs|js|md|ya?ml|py|lua|sh|tpl|toml|service)$/;
// Built from pieces so that this file does not contain the pattern it forbids.
const OUTSIDE_PATH = new RegExp(`\\b${"shared"}/`);
// `<prefix>file.md §N` plus any `, §M` / `–§M` / ` and §M` that follow it in one citation.
const CITATION = new RegExp(
  String.raw`([\w./-]*?)\b(${SPEC_FILES.join("|")})\.md` +
    "`?" +
    String.raw`\s*§\s*(\d+(?:\.\d+)*)((?:\s*(?:,|–|-|and|or|/)\s*§\s*\d+(?:\.\d+)*)*)`,
  "g",
);
const SPEC_PATH = new RegExp(String.raw`([\w./-]*)\bspec/(${SPEC_FILES.join("|")})\.md`, "g");

// A specification file named without a section and without `docs/spec/` (checked in comments only).
const BARE_NAME = new RegExp(String.raw`(^|[^\w./-])(${SPEC_FILES.join("|")})\.md(?!\s*§)`, "g");

function scannedFiles(): string[] {
  const walkAll = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
      if (e.name === "node_modules" || e.name === ".git") return [];
      const path = join(dir, e.name);
      return e.isDirectory() ? walkAll(path) : SCANNED_EXT.test(e.name) ? [path] : [];
    });
  return [
    ...SCANNED_DIRS.flatMap((d) => (existsSync(join(root, d)) ? walkAll(join(root, d)) : [])),
    ...SCANNED_ROOT_FILES.map((f) => join(root, f)).filter((f) => existsSync(f)),
  ];
}

/** Section numbers of a spec file: `## 7.`, `### 4.1`, `#### 2.11.6` headings. */
function headingNumbers(file: string): Set<string> {
  const numbers = new Set<string>();
  for (const line of readFileSync(file, "utf8").split("\n")) {
    const m = /^#{2,4}\s+(\d+(?:\.\d+)*)[.\s]/.exec(line);
    if (m?.[1]) numbers.add(m[1]);
  }
  return numbers;
}

/** The repository path a cited path means: `docs/…` as written, anything else relative to the citing file. */
function target(relPath: string, cited: string): string {
  return cited.startsWith("docs/") ? cited : posix.join(posix.dirname(relPath), cited);
}

/** Every problem with the section citations of one file's text. */
function citationProblems(relPath: string, text: string, headings: Map<string, Set<string>>): string[] {
  const problems: string[] = [];
  const inSpec = posix.dirname(relPath) === "docs/spec";
  text.split("\n").forEach((line, i) => {
    const at = `${relPath}:${i + 1}`;
    if (OUTSIDE_PATH.test(line))
      problems.push(`${at} refers to a path outside the repository: ${line.trim()}`);
    for (const m of line.matchAll(SPEC_PATH)) {
      const [, prefix = "", file = ""] = m;
      if (target(relPath, `${prefix}spec/${file}.md`) !== `docs/spec/${file}.md`) {
        problems.push(`${at} cites ${prefix}spec/${file}.md: write docs/spec/${file}.md`);
      }
    }
    // In code, a comment naming a specification file without `docs/spec/` means the old contract.
    const comment = /(\/\/|\/\*|^\s*\*|^\s*#)/.exec(line);
    if (!relPath.startsWith("docs/") && comment) {
      for (const m of line.slice(comment.index).matchAll(BARE_NAME)) {
        problems.push(`${at} names ${m[2]}.md: write docs/spec/${m[2]}.md`);
      }
    }
  });
  // Citations may wrap onto the next line ("api.md\n  §2.11.4"), so they are matched on the whole text.
  for (const m of text.matchAll(CITATION)) {
    const at = `${relPath}:${text.slice(0, m.index).split("\n").length}`;
    const [, prefix = "", file = "", first = "", more = ""] = m;
    if (prefix === "" && !inSpec) {
      problems.push(`${at} cites ${file}.md §${first}: write docs/spec/${file}.md §${first}`);
      continue;
    }
    // Other documents with the same name (docs/saml.md, the operator guide) are not checked here.
    if (target(relPath, `${prefix}${file}.md`) !== `docs/spec/${file}.md`) continue;
    const sections = [first, ...[...more.matchAll(/§\s*(\d+(?:\.\d+)*)/g)].map((x) => x[1] ?? "")];
    for (const section of sections) {
      if (!headings.get(file)?.has(section)) {
        problems.push(`${at} cites docs/spec/${file}.md §${section}, which is not a heading of that file`);
      }
    }
  }
  return problems;
}

describe("citations of the specification (docs/spec/, ADR 0055)", () => {
  const headings = new Map(SPEC_FILES.map((f) => [f, headingNumbers(join(root, `docs/spec/${f}.md`))]));

  it("every spec file has numbered sections", () => {
    for (const f of SPEC_FILES) expect(headings.get(f)?.size, f).toBeGreaterThan(3);
  });

  it("the checker finds what it must (and only that)", () => {
    const problems = citationProblems(
      "src/x.ts",
      [
        "// docs/spec/tokens.md §7 step 12 and docs/spec/api.md §2.11.6, §4.2",
        `// see ../${"shared"}/spec/api.md`,
        "// tokens.md §7",
        "// spec/saml.md §6.3",
        "// docs/spec/storage.md §42",
        "// docs/spec/api.md §4.4, §99.1",
        "// docs/saml.md §12 (the operator guide), RFC 8693 §2.1",
        "// oauth.md: bodies over 16 KiB",
        'const guide = join(root, "docs", "saml.md"); // the guide, docs/spec/saml.md for rules',
        "wrapped: docs/spec/api.md",
        "  §99.9",
      ].join("\n"),
      headings,
    );
    expect(problems.map((p) => p.split(" ")[0]).sort()).toEqual([
      "src/x.ts:10", // a wrapped citation of a missing section
      "src/x.ts:2", // outside the repository
      "src/x.ts:2", // and a spec/ path that is not docs/spec/
      "src/x.ts:3",
      "src/x.ts:4",
      "src/x.ts:5",
      "src/x.ts:6",
      "src/x.ts:8", // a bare file name in a comment
    ]);
    expect(
      citationProblems("docs/spec/oauth.md", "[tokens.md §4.1](tokens.md), api.md §2.10", headings),
    ).toEqual([]);
    expect(citationProblems("docs/spec/oauth.md", "tokens.md §4.9", headings)).toHaveLength(1);
    // Relative paths count where they lead: right from docs/ and docs/reference/, wrong from src/.
    expect(
      citationProblems("docs/saml.md", "[spec/saml.md](spec/saml.md), spec/saml.md §6.3", headings),
    ).toEqual([]);
    expect(
      citationProblems("docs/reference/routes.md", "[../spec/api.md](../spec/api.md)", headings),
    ).toEqual([]);
    expect(citationProblems("docs/saml.md", "spec/saml.md §6.99", headings)).toHaveLength(1);
    expect(citationProblems("docs/adr/0001-x.md", "spec/saml.md", headings)).toHaveLength(1);
  });

  it("nothing cites a path outside the repository or a section that does not exist", () => {
    // This file holds deliberately wrong citations (the checker's own test above).
    const files = scannedFiles().filter((f) => relative(root, f) !== "test/unit/docs.test.ts");
    expect(files.length).toBeGreaterThan(300);
    const problems = files.flatMap((f) =>
      citationProblems(relative(root, f), readFileSync(f, "utf8"), headings),
    );
    const hint = "cite the specification as docs/spec/<file>.md §N, a heading of that file (ADR 0055)";
    expect(problems, `${hint}:\n${problems.slice(0, 40).join("\n")}`).toEqual([]);
  });
});
