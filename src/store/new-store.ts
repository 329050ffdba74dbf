/**
 * A store the server starts on while it is still empty holds nothing any migration could change:
 * every record the server writes already has the shape the migrations produce (normalised email
 * index, memberships, `authSource`). So the server records those migrations as applied in
 * `tikti:migrations` (docs/spec/cli.md §8), and `tikti-migrate --list` shows a server-created store as
 * migrated instead of every migration pending (docs/migration.md "Stores the server created").
 *
 * Fail safe: a store with any key at all (a Go Tikti keyspace, a half-written one, a store the
 * server already served from) is left alone; running the migrations on it is always correct.
 */
import { keys } from "./keys.ts";
import type { KV } from "./kv.ts";

/**
 * Every migration `tikti-migrate` knows (migrate/migrations/index.ts; a test keeps the two lists
 * equal). A new migration belongs here only if the server's own writes already satisfy it.
 */
export const MIGRATIONS_SATISFIED_BY_SERVER = ["0001", "0002", "0003", "0007"] as const;

/** `legacy-pending`: Go Tikti's `users` hash is there and migration 0001 is not recorded. */
export type NewStoreOutcome = "recorded" | "not-empty" | "legacy-pending";

/**
 * Records every migration of `MIGRATIONS_SATISFIED_BY_SERVER` as applied when the store holds no
 * key. `HSETNX`: a record written meanwhile (another replica, tikti-migrate) is kept as it is.
 */
export async function recordMigrationsOfNewStore(
  kv: KV,
  input: { nowMs: number; serverVersion: string },
): Promise<NewStoreOutcome> {
  // One key anywhere is enough to leave the store alone; SCAN stops at the first batch holding one.
  for await (const batch of kv.scan("", 100)) {
    if (batch.length === 0) continue;
    // docs/spec/operations.md §4: a legacy hash without 0001 recorded is worth a start-up warning.
    const legacy = (await kv.hlen(keys.legacyUsers())) > 0;
    return legacy && (await kv.hget(keys.migrations(), "0001")) === null ? "legacy-pending" : "not-empty";
  }
  const appliedAt = new Date(input.nowMs).toISOString();
  for (const id of MIGRATIONS_SATISFIED_BY_SERVER) {
    await kv.hsetnx(
      keys.migrations(),
      id,
      JSON.stringify({ id, appliedAt, counts: {}, toolVersion: `tikti ${input.serverVersion}: new store` }),
    );
  }
  return "recorded";
}
