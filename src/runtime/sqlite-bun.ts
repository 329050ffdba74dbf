/**
 * `SqliteDb` over `bun:sqlite`.
 */
import { Database } from "bun:sqlite";
import { adaptSqlite, type RawSqliteDb, type SqliteDb } from "../store/sqlite.ts";

export function openSqlite(path: string): SqliteDb {
  // `strict: true`: bind parameters exactly as given; `safeIntegers` stays off (values fit in 2^53).
  const db = new Database(path, { create: true, readwrite: true, strict: true });
  return adaptSqlite(path, db as unknown as RawSqliteDb);
}
