#!/usr/bin/env node
// `npm run compile`: the three self-contained binaries with `bun build --compile`.
//   node scripts/compile.mjs [--target bun-linux-arm64] [--outdir dist]
import { spawnSync } from "node:child_process";
import { mkdirSync, renameSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { runtimeBinary } from "./rt.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const argv = process.argv.slice(2);
const opt = (name) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const target = opt("--target");
const outdir = opt("--outdir") ?? join(root, "dist");
const suffix = target?.includes("windows") ? ".exe" : "";

// TIKTI_COMMIT wins (container builds have no .git in their context); else ask git.
const git = spawnSync("git", ["rev-parse", "--short=12", "HEAD"], { cwd: root, encoding: "utf8" });
const commit = process.env.TIKTI_COMMIT || (git.status === 0 ? git.stdout.trim() : "unknown");

const programs = [
  { name: "tikti", entry: "src/runtime/bun.ts" },
  { name: "tikti-cli", entry: "cli/main.ts" },
  { name: "tikti-migrate", entry: "migrate/main.ts" },
];

mkdirSync(outdir, { recursive: true });
const bun = runtimeBinary("bun");
for (const p of programs) {
  const out = join(outdir, `${p.name}${suffix}`);
  // Build next to the target and rename into place: a binary that is running (another test, a
  // developer's server) is never rewritten in place ("Text file busy"), and readers never see half
  // a file.
  const tmp = `${out}.tmp-${process.pid}`;
  const args = [
    "build",
    "--compile",
    "--minify-syntax",
    "--sourcemap=none",
    `--define`,
    `__TIKTI_COMMIT__=${JSON.stringify(commit)}`,
    join(root, p.entry),
    "--outfile",
    tmp,
  ];
  if (target) args.push(`--target=${target}`);
  const started = Date.now();
  const r = spawnSync(bun, args, { stdio: ["ignore", "ignore", "inherit"], cwd: root });
  if (r.status !== 0) {
    rmSync(tmp, { force: true });
    console.error(`compile: ${p.name} failed`);
    process.exit(r.status ?? 1);
  }
  renameSync(tmp, out);
  console.error(`compile: ${out} (${((Date.now() - started) / 1000).toFixed(1)}s)`);
}
