/**
 * The pieces of tikti-migrate on their own: UUIDv5 (RFC 9562 vector, and the legacy ids checked
 * against Python's `uuid.uuid5`), strict flag parsing and store selection (exit-3 cases of
 * docs/spec/cli.md §9.5), URL redaction, and the migration lock of docs/spec/cli.md §8 on both engines.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { acquireLock, LOCK_TTL_MS, LockHeldError } from "../../migrate/lock.ts";
import {
  type MigrateOptions,
  parseArgv,
  redactUrl,
  resolveOptions,
  UsageError,
} from "../../migrate/options.ts";
import { legacyUserId, uuidV5 } from "../../migrate/uuid.ts";
import { storeEngines } from "../store/support.ts";
import { waitFor } from "../support/redis-server.ts";
import { ERIN_ID } from "./go-fixtures.ts";

describe("UUIDv5", () => {
  it("matches RFC 9562's test vector and Python's uuid.uuid5 for legacy ids", async () => {
    expect(await uuidV5("6ba7b810-9dad-11d1-80b4-00c04fd430c8", "www.example.com")).toBe(
      "2ed6657d-e927-568b-95e1-2665a8aea6a2",
    );
    expect(await legacyUserId("erin@legacy.example")).toBe(ERIN_ID);
    // python3 -c "import uuid; print(uuid.uuid5(uuid.NAMESPACE_URL, 'tikti:legacy-user:zoë@example.org'))"
    expect(await legacyUserId("zoë@example.org")).toBe("98e96df7-8698-5a19-80b7-3873d7a32820");
    expect(await legacyUserId("zoe@example.org")).not.toBe("98e96df7-8698-5a19-80b7-3873d7a32820");
  });
});

describe("flags", () => {
  const resolve = (argv: string[], env: Record<string, string> = {}) =>
    resolveOptions(parseArgv(argv), env, "/srv/tikti");
  const refusal = async (argv: string[], env: Record<string, string> = {}) => {
    try {
      await resolve(argv, env);
    } catch (err) {
      expect(err).toBeInstanceOf(UsageError);
      return (err as Error).message;
    }
    throw new Error(`accepted: ${argv.join(" ")}`);
  };

  it("parses repeatable and comma-separated --only/--rerun, =value and booleans", async () => {
    const o = await resolve([
      "--only",
      "0001",
      "--only=0003,0007_saml_user_fields",
      "--rerun",
      "0003",
      "--dry-run",
    ]);
    expect(o.only).toEqual(["0001", "0003", "0007"]);
    expect(o.rerun).toEqual(["0003"]);
    expect(o.dryRun).toBe(true);
    expect(o.unknownIds).toEqual([]);
    expect((await resolve(["--only", "0004"])).unknownIds).toEqual(["0004"]);
  });

  it("chooses the store: default localhost:6379, flags, then the server's environment names", async () => {
    const target = async (argv: string[], env: Record<string, string> = {}) =>
      (await resolve(argv, env)).target as MigrateOptions["target"] & Record<string, unknown>;
    expect(await target([])).toMatchObject({ kind: "redis", addr: "localhost:6379", db: 0 });
    expect(await target(["--redis-addr", "10.0.0.5:6380", "--redis-db", "3"])).toMatchObject({
      addr: "10.0.0.5:6380",
      db: 3,
    });
    expect(await target(["--data-dir", "data"])).toMatchObject({
      kind: "embedded",
      dataDir: "/srv/tikti/data",
    });
    expect(await target([], { REDIS_CLUSTER: "a:1, b:2" })).toMatchObject({ cluster: ["a:1", "b:2"] });
    expect(await target([], { TIKTI_DATA_DIR: "/var/lib/tikti" })).toMatchObject({ kind: "embedded" });
    expect(await target(["--redis-addr", "h:1"], { REDIS_PASSWORD: "pw" })).toMatchObject({ password: "pw" });
    const viaUrl = await target(["--redis-url", "rediss://user:pw@h:6380/2"]);
    expect(viaUrl.display).toBe("redis rediss://user:****@h:6380/2");
    expect(JSON.stringify(viaUrl.display)).not.toContain("pw@");
  });

  it("reads REDIS_PASSWORD_FILE (trailing whitespace removed) and refuses it beside REDIS_PASSWORD", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tikti-pw-"));
    try {
      writeFileSync(join(dir, "pw"), "from-file\n");
      const o = await resolveOptions(parseArgv([]), { REDIS_PASSWORD_FILE: join(dir, "pw") }, dir);
      expect(o.target).toMatchObject({ password: "from-file" });
      expect(await refusal([], { REDIS_PASSWORD: "a", REDIS_PASSWORD_FILE: join(dir, "pw") })).toContain(
        "both set",
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.each([
    [["--bogus"], "unknown flag --bogus"],
    [["stray"], 'unexpected argument "stray"'],
    [["--only"], "--only needs a value"],
    [["--dry-run=maybe"], "--dry-run takes no value"],
    [["--down", "0007", "--down", "0007"], "--down given more than once"],
    [
      ["--redis-addr", "a:1", "--redis-url", "redis://b"],
      "several storage options: --redis-addr, --redis-url",
    ],
    [["--config", "x.yaml", "--data-dir", "d"], "--config and --data-dir both choose the store"],
    [["--redis-db", "-1"], "--redis-db must be an integer"],
    [["--redis-cluster", "a:1", "--redis-db", "2"], "a cluster has only db 0"],
    [["--redis-url", "http://h"], "must start with redis:// or rediss://"],
    [["--data-dir", "d", "--redis-password", "x"], "do not apply to the embedded store"],
    [["--default-tenant", "bad tenant"], "--default-tenant: not a valid tenant id"],
    [["--list", "--only", "0001"], "cannot be combined with --list"],
    [["--list", "--down", "0007"], "--list and --down cannot be combined"],
  ])("%j is a configuration error: %s", async (argv, message) => {
    expect(await refusal(argv)).toContain(message);
  });

  it("several REDIS_* variables are a configuration error", async () => {
    expect(await refusal([], { REDIS_ADDR: "a:1", REDIS_URL: "redis://b" })).toContain(
      "REDIS_ADDR, REDIS_URL",
    );
  });

  it("redacts only the password of a URL", () => {
    expect(redactUrl("redis://:secret@h:1/0")).toBe("redis://:****@h:1/0");
    expect(redactUrl("redis://u:secret@h:1")).toBe("redis://u:****@h:1");
    expect(redactUrl("redis://h:1")).toBe("redis://h:1");
    expect(redactUrl("::not a url::")).toBe("<invalid url>");
  });
});

for (const engine of storeEngines()) {
  describe(`migration lock [${engine.name}]`, () => {
    const key = "tikti:migrations:lock";
    beforeEach(() => engine.wipe());
    afterAll(() => engine.wipe());

    it("SET NX EX 600 with the holder id; a second holder is refused with the first one named", async () => {
      const lock = await acquireLock(engine.kv, "host-a:1:u1");
      expect(await engine.kv.get(key)).toBe("host-a:1:u1");
      expect(await engine.kv.pttl(key)).toBeGreaterThan(LOCK_TTL_MS - 5_000);
      await expect(acquireLock(engine.kv, "host-b:2:u2")).rejects.toThrow(
        new LockHeldError("host-a:1:u1").message,
      );
      await lock.release();
      expect(await engine.kv.get(key)).toBeNull();
      const next = await acquireLock(engine.kv, "host-b:2:u2");
      await next.release();
    });

    it("is refreshed while held, and a lock taken over is reported lost and never deleted", async () => {
      const lock = await acquireLock(engine.kv, "host-a:1:u1", { refreshMs: 20 });
      try {
        await engine.kv.expire(key, 5);
        expect(await waitFor(async () => (await engine.kv.pttl(key)) > LOCK_TTL_MS - 5_000, 5_000)).toBe(
          true,
        );
        lock.assertHeld();
        // Expired and taken by another run (simulated): the next refresh notices.
        await engine.kv.set(key, "host-b:2:u2", { ttlMs: 60_000 });
        expect(
          await waitFor(async () => {
            try {
              lock.assertHeld();
              return false;
            } catch {
              return true;
            }
          }, 5_000),
        ).toBe(true);
        expect(() => lock.assertHeld()).toThrow(/lost/);
      } finally {
        await lock.release();
      }
      // CAS_DEL: the other run's lock is left alone, and its TTL was not extended by our timer.
      expect(await engine.kv.get(key)).toBe("host-b:2:u2");
      expect(await engine.kv.pttl(key)).toBeLessThanOrEqual(60_000);
    });
  });
}
