/**
 * The real `ConfigIO` (src/config/load.ts) over `node:fs/promises` and the process environment;
 * Bun and Deno run it through their `node:` compatibility.
 */
import { chmod, mkdir, readFile, stat, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import process from "node:process";
import type { ConfigIO } from "../config/io.ts";

function isMissing(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return code === "ENOENT" || code === "ENOTDIR";
}

export function createConfigIO(
  options: { env?: Record<string, string | undefined>; cwd?: string } = {},
): ConfigIO {
  const cwd = options.cwd ?? process.cwd();
  const env = options.env ?? { ...process.env };
  const statPath: ConfigIO["stat"] = async (path) => {
    try {
      const s = await stat(path);
      return { isFile: s.isFile(), size: s.size, mode: s.mode & 0o7777 };
    } catch (e) {
      if (isMissing(e)) return null;
      throw e;
    }
  };
  return {
    env,
    cwd,
    readFile: (path) => readFile(path, "utf8"),
    stat: statPath,
    exists: async (path) => (await statPath(path)) !== null,
    writeFile: (path, data, mode) => writeFile(path, data, { mode }),
    mkdir: async (path, mode) => {
      await mkdir(path, { recursive: true, mode });
    },
    chmod: (path, mode) => chmod(path, mode),
    resolvePath: (path) => resolve(cwd, path),
    joinPath: (...segments) => join(...segments),
  };
}
