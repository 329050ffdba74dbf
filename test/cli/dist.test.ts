// Distribution of tikti-cli: the release script (host target only, to stay fast: the other four
// targets are the same command with --target), the npm package (packed, installed globally into a
// temp prefix, run on Node), and install.sh against a local bare clone instead of the network.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { VERSION } from "../../src/version.ts";
import { repoRoot } from "../support/tikti-process.ts";

const host = `${process.platform === "win32" ? "windows" : process.platform}-${process.arch}`;
let tmp: string;

function run(
  cmd: string,
  args: string[],
  options: { env?: Record<string, string | undefined>; cwd?: string } = {},
) {
  const r = spawnSync(cmd, args, {
    cwd: options.cwd ?? repoRoot,
    env: { ...process.env, NO_COLOR: "1", ...options.env },
    encoding: "utf8",
    timeout: 280_000,
  });
  return { code: r.status, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
}

const headCommit = () => run("git", ["rev-parse", "--short=12", "HEAD"]).stdout.trim();

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), "tikti-dist-"));
});
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

describe("scripts/release.mjs", () => {
  let out: string;
  beforeAll(() => {
    out = join(tmp, "release");
    const r = run(process.execPath, [join(repoRoot, "scripts/release.mjs"), "--host", "--outdir", out]);
    expect(r.code, r.stderr).toBe(0);
  }, 300_000);

  it("builds the three binaries for the host and the npm tarball, with SHA-256 checksums", () => {
    const files = readdirSync(out).sort();
    expect(files).toEqual(
      [
        "SHA256SUMS",
        `tikti-${host}`,
        `tikti-cli-${VERSION.version}.tgz`,
        `tikti-cli-${host}`,
        `tikti-migrate-${host}`,
      ].sort(),
    );
    const sums = readFileSync(join(out, "SHA256SUMS"), "utf8").trimEnd().split("\n");
    expect(sums).toHaveLength(4);
    for (const line of sums) {
      const [hash, name] = line.split("  ");
      expect(hash).toBe(
        createHash("sha256")
          .update(readFileSync(join(out, name!)))
          .digest("hex"),
      );
    }
    if (process.platform !== "win32") {
      const check = run("sha256sum", ["-c", "SHA256SUMS"], { cwd: out });
      expect(check.code, check.stdout + check.stderr).toBe(0);
    }
  });

  it("the released tikti-cli binary runs and carries the commit", () => {
    const r = run(join(out, `tikti-cli-${host}`), ["--version"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`tikti-cli ${VERSION.version} (${headCommit()})\n`);
  });

  it("the npm package installs globally and runs on Node (no dependencies, bundled)", () => {
    const prefix = join(tmp, "prefix");
    const tgz = join(out, `tikti-cli-${VERSION.version}.tgz`);
    const install = run("npm", ["install", "-g", "--prefix", prefix, "--no-audit", "--no-fund", tgz]);
    expect(install.code, install.stderr).toBe(0);
    const pkgDir = join(prefix, "lib", "node_modules", "tikti-cli");
    expect(JSON.parse(readFileSync(join(pkgDir, "package.json"), "utf8"))).toMatchObject({
      name: "tikti-cli",
      version: VERSION.version,
      bin: { "tikti-cli": "dist/tikti-cli.mjs" },
    });
    expect(readdirSync(pkgDir).sort()).toEqual(["README.md", "dist", "package.json"]);
    // The bin as npm links it (#!/usr/bin/env node: the machine's Node), and on this Node.
    const bin = join(prefix, "bin", "tikti-cli");
    const viaBin = run(bin, ["--version"]);
    expect(viaBin.code, viaBin.stderr).toBe(0);
    expect(viaBin.stdout).toBe(`tikti-cli ${VERSION.version} (${headCommit()})\n`);
    const home = join(tmp, "npm-home");
    const env = { HOME: home, TIKTI_CONFIG: undefined, TIKTI_PROFILE: undefined };
    const init = run(
      process.execPath,
      [join(pkgDir, "dist", "tikti-cli.mjs"), "init", "--base-url", "http://x.test", "--no-prompt"],
      { env },
    );
    expect(init.code, init.stderr).toBe(0);
    expect(statSync(join(home, ".tikti", "config.yaml")).mode & 0o777).toBe(0o600);
    const show = run(bin, ["config", "show", "--json"], { env });
    expect(JSON.parse(show.stdout)).toMatchObject({ profile: "default", baseUrl: "http://x.test" });
    const keys = run(bin, ["keys", "generate", "--kid", "npm", "--json"], { env });
    expect(JSON.parse(keys.stdout).publicJwk).toMatchObject({ kid: "npm", kty: "RSA", alg: "RS256" });
    const help = run(bin, ["tenant", "--help"], { env });
    expect(help.stdout).toContain("(tikti-cli tenant)");
  });
});

describe("packages/cli", () => {
  it("has the project's version, and `npm pack` builds the bundle (prepack)", () => {
    const own = JSON.parse(readFileSync(join(repoRoot, "packages/cli/package.json"), "utf8"));
    expect(own.version).toBe(VERSION.version);
    const dest = join(tmp, "pack");
    mkdirSync(dest);
    const r = run("npm", ["pack", join(repoRoot, "packages/cli"), "--pack-destination", dest, "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const [info] = JSON.parse(r.stdout) as Array<{ files: Array<{ path: string; mode: number }> }>;
    const files = info!.files.map((f) => f.path).sort();
    expect(files).toEqual(["README.md", "dist/tikti-cli.mjs", "package.json"]);
    expect(info!.files.find((f) => f.path === "dist/tikti-cli.mjs")!.mode & 0o111).not.toBe(0);
    const bundle = readFileSync(join(repoRoot, "packages/cli/dist/tikti-cli.mjs"), "utf8");
    expect(bundle.startsWith("#!/usr/bin/env node\n")).toBe(true);
    // Bundled: no bare imports of packages that the tarball does not ship.
    expect(bundle).not.toMatch(/from\s*["'](citty|yaml)["']/);
  }, 120_000);
});

describe.runIf(process.platform !== "win32")("install.sh", () => {
  let bare: string;
  beforeAll(() => {
    bare = join(tmp, "tikti.git");
    expect(run("git", ["clone", "--quiet", "--bare", repoRoot, bare]).code).toBe(0);
    expect(run("git", ["--git-dir", bare, "tag", "install-test", "HEAD"]).code).toBe(0);
  });

  it("builds tikti-cli from a tag of the repository and installs it into TIKTI_BIN_DIR", () => {
    const binDir = join(tmp, "bin");
    const r = run("sh", [join(repoRoot, "install.sh")], {
      env: { TIKTI_REPO: `file://${bare}`, TIKTI_REF: "install-test", TIKTI_BIN_DIR: binDir },
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`tikti-install: installed ${binDir}/tikti-cli`);
    expect(readdirSync(binDir)).toEqual(["tikti-cli"]);
    const version = run(join(binDir, "tikti-cli"), ["--version"]);
    expect(version.code).toBe(0);
    expect(version.stdout).toBe(`tikti-cli ${VERSION.version} (${headCommit()})\n`);
  }, 300_000);

  it("defaults TIKTI_BIN_DIR to ~/.local/bin and fails clearly on an unknown ref", () => {
    const home = join(tmp, "home");
    const r = run("sh", [join(repoRoot, "install.sh")], {
      env: { TIKTI_REPO: `file://${bare}`, TIKTI_REF: "no-such-ref", TIKTI_BIN_DIR: undefined, HOME: home },
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`into ${home}/.local/bin`);
    expect(r.stderr).toContain(
      `tikti-install: error: no branch, tag or commit "no-such-ref" in file://${bare}`,
    );
  });

  it("refuses an unknown program name before fetching anything", () => {
    const r = run("sh", [join(repoRoot, "install.sh")], {
      env: { TIKTI_PROGRAMS: "tikti-cli rm", TIKTI_REPO: "/nonexistent" },
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      'tikti-install: error: unknown program "rm" in TIKTI_PROGRAMS (tikti, tikti-cli, tikti-migrate)\n',
    );
  });
});
