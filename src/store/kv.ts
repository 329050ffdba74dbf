/**
 * The small Redis-shaped key-value interface every store engine implements (docs/spec/storage.md §1, §4).
 *
 * Only the commands and single-key scripts the keyspace needs are here, so one conformance suite
 * (test/store/conformance/) can hold every engine — embedded, Redis, Redis Cluster — to the same results.
 * Engines translate their own failures: unavailability (connection refused, timeout, closed) becomes
 * `TiktiError("STORE_UNAVAILABLE")`, anything else (e.g. a command against a key of the wrong type)
 * `TiktiError("INTERNAL")`, always with the driver error as `cause`.
 */

export interface SetOptions {
  /** Only set when the key does not exist (`SET NX`). */
  nx?: boolean;
  /** Time to live in milliseconds (`SET PX`); absent = no expiry (and clears an existing TTL, as SET does). */
  ttlMs?: number;
}

/** The answer of `hconsumeIf`. */
export type HashConsumeResult =
  /** The key does not exist. */
  | { status: "ABSENT" }
  /** The field is absent or holds another value; the hash is left as it was. */
  | { status: "MISMATCH" }
  /** Every field of the hash as it was when it was deleted. */
  | { status: "CONSUMED"; fields: Map<string, string> };

export interface RateLimitHit {
  /** Counter value after this hit. */
  count: number;
  /** Milliseconds until the window ends (PTTL of the counter). */
  pttlMs: number;
}

export type StoreEngine = "embedded" | "redis" | "redis-cluster";

export interface KV {
  readonly engine: StoreEngine;

  // Strings
  get(key: string): Promise<string | null>;
  /** Returns false only when `nx` prevented the write. */
  set(key: string, value: string, options?: SetOptions): Promise<boolean>;
  /** Returns true when the key existed. */
  del(key: string): Promise<boolean>;
  exists(key: string): Promise<boolean>;
  /** Returns false when the key does not exist. */
  expire(key: string, seconds: number): Promise<boolean>;
  /** Milliseconds to live; -1 when the key has no expiry, -2 when it does not exist. */
  pttl(key: string): Promise<number>;
  incr(key: string): Promise<number>;

  // Hashes
  hget(key: string, field: string): Promise<string | null>;
  /** Returns true when the field is new. */
  hset(key: string, field: string, value: string): Promise<boolean>;
  /** Returns true when the field was absent and has been written. */
  hsetnx(key: string, field: string, value: string): Promise<boolean>;
  /** Returns true when the field existed. A hash left with no fields disappears (as in Redis). */
  hdel(key: string, field: string): Promise<boolean>;
  /** All fields; a `Map` so that field names such as `__proto__` are safe. */
  hgetall(key: string): Promise<Map<string, string>>;
  hlen(key: string): Promise<number>;
  /**
   * Iterates a hash in batches (`HSCAN`). Every field present for the whole iteration is yielded at
   * least once; fields added or removed meanwhile may or may not be.
   */
  hscan(key: string, batchSize?: number): AsyncIterable<Array<[field: string, value: string]>>;

  // Sets
  sadd(key: string, member: string): Promise<boolean>;
  srem(key: string, member: string): Promise<boolean>;
  smembers(key: string): Promise<string[]>;

  /**
   * Iterates keys starting with `prefix` in batches (`SCAN MATCH <prefix>*`, on every master of a
   * cluster). The prefix is literal: glob characters in it are escaped by the engine. Same
   * guarantee as `hscan`.
   */
  scan(prefix: string, batchSize?: number): AsyncIterable<string[]>;

  // Single-key scripts (docs/spec/storage.md §4.1); each is atomic with respect to every other operation.
  /** CAS_HSET: set `field` to `next` only if its value equals `expected` (`null` = field absent). */
  casHset(key: string, field: string, expected: string | null, next: string): Promise<boolean>;
  /** CAS_SET: same for a string key; `ttlMs` sets an expiry on success. */
  casSet(key: string, expected: string | null, next: string, ttlMs?: number): Promise<boolean>;
  /** CAS_DEL: delete only if the value equals `expected`. */
  casDel(key: string, expected: string): Promise<boolean>;
  /** CONSUME: return the value and delete the key; `null` when absent. */
  consume(key: string): Promise<string | null>;
  /**
   * HCONSUME_IF: when the hash's `field` equals `expected`, return every field and delete the key,
   * in one step (of concurrent callers exactly one gets `CONSUMED`); otherwise leave it as it is.
   */
  hconsumeIf(key: string, field: string, expected: string): Promise<HashConsumeResult>;
  /** RL_INCR: increment, start the window on the first hit (or when the key has no TTL). */
  rlIncr(key: string, windowMs: number): Promise<RateLimitHit>;
  /** IDX_ADD: HSET the field and extend the key's TTL to `ttlMs` unless it already lives longer. */
  idxAdd(key: string, field: string, value: string, ttlMs: number): Promise<void>;

  /** Liveness probe (`PING`); throws STORE_UNAVAILABLE when the engine does not answer. */
  ping(): Promise<void>;
  /** Releases connections, files and locks. Idempotent. */
  close(): Promise<void>;
}
