/**
 * Bytes per user, key by key (issue 14 item 4): what each record a seeded user adds costs in Redis
 * (`MEMORY USAGE` on a sample of the per-user keys; per field for the big shared hashes) and in the
 * embedded store (SQLite `dbstat`: pages per table/index, payload vs. B-tree overhead).
 */
import { benchEmail, benchTenant, benchUserId } from "../../scripts/seed.ts";
import { keys } from "../../src/store/keys.ts";
import type { SqliteDb } from "../../src/store/sqlite.ts";

export interface ByteRow {
  /** What the row measures (a key pattern, a table or index). */
  what: string;
  bytesPerUser: number;
}

type Cmd = { sendCommand(args: string[]): Promise<unknown> };

const num = (v: unknown) => Number(v ?? Number.NaN);

/**
 * Redis: the mean `MEMORY USAGE` of `sample` users' own keys (key, value and dict entry), and each
 * shared hash's estimated usage (`SAMPLES 1000`) divided by its field count for the per-field cost.
 * `total` (the `used_memory` delta per user) minus the rows is the rest: the keyspace's bucket array.
 */
export async function redisBytesByKey(
  redis: Cmd,
  users: number,
  tenants: number,
  total: number,
  sample = 2000,
): Promise<ByteRow[]> {
  const picks = Array.from({ length: Math.min(sample, users) }, (_, k) =>
    Math.floor((k * users) / Math.min(sample, users)),
  );
  const mean = async (key: (i: number) => string) => {
    const sizes = await Promise.all(
      picks.map((i) => redis.sendCommand(["MEMORY", "USAGE", key(i), "SAMPLES", "0"])),
    );
    return sizes.reduce<number>((a, s) => a + num(s), 0) / picks.length;
  };
  const perField = async (key: string) => {
    const [usage, len] = await Promise.all([
      redis.sendCommand(["MEMORY", "USAGE", key, "SAMPLES", "1000"]),
      redis.sendCommand(["HLEN", key]),
    ]);
    return num(usage) / num(len);
  };
  let membershipField = 0;
  for (let t = 0; t < tenants; t++)
    membershipField += await perField(keys.memberships(benchTenant(t, tenants)));
  const rows: ByteRow[] = [
    { what: `${keys.users()} field (User JSON)`, bytesPerUser: await perField(keys.users()) },
    {
      what: "userByEmail:{email} (string)",
      bytesPerUser: await mean((i) => keys.userByEmail(benchEmail(i))),
    },
    { what: "memberships:{tenantId} field (Membership JSON)", bytesPerUser: membershipField / tenants },
    {
      what: "membershipsByUser:{userId} (set)",
      bytesPerUser: await mean((i) => keys.membershipsByUser(benchUserId(i))),
    },
  ];
  const sum = rows.reduce((a, r) => a + r.bytesPerUser, 0);
  rows.push({ what: "rest (keyspace buckets, allocator)", bytesPerUser: total - sum });
  return rows;
}

/** SQLite: bytes of every table and index per user from `dbstat`, with their unused share. */
export function sqliteBytesByTable(db: SqliteDb, users: number): ByteRow[] {
  const rows = db
    .prepare(
      "SELECT name, sum(pgsize) AS size, sum(unused) AS unused, sum(payload) AS payload FROM dbstat GROUP BY name ORDER BY size DESC",
    )
    .all<{ name: string; size: number; unused: number; payload: number }>();
  return rows.map((r) => ({
    what: `${r.name} (payload ${((100 * r.payload) / r.size).toFixed(0)} %, unused ${((100 * r.unused) / r.size).toFixed(0)} %)`,
    bytesPerUser: r.size / users,
  }));
}
