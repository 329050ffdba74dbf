/**
 * The loader's view of the outside world, in its own module so that the dev quick-start (dev.ts) and
 * the loader (load.ts) can both take it without importing each other.
 */

/** The file system and environment as the loader sees them (src/runtime/config-io.ts is the real one). */
export interface ConfigIO {
  env: Record<string, string | undefined>;
  /** Working directory; relative paths are resolved against it. */
  cwd: string;
  readFile(path: string): Promise<string>;
  /** Follows symbolic links; `null` when the path does not exist. */
  stat(path: string): Promise<{ isFile: boolean; size: number; mode: number } | null>;
  exists(path: string): Promise<boolean>;
  /** Creates or replaces a file with the given permission bits. */
  writeFile(path: string, data: string, mode: number): Promise<void>;
  /** Creates a directory and missing parents with the given permission bits; no error if it exists. */
  mkdir(path: string, mode: number): Promise<void>;
  chmod(path: string, mode: number): Promise<void>;
  /** Absolute path of `path` relative to `cwd`. */
  resolvePath(path: string): string;
  joinPath(...segments: string[]): string;
}
