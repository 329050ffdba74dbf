/**
 * The embedded store engine (docs/spec/storage.md §7): the `KV` interface with Redis semantics on one
 * SQLite database, for single-instance deployments and the development quick-start.
 * Decision record: docs/adr/0002-embedded-store-sqlite.md.
 *
 * Model: `kv_keys` holds one row per key (type, string value, absolute expiry in unix ms);
 * `kv_items` holds hash fields and set members. Every operation runs synchronously on one
 * connection, so it is atomic with respect to every other operation of the process (§7.2). Writes
 * are group-committed (docs/adr/0095-embedded-group-commit.md): each runs at once under its own
 * savepoint inside the open `BEGIN IMMEDIATE` transaction, the transaction commits once the event
 * loop has handled what is ready (`setImmediate`), and with WAL + `synchronous=FULL` that commit is
 * fsynced before any of its writes' promises resolves (§7.3): one fsync per batch of concurrent
 * writes instead of one per write. Expired keys are ignored on read and purged lazily by writes and
 * by a periodic sweep (§7.4).
 */
import { isTiktiError, storeUnavailable, TiktiError } from "../errors.ts";
import type { Logger } from "../logger.ts";
import { must } from "../must.ts";
import type { HashConsumeResult, KV, RateLimitHit, SetOptions } from "./kv.ts";
import { SQLITE, type SqliteDb, SqliteError, type SqliteStatement } from "./sqlite.ts";

export interface EmbeddedStoreOptions {
  logger: Logger;
  /** Clock in unix milliseconds (tests inject one). */
  now?: () => number;
  /** Period of the expired-key sweep; at most 60 s (docs/spec/storage.md §7.4). Default 30 s. */
  sweepIntervalMs?: number;
  /**
   * Deliver read answers together in the check phase instead of in the caller's microtasks (see
   * `op`). Chosen per runtime by src/runtime/main.ts: measured to pay on Node only (issue 14).
   */
  batchReadAnswers?: boolean;
}

/** `KV` plus the sweep, exposed for tests and tools. */
export interface EmbeddedStore extends KV {
  /** Physically removes expired keys now; returns how many were removed. */
  sweepExpired(): number;
}

/** Schema version kept in `PRAGMA user_version`. */
export const EMBEDDED_SCHEMA_VERSION = 1;
/** `PRAGMA application_id` marking a Tikti store file ("TIKT"). */
export const EMBEDDED_APPLICATION_ID = 0x54494b54;

const SWEEP_BATCH = 500;
const DEFAULT_SWEEP_INTERVAL_MS = 30_000;

type KeyType = "string" | "hash" | "set";

interface KeyRow {
  type: KeyType;
  value: string | null;
  expires_at: number | null;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS kv_keys (
  key        TEXT PRIMARY KEY NOT NULL,
  type       TEXT NOT NULL CHECK (type IN ('string', 'hash', 'set')),
  value      TEXT,
  expires_at INTEGER
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS kv_keys_expiry ON kv_keys (expires_at) WHERE expires_at IS NOT NULL;
CREATE TABLE IF NOT EXISTS kv_items (
  key   TEXT NOT NULL,
  item  TEXT NOT NULL,
  value TEXT,
  PRIMARY KEY (key, item)
) WITHOUT ROWID;
`;

/**
 * Configures the connection (locking, journal, durability), takes the exclusive lock, creates or
 * checks the schema. Throws the driver's `SqliteError` (code BUSY when another process holds the
 * lock) or an `Error` for a foreign or newer file; the caller decides how to report it.
 */
export function initEmbeddedDb(db: SqliteDb): void {
  // Order matters: EXCLUSIVE locking before the first access makes WAL keep its index in heap
  // memory (no -shm file) and keeps the lock for the connection's lifetime; busy_timeout=0 makes
  // a second process fail at once instead of waiting.
  db.exec("PRAGMA busy_timeout = 0");
  db.exec("PRAGMA locking_mode = EXCLUSIVE");
  const mode = db.prepare("PRAGMA journal_mode = WAL").get<{ journal_mode: string }>();
  if (mode?.journal_mode !== "wal")
    throw new Error(`embedded store: cannot enable WAL (got ${mode?.journal_mode})`);
  // FULL: each commit fsyncs the WAL, so an acknowledged write survives power loss.
  db.exec("PRAGMA synchronous = FULL");
  db.exec("PRAGMA foreign_keys = OFF");
  // Take the exclusive lock now rather than at the first write.
  db.exec("BEGIN EXCLUSIVE; COMMIT");
  const appId = db.prepare("PRAGMA application_id").get<{ application_id: number }>()?.application_id ?? 0;
  const version = db.prepare("PRAGMA user_version").get<{ user_version: number }>()?.user_version ?? 0;
  if (appId !== 0 && appId !== EMBEDDED_APPLICATION_ID) {
    throw new Error(`embedded store: ${db.path} is not a Tikti store (application_id ${appId})`);
  }
  if (version > EMBEDDED_SCHEMA_VERSION) {
    throw new Error(
      `embedded store: ${db.path} has schema version ${version}, newer than this release supports (${EMBEDDED_SCHEMA_VERSION})`,
    );
  }
  if (version < EMBEDDED_SCHEMA_VERSION) {
    db.exec("BEGIN IMMEDIATE");
    try {
      db.exec(SCHEMA);
      db.exec(`PRAGMA application_id = ${EMBEDDED_APPLICATION_ID}`);
      db.exec(`PRAGMA user_version = ${EMBEDDED_SCHEMA_VERSION}`);
      db.exec("COMMIT");
    } catch (e) {
      db.exec("ROLLBACK");
      throw e;
    }
  }
}

const wrongType = () =>
  new TiktiError("INTERNAL", {
    cause: new Error("WRONGTYPE Operation against a key holding the wrong kind of value"),
  });
const notInteger = () =>
  new TiktiError("INTERNAL", { cause: new Error("ERR value is not an integer or out of range") });
const badTtl = (what: string) =>
  new TiktiError("INTERNAL", { cause: new Error(`ERR invalid expire time in '${what}'`) });

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** Redis' strict integer parsing (string2ll): no sign on zero, no leading zeros, no spaces. */
function parseRedisInt(value: string): bigint | undefined {
  if (!/^(0|-?[1-9][0-9]{0,19})$/.test(value)) return undefined;
  const n = BigInt(value);
  return n < INT64_MIN || n > INT64_MAX ? undefined : n;
}

function checkTtlMs(ttlMs: number, what: string): void {
  if (!Number.isSafeInteger(ttlMs) || ttlMs <= 0) throw badTtl(what);
}

/**
 * The smallest string greater than every string that starts with `prefix`, in SQLite's BINARY
 * order (UTF-8 bytes = code point order); `undefined` when no such bound exists. Scans use the
 * index range `[prefix, bound)`, which is exact and needs no LIKE/GLOB escaping.
 */
export function prefixUpperBound(prefix: string): string | undefined {
  const cps = Array.from(prefix, (c) => must(c.codePointAt(0), "a code point of the scan prefix"));
  for (let last = cps.pop(); last !== undefined; last = cps.pop()) {
    if (last >= 0x10ffff) continue;
    const next = last === 0xd7ff ? 0xe000 : last + 1;
    return String.fromCodePoint(...cps, next);
  }
  return undefined;
}

/** Whether a SQLite failure means "the store cannot answer" (503) rather than a bug (500). */
function isUnavailable(e: SqliteError): boolean {
  if (e.closed) return true;
  const unavailable: Array<number | undefined> = [
    SQLITE.BUSY,
    SQLITE.LOCKED,
    SQLITE.NOMEM,
    SQLITE.READONLY,
    SQLITE.INTERRUPT,
    SQLITE.IOERR,
    SQLITE.FULL,
    SQLITE.CANTOPEN,
    SQLITE.PROTOCOL,
  ];
  return unavailable.includes(e.code);
}

function translate(e: unknown): TiktiError {
  if (isTiktiError(e)) return e;
  if (e instanceof SqliteError && isUnavailable(e)) return storeUnavailable(e);
  return new TiktiError("INTERNAL", { cause: e });
}

/** Creates the engine on an open connection; runs `initEmbeddedDb` first. */
export function createEmbeddedStore(db: SqliteDb, opts: EmbeddedStoreOptions): EmbeddedStore {
  initEmbeddedDb(db);
  const log = opts.logger.child({ component: "store", engine: "embedded" });
  const now = opts.now ?? Date.now;
  const sweepIntervalMs = Math.min(opts.sweepIntervalMs ?? DEFAULT_SWEEP_INTERVAL_MS, 60_000);

  const q = (sql: string): SqliteStatement => db.prepare(sql);
  const s = {
    begin: q("BEGIN IMMEDIATE"),
    commit: q("COMMIT"),
    rollback: q("ROLLBACK"),
    savepoint: q("SAVEPOINT w"),
    release: q("RELEASE w"),
    rollbackTo: q("ROLLBACK TO w"),
    ping: q("SELECT 1 AS ok"),
    getKey: q("SELECT type, value, expires_at FROM kv_keys WHERE key = ?"),
    putKey: q(
      "INSERT INTO kv_keys (key, type, value, expires_at) VALUES (?, ?, ?, ?) " +
        "ON CONFLICT (key) DO UPDATE SET type = excluded.type, value = excluded.value, expires_at = excluded.expires_at",
    ),
    setValue: q("UPDATE kv_keys SET value = ? WHERE key = ?"),
    setExpiry: q("UPDATE kv_keys SET expires_at = ? WHERE key = ?"),
    delKey: q("DELETE FROM kv_keys WHERE key = ?"),
    delItems: q("DELETE FROM kv_items WHERE key = ?"),
    getItem: q("SELECT value FROM kv_items WHERE key = ? AND item = ?"),
    hasItem: q("SELECT 1 AS one FROM kv_items WHERE key = ? AND item = ?"),
    anyItem: q("SELECT 1 AS one FROM kv_items WHERE key = ? LIMIT 1"),
    insertItem: q(
      "INSERT INTO kv_items (key, item, value) VALUES (?, ?, ?) ON CONFLICT (key, item) DO NOTHING",
    ),
    updateItem: q("UPDATE kv_items SET value = ? WHERE key = ? AND item = ?"),
    delItem: q("DELETE FROM kv_items WHERE key = ? AND item = ?"),
    allItems: q("SELECT item, value FROM kv_items WHERE key = ? ORDER BY item"),
    countItems: q("SELECT count(*) AS n FROM kv_items WHERE key = ?"),
    itemsFrom: q("SELECT item, value FROM kv_items WHERE key = ? AND item >= ? ORDER BY item LIMIT ?"),
    keysFrom: q(
      "SELECT key FROM kv_keys WHERE key >= ? AND (expires_at IS NULL OR expires_at > ?) ORDER BY key LIMIT ?",
    ),
    keysRange: q(
      "SELECT key FROM kv_keys WHERE key >= ? AND key < ? AND (expires_at IS NULL OR expires_at > ?) ORDER BY key LIMIT ?",
    ),
    expiredKeys: q("SELECT key, type FROM kv_keys WHERE expires_at <= ? ORDER BY expires_at LIMIT ?"),
  };

  let closed = false;
  let sweepTimer: ReturnType<typeof setInterval> | undefined;

  const ensureOpen = () => {
    if (closed) throw storeUnavailable(new Error("embedded store is closed"));
  };

  /**
   * With `batchReadAnswers`: answers of reads done meanwhile, delivered together in the check phase
   * (`setImmediate`), as a network store's replies arrive together, so the requests of one event-loop
   * turn finish and write their answers together instead of one request answered between two socket
   * reads. Why (issue 14, test/bench/notes.md): on Node a lookup on this engine cost ~1.5× the CPU of
   * the same lookup on Redis that way; batched, 30 % less CPU per lookup. On Bun the same change was
   * bimodal (some runs 15 % better, some 40 % worse), so Bun keeps immediate answers.
   */
  const batchReads = opts.batchReadAnswers === true;
  let answers: Array<() => void> | null = null;
  const deliver = (): void => {
    const batch = answers;
    answers = null;
    if (batch) for (const answer of batch) answer();
  };

  /** Runs `fn` (synchronously, so atomic and ordered, §7.2) with translated errors; answers in a batch. */
  const op = <T>(fn: () => T): Promise<T> => {
    let value: T | undefined;
    let error: TiktiError | undefined;
    try {
      ensureOpen();
      value = fn();
    } catch (e) {
      error = translate(e);
    }
    if (!batchReads) return error === undefined ? Promise.resolve(value as T) : Promise.reject(error);
    return new Promise<T>((resolve, reject) => {
      if (answers === null) {
        answers = [];
        setImmediate(deliver);
      }
      answers.push(error === undefined ? () => resolve(value as T) : () => reject(error));
    });
  };

  /**
   * The writes of the open transaction, acknowledged together when it commits; `null` when none is
   * open. One fsync then covers every write the event loop issued meanwhile (docs/adr/0095-embedded-group-commit.md):
   * a request's rate-limit hit costs a share of a commit, not a commit of its own.
   */
  let pending: Array<{ resolve: () => void; reject: (e: TiktiError) => void }> | null = null;

  /** Commits the open transaction (if any), then settles its writes: resolved only once durable. */
  const commitPending = (): void => {
    const writes = pending;
    if (writes === null) return;
    pending = null;
    try {
      s.commit.run();
    } catch (e) {
      try {
        s.rollback.run();
      } catch {
        // A failed COMMIT may already have rolled back; the commit error is what the writers get.
      }
      const error = translate(e);
      for (const w of writes) w.reject(error);
      return;
    }
    for (const w of writes) w.resolve();
  };

  // After the I/O callbacks that are ready now (check phase), so that concurrent requests share it.
  const scheduleCommit = (): void => {
    setImmediate(commitPending);
  };

  /**
   * Runs `fn` as one write: synchronously (so atomic and ordered with every other operation, §7.2)
   * under a savepoint of the open transaction, undone alone on any error; its promise resolves
   * with the result after the transaction's COMMIT, i.e. after the fsync (§7.3).
   */
  const tx = <T>(fn: () => T): Promise<T> => {
    let result: T;
    try {
      ensureOpen();
      if (pending === null) {
        s.begin.run();
        pending = [];
        scheduleCommit();
      }
      s.savepoint.run();
      try {
        result = fn();
      } catch (e) {
        s.rollbackTo.run();
        s.release.run();
        throw e;
      }
      s.release.run();
    } catch (e) {
      return Promise.reject(translate(e));
    }
    const writes = pending;
    return new Promise<T>((resolve, reject) => {
      writes.push({ resolve: () => resolve(result), reject });
    });
  };

  /** The live row of `key`, or undefined when absent or expired. */
  const read = (key: string, t: number): KeyRow | undefined => {
    const row = s.getKey.get<KeyRow>(key);
    if (!row) return undefined;
    if (row.expires_at !== null && row.expires_at <= t) return undefined;
    return row;
  };

  const deleteKey = (key: string, type: KeyType) => {
    if (type !== "string") s.delItems.run(key);
    s.delKey.run(key);
  };

  /** For writes: the live row of `key`; an expired row is purged first. */
  const load = (key: string, t: number): KeyRow | undefined => {
    const row = s.getKey.get<KeyRow>(key);
    if (!row) return undefined;
    if (row.expires_at !== null && row.expires_at <= t) {
      deleteKey(key, row.type);
      return undefined;
    }
    return row;
  };

  const readTyped = (key: string, type: KeyType, t: number): KeyRow | undefined => {
    const row = read(key, t);
    if (row && row.type !== type) throw wrongType();
    return row;
  };

  const loadTyped = (key: string, type: KeyType, t: number): KeyRow | undefined => {
    const row = load(key, t);
    if (row && row.type !== type) throw wrongType();
    return row;
  };

  /** Adds or updates an item of a hash/set, creating the key; returns true when the item is new. */
  const putItem = (
    key: string,
    type: "hash" | "set",
    row: KeyRow | undefined,
    item: string,
    value: string | null,
  ) => {
    if (!row) s.putKey.run(key, type, null, null);
    if (s.insertItem.run(key, item, value).changes === 1) return true;
    if (type === "hash") s.updateItem.run(value, key, item);
    return false;
  };

  /** Removes an item; a hash/set left empty disappears. Returns true when the item existed. */
  const removeItem = (key: string, item: string) => {
    if (s.delItem.run(key, item).changes === 0) return false;
    if (!s.anyItem.get(key)) s.delKey.run(key);
    return true;
  };

  const getItem = (key: string, item: string): string | null =>
    s.getItem.get<{ value: string | null }>(key, item)?.value ?? null;

  const putString = (key: string, value: string, expiresAt: number | null, previous: KeyRow | undefined) => {
    if (previous && previous.type !== "string") s.delItems.run(key);
    s.putKey.run(key, "string", value, expiresAt);
  };

  const pttlOf = (row: KeyRow | undefined, t: number) =>
    !row ? -2 : row.expires_at === null ? -1 : row.expires_at - t;

  const incrBy1 = (key: string, t: number): { row: KeyRow | undefined; count: number } => {
    const row = loadTyped(key, "string", t);
    const current = row ? parseRedisInt(row.value ?? "") : 0n;
    if (current === undefined) throw notInteger();
    const next = current + 1n;
    if (next > INT64_MAX) throw notInteger();
    if (row) s.setValue.run(next.toString(), key);
    else s.putKey.run(key, "string", next.toString(), null);
    return { row, count: Number(next) };
  };

  const sweepExpired = (): number => {
    ensureOpen();
    // Its own transactions below: settle the open one first.
    commitPending();
    let removed = 0;
    for (;;) {
      const t = now();
      const batch = s.expiredKeys.all<{ key: string; type: KeyType }>(t, SWEEP_BATCH);
      if (batch.length === 0) break;
      s.begin.run();
      try {
        for (const { key, type } of batch) deleteKey(key, type);
        s.commit.run();
      } catch (e) {
        s.rollback.run();
        throw e;
      }
      removed += batch.length;
      if (batch.length < SWEEP_BATCH) break;
    }
    return removed;
  };

  sweepTimer = setInterval(() => {
    try {
      const removed = sweepExpired();
      if (removed > 0) log.debug("expired keys swept", { removed });
    } catch (e) {
      log.warn("expired-key sweep failed", { err: translate(e).cause });
    }
  }, sweepIntervalMs);
  // The sweep must not keep the process alive (Node/Bun timers have unref; Deno's too via node compat).
  (sweepTimer as { unref?: () => void }).unref?.();

  const store: EmbeddedStore = {
    engine: "embedded",

    get: (key) => op(() => readTyped(key, "string", now())?.value ?? null),

    set: (key, value, options: SetOptions = {}) =>
      tx(() => {
        if (options.ttlMs !== undefined) checkTtlMs(options.ttlMs, "set");
        const t = now();
        const row = load(key, t);
        if (options.nx && row) return false;
        putString(key, value, options.ttlMs !== undefined ? t + options.ttlMs : null, row);
        return true;
      }),

    del: (key) =>
      tx(() => {
        const row = load(key, now());
        if (!row) return false;
        deleteKey(key, row.type);
        return true;
      }),

    exists: (key) => op(() => read(key, now()) !== undefined),

    expire: (key, seconds) =>
      tx(() => {
        if (!Number.isSafeInteger(seconds)) throw notInteger();
        const t = now();
        const row = load(key, t);
        if (!row) return false;
        if (seconds <= 0) deleteKey(key, row.type);
        else s.setExpiry.run(t + seconds * 1000, key);
        return true;
      }),

    pttl: (key) =>
      op(() => {
        const t = now();
        return pttlOf(read(key, t), t);
      }),

    incr: (key) => tx(() => incrBy1(key, now()).count),

    hget: (key, field) => op(() => (readTyped(key, "hash", now()) ? getItem(key, field) : null)),

    hset: (key, field, value) => tx(() => putItem(key, "hash", loadTyped(key, "hash", now()), field, value)),

    hsetnx: (key, field, value) =>
      tx(() => {
        const row = loadTyped(key, "hash", now());
        if (row && s.hasItem.get(key, field)) return false;
        return putItem(key, "hash", row, field, value);
      }),

    hdel: (key, field) => tx(() => (loadTyped(key, "hash", now()) ? removeItem(key, field) : false)),

    hgetall: (key) =>
      op(() => {
        const out = new Map<string, string>();
        if (!readTyped(key, "hash", now())) return out;
        for (const r of s.allItems.all<{ item: string; value: string }>(key)) out.set(r.item, r.value);
        return out;
      }),

    hlen: (key) =>
      op(() => (readTyped(key, "hash", now()) ? (s.countItems.get<{ n: number }>(key)?.n ?? 0) : 0)),

    hscan(key, batchSize = 100) {
      const size = Math.max(1, Math.floor(batchSize));
      return {
        async *[Symbol.asyncIterator]() {
          // Field order with a "from just after the last field seen" cursor: a field present for
          // the whole iteration is never skipped, whatever is added or removed meanwhile.
          let from = "";
          for (;;) {
            const batch = await op(() => {
              if (!readTyped(key, "hash", now())) return [];
              return s.itemsFrom.all<{ item: string; value: string }>(key, from, size);
            });
            const last = batch.at(-1);
            if (last === undefined) return;
            yield batch.map((r): [string, string] => [r.item, r.value]);
            if (batch.length < size) return;
            // The immediate successor of the last field in binary order.
            from = `${last.item}\u0000`;
          }
        },
      };
    },

    sadd: (key, member) => tx(() => putItem(key, "set", loadTyped(key, "set", now()), member, null)),

    srem: (key, member) => tx(() => (loadTyped(key, "set", now()) ? removeItem(key, member) : false)),

    smembers: (key) =>
      op(() => {
        if (!readTyped(key, "set", now())) return [];
        return s.allItems.all<{ item: string }>(key).map((r) => r.item);
      }),

    scan(prefix, batchSize = 100) {
      const size = Math.max(1, Math.floor(batchSize));
      const upper = prefixUpperBound(prefix);
      return {
        async *[Symbol.asyncIterator]() {
          let from = prefix;
          for (;;) {
            const batch = await op(() => {
              const t = now();
              const rows =
                upper === undefined
                  ? s.keysFrom.all<{ key: string }>(from, t, size)
                  : s.keysRange.all<{ key: string }>(from, upper, t, size);
              return rows.map((r) => r.key);
            });
            const last = batch.at(-1);
            if (last === undefined) return;
            yield batch;
            if (batch.length < size) return;
            from = `${last}\u0000`;
          }
        },
      };
    },

    casHset: (key, field, expected, next) =>
      tx(() => {
        const row = loadTyped(key, "hash", now());
        const current = row ? getItem(key, field) : null;
        if (current !== expected) return false;
        putItem(key, "hash", row, field, next);
        return true;
      }),

    casSet: (key, expected, next, ttlMs) =>
      tx(() => {
        if (ttlMs !== undefined) checkTtlMs(ttlMs, "casSet");
        const t = now();
        const row = loadTyped(key, "string", t);
        if ((row?.value ?? null) !== expected) return false;
        putString(key, next, ttlMs !== undefined ? t + ttlMs : null, row);
        return true;
      }),

    casDel: (key, expected) =>
      tx(() => {
        const row = loadTyped(key, "string", now());
        if (!row || row.value !== expected) return false;
        s.delKey.run(key);
        return true;
      }),

    consume: (key) =>
      tx(() => {
        const row = loadTyped(key, "string", now());
        if (!row) return null;
        s.delKey.run(key);
        return row.value ?? "";
      }),

    hconsumeIf: (key, field, expected) =>
      tx((): HashConsumeResult => {
        const row = loadTyped(key, "hash", now());
        if (!row) return { status: "ABSENT" };
        if (getItem(key, field) !== expected) return { status: "MISMATCH" };
        const fields = new Map<string, string>();
        for (const r of s.allItems.all<{ item: string; value: string }>(key)) fields.set(r.item, r.value);
        deleteKey(key, "hash");
        return { status: "CONSUMED", fields };
      }),

    rlIncr: (key, windowMs) =>
      tx((): RateLimitHit => {
        checkTtlMs(windowMs, "rlIncr");
        const t = now();
        const { row, count } = incrBy1(key, t);
        let expiresAt = row?.expires_at ?? null;
        if (count === 1 || expiresAt === null) {
          expiresAt = t + windowMs;
          s.setExpiry.run(expiresAt, key);
        }
        return { count, pttlMs: expiresAt - t };
      }),

    idxAdd: (key, field, value, ttlMs) =>
      tx(() => {
        checkTtlMs(ttlMs, "idxAdd");
        const t = now();
        const row = loadTyped(key, "hash", t);
        putItem(key, "hash", row, field, value);
        // As the Lua script: PTTL is -1 for a new key (or one without expiry), so it gets the TTL.
        if (ttlMs > pttlOf(row, t)) s.setExpiry.run(t + ttlMs, key);
      }),

    ping: () =>
      op(() => {
        s.ping.get();
      }),

    sweepExpired,

    async close() {
      if (closed) return;
      closed = true;
      if (sweepTimer !== undefined) clearInterval(sweepTimer);
      sweepTimer = undefined;
      try {
        // Writes already run but not yet committed are committed (and acknowledged) before closing.
        commitPending();
        db.close();
      } catch (e) {
        log.warn("closing the embedded store failed", { err: e });
      }
    },
  };
  return store;
}
