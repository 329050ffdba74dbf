/**
 * Opens the embedded store in `dataDir` (docs/spec/storage.md §7): the file-system half that the pure
 * engine (src/store/embedded.ts) must not do — directory and file modes, and a readable refusal
 * when another process holds the store's lock. docs/adr/0002-embedded-store-sqlite.md.
 */
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, statSync } from "node:fs";
import { join } from "node:path";
import type { Logger } from "../logger.ts";
import { createEmbeddedStore, type EmbeddedStore } from "../store/embedded.ts";
import { SQLITE, type SqliteDb, SqliteError } from "../store/sqlite.ts";

export const EMBEDDED_DB_FILE = "tikti.db";

export interface OpenEmbeddedStoreOptions {
  dataDir: string;
  logger: Logger;
  /** The runtime's driver: src/runtime/sqlite-node.ts or src/runtime/sqlite-bun.ts. */
  openSqlite: (path: string) => SqliteDb;
  now?: () => number;
  sweepIntervalMs?: number;
  /** `EmbeddedStoreOptions.batchReadAnswers`. */
  batchReadAnswers?: boolean;
}

/** Thrown when another process has the data directory open. */
export class StoreLockedError extends Error {
  readonly lockFile: string;
  constructor(lockFile: string, cause: unknown) {
    super(
      `embedded store: lock file ${lockFile} is held by another process (a running Tikti server or tikti-migrate ` +
        "using the same dataDir); stop it or choose another dataDir",
      { cause },
    );
    this.name = "StoreLockedError";
    this.lockFile = lockFile;
  }
}

/** Sets `mode` unless the file already has it; failures (e.g. a volume owned by another user) are logged. */
function tighten(path: string, mode: number, logger: Logger): void {
  try {
    if ((statSync(path).mode & 0o777) !== mode) chmodSync(path, mode);
  } catch (e) {
    logger.warn("cannot set file mode", { path, mode: mode.toString(8), err: e });
  }
}

export async function openEmbeddedStore(opts: OpenEmbeddedStoreOptions): Promise<EmbeddedStore> {
  const { dataDir, logger } = opts;
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  // mkdir's mode is filtered by the umask, and an existing directory keeps its own: set it.
  tighten(dataDir, 0o700, logger);

  const dbPath = join(dataDir, EMBEDDED_DB_FILE);
  // Create the file ourselves with 0600 before SQLite opens it: SQLite gives its -wal/-journal files
  // the database file's mode. Never open/close our own descriptor after SQLite has the file, as
  // closing any descriptor drops the process's POSIX locks on it.
  if (!existsSync(dbPath)) closeSync(openSync(dbPath, "a", 0o600));
  tighten(dbPath, 0o600, logger);

  const db = opts.openSqlite(dbPath);
  let store: EmbeddedStore;
  try {
    store = createEmbeddedStore(db, {
      logger,
      ...(opts.now ? { now: opts.now } : {}),
      ...(opts.sweepIntervalMs !== undefined ? { sweepIntervalMs: opts.sweepIntervalMs } : {}),
      ...(opts.batchReadAnswers ? { batchReadAnswers: true } : {}),
    });
  } catch (e) {
    try {
      db.close();
    } catch {
      // Already failing; the open error is the one to report.
    }
    if (e instanceof SqliteError && (e.code === SQLITE.BUSY || e.code === SQLITE.LOCKED)) {
      throw new StoreLockedError(dbPath, e);
    }
    throw new Error(`embedded store: cannot open ${dbPath}: ${e instanceof Error ? e.message : String(e)}`, {
      cause: e,
    });
  }
  for (const suffix of ["-wal", "-shm", "-journal"]) {
    if (existsSync(dbPath + suffix)) tighten(dbPath + suffix, 0o600, logger);
  }
  logger.info("embedded store opened", { path: dbPath });
  return store;
}
