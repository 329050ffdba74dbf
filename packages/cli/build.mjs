#!/usr/bin/env node
// Builds the npm package's single file, dist/tikti-cli.mjs: cli/main.ts and everything it imports
// (citty, yaml, the command tree) bundled by `bun build --target=node`, so the package has no
// dependencies and runs on Node >= 20. Run from a checkout with `npm install` done (Bun comes from
// npm, scripts/rt.mjs finds it); `npm pack` runs it as prepack.
import { spawnSync } from "node:child_process";
import { chmodSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { runtimeBinary } from "../../scripts/rt.mjs";

// Biome allows console only in scripts/ and the CLI itself; this file writes to stderr directly.
const say = (line) => process.stderr.write(`packages/cli: ${line}\n`);
const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..", "..");
const out = join(here, "dist", "tikti-cli.mjs");

const rootVersion = JSON.parse(readFileSync(join(root, "package.json"), "utf8")).version;
const ownVersion = JSON.parse(readFileSync(join(here, "package.json"), "utf8")).version;
if (rootVersion !== ownVersion) {
  say(`version ${ownVersion} differs from the project's ${rootVersion}; update packages/cli/package.json`);
  process.exit(1);
}

const git = spawnSync("git", ["rev-parse", "--short=12", "HEAD"], { cwd: root, encoding: "utf8" });
const commit = git.status === 0 ? git.stdout.trim() : "unknown";
const r = spawnSync(
  runtimeBinary("bun"),
  [
    "build",
    "--target=node",
    "--format=esm",
    "--minify-syntax",
    "--define",
    `__TIKTI_COMMIT__=${JSON.stringify(commit)}`,
    join(root, "cli", "main.ts"),
    "--outfile",
    out,
  ],
  { cwd: root, stdio: ["ignore", "ignore", "inherit"] },
);
if (r.status !== 0) {
  say("bun build failed");
  process.exit(r.status ?? 1);
}
// The source's "#!/usr/bin/env bun" would make npm's bin need Bun: the package runs on Node.
const body = readFileSync(out, "utf8").replace(/^#!.*\n/, "");
writeFileSync(out, `#!/usr/bin/env node\n${body}`);
chmodSync(out, 0o755);
say(`${out} (${commit})`);
