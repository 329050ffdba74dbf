#!/usr/bin/env node
// `npm test`: the whole suite — system packages, type check, lint/format check, then vitest on
// Node >= 22 (vitest and node:sqlite need it; the machine's own Node may be 20).
//   npm test                 everything
//   npm test -- <filter>     only vitest files matching <filter> (still type-checks and lints)
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { runtimeBinary } from "./rt.mjs";
import { ensureSystemDeps } from "./system-deps.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const node = runtimeBinary("node");
const bin = (pkg, file) => join(root, "node_modules", pkg, file);

function step(name, cmd, args, env = process.env, onFailure = () => {}) {
  const started = Date.now();
  console.error(`\n▶ ${name}`);
  const r = spawnSync(cmd, args, { stdio: "inherit", cwd: root, env });
  const secs = ((Date.now() - started) / 1000).toFixed(1);
  if (r.status !== 0) {
    onFailure();
    console.error(`✖ ${name} failed (${secs}s)`);
    process.exit(r.status ?? 1);
  }
  console.error(`✔ ${name} (${secs}s)`);
}

/** `git status --porcelain` lines (untracked included), or null outside a git checkout. */
function gitStatus() {
  const r = spawnSync("git", ["status", "--porcelain", "--untracked-files=all"], {
    cwd: root,
    encoding: "utf8",
  });
  return r.status === 0 ? new Set(r.stdout.split("\n").filter((l) => l !== "")) : null;
}

const extra = process.argv.slice(2);
ensureSystemDeps();
step("type check (tsc)", node, [bin("typescript", "bin/tsc"), "-p", "tsconfig.json"]);
step("lint + format (biome)", node, [bin("@biomejs/biome", "bin/biome"), "ci", "."]);

// Every temp file of the run (tests, servers, redis, browsers: all honour TMPDIR) goes to a private
// directory, so that what is left in it afterwards is a leak of this run, not of anything else on
// the machine; it is removed either way. The checkout must look the same before and after.
const runTmp = mkdtempSync(join(tmpdir(), "tikti-test-run-"));
const removeRunTmp = () => rmSync(runTmp, { recursive: true, force: true });
const statusBefore = gitStatus();
step(
  "tests (vitest)",
  node,
  [bin("vitest", "vitest.mjs"), "run", ...extra],
  { ...process.env, TMPDIR: runTmp },
  removeRunTmp,
);
// node-compile-cache is Node's own compile cache (NODE_COMPILE_CACHE under TMPDIR), not a test leak.
const leftInTmp = readdirSync(runTmp).filter((e) => e !== "node-compile-cache");
removeRunTmp();
const statusAfter = gitStatus();
const leftInRepo = statusBefore && statusAfter ? [...statusAfter].filter((l) => !statusBefore.has(l)) : [];
if (leftInTmp.length > 0 || leftInRepo.length > 0) {
  if (leftInTmp.length > 0)
    console.error(`✖ the tests left temp entries behind: ${leftInTmp.sort().join(", ")}`);
  if (leftInRepo.length > 0) console.error(`✖ the tests changed the checkout:\n${leftInRepo.join("\n")}`);
  console.error("  (each test removes what it creates, also when it fails: rm in finally/afterAll)");
  process.exit(1);
}
console.error("✔ no temp files left behind, checkout unchanged");
