/**
 * A tiny synchronous SQLite driver contract, so the embedded store (embedded.ts) runs on the SQLite
 * that each runtime ships: `bun:sqlite` on Bun, `node:sqlite` on Node ≥ 22 and Deno
 * (src/runtime/sqlite-{bun,node}.ts). Only positional `?` parameters are used.
 *
 * `adaptSqlite` smooths the drivers' differences in one place: a missing row is `undefined` (Bun
 * answers `null`), `changes` is a number, use after `close()` always throws (Bun's finalized
 * statements may answer silently), and every driver error becomes a `SqliteError` carrying the
 * primary SQLite result code (node:sqlite on Deno gives only a message, so codes are recovered from
 * SQLite's standard error strings).
 */

export type SqliteValue = string | number | bigint | null | Uint8Array;

export interface SqliteRunResult {
  changes: number;
}

export interface SqliteStatement {
  run(...params: SqliteValue[]): SqliteRunResult;
  /** The first row, or `undefined` when there is none. */
  get<Row = Record<string, unknown>>(...params: SqliteValue[]): Row | undefined;
  all<Row = Record<string, unknown>>(...params: SqliteValue[]): Row[];
}

export interface SqliteDb {
  /** The database file path, as opened. */
  readonly path: string;
  exec(sql: string): void;
  prepare(sql: string): SqliteStatement;
  /** Closes the connection (releasing SQLite's file locks). Idempotent. */
  close(): void;
}

/** Primary SQLite result codes used by callers (https://sqlite.org/rescode.html). */
export const SQLITE = {
  ERROR: 1,
  BUSY: 5,
  LOCKED: 6,
  NOMEM: 7,
  READONLY: 8,
  INTERRUPT: 9,
  IOERR: 10,
  CORRUPT: 11,
  FULL: 13,
  CANTOPEN: 14,
  PROTOCOL: 15,
  CONSTRAINT: 19,
  MISUSE: 21,
  NOTADB: 26,
} as const;

/** A driver error with its primary result code (`undefined` when unknown); the original is `cause`. */
export class SqliteError extends Error {
  /** Primary result code (extended code & 0xff), or undefined when the driver did not say. */
  readonly code: number | undefined;
  /** True when the connection was already closed. */
  readonly closed: boolean;

  constructor(message: string, code: number | undefined, closed: boolean, cause?: unknown) {
    super(message, { cause });
    this.name = "SqliteError";
    this.code = code;
    this.closed = closed;
  }
}

/** The subset of bun:sqlite / node:sqlite objects that `adaptSqlite` needs. */
export interface RawSqliteStatement {
  run(...params: SqliteValue[]): { changes: number | bigint };
  get(...params: SqliteValue[]): unknown;
  all(...params: SqliteValue[]): unknown[];
}

export interface RawSqliteDb {
  exec(sql: string): unknown;
  prepare(sql: string): RawSqliteStatement;
  close(): unknown;
}

// sqlite3_errstr() texts, for drivers that only give a message (node:sqlite on Deno).
const messageCodes: Array<[string, number]> = [
  ["database table is locked", SQLITE.LOCKED],
  ["database is locked", SQLITE.BUSY],
  ["disk I/O error", SQLITE.IOERR],
  ["database or disk is full", SQLITE.FULL],
  ["unable to open database file", SQLITE.CANTOPEN],
  ["attempt to write a readonly database", SQLITE.READONLY],
  ["out of memory", SQLITE.NOMEM],
  ["database disk image is malformed", SQLITE.CORRUPT],
  ["file is not a database", SQLITE.NOTADB],
  ["locking protocol", SQLITE.PROTOCOL],
  ["interrupted", SQLITE.INTERRUPT],
  ["constraint failed", SQLITE.CONSTRAINT],
];

/** Primary result code of a bun:sqlite or node:sqlite error, when it can be told. */
export function sqliteResultCode(e: unknown): number | undefined {
  if (!(e instanceof Error)) return undefined;
  const fields = e as Error & { errcode?: unknown; errno?: unknown };
  // node:sqlite (Node): `errcode` is the extended result code.
  if (typeof fields.errcode === "number") return fields.errcode & 0xff;
  // bun:sqlite: `SQLiteError` with `errno` = extended result code (Node system errors also have a
  // negative `errno`, hence the name check).
  if (e.name === "SQLiteError" && typeof fields.errno === "number") return fields.errno & 0xff;
  for (const [text, code] of messageCodes) if (e.message.includes(text)) return code;
  return undefined;
}

/** Wraps a raw driver connection into a `SqliteDb` with uniform results and errors. */
export function adaptSqlite(path: string, raw: RawSqliteDb): SqliteDb {
  let closed = false;
  const closedError = () => new SqliteError(`sqlite: database ${path} is closed`, undefined, true);
  const call = <T>(fn: () => T): T => {
    if (closed) throw closedError();
    try {
      return fn();
    } catch (e) {
      if (e instanceof SqliteError) throw e;
      const message = e instanceof Error ? e.message : String(e);
      throw new SqliteError(`sqlite: ${message}`, sqliteResultCode(e), closed, e);
    }
  };
  return {
    path,
    exec(sql) {
      call(() => raw.exec(sql));
    },
    prepare(sql) {
      const stmt = call(() => raw.prepare(sql));
      return {
        run: (...params) => call(() => ({ changes: Number(stmt.run(...params).changes) })),
        get: <Row>(...params: SqliteValue[]) =>
          call(() => (stmt.get(...params) ?? undefined) as Row | undefined),
        all: <Row>(...params: SqliteValue[]) => call(() => stmt.all(...params) as Row[]),
      };
    },
    close() {
      if (closed) return;
      closed = true;
      try {
        raw.close();
      } catch (e) {
        throw new SqliteError(`sqlite: close failed: ${String(e)}`, sqliteResultCode(e), true, e);
      }
    },
  };
}
