#!/usr/bin/env node
// Resolves the Bun, Deno and Node >= 22 binaries that npm installed as packages, and runs one.
//
// Why: npm 11 does not run install scripts, so the `bun` and `deno` packages' own launchers may be
// placeholders; the real binaries live in their per-platform packages (@oven/bun-*, @deno/*,
// node-*). This file runs on the machine's Node 20 and has no dependencies.
//
//   node scripts/rt.mjs <bun|deno|node> [args...]
import { spawn } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const nm = join(root, "node_modules");
const win = process.platform === "win32";
const exe = (p) => (win ? `${p}.exe` : p);

function isRealBinary(p) {
  try {
    // The placeholder launchers are a few hundred bytes; real runtimes are tens of MB.
    return statSync(p).size > 1_000_000;
  } catch {
    return false;
  }
}

function candidates(name) {
  const { platform, arch } = process;
  if (name === "bun") {
    const a = arch === "arm64" ? "aarch64" : arch;
    const os = platform === "win32" ? "windows" : platform;
    return [
      join(nm, "@oven", `bun-${os}-${a}`, "bin", exe("bun")),
      join(nm, "@oven", `bun-${os}-${a}-baseline`, "bin", exe("bun")),
      join(nm, "@oven", `bun-${os}-${a}-musl`, "bin", exe("bun")),
      join(nm, "bun", "bin", "bun.exe"),
    ];
  }
  if (name === "deno") {
    return [
      join(nm, "@deno", `${platform}-${arch}-glibc`, exe("deno")),
      join(nm, "@deno", `${platform}-${arch}`, exe("deno")),
      join(nm, "deno", exe("deno")),
    ];
  }
  if (name === "node") {
    // The machine's own Node comes first when it is new enough: the npm-packaged Node exists only
    // for Linux (node-linux-*), so macOS and Windows developers need their own Node >= 22.
    const list = [];
    if (Number(process.versions.node.split(".")[0]) >= 22) list.push(process.execPath);
    list.push(join(nm, `node-${platform}-${arch}`, "bin", exe("node")));
    return list;
  }
  throw new Error(`unknown runtime "${name}" (expected bun, deno or node)`);
}

/** Absolute path of the runtime binary; throws with an actionable message when missing. */
export function runtimeBinary(name) {
  for (const c of candidates(name)) {
    if (c === process.execPath || isRealBinary(c)) return c;
  }
  throw new Error(
    `${name} binary not found under node_modules (looked in: ${candidates(name).join(", ")}). Run "npm install" first.`,
  );
}

export function nodeModulesDir() {
  return existsSync(nm) ? nm : undefined;
}

const isMain = process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1];
if (isMain) {
  const [name, ...args] = process.argv.slice(2);
  if (!name) {
    console.error("usage: node scripts/rt.mjs <bun|deno|node> [args...]");
    process.exit(64);
  }
  let bin;
  try {
    bin = runtimeBinary(name);
  } catch (e) {
    console.error(String(e.message ?? e));
    process.exit(127);
  }
  const child = spawn(bin, args, { stdio: "inherit", cwd: process.cwd() });
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(sig, () => child.kill(sig));
  child.on("exit", (code, signal) => process.exit(code ?? (signal ? 128 + 15 : 1)));
}
