import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";

// The layering of docs/architecture.md ("Layers"), checked on the static import graph of src/
// (type-only imports included: a type arrow is still an arrow between layers). Rules that do not hold
// yet carry today's offenders; the test fails when a new offender appears AND when a listed one
// disappears, so each list can only shrink, and is shrunk by the change that fixes an offender.
const root = join(import.meta.dirname, "../..");

/** Known import cycles, as strongly connected components (sorted members joined by " "). */
const KNOWN_CYCLES: string[] = [];

/** Known arrows from src/saml/ or src/store/ up into src/services/ or src/http/ ("from -> to"). */
const KNOWN_UPWARD_FROM_SAML_STORE: string[] = [];

/** Known arrows from src/services/ into src/http/ ("from -> to"). */
const KNOWN_SERVICES_TO_HTTP: string[] = [];

/**
 * Known files under src/services/ that construct a `Response`: none — the SAML flows return decisions
 * that src/http/saml/render.ts renders (docs/adr/0070-saml-flow-decisions.md).
 */
const KNOWN_SERVICES_RESPONSES: string[] = [];

/** Known files under src/saml/ that construct a `Response`. */
const KNOWN_SAML_RESPONSES: string[] = [];

/** Known files under src/saml/ that reach the `KV` interface (import it, or call a store). */
const KNOWN_SAML_KV: string[] = [];

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : [],
  );
}

/** Source text with comments blanked, so that a path quoted in a comment is not an import. */
function stripComments(text: string): string {
  let out = "";
  let i = 0;
  let quote: string | null = null;
  while (i < text.length) {
    const ch = text[i] as string;
    const next = text[i + 1];
    if (quote) {
      out += ch;
      if (ch === "\\") {
        out += next ?? "";
        i += 2;
        continue;
      }
      // A quote that is not closed on its line was inside a regular expression literal.
      if (ch === quote || (ch === "\n" && quote !== "`")) quote = null;
      i++;
      continue;
    }
    if (ch === '"' || ch === "'" || ch === "`") {
      quote = ch;
      out += ch;
      i++;
      continue;
    }
    if (ch === "/" && next === "/") {
      while (i < text.length && text[i] !== "\n") i++;
      continue;
    }
    if (ch === "/" && next === "*") {
      const end = text.indexOf("*/", i + 2);
      const stop = end === -1 ? text.length : end + 2;
      out += text.slice(i, stop).replace(/[^\n]/g, " ");
      i = stop;
      continue;
    }
    out += ch;
    i++;
  }
  return out;
}

const STATIC_IMPORT =
  /(?:^|[;\s])(?:import|export)\s+(?:type\s+)?(?:[\w*{}\s,$]+?\s+from\s+)?["']([^"']+)["']/g;

/** The static import specifiers of one module (`import … from`, `export … from`, side-effect imports). */
function importSpecifiers(source: string): string[] {
  const code = stripComments(source);
  return [...code.matchAll(STATIC_IMPORT)].map((m) => m[1] as string);
}

type Graph = Map<string, string[]>;

/** Repo-relative file → repo-relative files under src/ it imports. */
function importGraph(): Graph {
  const graph: Graph = new Map();
  for (const file of walk(join(root, "src"))) {
    const from = relative(root, file);
    const targets = importSpecifiers(readFileSync(file, "utf8"))
      .filter((s) => s.startsWith("."))
      .map((s) => relative(root, resolve(dirname(file), s)));
    graph.set(from, [...new Set(targets)]);
  }
  return graph;
}

/** Strongly connected components with a cycle (Tarjan), each as its sorted members joined by " ". */
function cycles(graph: Graph): string[] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[] = [];
  const visit = (v: string): void => {
    idx.set(v, index);
    low.set(v, index);
    index++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v) as number, low.get(w) as number));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v) as number, idx.get(w) as number));
      }
    }
    if (low.get(v) === idx.get(v)) {
      const members: string[] = [];
      let w: string | undefined;
      do {
        w = stack.pop() as string;
        onStack.delete(w);
        members.push(w);
      } while (w !== v);
      if (members.length > 1 || (graph.get(v) ?? []).includes(v)) found.push(members.sort().join(" "));
    }
  };
  for (const v of [...graph.keys()].sort()) if (!idx.has(v)) visit(v);
  return found.sort();
}

function arrows(graph: Graph, from: (f: string) => boolean, to: (f: string) => boolean): string[] {
  const out: string[] = [];
  for (const [f, targets] of graph) {
    if (!from(f)) continue;
    for (const t of targets) if (to(t)) out.push(`${f} -> ${t}`);
  }
  return out.sort();
}

const under =
  (...dirs: string[]) =>
  (f: string) =>
    dirs.some((d) => f.startsWith(`src/${d}/`));

const KV_METHODS =
  "get|set|del|exists|expire|pttl|incr|hget|hset|hsetnx|hdel|hgetall|hlen|hscan|sadd|srem|smembers|scan|casHset|casSet|casDel|consume|hconsumeIf|rlIncr|idxAdd|idxRemove";
/** A call of a KV method on a store, or the app's store handed on (`deps.store`). */
const KV_CALL = new RegExp(`\\b(?:store|kv)\\.(?:${KV_METHODS})\\(|\\bdeps\\.store\\b`);

function filesUnder(dir: string): Array<[string, string]> {
  return walk(join(root, dir)).map((f) => [relative(root, f), stripComments(readFileSync(f, "utf8"))]);
}

const samlFiles = () => filesUnder("src/saml");

/** `new Response(…)` or a `Response.json/redirect/error(…)` factory call. */
const CONSTRUCTS_RESPONSE = /\bnew\s+Response\s*\(|\bResponse\.(?:json|redirect|error)\s*\(/;

/** Offenders now vs the known list: both directions must be empty. */
function compare(now: string[], known: string[]): { added: string[]; gone: string[] } {
  return { added: now.filter((x) => !known.includes(x)), gone: known.filter((x) => !now.includes(x)) };
}

describe("import graph reader", () => {
  it("reads every static import form and ignores comments and dynamic imports", () => {
    const src = [
      'import { a } from "./a.ts";',
      'import type { B } from "../b.ts";',
      "import {\n  c,\n  type D,\n} from './c.ts';",
      'export { e } from "./e.ts";',
      'export * from "./f.ts";',
      'import "./side-effect.ts";',
      'import * as ns from "./ns.ts";',
      'import def, { g } from "./g.ts";',
      '// import { x } from "./commented.ts";',
      '/* import { y } from "./block.ts"; */',
      'const lazy = await import("./lazy.ts");',
      'const s = "import { z } from \\"./in-string.ts\\"";',
    ].join("\n");
    expect(importSpecifiers(src)).toEqual([
      "./a.ts",
      "../b.ts",
      "./c.ts",
      "./e.ts",
      "./f.ts",
      "./side-effect.ts",
      "./ns.ts",
      "./g.ts",
    ]);
  });

  it("finds cycles as components, self-loops included, and not acyclic chains", () => {
    const g: Graph = new Map([
      ["a", ["b"]],
      ["b", ["c"]],
      ["c", ["a", "d"]],
      ["d", ["e"]],
      ["e", []],
      ["s", ["s"]],
    ]);
    expect(cycles(g)).toEqual(["a b c", "s"]);
    expect(
      cycles(
        new Map([
          ["a", ["b"]],
          ["b", []],
        ]),
      ),
    ).toEqual([]);
  });
});

describe("layers of src/", () => {
  const graph = importGraph();

  it("reads a meaningful graph", () => {
    expect(graph.size).toBeGreaterThan(100);
    expect(graph.get("src/app.ts")).toContain("src/services/index.ts");
  });

  it("has no import cycle beyond the known ones", () => {
    expect(compare(cycles(graph), KNOWN_CYCLES)).toEqual({ added: [], gone: [] });
  });

  it("has no arrow from src/saml/ or src/store/ up into src/services/ or src/http/", () => {
    const now = arrows(graph, under("saml", "store"), under("services", "http"));
    expect(compare(now, KNOWN_UPWARD_FROM_SAML_STORE)).toEqual({ added: [], gone: [] });
  });

  it("lets src/http/ reach the SAML flows only as built services (services.samlFlows)", () => {
    const flowModule = (f: string) => /^src\/services\/saml\/(?:login|acs|logout)\.ts$/.test(f);
    expect(arrows(graph, under("http"), flowModule)).toEqual([]);
  });

  it("has no arrow from src/services/ into src/http/", () => {
    const now = arrows(graph, under("services"), under("http"));
    expect(compare(now, KNOWN_SERVICES_TO_HTTP)).toEqual({ added: [], gone: [] });
  });

  it("constructs no Response under src/saml/", () => {
    const now = samlFiles()
      .filter(([, code]) => CONSTRUCTS_RESPONSE.test(code))
      .map(([f]) => f)
      .sort();
    expect(compare(now, KNOWN_SAML_RESPONSES)).toEqual({ added: [], gone: [] });
  });

  it("constructs no Response under src/services/", () => {
    const now = filesUnder("src/services")
      .filter(([, code]) => CONSTRUCTS_RESPONSE.test(code))
      .map(([f]) => f)
      .sort();
    expect(compare(now, KNOWN_SERVICES_RESPONSES)).toEqual({ added: [], gone: [] });
  });

  it("does not reach the KV interface under src/saml/", () => {
    const now = samlFiles()
      .filter(([f, code]) => (graph.get(f) ?? []).includes("src/store/kv.ts") || KV_CALL.test(code))
      .map(([f]) => f)
      .sort();
    expect(compare(now, KNOWN_SAML_KV)).toEqual({ added: [], gone: [] });
  });
});
