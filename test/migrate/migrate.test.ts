/**
 * tikti-migrate on a Go Tikti keyspace (docs/spec/cli.md §6–§9), run in-process through the command
 * (migrate/main.ts `cli`), on a real redis-server and on the embedded store: output lines, counts,
 * exit codes, records, lock, dry run, idempotent re-runs, conflicts, errors, `--down`, `--list`.
 */
import { readFileSync, rmSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeEach, describe, expect, it } from "vitest";
import { MIGRATIONS } from "../../migrate/migrations/index.ts";
import { normaliseEmail } from "../../src/domain/email.ts";
import { silentLogger } from "../../src/logger.ts";
import type { KV } from "../../src/store/kv.ts";
import { createRepos } from "../../src/store/repos/index.ts";
import {
  DEFAULT_TENANT,
  ERIN_ID,
  EXPECTED_COUNTS,
  GO_ERA_RECORDS_WITHOUT_AUTH_SOURCE,
  IDS,
  independentBcrypt,
  USERS,
  writeGoFixtures,
} from "./go-fixtures.ts";
import {
  blockCounts,
  dumpKeyspace,
  expectSameKeyspace,
  FIXED_NOW,
  field,
  fixedClock,
  migrateEngines,
  runCli,
} from "./support.ts";

const FIXTURE_NOW_S = Math.floor(FIXED_NOW / 1000);
const NAMES = MIGRATIONS.map((m) => `${m.id}_${m.name}`);

/** EXPECTED_COUNTS of one migration, keyed by the printed labels. */
function expectedLines(id: keyof typeof EXPECTED_COUNTS): Record<string, number> {
  const m = MIGRATIONS.find((x) => x.id === id)!;
  const counts = EXPECTED_COUNTS[id] as Record<string, number>;
  return Object.fromEntries(m.counters.map((c) => [c.label, counts[c.key]!]));
}

const allBlocksAsExpected = (stdout: string[]) => {
  for (const id of ["0001", "0002", "0003", "0007"] as const) {
    const m = MIGRATIONS.find((x) => x.id === id)!;
    expect(blockCounts(stdout, `${m.id}_${m.name}`), id).toEqual(expectedLines(id));
  }
};

for (const engine of migrateEngines()) {
  describe(`tikti-migrate [${engine.name}]`, () => {
    const args = (...more: string[]) => [...engine.args(), ...more];
    const dump = () => engine.use(dumpKeyspace);

    beforeEach(async () => {
      await engine.reset();
      await engine.use((kv) => writeGoFixtures(kv, FIXTURE_NOW_S));
    });

    it("migrates a Go keyspace: the spec's output blocks, counts, records, exit 0", async () => {
      const r = await runCli(args("--default-tenant", DEFAULT_TENANT));
      expect(r.code, r.all).toBe(0);
      // 0001's block exactly as docs/spec/cli.md §9.1 prints it (first four lines Go-compatible).
      const at = r.stdout.indexOf("== 0001_users_v2 ==");
      expect(r.stdout.slice(at, at + 7)).toEqual([
        "== 0001_users_v2 ==",
        "legacy users: 5",
        "migrated: 5",
        "skipped: 0",
        "conflicts: 0",
        "memberships created: 3",
        "errors: 0",
      ]);
      const i2 = r.stdout.indexOf("== 0002_email_index_normalise ==");
      expect(r.stdout.slice(i2 + 1, i2 + 7).map((l) => l.split(":")[0])).toEqual([
        "index keys",
        "normalised",
        "merged",
        "removed",
        "conflicts",
        "errors",
      ]);
      allBlocksAsExpected(r.stdout);
      expect(r.stdout.at(-1)).toBe("completed: 4 applied, 0 already applied");
      expect(r.stderr).toContain(`default tenant ${DEFAULT_TENANT} created`);
      expect(r.stderr).toContain(`missing tenant: gone-tenant (user ${IDS.henry})`);

      const after = await dump();
      for (const m of MIGRATIONS) {
        const record = field(after, "tikti:migrations", m.id);
        expect(record, m.id).toEqual({
          id: m.id,
          appliedAt: new Date(FIXED_NOW).toISOString(),
          counts: EXPECTED_COUNTS[m.id as keyof typeof EXPECTED_COUNTS],
          toolVersion: expect.stringMatching(/^\d+\.\d+\.\d+ \(.+\)$/),
        });
      }
      expect(after.has("tikti:migrations:lock")).toBe(false);
    });

    it("leaves every user reachable by email, with its memberships, fields and unknown fields", async () => {
      const before = await dump();
      expect((await runCli(args("--default-tenant", DEFAULT_TENANT))).code).toBe(0);
      const after = await dump();
      await engine.use(async (kv) => {
        const repos = createRepos({ kv, logger: silentLogger, clock: fixedClock, oobCodeTtlSeconds: 900 });
        for (const u of USERS) {
          const byStored = await repos.users.findByEmail(u.storedEmail);
          expect(byStored?.localId, u.label).toBe(u.id);
          expect((await repos.users.findByEmail(u.normalised))?.localId, u.label).toBe(u.id);
          expect(await kv.get(`userByEmail:${u.normalised}`), u.label).toBe(u.id);
          // The stored spelling is kept (as the server's own copy-forward keeps it).
          expect(byStored?.email, u.label).toBe(u.storedEmail);
          expect(byStored?.companyId, u.label).toBe(u.companyIdAfter);
          const tenants = (await repos.memberships.tenantsOfUser(u.id)).map((m) => m.tenantId);
          expect(tenants, u.label).toEqual(u.tenantsAfter);
          // 0007: every record carries both fields.
          const raw = field(after, "users_v2", u.id)!;
          expect(raw.authSource, u.label).toBe("password");
          expect(raw.externalSubject, u.label).toBe("");
        }
      });
      // The id of a legacy record without one: UUIDv5 computed independently (Python's uuid5).
      expect(field(after, "users_v2", ERIN_ID)?.email).toBe("Erin@Legacy.Example");
      // Fields the migration does not know survive (docs/spec/storage.md §2.1); `Id` is only read, never written by 0001.
      expect(field(after, "users_v2", IDS.bob)?.legacyFlag).toBe(true);
      expect(field(after, "users_v2", IDS.dave)?.nickname).toBe("D");
      expect(field(after, "users_v2", IDS.carol)).not.toHaveProperty("Id");
      expect(field(after, "users_v2", IDS.carol)?.localId).toBe(IDS.carol);
      // frank's users_v2 record (newer password) wins over his legacy entry.
      expect(field(after, "users_v2", IDS.frank)?.password).toBe(
        field(before, "users_v2", IDS.frank)?.password,
      );
      expect(field(after, "users_v2", IDS.frank)?.tokenVersion).toBe(1);
      // Index: Go-era spellings normalised, entries readers ignore removed.
      for (const gone of [
        "userByEmail:Bob@Example.com",
        "userByEmail:Frank@Example.com",
        "userByEmail:ghost@example.com",
        "userByEmail:old-bob@example.com",
      ]) {
        expect(after.has(gone), gone).toBe(false);
      }
      const indexKeys = [...after.keys()].filter((k) => k.startsWith("userByEmail:"));
      expect(indexKeys.sort()).toEqual(USERS.map((u) => `userByEmail:${u.normalised}`).sort());
      for (const k of indexKeys) expect(normaliseEmail(k.slice(12))).toBe(k.slice(12));
      // Memberships written by the migration have the shape of docs/spec/storage.md §2.1.
      expect(field(after, "memberships:acme", IDS.carol)).toEqual({
        id: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/),
        tenantId: "acme",
        userId: IDS.carol,
        roles: ["COMPANY_EMPLOYEE"],
        createdAt: new Date(FIXED_NOW).toISOString(),
      });
      expect(field(after, "memberships:main", IDS.dave)?.roles).toEqual(["COMPANY_ADMIN"]);
      expect(field(after, "tenants", DEFAULT_TENANT)).toMatchObject({
        id: "main",
        slug: "main",
        name: "main",
      });
      // Bob's Go membership and everything that is not a user or an index entry: untouched.
      for (const key of [
        "users",
        "memberships:acme",
        "roles:acme",
        "roles:globex",
        "clients:acme",
        "clients:globex",
        "oob:go-era-code-1",
        "oobs",
        "managedClients:acme",
        "saml_users_v2",
        `membershipsByUser:${IDS.bob}`,
      ]) {
        const b = before.get(key)!;
        const a = after.get(key)!;
        if (key === "memberships:acme") {
          expect((a.value as Record<string, string>)[IDS.bob]).toBe(
            (b.value as Record<string, string>)[IDS.bob],
          );
        } else expect(a.value, key).toEqual(b.value);
        expect(a.type, key).toBe(b.type);
      }
      expect(after.get("oob:go-era-code-1")!.pttl).toBeGreaterThan(0);
    });

    it("--dry-run prints the same counts, writes nothing (not even the lock) and says so", async () => {
      const before = await dump();
      const started = Date.now();
      const r = await runCli(args("--default-tenant", DEFAULT_TENANT, "--dry-run"));
      expect(r.code, r.all).toBe(0);
      expect(r.stdout.at(-1)).toBe("dry-run: no writes performed");
      allBlocksAsExpected(r.stdout);
      expectSameKeyspace(before, await dump(), Date.now() - started);
    });

    it("a second run changes nothing and says so; --rerun of every migration changes no data", async () => {
      expect((await runCli(args("--default-tenant", DEFAULT_TENANT))).code).toBe(0);
      const first = await dump();
      const started = Date.now();

      const again = await runCli(args("--default-tenant", DEFAULT_TENANT));
      expect(again.code, again.all).toBe(0);
      const appliedAt = new Date(FIXED_NOW).toISOString();
      expect(again.stdout).toEqual([
        ...NAMES.map((n) => `${n}: already applied ${appliedAt}, skipped`),
        "nothing to do: all selected migrations are already applied",
      ]);
      expectSameKeyspace(first, await dump(), Date.now() - started);

      // Each migration is idempotent on its own: run them all again.
      const rerun = await runCli(
        args(
          "--default-tenant",
          DEFAULT_TENANT,
          "--rerun",
          "0001",
          "--rerun",
          "0002,0003",
          "--rerun",
          "0007",
        ),
      );
      expect(rerun.code, rerun.all).toBe(0);
      expect(blockCounts(rerun.stdout, "0001_users_v2")).toMatchObject({
        migrated: 0,
        skipped: 5,
        "memberships created": 0,
      });
      expect(blockCounts(rerun.stdout, "0002_email_index_normalise")).toMatchObject({
        "index keys": 8,
        normalised: 0,
        merged: 0,
        removed: 0,
      });
      expect(blockCounts(rerun.stdout, "0003_company_memberships")).toMatchObject({
        "memberships created": 0,
        skipped: 7,
      });
      expect(blockCounts(rerun.stdout, "0007_saml_user_fields")).toMatchObject({ updated: 0, skipped: 8 });
      const third = await dump();
      first.delete("tikti:migrations");
      third.delete("tikti:migrations");
      expectSameKeyspace(first, third, Date.now() - started);
    });

    it("--list prints pending, then applied <time>", async () => {
      const pending = await runCli(args("--list"));
      expect(pending.code).toBe(0);
      expect(pending.stdout.map((l) => l.replace(/\s+/g, " "))).toEqual(NAMES.map((n) => `${n} pending`));
      expect((await runCli(args("--only", "0002"))).code).toBe(0);
      const listed = await runCli(args("--list"));
      expect(listed.stdout.map((l) => l.replace(/\s+/g, " "))).toEqual(
        NAMES.map((n) =>
          n.startsWith("0002") ? `${n} applied ${new Date(FIXED_NOW).toISOString()}` : `${n} pending`,
        ),
      );
    });

    it("refuses to run while another run holds the lock: exit 1, holder named, nothing written", async () => {
      await engine.use((kv) => kv.set("tikti:migrations:lock", "other-host:4242:0b9a", { ttlMs: 600_000 }));
      const before = await dump();
      const started = Date.now();
      const r = await runCli(args());
      expect(r.code).toBe(1);
      expect(r.stderr).toContain("error: another migration is running (other-host:4242:0b9a)");
      expect(r.stdout.some((l) => l.startsWith("=="))).toBe(false);
      expectSameKeyspace(before, await dump(), Date.now() - started);
      // A dry run does not take the lock: it runs, and warns.
      const dry = await runCli(args("--dry-run"));
      expect(dry.code).toBe(0);
      expect(dry.stderr.join("\n")).toContain("another migration is running (other-host:4242:0b9a)");
    });

    it("two concurrent runs: one refuses, none corrupts — the result equals a single run's", async () => {
      // The second run starts while the first holds the store: on Redis, between two batches of a
      // legacy hash large enough to keep the first run busy for a while; the embedded store is
      // held from the moment it is opened.
      const filler = await independentBcrypt("filler-password");
      const fillers = engine.name === "redis" ? 600 : 0;
      const addFillers = (kv: KV) =>
        Promise.all(
          Array.from({ length: fillers }, (_, i) => {
            const email = `Filler.${i}@Example.com`;
            return kv.hset(
              "users",
              email,
              `{"email":"${email}","password":"${filler}","role":"COMPANY_EMPLOYEE","status":"ACTIVE"}`,
            );
          }),
        );
      await engine.use(addFillers);
      let lockSeen = false;
      let second: Promise<Awaited<ReturnType<typeof runCli>>> | undefined;
      const a = runCli(args("--default-tenant", DEFAULT_TENANT), {
        // Called between batches while `a` holds its lock: start `b` right there.
        interrupted: () => {
          if (!lockSeen) {
            lockSeen = true;
            second = runCli(args("--default-tenant", DEFAULT_TENANT));
          }
          return false;
        },
      });
      const first = await a;
      expect(lockSeen).toBe(true);
      const other = await second!;
      expect(first.code, first.all).toBe(0);
      expect(other.code, other.all).toBe(1);
      expect(other.stderr.join("\n")).toMatch(
        engine.name === "redis"
          ? /another migration is running \(test-host:\d+:[0-9a-f-]{36}\)/
          : /lock file .*tikti\.db is held by another process/,
      );
      const concurrent = await dump();

      // The same data migrated by one run alone.
      await engine.reset();
      await engine.use(async (kv) => {
        await writeGoFixtures(kv, FIXTURE_NOW_S);
        await addFillers(kv);
      });
      expect((await runCli(args("--default-tenant", DEFAULT_TENANT))).code).toBe(0);
      // Two fixtures written at different times: TTLs are compared by presence only.
      expectSameKeyspace(await dump(), concurrent, "presence");
      expect(concurrent.has("tikti:migrations:lock")).toBe(false);
    });

    it("a legacy email failing today's grammar is copied unchanged, noted by id, never printed raw", async () => {
      const id = "cccccccc-3333-4333-8333-cccccccccccc";
      const email = "Zed\u001b[2J\u202e@Example.com";
      const hash = await independentBcrypt("zed-pass");
      await engine.use(async (kv) => {
        await kv.hset("users", email, JSON.stringify({ Id: id, email, password: hash }));
        // A second copy whose index entry clashes, so a conflict line quotes the raw email too.
        await kv.set(`userByEmail:${normaliseEmail(email)}`, "someone-else");
        await kv.hset(
          "users_v2",
          "someone-else",
          JSON.stringify({ localId: "someone-else", email: normaliseEmail(email), password: hash }),
        );
      });
      const r = await runCli(args("--default-tenant", DEFAULT_TENANT));
      // Nothing a terminal would obey reaches stderr or stdout.
      // biome-ignore lint/suspicious/noControlCharactersInRegex: detecting raw control characters is the point
      expect(r.all).not.toMatch(/[\u001b\u202e]/u);
      expect(r.stderr).toContain(
        "conflict: email Zed\\x1b[2J\\u{202e}@Example.com already mapped to someone-else (legacy cccccccc-3333-4333-8333-cccccccccccc)",
      );

      // Without the clash, the record is copied as stored and a note names the id, not the email.
      await engine.reset();
      await engine.use(async (kv) => {
        await writeGoFixtures(kv, FIXTURE_NOW_S);
        await kv.hset("users", email, JSON.stringify({ Id: id, email, password: hash }));
      });
      const clean = await runCli(args("--default-tenant", DEFAULT_TENANT));
      expect(clean.code, clean.all).toBe(0);
      expect(clean.stderr).toContain(
        `note: user ${id}: stored email fails the email grammar; copied unchanged`,
      );
      await engine.use(async (kv) => {
        const repos = createRepos({ kv, logger: silentLogger, clock: fixedClock, oobCodeTtlSeconds: 900 });
        expect((await repos.users.findByEmail(email))?.localId).toBe(id);
        expect((await repos.users.getById(id))?.email).toBe(email);
      });
    });

    it("conflicts: exit 2, recorded, a line per conflict, both entries kept; --rerun after the fix", async () => {
      const ivyLegacy = "aaaaaaaa-1111-4111-8111-aaaaaaaaaaaa";
      const ivyOther = "bbbbbbbb-2222-4222-8222-bbbbbbbbbbbb";
      const hash = await independentBcrypt("ivy-pass");
      await engine.use(async (kv) => {
        await kv.hset(
          "users",
          "Ivy@Example.com",
          `{"Id":"${ivyLegacy}","email":"Ivy@Example.com","password":"${hash}"}`,
        );
        await kv.hset(
          "users_v2",
          ivyOther,
          `{"localId":"${ivyOther}","email":"ivy@example.com","password":"${hash}"}`,
        );
        await kv.set("userByEmail:ivy@example.com", ivyOther);
        // Two Go users whose emails differ only in case: 0002 must keep both.
        await kv.hset("users_v2", "jo-1", `{"localId":"jo-1","email":"Jo@Example.com","password":"${hash}"}`);
        await kv.hset("users_v2", "jo-2", `{"localId":"jo-2","email":"jo@example.com","password":"${hash}"}`);
        await kv.set("userByEmail:Jo@Example.com", "jo-1");
        await kv.set("userByEmail:jo@example.com", "jo-2");
      });
      const r = await runCli(args("--default-tenant", DEFAULT_TENANT));
      expect(r.code, r.all).toBe(2);
      expect(r.stderr).toContain(
        `conflict: email Ivy@Example.com already mapped to ${ivyOther} (legacy ${ivyLegacy})`,
      );
      expect(r.stderr).toContain(
        "conflict: userByEmail:Jo@Example.com maps to jo-1 but userByEmail:jo@example.com maps to jo-2; both kept",
      );
      expect(blockCounts(r.stdout, "0001_users_v2").conflicts).toBe(1);
      expect(blockCounts(r.stdout, "0002_email_index_normalise").conflicts).toBe(1);
      expect(r.stdout.at(-1)).toMatch(
        /^completed with conflicts in 0001_users_v2, 0002_email_index_normalise \(recorded\); .*--rerun 0001 --rerun 0002$/,
      );
      // Conflicts do not stop the run: 0003 and 0007 ran too, and everything is recorded.
      const after = await dump();
      for (const m of MIGRATIONS) expect(field(after, "tikti:migrations", m.id), m.id).toBeDefined();
      expect(field(after, "users_v2", ivyLegacy)).toBeUndefined();
      expect((after.get("userByEmail:Jo@Example.com") ?? { value: null }).value).toBe("jo-1");
      expect(after.get("userByEmail:jo@example.com")?.value).toBe("jo-2");

      // The operator resolves the duplicate (here: the other Ivy goes) and re-runs 0001.
      await engine.use(async (kv) => {
        await kv.hdel("users_v2", ivyOther);
        await kv.del("userByEmail:ivy@example.com");
      });
      const fixed = await runCli(args("--rerun", "0001"));
      expect(fixed.code, fixed.all).toBe(0);
      expect(blockCounts(fixed.stdout, "0001_users_v2")).toMatchObject({ migrated: 1, conflicts: 0 });
      expect(await engine.use((kv) => kv.get("userByEmail:ivy@example.com"))).toBe(ivyLegacy);
    });

    it("errors stop the run: exit 1, the migration is not recorded, later ones do not start", async () => {
      await engine.use((kv) => kv.hset("users", "Broken@Example.com", "{not json"));
      const r = await runCli(args());
      expect(r.code).toBe(1);
      expect(r.stderr).toContain("error: invalid legacy record Broken@Example.com");
      expect(blockCounts(r.stdout, "0001_users_v2")).toMatchObject({
        "legacy users": 6,
        migrated: 5,
        errors: 1,
      });
      expect(r.stdout.some((l) => l.startsWith("== 0002"))).toBe(false);
      expect(r.stdout.at(-1)).toMatch(/^stopped: 0001_users_v2 counted 1 error\(s\)/);
      const after = await dump();
      expect(after.has("tikti:migrations")).toBe(false);
      expect(after.has("tikti:migrations:lock")).toBe(false);
    });

    it("an interrupted run stops at the next batch, releases the lock and records nothing", async () => {
      const r = await runCli(args(), { interrupted: () => true });
      expect(r.code).toBe(1);
      expect(r.stderr.join("\n")).toContain("interrupted");
      const after = await dump();
      expect(after.has("tikti:migrations")).toBe(false);
      expect(after.has("tikti:migrations:lock")).toBe(false);
    });

    it("--down 0007 removes both fields and the record; running again restores them", async () => {
      expect((await runCli(args("--default-tenant", DEFAULT_TENANT))).code).toBe(0);
      const down = await runCli(args("--down", "0007"));
      expect(down.code, down.all).toBe(0);
      expect(blockCounts(down.stdout, "0007_saml_user_fields (down)")).toEqual({
        records: 8,
        reverted: 8,
        skipped: 0,
        errors: 0,
      });
      let after = await dump();
      for (const u of USERS) {
        const raw = field(after, "users_v2", u.id)!;
        expect(raw, u.label).not.toHaveProperty("authSource");
        expect(raw, u.label).not.toHaveProperty("externalSubject");
      }
      expect(field(after, "tikti:migrations", "0007")).toBeUndefined();
      expect((await runCli(args("--list"))).stdout.at(-1)).toMatch(/^0007_saml_user_fields\s+pending$/);

      const up = await runCli(args());
      expect(up.code).toBe(0);
      expect(blockCounts(up.stdout, "0007_saml_user_fields")).toEqual({
        records: 8,
        updated: 8,
        skipped: 0,
        errors: 0,
      });
      after = await dump();
      for (const u of USERS) expect(field(after, "users_v2", u.id)?.authSource).toBe("password");
      // The Go-era records keep their own fields beside the two added ones.
      for (const id of GO_ERA_RECORDS_WITHOUT_AUTH_SOURCE)
        expect(field(after, "users_v2", id)?.status).toBe("ACTIVE");

      const unsupported = await runCli(args("--down", "0001"));
      expect(unsupported.code).toBe(1);
      expect(unsupported.stderr).toContain("error: --down is not supported by 0001_users_v2 (only 0007)");
    });

    it("--only runs the named migrations; unknown ids fail with exit 1 before anything runs", async () => {
      const only = await runCli(args("--only", "0002_email_index_normalise"));
      expect(only.code).toBe(0);
      expect(only.stdout.filter((l) => l.startsWith("=="))).toEqual(["== 0002_email_index_normalise =="]);
      const before = await dump();
      const unknown = await runCli(args("--only", "0005"));
      expect(unknown.code).toBe(1);
      expect(unknown.stderr).toContain("error: unknown migration id 0005 (known: 0001, 0002, 0003, 0007)");
      expectSameKeyspace(before, await dump(), 60_000);
    });

    it("--metrics-file writes the counters in Prometheus text format", async () => {
      const dir = await mkdtemp(join(tmpdir(), "tikti-metrics-"));
      const file = join(dir, "tikti_migrate.prom");
      let text: string;
      try {
        const r = await runCli(args("--default-tenant", DEFAULT_TENANT, "--metrics-file", file));
        expect(r.code).toBe(0);
        text = readFileSync(file, "utf8");
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
      expect(text).toContain("# TYPE tikti_migration_0007_records_total counter");
      expect(text).toContain('tikti_migration_0007_records_total{result="updated"} 4');
      expect(text).toContain('tikti_migration_0007_records_total{result="skipped"} 4');
      expect(text).toContain('tikti_migration_0007_records_total{result="error"} 0');
      expect(text).toContain('tikti_migration_0001_records_total{result="migrated"} 5');
      expect(text).toContain("tikti_migration_run_exit_code 0");
      // Every sample line is `name{labels} value`.
      for (const line of text.split("\n").filter((l) => l && !l.startsWith("#"))) {
        expect(line).toMatch(/^[a-z_0-9]+(\{[a-z_]+="[a-z_]+"(,[a-z_]+="[a-z_]+")*\})? \d+$/);
      }
    });
  });
}
