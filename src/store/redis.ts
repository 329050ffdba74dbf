/**
 * The Redis engine of the KV interface (docs/spec/storage.md §1, §4, §8; docs/adr/0003-redis-engine.md):
 * one node (Redis or KVRocks, by `host:port` or URL) or a Redis Cluster, through node-redis.
 *
 * Policy, in short (the ADR has the reasons):
 * - `createRedisStore` never waits for the network: it starts connecting in the background and the
 *   store answers as soon as the connection is up, so the server starts while Redis is down.
 * - No offline queue: while disconnected every command fails at once with STORE_UNAVAILABLE. The
 *   driver reconnects by itself with a capped backoff (≤ 1 s), forever, until `close()`.
 * - Every command carries its own deadline (`timeoutMs`, default 2 s, docs/spec/api.md §2.9). node-redis only
 *   times out commands that are still waiting to be written, so the deadline is enforced here — and
 *   only here: node-redis' own per-command timeout is an `AbortSignal.timeout` that cannot be
 *   cancelled, so every command left a timer that fired 2 s later and built a `DOMException` (a few
 *   per cent of a lookup's CPU, issue 14). The queue bound below keeps a stalled socket finite.
 * - Driver errors are translated where they enter: no answer (refused, closed, offline, timeout,
 *   cluster down, LOADING, ...) → STORE_UNAVAILABLE; an error reply from the server (WRONGTYPE, a
 *   script error, ...) → INTERNAL; the driver error is kept as `cause`.
 * - Only the commands of docs/spec/storage.md §1 are sent, plus the connection handshake (AUTH, SELECT).
 */
import {
  AbortError,
  ClientClosedError,
  ClientOfflineError,
  ConnectionTimeoutError,
  createClient,
  createCluster,
  DisconnectsClientError,
  ErrorReply,
  MaxCommandRedirectionsError,
  ReconnectStrategyError,
  RootNodesUnavailableError,
  SocketClosedUnexpectedlyError,
  SocketTimeoutError,
  TimeoutError,
} from "redis";
import { isTiktiError, storeUnavailable, TiktiError } from "../errors.ts";
import type { Logger } from "../logger.ts";
import type { HashConsumeResult, KV, RateLimitHit, SetOptions, StoreEngine } from "./kv.ts";

export interface RedisStoreOptions {
  /** Single node, `host:port` (`[v6addr]:port` for IPv6). */
  addr?: string;
  /**
   * Single node, `redis://` or `rediss://` URL. The scheme decides TLS (`tls` is ignored); user,
   * password and `/db` in the URL take precedence over `username`, `password` and `db`.
   */
  url?: string;
  /** Redis Cluster seed nodes, `host:port` each. */
  cluster?: readonly string[];
  username?: string;
  password?: string;
  /** Database index; single node only (a cluster has only db 0). */
  db?: number;
  /** TLS for `addr` and `cluster`. */
  tls?: boolean;
  /** Deadline of every command in milliseconds (default 2000). */
  timeoutMs?: number;
  logger: Logger;
}

const DEFAULT_TIMEOUT_MS = 2000;
/** Upper bound of the reconnect backoff (jitter included). */
const MAX_RECONNECT_DELAY_MS = 1000;
/** Connection-error log lines are limited to one per this interval (plus a count of the rest). */
const ERROR_LOG_INTERVAL_MS = 10_000;
/**
 * Bound on commands queued or in flight per connection. Reached only when a server stops answering
 * without closing the socket (frozen process, black-holed network): callers then fail fast instead
 * of piling up memory until the OS notices the dead peer.
 */
const MAX_QUEUED_COMMANDS = 10_000;
const DEFAULT_BATCH = 100;

/**
 * Creates the Redis engine. Returns at once; the connection is made in the background (see the
 * file comment). Throws only for unusable options (none or several of addr/url/cluster, a bad
 * address, `db` with a cluster), which are startup refusals.
 */
export function createRedisStore(options: RedisStoreOptions): KV {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) {
    throw new Error(`redis: timeoutMs must be a positive integer, got ${String(options.timeoutMs)}`);
  }
  const targets = [options.addr, options.url, options.cluster].filter(
    (t) => t !== undefined && t !== "" && !(Array.isArray(t) && t.length === 0),
  );
  if (targets.length !== 1) {
    throw new Error("redis: exactly one of addr, url and cluster must be set");
  }
  const db = options.db ?? 0;
  if (!Number.isInteger(db) || db < 0) throw new Error(`redis: db must be an integer ≥ 0, got ${String(db)}`);
  const logger = options.logger.child({
    component: "store",
    engine: options.cluster?.length ? "redis-cluster" : "redis",
  });
  const backend = options.cluster?.length
    ? clusterBackend(options, options.cluster, timeoutMs, logger)
    : singleBackend(options, db, timeoutMs, logger);
  return new RedisStore(backend, timeoutMs);
}

// ---------------------------------------------------------------------------------------------
// Scripts (docs/spec/storage.md §4.1). Each touches exactly KEYS[1], so it runs unchanged on a single node,
// a cluster and KVRocks. Where the KV interface distinguishes "absent" (null) from an empty
// string, the script takes an explicit flag instead of reading "" as absent.

interface Script {
  readonly name: string;
  readonly source: string;
  /** SHA-1 of `source` (hex), computed once with Web Crypto. */
  sha(): Promise<string>;
}

function script(name: string, source: string): Script {
  let sha: Promise<string> | undefined;
  return {
    name,
    source,
    sha: () => {
      sha ??= crypto.subtle
        .digest("SHA-1", new TextEncoder().encode(source))
        .then((d) => Array.from(new Uint8Array(d), (b) => b.toString(16).padStart(2, "0")).join(""));
      return sha;
    },
  };
}

/** ARGV: field, expected, new, absent ("1" = the field must not exist; `expected` is then unused). */
const CAS_HSET = script(
  "CAS_HSET",
  `local cur = redis.call('HGET', KEYS[1], ARGV[1])
if ARGV[4] == '1' then
  if cur then return 0 end
elseif cur ~= ARGV[2] then
  return 0
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
return 1`,
);

/** ARGV: expected, new, ttl ms ("" = none: plain SET, which clears a TTL), absent flag. */
const CAS_SET = script(
  "CAS_SET",
  `local cur = redis.call('GET', KEYS[1])
if ARGV[4] == '1' then
  if cur then return 0 end
elseif cur ~= ARGV[1] then
  return 0
end
if ARGV[3] ~= '' then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
else
  redis.call('SET', KEYS[1], ARGV[2])
end
return 1`,
);

/** ARGV: expected. */
const CAS_DEL = script(
  "CAS_DEL",
  `if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0`,
);

const CONSUME = script(
  "CONSUME",
  `local v = redis.call('GET', KEYS[1])
if v then redis.call('DEL', KEYS[1]) end
return v`,
);

/**
 * ARGV: field, expected value. Replies {'ABSENT'}, {'MISMATCH'} (key kept) or {'CONSUMED', f1, v1, …}
 * (the HGETALL taken just before the DEL). HGET on a key of another type raises WRONGTYPE.
 */
const HCONSUME_IF = script(
  "HCONSUME_IF",
  `if redis.call('EXISTS', KEYS[1]) == 0 then return {'ABSENT'} end
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return {'MISMATCH'} end
local all = redis.call('HGETALL', KEYS[1])
redis.call('DEL', KEYS[1])
table.insert(all, 1, 'CONSUMED')
return all`,
);

/** ARGV: window ms. Replies {count, pttl}. */
const RL_INCR = script(
  "RL_INCR",
  `local n = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if n == 1 or ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = redis.call('PTTL', KEYS[1])
end
return {n, ttl}`,
);

/** ARGV: field, value, ttl ms. */
const IDX_ADD = script(
  "IDX_ADD",
  `redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
local ttl = tonumber(ARGV[3])
if ttl > redis.call('PTTL', KEYS[1]) then
  redis.call('PEXPIRE', KEYS[1], ttl)
  return 1
end
return 0`,
);

const SCRIPTS: readonly Script[] = [CAS_HSET, CAS_SET, CAS_DEL, CONSUME, HCONSUME_IF, RL_INCR, IDX_ADD];

/** The Lua sources, for tests that inspect the server's script cache. */
export const redisScripts: ReadonlyArray<{ name: string; source: string }> = SCRIPTS.map(
  ({ name, source }) => ({
    name,
    source,
  }),
);

// ---------------------------------------------------------------------------------------------
// Backends: the little that differs between one node and a cluster.

/** One server connection, for commands that address a node rather than a key (SCAN, PING). */
interface NodeConnection {
  send(args: string[]): Promise<unknown>;
}

interface Backend {
  readonly engine: StoreEngine;
  /** Sends a single-key command (routed by `key` on a cluster). Raw driver errors. */
  send(key: string, args: string[], readonly: boolean): Promise<unknown>;
  /** The node(s) holding the keyspace: the server, or every cluster master. */
  nodes(): Promise<NodeConnection[]>;
  /** Graceful close (waits for replies in flight). */
  close(): Promise<void>;
  /** Immediate teardown, when the graceful close does not finish in time. */
  destroy(): void;
  /** Feeds a command failure to the connection log (credential problems surface on commands). */
  report(err: unknown): void;
}

/** Never gives up; exponential from 50 ms, capped at MAX_RECONNECT_DELAY_MS including jitter. */
function reconnectDelay(retries: number): number {
  const base = Math.min(MAX_RECONNECT_DELAY_MS, 50 * 2 ** Math.min(retries, 5));
  return Math.max(10, Math.round(base * (0.8 + Math.random() * 0.2)));
}

function parseHostPort(value: string, what: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+))(?::(\d{1,5}))?$/.exec(value.trim());
  const host = m?.[1] ?? m?.[2];
  const port = m?.[3] === undefined ? 6379 : Number(m[3]);
  if (!host || port < 1 || port > 65_535) throw new Error(`redis: ${what} must be host:port, got "${value}"`);
  return { host, port };
}

/**
 * Logs connection trouble without flooding: state changes (lost / restored) always, individual
 * errors at most once per ERROR_LOG_INTERVAL_MS with a count of the suppressed ones. Only the error
 * name, code and message are logged: node-redis messages carry host:port, never credentials.
 */
function connectionReporter(logger: Logger) {
  let lastLogAt = Number.NEGATIVE_INFINITY;
  let suppressed = 0;
  let healthy = false;
  return {
    error(err: unknown, fields: Record<string, unknown> = {}): void {
      const wasHealthy = healthy;
      healthy = false;
      const now = Date.now();
      if (!wasHealthy && now - lastLogAt < ERROR_LOG_INTERVAL_MS) {
        suppressed++;
        return;
      }
      const line = { ...fields, error: describeError(err), ...(suppressed > 0 ? { suppressed } : {}) };
      if (isAuthFailure(err)) {
        logger.error("redis refused the credentials (check redisUsername/redisPassword)", line);
      } else {
        logger.warn(wasHealthy ? "redis connection lost" : "redis connection error", line);
      }
      lastLogAt = now;
      suppressed = 0;
    },
    ready(fields: Record<string, unknown> = {}): void {
      if (!healthy) logger.info("redis connection ready", fields);
      healthy = true;
    },
  };
}

function describeError(err: unknown): Record<string, unknown> {
  if (!(err instanceof Error)) return { message: String(err) };
  const code = (err as { code?: unknown }).code;
  return {
    name: err.constructor.name,
    message: err.message,
    ...(typeof code === "string" ? { code } : {}),
  };
}

function isAuthFailure(err: unknown): boolean {
  return err instanceof ErrorReply && /^(WRONGPASS|NOAUTH|NOPERM)\b/.test(err.message);
}

const baseClientOptions = {
  RESP: 2,
  // Commands fail at once while disconnected instead of waiting, unbounded, for a reconnect.
  disableOfflineQueue: true,
  commandsQueueMaxLength: MAX_QUEUED_COMMANDS,
  // Keep the handshake to AUTH/SELECT (KVRocks and older servers, docs/spec/storage.md §1).
  disableClientInfo: true,
  maintNotifications: "disabled",
  // 0 turns node-redis' own per-command timeout off (its default is 5 s): the store's deadline is
  // the one that counts (see the header).
  commandOptions: { timeout: 0 },
} as const;

function singleBackend(options: RedisStoreOptions, db: number, timeoutMs: number, logger: Logger): Backend {
  const reporter = connectionReporter(logger);
  const socketCommon = {
    connectTimeout: timeoutMs,
    reconnectStrategy: (retries: number) => reconnectDelay(retries),
  };
  const auth = {
    ...(options.username ? { username: options.username } : {}),
    ...(options.password ? { password: options.password } : {}),
  };
  let client: ReturnType<typeof createClient>;
  if (options.url) {
    if (!/^rediss?:\/\//i.test(options.url))
      throw new Error("redis: url must start with redis:// or rediss://");
    // node-redis reads host, port, TLS (rediss), credentials and /db from the URL; they take
    // precedence over the separate settings.
    try {
      client = createClient({
        ...baseClientOptions,
        ...auth,
        url: options.url,
        database: db,
        socket: socketCommon,
      });
    } catch (err) {
      // The message must not repeat the URL: it may hold a password.
      throw new Error("redis: url is not a valid redis:// or rediss:// URL", { cause: err });
    }
  } else {
    const { host, port } = parseHostPort(options.addr ?? "", "addr");
    client = createClient({
      ...baseClientOptions,
      ...auth,
      database: db,
      socket: options.tls
        ? { ...socketCommon, host, port, tls: true, servername: host }
        : { ...socketCommon, host, port },
    });
  }
  // An 'error' listener is mandatory: without one an EventEmitter error kills the process.
  client.on("error", (err: unknown) => reporter.error(err));
  client.on("ready", () => {
    reporter.ready();
    // Load the scripts on every (re)connection: after a server restart the script cache is empty.
    // Best effort: a missing script is still handled by the NOSCRIPT → EVAL fallback.
    for (const s of SCRIPTS) {
      client.sendCommand(["SCRIPT", "LOAD", s.source]).catch((err: unknown) => {
        // NOAUTH here is the one sign of a server that wants a password we do not send.
        if (isAuthFailure(err)) reporter.error(err);
        else logger.debug("redis SCRIPT LOAD failed", { script: s.name, error: describeError(err) });
      });
    }
  });
  // Resolves once connected; it keeps retrying meanwhile and rejects only when closed first.
  client
    .connect()
    .catch((err: unknown) => logger.debug("redis connect ended", { error: describeError(err) }));

  const node: NodeConnection = { send: (args) => client.sendCommand(args) };
  return {
    engine: "redis",
    send: (_key, args) => client.sendCommand(args),
    nodes: async () => [node],
    close: async () => {
      if (client.isOpen) await client.close();
    },
    destroy: () => client.destroy(),
    report: (err) => reporter.error(err),
  };
}

function clusterBackend(
  options: RedisStoreOptions,
  seeds: readonly string[],
  timeoutMs: number,
  logger: Logger,
): Backend {
  if (options.db) throw new Error("redis: db is not supported with a cluster");
  if (seeds.length === 0) throw new Error("redis: cluster needs at least one seed node");
  const rootNodes = seeds.map((s) => ({ socket: parseHostPort(s, "cluster seed") }));
  const reporter = connectionReporter(logger);
  const socketCommon = {
    connectTimeout: timeoutMs,
    reconnectStrategy: (retries: number) => reconnectDelay(retries),
  };
  const cluster = createCluster({
    rootNodes,
    // Settings for every node connection, including the ones to discovered nodes.
    defaults: {
      ...baseClientOptions,
      ...(options.username ? { username: options.username } : {}),
      ...(options.password ? { password: options.password } : {}),
      socket: options.tls ? { ...socketCommon, tls: true } : socketCommon,
    },
    commandOptions: { timeout: 0 },
    RESP: 2,
    useReplicas: false,
  });
  cluster.on("error", (err: unknown) => reporter.error(err));
  cluster.on("node-error", (err: unknown, node: unknown) => reporter.error(err, { node: nodeLabel(node) }));
  cluster.on("node-ready", (node: unknown) => reporter.ready({ node: nodeLabel(node) }));
  cluster.on("connect", () => reporter.ready());

  // cluster.connect() fails for good when no seed answers, so the retry loop is ours.
  let closed = false;
  let wake: (() => void) | undefined;
  let retryTimer: ReturnType<typeof setTimeout> | undefined;
  void (async () => {
    for (let attempt = 0; !closed; attempt++) {
      try {
        await cluster.connect();
        return;
      } catch (err) {
        if (closed) return;
        reporter.error(err);
        await new Promise<void>((resolve) => {
          wake = resolve;
          retryTimer = setTimeout(resolve, reconnectDelay(attempt));
        });
      }
    }
  })();
  const stopRetrying = () => {
    closed = true;
    clearTimeout(retryTimer);
    wake?.();
  };

  return {
    engine: "redis-cluster",
    send: (key, args, readonly) => cluster.sendCommand(key, readonly, args),
    nodes: async () => {
      // Before the first successful discovery (or after close) there is no master to ask: that is
      // unavailability, never an empty result.
      const masters = cluster.isOpen ? cluster.masters : [];
      if (masters.length === 0) throw new ClientOfflineError();
      return Promise.all(
        masters.map(async (m) => {
          const client = await cluster.nodeClient(m);
          return { send: (args: string[]) => client.sendCommand(args) };
        }),
      );
    },
    close: async () => {
      stopRetrying();
      if (cluster.isOpen) await cluster.close();
    },
    destroy: () => {
      stopRetrying();
      cluster.destroy();
    },
    report: (err) => reporter.error(err),
  };
}

function nodeLabel(node: unknown): string | undefined {
  if (node && typeof node === "object" && "host" in node && "port" in node) {
    return `${String(node.host)}:${String(node.port)}`;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Error translation and deadlines.

/** Our own per-command deadline (node-redis stops timing a command once it is written). */
class CommandDeadlineError extends Error {
  constructor(ms: number) {
    super(`redis command got no reply within ${ms} ms`);
    this.name = "CommandDeadlineError";
  }
}

/**
 * Error replies that describe a server state that passes (loading, failover, busy script, cluster
 * reconfiguring, memory/persistence trouble, credentials not yet accepted): unavailability.
 */
const TRANSIENT_REPLY =
  /^(LOADING|BUSY|CLUSTERDOWN|TRYAGAIN|MASTERDOWN|READONLY|NOREPLICAS|MISCONF|OOM|NOAUTH|WRONGPASS)\b/;

const UNAVAILABLE_CLASSES = [
  CommandDeadlineError,
  ClientOfflineError,
  ClientClosedError,
  ConnectionTimeoutError,
  SocketTimeoutError,
  SocketClosedUnexpectedlyError,
  DisconnectsClientError,
  RootNodesUnavailableError,
  ReconnectStrategyError,
  TimeoutError,
  AbortError,
  MaxCommandRedirectionsError,
];

/**
 * The rule: the server answered with an error → INTERNAL (a bug or corrupt data: WRONGTYPE, a
 * non-integer for INCR, a script error), except the transient states above; no answer at all
 * (connection refused/reset/closed, offline, timeout, queue full, no slot owner, ...) → every
 * other driver error → STORE_UNAVAILABLE.
 */
export function translateRedisError(err: unknown): TiktiError {
  if (isTiktiError(err)) return err;
  if (err instanceof ErrorReply) {
    return TRANSIENT_REPLY.test(err.message)
      ? storeUnavailable(err)
      : new TiktiError("INTERNAL", { cause: err });
  }
  if (UNAVAILABLE_CLASSES.some((c) => err instanceof c)) return storeUnavailable(err);
  if (err instanceof Error) return storeUnavailable(err);
  return new TiktiError("INTERNAL", { cause: err });
}

function isNoScript(err: unknown): boolean {
  return err instanceof ErrorReply && err.message.startsWith("NOSCRIPT");
}

function withDeadline<T>(start: () => Promise<T>, ms: number): Promise<T> {
  let pending: Promise<T>;
  try {
    pending = start();
  } catch (err) {
    return Promise.reject(err);
  }
  // The abandoned command may still settle later; its outcome no longer matters.
  pending.catch(() => {});
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new CommandDeadlineError(ms)), ms);
  });
  return Promise.race([pending, deadline]).finally(() => clearTimeout(timer));
}

interface Deadline {
  /** `performance.now()` after which the command is abandoned. */
  at: number;
  reject: (err: Error) => void;
  settled: boolean;
}

/**
 * The deadlines of one store's commands with one timer instead of one per command (issue 14: a
 * `setTimeout`, `clearTimeout`, `Promise.race` and `finally` per command were a few per cent of a
 * lookup). Every command has the same timeout, so deadlines expire in the order the commands were
 * sent: a FIFO whose head arms the only timer. A settled command is only marked; the timer skips it
 * when it fires, and is cleared when no command is outstanding, so an idle store holds no timer.
 */
export class DeadlineQueue {
  readonly #ms: number;
  #queue: Deadline[] = [];
  #head = 0;
  #outstanding = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(ms: number) {
    this.#ms = ms;
  }

  /** `start()`'s answer, or a `CommandDeadlineError` once the timeout has passed without one. */
  run<T>(start: () => Promise<T>): Promise<T> {
    let pending: Promise<T>;
    try {
      pending = start();
    } catch (err) {
      return Promise.reject(err);
    }
    return new Promise<T>((resolve, reject) => {
      const entry: Deadline = { at: performance.now() + this.#ms, reject, settled: false };
      const settle = () => {
        if (entry.settled) return false;
        entry.settled = true;
        if (--this.#outstanding === 0) this.#reset();
        return true;
      };
      // After the deadline the command may still settle; its outcome no longer matters.
      pending.then(
        (value) => {
          if (settle()) resolve(value);
        },
        (err: unknown) => {
          if (settle()) reject(err);
        },
      );
      this.#queue.push(entry);
      this.#outstanding++;
      if (this.#timer === undefined) this.#arm(entry.at);
    });
  }

  #arm(at: number): void {
    this.#timer = setTimeout(() => this.#expire(), Math.max(0, at - performance.now()));
  }

  /** Rejects every unsettled command whose deadline has passed, then re-arms for the next one. */
  #expire(): void {
    this.#timer = undefined;
    const now = performance.now();
    const queue = this.#queue;
    while (this.#head < queue.length) {
      const entry = queue[this.#head] as Deadline;
      if (!entry.settled) {
        if (entry.at > now) break;
        entry.settled = true;
        this.#outstanding--;
        entry.reject(new CommandDeadlineError(this.#ms));
      }
      this.#head++;
    }
    // Drop the passed prefix now and then, not per command.
    if (this.#head > 1024 && this.#head * 2 > queue.length) {
      this.#queue = queue.slice(this.#head);
      this.#head = 0;
    }
    const next = this.#queue[this.#head];
    if (next) this.#arm(next.at);
    else this.#reset();
  }

  /** Nothing outstanding: forget every entry and stop the timer. */
  #reset(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#queue = [];
    this.#head = 0;
  }
}

// ---------------------------------------------------------------------------------------------
// Reply decoding (RESP2: bulk string → string, integer → number, nil → null, array → array).

function replyError(what: string, reply: unknown): TiktiError {
  return new TiktiError("INTERNAL", {
    cause: new Error(`unexpected redis reply to ${what}: ${typeof reply}`),
  });
}

function asInteger(what: string, reply: unknown): number {
  if (typeof reply === "number" && Number.isInteger(reply)) return reply;
  throw replyError(what, reply);
}

function asNullableString(what: string, reply: unknown): string | null {
  if (reply === null || typeof reply === "string") return reply;
  throw replyError(what, reply);
}

function asStringArray(what: string, reply: unknown): string[] {
  if (Array.isArray(reply) && reply.every((r) => typeof r === "string")) return reply as string[];
  throw replyError(what, reply);
}

/** The `[field, value]` pairs of a flat HGETALL/HSCAN item list; an odd count is not a reply. */
export function asPairs(what: string, flat: string[]): Array<[field: string, value: string]> {
  const pairs: Array<[string, string]> = [];
  for (let i = 0; i < flat.length; i += 2) {
    const field = flat[i];
    const value = flat[i + 1];
    if (field === undefined || value === undefined) throw replyError(what, flat);
    pairs.push([field, value]);
  }
  return pairs;
}

/** `[cursor, items]` of SCAN/HSCAN. */
function asScanPage(what: string, reply: unknown): { cursor: string; items: string[] } {
  if (Array.isArray(reply) && reply.length === 2 && typeof reply[0] === "string") {
    return { cursor: reply[0], items: asStringArray(what, reply[1]) };
  }
  throw replyError(what, reply);
}

/** Escapes the glob characters of SCAN MATCH so that the prefix is literal. */
export function escapeGlob(prefix: string): string {
  return prefix.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}

// ---------------------------------------------------------------------------------------------

class RedisStore implements KV {
  readonly engine: StoreEngine;
  readonly #backend: Backend;
  readonly #timeoutMs: number;
  readonly #deadlines: DeadlineQueue;
  #closing: Promise<void> | undefined;

  constructor(backend: Backend, timeoutMs: number) {
    this.engine = backend.engine;
    this.#backend = backend;
    this.#timeoutMs = timeoutMs;
    this.#deadlines = new DeadlineQueue(timeoutMs);
  }

  /** Runs one KV operation; every error leaving it is a TiktiError. */
  async #run<T>(op: () => Promise<T>): Promise<T> {
    if (this.#closing) throw storeUnavailable(new ClientClosedError());
    try {
      return await op();
    } catch (err) {
      if (isAuthFailure(err)) this.#backend.report(err);
      throw translateRedisError(err);
    }
  }

  /** One command with its deadline; raw driver errors (translated by #run). */
  #send(key: string, args: string[], readonly = false): Promise<unknown> {
    return this.#deadlines.run(() => this.#backend.send(key, args, readonly));
  }

  #nodeSend(node: NodeConnection, args: string[]): Promise<unknown> {
    return this.#deadlines.run(() => node.send(args));
  }

  /** EVALSHA, and EVAL when the server does not know the script (restart, SCRIPT FLUSH). */
  async #eval(s: Script, key: string, args: string[]): Promise<unknown> {
    const sha = await s.sha();
    try {
      return await this.#send(key, ["EVALSHA", sha, "1", key, ...args]);
    } catch (err) {
      if (!isNoScript(err)) throw err;
    }
    return this.#send(key, ["EVAL", s.source, "1", key, ...args]);
  }

  get(key: string): Promise<string | null> {
    return this.#run(async () => asNullableString("GET", await this.#send(key, ["GET", key], true)));
  }

  set(key: string, value: string, options: SetOptions = {}): Promise<boolean> {
    const args = ["SET", key, value];
    if (options.ttlMs !== undefined) args.push("PX", String(options.ttlMs));
    if (options.nx) args.push("NX");
    return this.#run(async () => {
      const reply = await this.#send(key, args);
      if (reply === "OK") return true;
      if (reply === null) return false;
      throw replyError("SET", reply);
    });
  }

  del(key: string): Promise<boolean> {
    return this.#run(async () => asInteger("DEL", await this.#send(key, ["DEL", key])) > 0);
  }

  exists(key: string): Promise<boolean> {
    return this.#run(async () => asInteger("EXISTS", await this.#send(key, ["EXISTS", key], true)) > 0);
  }

  expire(key: string, seconds: number): Promise<boolean> {
    return this.#run(
      async () => asInteger("EXPIRE", await this.#send(key, ["EXPIRE", key, String(seconds)])) === 1,
    );
  }

  pttl(key: string): Promise<number> {
    return this.#run(async () => asInteger("PTTL", await this.#send(key, ["PTTL", key], true)));
  }

  incr(key: string): Promise<number> {
    return this.#run(async () => asInteger("INCR", await this.#send(key, ["INCR", key])));
  }

  hget(key: string, field: string): Promise<string | null> {
    return this.#run(async () => asNullableString("HGET", await this.#send(key, ["HGET", key, field], true)));
  }

  hset(key: string, field: string, value: string): Promise<boolean> {
    return this.#run(async () => asInteger("HSET", await this.#send(key, ["HSET", key, field, value])) === 1);
  }

  hsetnx(key: string, field: string, value: string): Promise<boolean> {
    return this.#run(
      async () => asInteger("HSETNX", await this.#send(key, ["HSETNX", key, field, value])) === 1,
    );
  }

  hdel(key: string, field: string): Promise<boolean> {
    return this.#run(async () => asInteger("HDEL", await this.#send(key, ["HDEL", key, field])) > 0);
  }

  hgetall(key: string): Promise<Map<string, string>> {
    return this.#run(async () => {
      const flat = asStringArray("HGETALL", await this.#send(key, ["HGETALL", key], true));
      return new Map(asPairs("HGETALL", flat));
    });
  }

  hlen(key: string): Promise<number> {
    return this.#run(async () => asInteger("HLEN", await this.#send(key, ["HLEN", key], true)));
  }

  async *hscan(key: string, batchSize = DEFAULT_BATCH): AsyncIterable<Array<[field: string, value: string]>> {
    let cursor = "0";
    do {
      const page = await this.#run(async () =>
        asScanPage("HSCAN", await this.#send(key, ["HSCAN", key, cursor, "COUNT", String(batchSize)], true)),
      );
      cursor = page.cursor;
      const batch = asPairs("HSCAN", page.items);
      if (batch.length > 0) yield batch;
    } while (cursor !== "0");
  }

  sadd(key: string, member: string): Promise<boolean> {
    return this.#run(async () => asInteger("SADD", await this.#send(key, ["SADD", key, member])) === 1);
  }

  srem(key: string, member: string): Promise<boolean> {
    return this.#run(async () => asInteger("SREM", await this.#send(key, ["SREM", key, member])) === 1);
  }

  smembers(key: string): Promise<string[]> {
    return this.#run(async () => asStringArray("SMEMBERS", await this.#send(key, ["SMEMBERS", key], true)));
  }

  /** SCAN MATCH <escaped prefix>* on the server, or on every master of a cluster in turn. */
  async *scan(prefix: string, batchSize = DEFAULT_BATCH): AsyncIterable<string[]> {
    const match = `${escapeGlob(prefix)}*`;
    const nodes = await this.#run(() => withDeadline(() => this.#backend.nodes(), this.#timeoutMs));
    for (const node of nodes) {
      let cursor = "0";
      do {
        const page = await this.#run(async () =>
          asScanPage(
            "SCAN",
            await this.#nodeSend(node, ["SCAN", cursor, "MATCH", match, "COUNT", String(batchSize)]),
          ),
        );
        cursor = page.cursor;
        if (page.items.length > 0) yield page.items;
      } while (cursor !== "0");
    }
  }

  casHset(key: string, field: string, expected: string | null, next: string): Promise<boolean> {
    const args = [field, expected ?? "", next, expected === null ? "1" : "0"];
    return this.#run(async () => asInteger("CAS_HSET", await this.#eval(CAS_HSET, key, args)) === 1);
  }

  casSet(key: string, expected: string | null, next: string, ttlMs?: number): Promise<boolean> {
    const args = [
      expected ?? "",
      next,
      ttlMs === undefined ? "" : String(ttlMs),
      expected === null ? "1" : "0",
    ];
    return this.#run(async () => asInteger("CAS_SET", await this.#eval(CAS_SET, key, args)) === 1);
  }

  casDel(key: string, expected: string): Promise<boolean> {
    return this.#run(async () => asInteger("CAS_DEL", await this.#eval(CAS_DEL, key, [expected])) === 1);
  }

  consume(key: string): Promise<string | null> {
    return this.#run(async () => asNullableString("CONSUME", await this.#eval(CONSUME, key, [])));
  }

  hconsumeIf(key: string, field: string, expected: string): Promise<HashConsumeResult> {
    return this.#run(async () => {
      const reply = asStringArray("HCONSUME_IF", await this.#eval(HCONSUME_IF, key, [field, expected]));
      const [status, ...flat] = reply;
      if (status === "ABSENT" && flat.length === 0) return { status };
      if (status === "MISMATCH" && flat.length === 0) return { status };
      if (status === "CONSUMED") return { status, fields: new Map(asPairs("HCONSUME_IF", flat)) };
      throw replyError("HCONSUME_IF", reply);
    });
  }

  rlIncr(key: string, windowMs: number): Promise<RateLimitHit> {
    return this.#run(async () => {
      const reply = await this.#eval(RL_INCR, key, [String(windowMs)]);
      if (Array.isArray(reply) && reply.length === 2) {
        return { count: asInteger("RL_INCR", reply[0]), pttlMs: asInteger("RL_INCR", reply[1]) };
      }
      throw replyError("RL_INCR", reply);
    });
  }

  idxAdd(key: string, field: string, value: string, ttlMs: number): Promise<void> {
    return this.#run(async () => {
      asInteger("IDX_ADD", await this.#eval(IDX_ADD, key, [field, value, String(ttlMs)]));
    });
  }

  /** PING the server, or every cluster master (all must answer). */
  ping(): Promise<void> {
    return this.#run(async () => {
      const nodes = await withDeadline(() => this.#backend.nodes(), this.#timeoutMs);
      await Promise.all(
        nodes.map(async (node) => {
          const reply = await this.#nodeSend(node, ["PING"]);
          if (reply !== "PONG") throw replyError("PING", reply);
        }),
      );
    });
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      try {
        await withDeadline(() => this.#backend.close(), this.#timeoutMs);
      } catch {
        // Replies that do not come in time (or a close that fails) must not keep the process up.
        this.#backend.destroy();
      }
    })();
    return this.#closing;
  }
}
