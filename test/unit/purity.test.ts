import { readdirSync, readFileSync } from "node:fs";
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
