import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";

// design.md: nothing under src/ except src/runtime/ touches process, Bun, Deno, node:* or the
// filesystem. This keeps createApp(deps) pure and portable across the three runtimes.
const root = join(import.meta.dirname, "../..");
const FORBIDDEN: Array<[RegExp, string]> = [
  [/from\s+["'](node|bun):/, "imports a runtime module"],
  [/import\(\s*["'](node|bun):/, "imports a runtime module"],
  [/\bprocess\.(env|argv|exit|stdout|stderr|on|cwd)\b/, "uses process"],
  [/\bBun\.[a-z]/, "uses Bun"],
  [/\bDeno\.[a-z]/, "uses Deno"],
  [/\bconsole\.(log|error|warn|info|debug)\b/, "uses console"],
];

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : [],
  );
}

describe("core purity", () => {
  const files = walk(join(root, "src")).filter((f) => !relative(root, f).startsWith("src/runtime/"));

  it("checks a meaningful number of files", () => {
    expect(files.length).toBeGreaterThan(10);
  });

  it("has no runtime or filesystem access outside src/runtime/", () => {
    const problems: string[] = [];
    for (const file of files) {
      const lines = readFileSync(file, "utf8").split("\n");
      lines.forEach((line, i) => {
        if (/^\s*(\/\/|\*)/.test(line)) return; // comments may mention these names
        for (const [re, why] of FORBIDDEN) {
          if (re.test(line)) problems.push(`${relative(root, file)}:${i + 1} ${why}: ${line.trim()}`);
        }
      });
    }
    expect(problems).toEqual([]);
  });
});

// The same boundary as a Biome rule (noRestrictedGlobals + noRestrictedImports on src/ minus
// src/runtime/), so an editor flags it while typing. This proves the rule is configured and bites:
// the repository's own biome.json lints a probe placed in the core and the same probe in the runtime.
describe("the lint rule guarding the core", () => {
  const probe = [
    'import { readFileSync } from "node:fs";',
    "export const env = process.env.HOME;",
    "export const bun = typeof Bun;",
    "export const deno = typeof Deno;",
    "export const read = readFileSync;",
    "",
  ].join("\n");

  function lint(dir: string, file: string): string {
    try {
      execFileSync(process.execPath, [join(root, "node_modules/@biomejs/biome/bin/biome"), "lint", file], {
        cwd: dir,
        encoding: "utf8",
        stdio: "pipe",
      });
      return "";
    } catch (e) {
      const out = e as { stdout?: string; stderr?: string };
      return `${out.stdout ?? ""}${out.stderr ?? ""}`;
    }
  }

  it("refuses process, Bun, Deno and node:* in src/ but not in src/runtime/", () => {
    const dir = mkdtempSync(join(tmpdir(), "tikti-lint-"));
    try {
      const config = JSON.parse(readFileSync(join(root, "biome.json"), "utf8"));
      delete config.$schema;
      config.vcs = { enabled: false };
      writeFileSync(join(dir, "biome.json"), JSON.stringify(config));
      for (const sub of ["src/services", "src/runtime"]) {
        mkdirSync(join(dir, sub), { recursive: true });
        writeFileSync(join(dir, sub, "probe.ts"), probe);
      }
      const core = lint(dir, "src/services/probe.ts");
      const runtime = lint(dir, "src/runtime/probe.ts");
      const count = (text: string, rule: string) => text.split(`lint/style/${rule}`).length - 1;
      expect(count(core, "noRestrictedImports")).toBe(1);
      expect(count(core, "noRestrictedGlobals")).toBe(3);
      expect(count(runtime, "noRestrictedImports")).toBe(0);
      expect(count(runtime, "noRestrictedGlobals")).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
