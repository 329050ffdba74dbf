#!/usr/bin/env node
// `npm test`: the whole suite — system packages, type check, lint/format check, then vitest on
// Node >= 22 (vitest and node:sqlite need it; the machine's own Node may be 20).
//   npm test                 everything
//   npm test -- <filter>     only vitest files matching <filter> (still type-checks and lints)
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { runtimeBinary } from "./rt.mjs";
import { ensureSystemDeps } from "./system-deps.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const node = runtimeBinary("node");
const bin = (pkg, file) => join(root, "node_modules", pkg, file);

function step(name, cmd, args) {
  const started = Date.now();
  console.error(`\n▶ ${name}`);
  const r = spawnSync(cmd, args, { stdio: "inherit", cwd: root });
  const secs = ((Date.now() - started) / 1000).toFixed(1);
  if (r.status !== 0) {
    console.error(`✖ ${name} failed (${secs}s)`);
    process.exit(r.status ?? 1);
  }
  console.error(`✔ ${name} (${secs}s)`);
}

const extra = process.argv.slice(2);
ensureSystemDeps();
step("type check (tsc)", node, [bin("typescript", "bin/tsc"), "-p", "tsconfig.json"]);
step("lint + format (biome)", node, [bin("@biomejs/biome", "bin/biome"), "ci", "."]);
step("tests (vitest)", node, [bin("vitest", "vitest.mjs"), "run", ...extra]);
