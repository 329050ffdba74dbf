// package-lock.json stays complete and in step with package.json (issue 11 item 15): `npm ci` on a
// fresh clone of any platform must find every optional platform package (bun, deno, biome, the
// Node runtime packages, ...) already locked, and `npm install` must have nothing to add. Fast
// static checks, plus npm's own `npm ci --dry-run` on a copy of the two files (offline, in a temp
// dir: the shared node_modules is never touched).
import { spawnSync } from "node:child_process";
import {
  copyFileSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { repoRoot } from "./chart.ts";

interface LockEntry {
  version?: string;
  resolved?: string;
  integrity?: string;
  link?: boolean;
  inBundle?: boolean;
  dev?: boolean;
  optional?: boolean;
  os?: string[];
  cpu?: string[];
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
}
interface Lock {
  name: string;
  version: string;
  lockfileVersion: number;
  packages: Record<string, LockEntry>;
}
interface Manifest {
  name: string;
  version: string;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}

const readJson = <T>(p: string): T => JSON.parse(readFileSync(join(repoRoot, p), "utf8")) as T;
const lock = readJson<Lock>("package-lock.json");
const pkg = readJson<Manifest>("package.json");
const EXACT = /^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?$/;

/** Node's lookup from a package's folder up to the root, as npm lays the tree out. */
function resolveIn(from: string, name: string): string | undefined {
  let dir = from;
  for (;;) {
    const candidate = dir === "" ? `node_modules/${name}` : `${dir}/node_modules/${name}`;
    if (lock.packages[candidate]) return candidate;
    if (dir === "") return undefined;
    const cut = dir.lastIndexOf("/node_modules/");
    dir = cut < 0 ? "" : dir.slice(0, cut);
  }
}

/** Every declared dependency of every locked package that has no locked entry (or a wrong pin). */
function missing(kind: "dependencies" | "optionalDependencies"): string[] {
  const out: string[] = [];
  for (const [path, entry] of Object.entries(lock.packages)) {
    if (entry.link) continue;
    for (const [name, spec] of Object.entries(entry[kind] ?? {})) {
      const at = resolveIn(path, name);
      if (at === undefined) out.push(`${path || "(root)"} → ${name}@${spec}: not locked`);
      else if (EXACT.test(spec) && lock.packages[at]!.version !== spec)
        out.push(`${path || "(root)"} → ${name}@${spec}: locked ${lock.packages[at]!.version}`);
    }
  }
  return out;
}

describe("package-lock.json", () => {
  it("is a lockfile v3 of this package, with exactly package.json's dependency lists at its root", () => {
    expect(lock.lockfileVersion).toBe(3);
    expect([lock.name, lock.version]).toEqual([pkg.name, pkg.version]);
    const root = lock.packages[""]!;
    expect(root.dependencies ?? {}).toEqual(pkg.dependencies ?? {});
    expect(root.devDependencies ?? {}).toEqual(pkg.devDependencies ?? {});
    expect(root.optionalDependencies ?? {}).toEqual(pkg.optionalDependencies ?? {});
  });

  it("locks every optional platform package of every dependency that has them (bun, deno, biome, ...)", () => {
    const withPlatforms = Object.entries(lock.packages)
      .filter(([, e]) => Object.keys(e.optionalDependencies ?? {}).length > 1)
      .map(([p]) => p.replace(/^node_modules\//, ""));
    // The packages whose absence broke `npm ci` on other platforms are among them.
    for (const name of ["bun", "deno", "@biomejs/biome"]) expect(withPlatforms).toContain(name);
    expect(missing("optionalDependencies")).toEqual([]);
    // Platform packages for the other systems are locked too, not just this machine's.
    const oses = new Set(
      Object.values(lock.packages)
        .filter((e) => e.optional && e.os)
        .flatMap((e) => e.os!),
    );
    for (const os of ["linux", "darwin", "win32"]) expect(oses, os).toContain(os);
  });

  it("locks every regular dependency of every package", () => {
    expect(missing("dependencies")).toEqual([]);
  });

  it("gives every package an exact version and an integrity hash (npm ci installs exactly these bytes)", () => {
    const bad = Object.entries(lock.packages)
      // Bundled dependencies ship inside their parent's tarball, which carries the hash.
      .filter(([p, e]) => p !== "" && !e.link && !e.inBundle)
      .filter(
        ([, e]) =>
          !EXACT.test(e.version ?? "") ||
          !/^sha512-[A-Za-z0-9+/]+={0,2}$/.test(e.integrity ?? "") ||
          // The lock omits `resolved` (the registry is implied); where present it is the registry.
          (e.resolved !== undefined && !/^https:\/\/registry\.npmjs\.org\/.+\.tgz$/.test(e.resolved)),
      )
      .map(([p]) => p);
    expect(bad).toEqual([]);
  });

  it("pins no node-darwin-* runtime package (absent from the registry for Node 24) and locks the Node pins", () => {
    const names = [
      ...Object.keys(pkg.optionalDependencies ?? {}),
      ...Object.keys(lock.packages).map((p) =>
        p.slice(p.lastIndexOf("node_modules/") + "node_modules/".length),
      ),
    ];
    expect(names.filter((n) => n.startsWith("node-darwin-"))).toEqual([]);
    for (const [name, version] of Object.entries(pkg.optionalDependencies ?? {}).filter(([n]) =>
      n.startsWith("node-"),
    )) {
      expect(lock.packages[`node_modules/${name}`]?.version, name).toBe(version);
      expect(lock.packages[`node_modules/${name}`]?.integrity, name).toMatch(/^sha512-/);
    }
  });
});

// npm builds the whole tree from the lock alone, without the registry: nothing is missing. (npm's
// dry run does not compare the root lists itself; the first test above does.)
describe("npm ci --dry-run (offline, on a copy)", () => {
  function dryRun(mutate?: (manifest: Manifest) => void): { status: number | null; out: string } {
    const dir = mkdtempSync(join(tmpdir(), "tikti-lock-"));
    try {
      copyFileSync(join(repoRoot, "package-lock.json"), join(dir, "package-lock.json"));
      if (mutate) {
        const manifest = structuredClone(pkg);
        mutate(manifest);
        writeFileSync(join(dir, "package.json"), JSON.stringify(manifest, null, 2));
      } else copyFileSync(join(repoRoot, "package.json"), join(dir, "package.json"));
      const r = spawnSync(
        "npm",
        ["ci", "--dry-run", "--offline", "--ignore-scripts", "--no-audit", "--no-fund", "--logs-max=0"],
        {
          cwd: dir,
          encoding: "utf8",
          timeout: 60_000,
          // A private cache: nothing is read from or written to the developer's ~/.npm.
          env: { PATH: process.env.PATH ?? "", HOME: dir, npm_config_cache: join(dir, ".npm-cache") },
        },
      );
      if (r.error) throw r.error;
      // A dry run installs nothing.
      expect(
        readdirSync(dir)
          .filter((f) => f !== ".npm-cache" && !f.startsWith("."))
          .sort(),
      ).toEqual(["package-lock.json", "package.json"]);
      expect(existsSync(join(dir, "node_modules"))).toBe(false);
      return { status: r.status, out: `${r.stdout}${r.stderr}` };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  it("accepts package.json and package-lock.json as they are", () => {
    const r = dryRun();
    expect(r.status, r.out).toBe(0);
    expect(r.out).toMatch(/added \d+ packages/);
  });

  it("fails when package.json asks for a version the lock does not hold (the check can fail)", () => {
    const r = dryRun((m) => {
      m.devDependencies = { ...m.devDependencies, typescript: "5.9.2" };
    });
    expect(r.status).not.toBe(0);
    // Offline, npm would have to ask the registry for typescript: the lock alone does not do.
    expect(r.out).toContain("typescript");
  });
});
