#!/usr/bin/env node
// `npm run release`: the release artefacts in dist/release/ —
//   tikti-<os>-<arch>[.exe], tikti-cli-<os>-<arch>[.exe], tikti-migrate-<os>-<arch>[.exe]
//     for linux-x64, linux-arm64, darwin-x64, darwin-arm64, windows-x64 (bun build --compile via
//     scripts/compile.mjs; Bun fetches the other platforms' runtimes from npm),
//   tikti-cli-<version>.tgz, the npm package of the CLI (packages/cli),
//   SHA256SUMS, in the format `sha256sum -c` reads.
//
//   node scripts/release.mjs [--targets linux-x64,darwin-arm64] [--host] [--no-npm] [--outdir dist/release]
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const argv = process.argv.slice(2);
const opt = (name) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};

const TARGETS = ["linux-x64", "linux-arm64", "darwin-x64", "darwin-arm64", "windows-x64"];
const PROGRAMS = ["tikti", "tikti-cli", "tikti-migrate"];

const hostTarget = () => {
  const os = process.platform === "win32" ? "windows" : process.platform;
  return `${os}-${process.arch}`;
};

const targets = argv.includes("--host") ? [hostTarget()] : (opt("--targets")?.split(",") ?? TARGETS);
for (const t of targets) {
  if (!TARGETS.includes(t)) {
    console.error(`release: unknown target "${t}" (expected one of ${TARGETS.join(", ")})`);
    process.exit(64);
  }
}
const outdir = opt("--outdir") ?? join(root, "dist", "release");
rmSync(outdir, { recursive: true, force: true });
mkdirSync(outdir, { recursive: true });

function run(cmd, args, what) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: ["ignore", "inherit", "inherit"] });
  if (r.status !== 0) {
    console.error(`release: ${what} failed`);
    process.exit(r.status ?? 1);
  }
}

const files = [];
for (const target of targets) {
  const suffix = target.startsWith("windows") ? ".exe" : "";
  const staging = join(outdir, `.build-${target}`);
  // The host builds without --target: no runtime download, and the binary the tests run is the same.
  const targetArgs = target === hostTarget() ? [] : ["--target", `bun-${target}`];
  run(
    process.execPath,
    [join(root, "scripts/compile.mjs"), "--outdir", staging, ...targetArgs],
    `compile ${target}`,
  );
  for (const p of PROGRAMS) {
    const name = `${p}-${target}${suffix}`;
    renameSync(join(staging, `${p}${suffix}`), join(outdir, name));
    files.push(name);
  }
  rmSync(staging, { recursive: true, force: true });
}

if (!argv.includes("--no-npm")) {
  run(process.execPath, [join(root, "packages/cli/build.mjs")], "npm package build");
  // prepack would build again; the bundle was just built from this checkout.
  const npm = process.platform === "win32" ? "npm.cmd" : "npm";
  run(
    npm,
    ["pack", join(root, "packages/cli"), "--ignore-scripts", "--pack-destination", outdir, "--silent"],
    "npm pack",
  );
  files.push(...readdirSync(outdir).filter((f) => f.endsWith(".tgz")));
}

const sums = files
  .sort()
  .map(
    (f) =>
      `${createHash("sha256")
        .update(readFileSync(join(outdir, f)))
        .digest("hex")}  ${f}\n`,
  )
  .join("");
writeFileSync(join(outdir, "SHA256SUMS"), sums);
console.error(`release: ${files.length} files and SHA256SUMS in ${outdir}`);
