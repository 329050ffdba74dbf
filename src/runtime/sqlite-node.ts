/**
 * `SqliteDb` over `node:sqlite` (Node ≥ 22.13 without flags; Deno's Node compatibility layer).
 */
import { DatabaseSync } from "node:sqlite";
import { adaptSqlite, type RawSqliteDb, type SqliteDb } from "../store/sqlite.ts";

export function openSqlite(path: string): SqliteDb {
  // `timeout: 0`: never wait for a lock held by another process (the embedded store refuses to start
  // instead, docs/spec/storage.md §7.5). Foreign keys are not used by the schema.
  const db = new DatabaseSync(path, { timeout: 0, enableForeignKeyConstraints: false });
  return adaptSqlite(path, db as unknown as RawSqliteDb);
}
