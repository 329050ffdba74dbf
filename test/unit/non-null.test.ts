import { execFileSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";

// Biome's noNonNullAssertion is an error for src/ (issue 13 item 9, docs/adr/0090-no-non-null-assertions.md):
// an impossible value is narrowed by a check that fails closed, never asserted away with `!`. Files that
// still hold `!` are listed in biome.json (the override that turns the rule off again). The list can only
// shrink: this test fails when a listed file no longer has any `!` (remove it from the list in the same
// commit), and when a file outside the list has one (Biome says so too; this catches a list edited to hide it).
const root = join(import.meta.dirname, "../..");

type Override = { includes?: string[]; linter?: { rules?: { style?: Record<string, unknown> } } };

function ruleLevel(o: Override): unknown {
  return o.linter?.rules?.style?.noNonNullAssertion;
}

function overrides(): Override[] {
  const config = JSON.parse(readFileSync(join(root, "biome.json"), "utf8")) as { overrides?: Override[] };
  return config.overrides ?? [];
}

/** The files exempted from the rule: the includes of the override that turns it off (none once all are fixed). */
function exempted(): string[] {
  const off = overrides().filter((o) => ruleLevel(o) === "off");
  expect(off.length).toBeLessThanOrEqual(1);
  return off[0]?.includes ?? [];
}

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : [],
  );
}

/** Number of `expr!` in a file, from its syntax tree (a `!` in a string, comment or `!==` is not one). */
function nonNullAssertions(file: string): number {
  const source = ts.createSourceFile(file, readFileSync(file, "utf8"), ts.ScriptTarget.Latest, true);
  let count = 0;
  const visit = (node: ts.Node): void => {
    if (node.kind === ts.SyntaxKind.NonNullExpression) count++;
    ts.forEachChild(node, visit);
  };
  visit(source);
  return count;
}

describe("no non-null assertions in src/", () => {
  it("counts assertions from the syntax tree", () => {
    const dir = mkdtempSync(join(tmpdir(), "tikti-nonnull-"));
    try {
      const file = join(dir, "probe.ts");
      writeFileSync(
        file,
        'const a = [1].at(0)!;\nconst b = a !== 1 ? "!" : `!`; // a!\nexport const c = b!.length + a!;\n',
      );
      expect(nonNullAssertions(file)).toBe(3);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("turns the rule on as an error for every file under src/", () => {
    const on = overrides().filter((o) => ruleLevel(o) === "error");
    expect(on.map((o) => o.includes)).toEqual([["src/**"]]);
  });

  it("exempts only files that still hold a `!`, each listed once (the list only shrinks)", () => {
    const list = exempted();
    expect(new Set(list).size).toBe(list.length);
    const stale = list.filter(
      (path) => !existsSync(join(root, path)) || nonNullAssertions(join(root, path)) === 0,
    );
    // A file listed here was fixed, moved or removed: take it off the list in biome.json.
    expect(stale).toEqual([]);
  });

  it("has no `!` in a file of src/ outside the list", () => {
    const listed = new Set(exempted());
    const files = walk(join(root, "src")).map((f) => relative(root, f));
    expect(files.length).toBeGreaterThan(10);
    const offenders = files.filter((f) => !listed.has(f) && nonNullAssertions(join(root, f)) > 0);
    expect(offenders).toEqual([]);
  });

  it("makes Biome refuse a `!` in src/ but not in a listed file, nor outside src/", () => {
    const probe = "export function first(xs: string[]): string {\n  return xs[0]!;\n}\n";
    const listed = exempted()[0];
    const dir = mkdtempSync(join(tmpdir(), "tikti-lint-"));
    try {
      const config = JSON.parse(readFileSync(join(root, "biome.json"), "utf8"));
      delete config.$schema;
      config.vcs = { enabled: false };
      writeFileSync(join(dir, "biome.json"), JSON.stringify(config));
      const paths = ["src/services/probe.ts", "cli/probe.ts", ...(listed === undefined ? [] : [listed])];
      for (const path of paths) {
        mkdirSync(join(dir, path, ".."), { recursive: true });
        writeFileSync(join(dir, path), probe);
      }
      const lint = (file: string): string => {
        try {
          execFileSync(
            process.execPath,
            [join(root, "node_modules/@biomejs/biome/bin/biome"), "lint", file],
            {
              cwd: dir,
              encoding: "utf8",
              stdio: "pipe",
            },
          );
          return "";
        } catch (e) {
          const out = e as { stdout?: string; stderr?: string };
          return `${out.stdout ?? ""}${out.stderr ?? ""}`;
        }
      };
      const count = (path: string) => lint(path).split("lint/style/noNonNullAssertion").length - 1;
      expect(paths.map(count)).toEqual([1, 0, 0].slice(0, paths.length));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
