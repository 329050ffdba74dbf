/**
 * Embedded-store specifics (docs/spec/storage.md §7) beyond the shared conformance suite: persistence,
 * the single-process lock, crash durability on Node and Bun, file modes, the expiry sweep, and the
 * bun:sqlite and Deno paths (vitest itself runs on Node).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { afterAll, describe, expect, it } from "vitest";
// @ts-expect-error plain ESM helper without types
import { runtimeBinary } from "../../scripts/rt.mjs";
import { isTiktiError } from "../../src/errors.ts";
import { silentLogger } from "../../src/logger.ts";
import { EMBEDDED_DB_FILE, openEmbeddedStore, StoreLockedError } from "../../src/runtime/embedded-open.ts";
import { openSqlite } from "../../src/runtime/sqlite-node.ts";
import { createEmbeddedStore, prefixUpperBound } from "../../src/store/embedded.ts";
import { SQLITE, type SqliteDb, SqliteError } from "../../src/store/sqlite.ts";

const repoRoot = resolve(import.meta.dirname, "../..");
const childScript = join(repoRoot, "test/support/embedded-child.ts");
const dirs: string[] = [];
const children: ChildProcess[] = [];

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "tikti-emb-"));
  dirs.push(d);
  return d;
}

afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

type Runtime = "node" | "bun" | "deno";

/** Spawns the child script on `runtime` with `driver`; lines of its stdout arrive via `onLine`. */
function spawnChild(runtime: Runtime, driver: "node" | "bun", mode: string, dataDir: string) {
  const bin = runtimeBinary(runtime) as string;
  const args =
    runtime === "deno"
      ? ["run", "--allow-all", "--quiet", childScript, driver, mode, dataDir]
      : [childScript, driver, mode, dataDir];
  const child = spawn(bin, args, { cwd: repoRoot, stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  let stderr = "";
  child.stderr?.on("data", (d) => {
    stderr += String(d);
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) =>
    child.on("exit", (code, signal) => res({ code, signal })),
  );
  const lines = createInterface({ input: child.stdout! });
  return { child, lines, exited, stderr: () => stderr };
}

/** Resolves with the first stdout line accepted by `match`; rejects if the child exits first. */
function waitForLine(c: ReturnType<typeof spawnChild>, match: (line: string) => boolean): Promise<string> {
  return new Promise((res, rej) => {
    c.lines.on("line", (line) => {
      if (match(line)) res(line);
    });
    void c.exited.then(({ code, signal }) =>
      rej(new Error(`child exited (${code ?? signal}) before the expected line; stderr:\n${c.stderr()}`)),
    );
  });
}

const open = (dataDir: string, extra: { sweepIntervalMs?: number } = {}) =>
  openEmbeddedStore({ dataDir, logger: silentLogger, openSqlite, ...extra });

describe("embedded store: files and lock", () => {
  it("creates dataDir 0700 and the database and WAL files 0600, tightening a loose dir", async () => {
    const parent = tempDir();
    const dataDir = join(parent, "nested", "data");
    const kv = await open(dataDir);
    await kv.set("k", "v");
    expect(statSync(dataDir).mode & 0o777).toBe(0o700);
    expect(statSync(join(dataDir, EMBEDDED_DB_FILE)).mode & 0o777).toBe(0o600);
    expect(statSync(join(dataDir, `${EMBEDDED_DB_FILE}-wal`)).mode & 0o777).toBe(0o600);
    await kv.close();

    chmodSync(dataDir, 0o755);
    chmodSync(join(dataDir, EMBEDDED_DB_FILE), 0o644);
    const again = await open(dataDir);
    expect(statSync(dataDir).mode & 0o777).toBe(0o700);
    expect(statSync(join(dataDir, EMBEDDED_DB_FILE)).mode & 0o777).toBe(0o600);
    expect(await again.get("k")).toBe("v");
    await again.close();
  });

  it("persists every type and TTL across close and reopen", async () => {
    const dataDir = tempDir();
    const kv = await open(dataDir);
    await kv.set("s", "ünï 😀");
    await kv.set("t", "x", { ttlMs: 600_000 });
    await kv.hset("h", "__proto__", "1");
    await kv.sadd("set", "m");
    await kv.incr("n");
    await kv.close();
    await kv.close();
    const re = await open(dataDir);
    expect(await re.get("s")).toBe("ünï 😀");
    expect(await re.pttl("t")).toBeGreaterThan(500_000);
    expect(await re.hgetall("h")).toEqual(new Map([["__proto__", "1"]]));
    expect(await re.smembers("set")).toEqual(["m"]);
    expect(await re.incr("n")).toBe(2);
    await re.close();
  });

  it("refuses a second open of the same dataDir, naming the lock file; reopens after close", async () => {
    const dataDir = tempDir();
    const kv = await open(dataDir);
    const lockFile = join(dataDir, EMBEDDED_DB_FILE);
    const second = open(dataDir);
    await expect(second).rejects.toBeInstanceOf(StoreLockedError);
    await expect(second).rejects.toThrow(lockFile);
    await expect(second).rejects.toThrow(/another process/);
    // The failed attempt must not have disturbed the holder.
    await kv.set("still", "works");
    expect(await kv.get("still")).toBe("works");
    await kv.close();
    const re = await open(dataDir);
    expect(await re.get("still")).toBe("works");
    await re.close();
  });

  it("refuses while another process holds the store, and opens once it is killed", async () => {
    const dataDir = tempDir();
    const holder = spawnChild("node", "node", "hold", dataDir);
    await waitForLine(holder, (l) => l === "ready");
    const err = await open(dataDir).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(StoreLockedError);
    expect((err as Error).message).toContain(join(dataDir, EMBEDDED_DB_FILE));
    holder.child.kill("SIGKILL");
    expect((await holder.exited).signal).toBe("SIGKILL");
    const kv = await open(dataDir);
    await kv.set("mine", "now");
    await kv.close();
  });

  it("refuses a file that is not a Tikti store and one from a newer schema", async () => {
    const foreign = tempDir();
    writeFileSync(
      join(foreign, EMBEDDED_DB_FILE),
      "this is not sqlite at all, just text padding ".repeat(20),
    );
    await expect(open(foreign)).rejects.toThrow(/cannot open .*tikti\.db/);

    const other = tempDir();
    const db = openSqlite(join(other, EMBEDDED_DB_FILE));
    db.exec("PRAGMA application_id = 42; CREATE TABLE t(x)");
    db.close();
    await expect(open(other)).rejects.toThrow(/not a Tikti store/);

    const newer = tempDir();
    const db2 = openSqlite(join(newer, EMBEDDED_DB_FILE));
    db2.exec("PRAGMA user_version = 99");
    db2.close();
    await expect(open(newer)).rejects.toThrow(/schema version 99/);
  });
});

describe("embedded store: crash durability", () => {
  const cases: Array<[Runtime, "node" | "bun", "writes" | "bursts"]> = [
    ["node", "node", "writes"],
    ["bun", "bun", "writes"],
    // Concurrent writes share one COMMIT (docs/adr/0095-embedded-group-commit.md): still none is acknowledged
    // before it is durable.
    ["node", "node", "bursts"],
    ["bun", "bun", "bursts"],
  ];
  it.each(cases)(
    "every acknowledged write survives SIGKILL (%s, %s driver, %s)",
    async (runtime, driver, mode) => {
      const dataDir = tempDir();
      const child = spawnChild(runtime, driver, mode, dataDir);
      // Kill right after reading an ack, somewhere in the middle of a busy write loop.
      const target = 150 + Math.floor(Math.random() * 200);
      const line = await waitForLine(child, (l) => Number(l.split(" ")[1]) >= target);
      child.child.kill("SIGKILL");
      const last = Number(line.split(" ")[1]);
      expect((await child.exited).signal).toBe("SIGKILL");

      // The lock died with the process; recovery needs no manual step.
      const kv = await open(dataDir);
      try {
        let incrs = 0;
        const hash = await kv.hgetall("hash");
        for (let n = 0; n <= last; n++) {
          switch (n % 4) {
            case 0:
              expect(await kv.get(`s:${n}`), `write ${n}`).toBe(`v${n}`);
              break;
            case 1:
              expect(hash.get(`f${n}`), `write ${n}`).toBe(`v${n}`);
              break;
            case 2:
              expect(await kv.get(`c:${n}`), `write ${n}`).toBe(`v${n}`);
              expect(await kv.pttl(`c:${n}`)).toBeGreaterThan(0);
              break;
            default:
              incrs++;
          }
        }
        expect(Number(await kv.get("counter"))).toBeGreaterThanOrEqual(incrs);
      } finally {
        await kv.close();
      }
    },
  );
});

describe("embedded store: expiry sweep", () => {
  it("physically removes expired keys of every type on its timer", async () => {
    const dataDir = tempDir();
    let raw: SqliteDb | undefined;
    const kv = await openEmbeddedStore({
      dataDir,
      logger: silentLogger,
      openSqlite: (p) => {
        raw = openSqlite(p);
        return raw;
      },
      sweepIntervalMs: 25,
    });
    const rows = () => raw!.prepare("SELECT count(*) AS n FROM kv_keys").get<{ n: number }>()!.n;
    const items = () => raw!.prepare("SELECT count(*) AS n FROM kv_items").get<{ n: number }>()!.n;
    await kv.set("keep", "1");
    await kv.set("s", "1", { ttlMs: 40 });
    await kv.idxAdd("h", "f", "v", 40);
    await kv.sadd("set", "m");
    await kv.expire("set", 1);
    expect(rows()).toBe(4);
    expect(items()).toBe(2);
    const deadline = Date.now() + 4000;
    while (rows() > 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(rows()).toBe(1);
    expect(items()).toBe(0);
    expect(await kv.get("keep")).toBe("1");
    await kv.close();
  });

  it("sweeps in batches with an injected clock", async () => {
    let t = 1_000_000;
    const db = openSqlite(join(tempDir(), EMBEDDED_DB_FILE));
    const kv = createEmbeddedStore(db, { logger: silentLogger, now: () => t });
    for (let i = 0; i < 1200; i++) await kv.set(`k${i}`, "v", { ttlMs: 1000 + i });
    await kv.hset("h", "f", "v");
    expect(kv.sweepExpired()).toBe(0);
    t += 1600;
    // Expiry is inclusive: a key whose deadline is now is gone (k600 expires at exactly t).
    expect(await kv.exists("k600")).toBe(false);
    expect(await kv.exists("k601")).toBe(true);
    expect(kv.sweepExpired()).toBe(601);
    expect(await kv.exists("k601")).toBe(true);
    t += 10_000;
    expect(kv.sweepExpired()).toBe(599);
    expect(await kv.hlen("h")).toBe(1);
    await kv.close();
  });
});

describe("embedded store: sweep timer", () => {
  it.each<[Runtime, "node" | "bun"]>([
    ["node", "node"],
    ["bun", "bun"],
    ["deno", "node"],
  ])("does not keep the process alive on %s", async (runtime, driver) => {
    const child = spawnChild(runtime, driver, "forget", tempDir());
    await waitForLine(child, (l) => l === "done");
    // An exit (rather than the test timing out) is the event that proves the timer is unref'd.
    const killer = setTimeout(() => child.child.kill("SIGKILL"), 10_000);
    const { code, signal } = await child.exited;
    clearTimeout(killer);
    expect({ code, signal }).toEqual({ code: 0, signal: null });
  });
});

/**
 * A driver connection whose COMMITs are counted (`log` gets "commit" when one ran) and whose
 * statements can be made to fail: `failNext.set(sql, error)` throws `error` at that statement's next run.
 */
function instrumented(path: string) {
  const raw = openSqlite(path);
  const log: string[] = [];
  const failNext = new Map<string, Error>();
  const db: SqliteDb = {
    path: raw.path,
    exec: (sql) => raw.exec(sql),
    close: () => raw.close(),
    prepare(sql) {
      const stmt = raw.prepare(sql);
      const fail = () => {
        const e = failNext.get(sql);
        if (e) {
          failNext.delete(sql);
          throw e;
        }
      };
      return {
        run: (...params) => {
          fail();
          const r = stmt.run(...params);
          if (sql === "COMMIT") log.push("commit");
          return r;
        },
        get: (...params) => stmt.get(...params),
        all: (...params) => stmt.all(...params),
      };
    },
  };
  return { db, log, failNext };
}

// docs/adr/0095-embedded-group-commit.md: concurrent writes share one fsynced COMMIT, and none is
// acknowledged before it ran (docs/spec/storage.md §7.3).
describe("embedded store: group commit", () => {
  it("acknowledges concurrent writes with one COMMIT, each only after that COMMIT ran", async () => {
    const path = join(tempDir(), EMBEDDED_DB_FILE);
    const { db, log } = instrumented(path);
    const kv = createEmbeddedStore(db, { logger: silentLogger });
    const acked = (p: Promise<unknown>) =>
      p.then((v) => {
        log.push("ack");
        return v;
      });
    const results = await Promise.all([
      acked(kv.set("s", "v")),
      acked(kv.rlIncr("rl:a", 60_000)),
      acked(kv.rlIncr("rl:b", 60_000)),
      acked(kv.rlIncr("rl:a", 60_000)),
      acked(kv.hset("h", "f", "v")),
      acked(kv.casSet("c", null, "x", 60_000)),
      acked(kv.set("s", "w", { nx: true })),
      acked(kv.consume("s")),
    ]);
    expect(log).toEqual(["commit", ...Array(8).fill("ack")]);
    // Each write saw the ones issued before it (they ran in order, synchronously).
    expect(
      results.map((r) => (typeof r === "object" && r !== null ? (r as { count: number }).count : r)),
    ).toEqual([true, 1, 1, 2, true, true, false, "v"]);
    // A write issued after the batch committed opens the next one.
    await kv.incr("n");
    expect(log.filter((l) => l === "commit")).toHaveLength(2);
    await kv.close();
    const reopened = await open(dirname(path));
    try {
      expect(await reopened.get("s")).toBeNull();
      expect(await reopened.get("rl:a")).toBe("2");
      expect(await reopened.hget("h", "f")).toBe("v");
      expect(await reopened.get("c")).toBe("x");
      expect(await reopened.get("n")).toBe("1");
    } finally {
      await reopened.close();
    }
  });

  it("undoes a failing write alone; the other writes of its batch commit", async () => {
    const path = join(tempDir(), EMBEDDED_DB_FILE);
    const { db, failNext } = instrumented(path);
    const kv = createEmbeddedStore(db, { logger: silentLogger });
    await kv.set("str", "x");
    // HSET of a new key writes the key row, then the item: the item insert fails after the key row exists.
    failNext.set(
      "INSERT INTO kv_items (key, item, value) VALUES (?, ?, ?) ON CONFLICT (key, item) DO NOTHING",
      new SqliteError("sqlite: disk I/O error", SQLITE.IOERR, false),
    );
    const [before, broken, wrongType, after] = await Promise.allSettled([
      kv.set("a", "1"),
      kv.hset("h", "f", "v"),
      kv.hset("str", "f", "v"),
      kv.incr("n"),
    ]);
    expect(before.status).toBe("fulfilled");
    expect(broken.status === "rejected" && (broken.reason as { code: string }).code).toBe(
      "STORE_UNAVAILABLE",
    );
    expect(wrongType.status === "rejected" && (wrongType.reason as { code: string }).code).toBe("INTERNAL");
    expect(after.status).toBe("fulfilled");
    await kv.close();
    const reopened = await open(dirname(path));
    try {
      expect(await reopened.exists("h")).toBe(false);
      expect(await reopened.get("a")).toBe("1");
      expect(await reopened.get("n")).toBe("1");
      expect(await reopened.get("str")).toBe("x");
    } finally {
      await reopened.close();
    }
  });

  it("rejects every write of a batch whose COMMIT fails, and rolls them all back", async () => {
    const { db, failNext, log } = instrumented(join(tempDir(), EMBEDDED_DB_FILE));
    const kv = createEmbeddedStore(db, { logger: silentLogger });
    await kv.set("k", "old");
    failNext.set("COMMIT", new SqliteError("sqlite: database or disk is full", SQLITE.FULL, false));
    const outcomes = await Promise.allSettled([
      kv.set("k", "new"),
      kv.rlIncr("rl:x", 60_000),
      kv.sadd("s", "m"),
    ]);
    expect(outcomes.map((o) => o.status === "rejected" && (o.reason as { code: string }).code)).toEqual([
      "STORE_UNAVAILABLE",
      "STORE_UNAVAILABLE",
      "STORE_UNAVAILABLE",
    ]);
    expect(await kv.get("k")).toBe("old");
    expect(await kv.exists("rl:x")).toBe(false);
    expect(await kv.smembers("s")).toEqual([]);
    // The store goes on: the next write opens and commits a new transaction.
    expect(await kv.rlIncr("rl:x", 60_000)).toMatchObject({ count: 1 });
    expect(log.filter((l) => l === "commit")).toHaveLength(2);
    await kv.close();
  });

  it("commits the open batch before closing and before a sweep", async () => {
    const path = join(tempDir(), EMBEDDED_DB_FILE);
    const { db, log } = instrumented(path);
    const kv = createEmbeddedStore(db, { logger: silentLogger });
    const write = kv.set("a", "1");
    expect(kv.sweepExpired()).toBe(0);
    expect(log).toEqual(["commit"]);
    await write;
    const last = kv.set("b", "2");
    await kv.close();
    await last;
    const reopened = await open(dirname(path));
    try {
      expect([await reopened.get("a"), await reopened.get("b")]).toEqual(["1", "2"]);
    } finally {
      await reopened.close();
    }
  });
});

describe("embedded store: read answers", () => {
  it("reads run at once (they see the state when called) and answer together in the check phase", async () => {
    const kv = createEmbeddedStore(openSqlite(join(tempDir(), EMBEDDED_DB_FILE)), {
      logger: silentLogger,
      batchReadAnswers: true,
    });
    try {
      await kv.hset("h", "f", "old");
      const order: string[] = [];
      // Scheduled before the reads: a read answered in a microtask would come first.
      setImmediate(() => order.push("turn"));
      const first = kv.hget("h", "f").then((v) => {
        order.push(`first ${v}`);
        return v;
      });
      const write = kv.hset("h", "f", "new");
      const second = kv.hget("h", "f").then((v) => {
        order.push(`second ${v}`);
        return v;
      });
      const missing = kv.get("h").catch((e: unknown) => {
        order.push(`error ${isTiktiError(e) ? e.code : "?"}`);
      });
      await Promise.all([first, write, second, missing]);
      expect(order).toEqual(["turn", "first old", "second new", "error INTERNAL"]);
    } finally {
      await kv.close();
    }
  });
});

describe("embedded store: errors", () => {
  it("translates a closed driver connection to STORE_UNAVAILABLE and misuse to INTERNAL", async () => {
    const db = openSqlite(join(tempDir(), EMBEDDED_DB_FILE));
    const kv = createEmbeddedStore(db, { logger: silentLogger });
    for (const bad of [
      () => kv.set("k", "v", { ttlMs: 0 }),
      () => kv.set("k", "v", { ttlMs: 1.5 }),
      () => kv.rlIncr("k", -1),
    ]) {
      const e = await bad().catch((x: unknown) => x);
      expect(isTiktiError(e) && e.code).toBe("INTERNAL");
    }
    await kv.set("max", "9223372036854775807");
    const overflow = await kv.incr("max").catch((x: unknown) => x);
    expect(isTiktiError(overflow) && overflow.code).toBe("INTERNAL");
    db.close();
    const e = await kv.get("k").catch((x: unknown) => x);
    expect(isTiktiError(e) && e.code).toBe("STORE_UNAVAILABLE");
    expect((e as Error).cause).toBeInstanceOf(Error);
    await kv.close();
    const after = await kv.ping().catch((x: unknown) => x);
    expect(isTiktiError(after) && after.code).toBe("STORE_UNAVAILABLE");
  });

  it("computes exact prefix bounds in code point order", () => {
    expect(prefixUpperBound("")).toBeUndefined();
    expect(prefixUpperBound("ab")).toBe("ac");
    expect(prefixUpperBound("a\u{10ffff}")).toBe("b");
    expect(prefixUpperBound("\u{10ffff}")).toBeUndefined();
    expect(prefixUpperBound("a\ud7ff")).toBe("a\ue000");
    expect(prefixUpperBound("a😀")).toBe("a😁");
  });
});

describe("embedded store on other runtimes", () => {
  const expected = {
    engine: "embedded",
    missing: null,
    set: true,
    nx: false,
    get: "1",
    empty: "",
    hsetNew: true,
    hsetOld: false,
    hsetnx: true,
    hgetall: [
      ["__proto__", "y"],
      ["b", "z"],
    ],
    hlen: 2,
    sadd: true,
    smembers: ["😀"],
    scan: ["p:a*b?[c]:1", "p:a*b?[c]:2"],
    hscan: ["__proto__", "b"],
    incr: [1, 2],
    casHset: [false, true],
    casSet: [true, false],
    casDel: [false, true],
    consume: ["payload", null],
    oob: [
      { status: "MISMATCH" },
      { status: "CONSUMED", fields: { email: "a@x.com", reqType: "EMAIL_SIGNIN", expiresAt: "2000000000" } },
    ],
    rl: [1, true],
    idxTtl: true,
    pttl: [-1, -2],
    wrongType: "INTERNAL",
    afterClose: "STORE_UNAVAILABLE",
  };
  const cases: Array<[Runtime, "node" | "bun"]> = [
    ["bun", "bun"],
    ["deno", "node"],
  ];
  it.each(cases)("smoke on %s with the %s:sqlite driver", async (runtime, driver) => {
    const dataDir = join(tempDir(), "data");
    const child = spawnChild(runtime, driver, "smoke", dataDir);
    const line = await waitForLine(child, (l) => l.startsWith("{"));
    expect(JSON.parse(line)).toEqual(expected);
    expect((await child.exited).code).toBe(0);
    expect(statSync(dataDir).mode & 0o777).toBe(0o700);
    expect(statSync(join(dataDir, EMBEDDED_DB_FILE)).mode & 0o777).toBe(0o600);
    // The file written by the other runtime's SQLite opens here.
    const kv = await open(dataDir);
    expect(await kv.get("a")).toBe("1");
    await kv.close();
  });
});
