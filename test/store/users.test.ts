/**
 * The users repository against both engines: ordered writes and their reader rules
 * (docs/spec/storage.md §4), email lookup with the legacy fallback (§5, §6), the CAS loop (§4.2) under
 * concurrency, and unknown-field preservation (§2.1).
 */
import { beforeEach, describe, expect, it } from "vitest";
import type { User } from "../../src/domain/types.ts";
import { TiktiError } from "../../src/errors.ts";
import { keys } from "../../src/store/keys.ts";
import type { KV } from "../../src/store/kv.ts";
import { MAX_CAS_ATTEMPTS } from "../../src/store/repos/cas.ts";
import { createMembershipsRepo } from "../../src/store/repos/memberships.ts";
import { createUsersRepo, type UsersRepo, withTokenVersionBump } from "../../src/store/repos/users.ts";
import {
  hashFields,
  manualClock,
  recordingLogger,
  rejection,
  repoDeps,
  storeEngines,
  withOverrides,
} from "./support.ts";

const HASH = "$2b$10$abcdefghijklmnopqrstuuJ9bZqZ0kq0lZ2Yf0rN6m0Jc7iJm3y6G";

/** Go Tikti's first releases: field = email as typed at sign-up, id under `Id`, Go time format. */
function goLegacyUser(id: string, email: string, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    Id: id,
    email,
    password: "$2a$10$7EqJtq98hPqEX7fNZaFWoOa6yZ1u5FzIbS1N1mP8l0bQmN5Z0G3xG",
    role: "COMPANY_EMPLOYEE",
    status: "ACTIVE",
    createdAt: "2023-05-01T12:00:00.123456789Z",
    ...extra,
  });
}

async function rawUser(kv: KV, id: string): Promise<Record<string, unknown> | null> {
  const text = await kv.hget(keys.users(), id);
  return text === null ? null : (JSON.parse(text) as Record<string, unknown>);
}

const engines = storeEngines();

for (const engine of engines) {
  describe(`users repository [${engine.name}]`, () => {
    let kv: KV;
    let users: UsersRepo;
    let logger: ReturnType<typeof recordingLogger>;
    let clock: ReturnType<typeof manualClock>;

    beforeEach(async () => {
      await engine.wipe();
      kv = engine.kv;
      logger = recordingLogger();
      clock = manualClock();
      users = createUsersRepo(repoDeps(kv, clock, logger));
    });

    describe("create", () => {
      it("writes the Go-compatible record and the normalised index entry", async () => {
        const u = await users.create({ email: "  Alice@Example.COM ", password: HASH });
        expect(u.localId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
        expect(await kv.get(keys.userByEmail("alice@example.com"))).toBe(u.localId);
        // Exact stored text: field names and order of docs/spec/storage.md §2.1, companyId omitted.
        expect(await kv.hget(keys.users(), u.localId)).toBe(
          JSON.stringify({
            localId: u.localId,
            email: "alice@example.com",
            password: HASH,
            role: "COMPANY_EMPLOYEE",
            status: "ACTIVE",
            tokenVersion: 0,
            createdAt: "2025-01-01T10:00:00.123Z",
            authSource: "password",
            externalSubject: "",
          }),
        );
        expect(await users.getById(u.localId)).toMatchObject({ email: "alice@example.com", tokenVersion: 0 });
        expect((await users.findByEmail("ALICE@example.com"))?.localId).toBe(u.localId);
      });

      it("refuses an email that is taken in another case: EMAIL_EXISTS, no second record", async () => {
        await users.create({ email: "bob@example.com", password: HASH });
        expect((await rejection(users.create({ email: " BOB@Example.com", password: HASH }))).code).toBe(
          "EMAIL_EXISTS",
        );
        expect(await kv.hlen(keys.users())).toBe(1);
      });

      it("checks the legacy users hash first; an unusable legacy record does not block", async () => {
        await kv.hset(
          keys.legacyUsers(),
          "carol@example.com",
          goLegacyUser("legacy-carol", "carol@example.com"),
        );
        expect((await rejection(users.create({ email: "Carol@example.com", password: HASH }))).code).toBe(
          "EMAIL_EXISTS",
        );
        await kv.hset(
          keys.legacyUsers(),
          "dave@example.com",
          goLegacyUser("legacy-dave", "dave@example.com", { password: "" }),
        );
        const dave = await users.create({ email: "dave@example.com", password: HASH });
        expect(await kv.get(keys.userByEmail("dave@example.com"))).toBe(dave.localId);
      });

      it("when the claim is lost the new record is removed again (HDEL) before EMAIL_EXISTS", async () => {
        // Someone claims the email between the lookup check and step 2.
        let otherId = "";
        const racing = withOverrides(kv, {
          hsetnx: async (key, field, value) => {
            const ok = await kv.hsetnx(key, field, value);
            if (key === keys.users() && !otherId) {
              otherId = "other-user";
              await kv.hset(
                keys.users(),
                otherId,
                JSON.stringify({ localId: otherId, email: "eve@example.com" }),
              );
              await kv.set(keys.userByEmail("eve@example.com"), otherId);
            }
            return ok;
          },
        });
        const repo = createUsersRepo(repoDeps(racing));
        expect((await rejection(repo.create({ email: "eve@example.com", password: HASH }))).code).toBe(
          "EMAIL_EXISTS",
        );
        expect([...(await hashFields(kv, keys.users())).keys()]).toEqual([otherId]);
        expect(await kv.get(keys.userByEmail("eve@example.com"))).toBe(otherId);
      });

      it("a crash after step 1 leaves an unreachable record that does not block the email", async () => {
        // Step 1 only: HSET users_v2, no claim.
        await kv.hset(
          keys.users(),
          "orphan",
          JSON.stringify({ localId: "orphan", email: "frank@example.com", password: HASH, status: "ACTIVE" }),
        );
        expect(await users.findByEmail("frank@example.com")).toBeNull();
        const frank = await users.create({ email: "frank@example.com", password: HASH });
        expect((await users.findByEmail("frank@example.com"))?.localId).toBe(frank.localId);
      });

      it("50 parallel creates of one email: exactly one wins, the index points at it, no orphan", async () => {
        const results = await Promise.allSettled(
          Array.from({ length: 50 }, (_, i) =>
            users.create({ email: i % 2 ? "Race@Example.com" : " race@example.com", password: HASH }),
          ),
        );
        const won = results.filter((r): r is PromiseFulfilledResult<User> => r.status === "fulfilled");
        const lost = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
        expect(won).toHaveLength(1);
        expect(lost).toHaveLength(49);
        for (const r of lost) expect((r.reason as TiktiError).code).toBe("EMAIL_EXISTS");
        const winner = won[0]!.value;
        expect(await kv.get(keys.userByEmail("race@example.com"))).toBe(winner.localId);
        const records = await hashFields(kv, keys.users());
        expect([...records.keys()]).toEqual([winner.localId]);
        expect((await users.findByEmail("RACE@example.com"))?.localId).toBe(winner.localId);
      });

      it("insertRecord writes without a claim; claimEmail claims only a free email", async () => {
        const owner = await users.create({ email: "gina@example.com", password: HASH });
        const federated = await users.insertRecord({
          email: "Gina@Example.com",
          password: "",
          authSource: "saml",
          externalSubject: "gina-nameid",
          companyId: "acme",
        });
        expect(await users.claimEmail(federated)).toBe(false);
        expect((await users.findByEmail("gina@example.com"))?.localId).toBe(owner.localId);
        expect(await users.getById(federated.localId)).toMatchObject({
          authSource: "saml",
          companyId: "acme",
        });
        const other = await users.insertRecord({
          email: "hal@example.com",
          password: "",
          authSource: "saml",
        });
        expect(await users.claimEmail(other)).toBe(true);
        expect((await users.findByEmail("hal@example.com"))?.localId).toBe(other.localId);
      });
    });

    describe("getById", () => {
      it("reads legacy `Id` records and answers INTERNAL for corrupt JSON", async () => {
        await kv.hset(keys.users(), "legacy-1", goLegacyUser("legacy-1", "Old@Example.com"));
        expect(await users.getById("legacy-1")).toMatchObject({
          localId: "legacy-1",
          email: "Old@Example.com",
          tokenVersion: 0,
          authSource: "password",
          companyId: undefined,
        });
        expect(await users.getById("nobody")).toBeNull();
        for (const bad of ["{not json", "[1,2]", "null", '"text"', '{"localId":"x","tokenVersion":"3"}']) {
          await kv.hset(keys.users(), "broken", bad);
          const err = await rejection(users.getById("broken"));
          expect(err.code, bad).toBe("INTERNAL");
          expect(String((err.cause as Error).message)).not.toContain("@");
        }
      });
    });

    describe("findByEmail: index and reader rules", () => {
      it("ignores an index entry whose user is missing or has another email", async () => {
        await kv.set(keys.userByEmail("ivy@example.com"), "missing-user");
        expect(await users.findByEmail("ivy@example.com")).toBeNull();
        const jon = await users.create({ email: "jon@example.com", password: HASH });
        await kv.set(keys.userByEmail("ivy@example.com"), jon.localId);
        expect(await users.findByEmail("ivy@example.com")).toBeNull();
        expect(await users.findByEmail("   ")).toBeNull();
      });

      it("falls back to the trimmed (pre-migration, mixed-case) key as Go Tikti stored it", async () => {
        await kv.hset(
          keys.users(),
          "go-kim",
          JSON.stringify({ localId: "go-kim", email: "Kim@Example.com", password: HASH, status: "ACTIVE" }),
        );
        await kv.set(keys.userByEmail("Kim@Example.com"), "go-kim");
        expect((await users.findByEmail("  Kim@Example.com\t"))?.localId).toBe("go-kim");
        // Only the request's own trimmed spelling is tried (docs/spec/storage.md §5 step 1).
        expect(await users.findByEmail("kim@example.com")).toBeNull();
        // The fallback entry obeys the reader rule too.
        await kv.set(keys.userByEmail("Lee@Example.com"), "go-kim");
        expect(await users.findByEmail("Lee@Example.com")).toBeNull();
      });

      it("prefers the normalised key over the trimmed one", async () => {
        const mia = await users.create({ email: "mia@example.com", password: HASH });
        await kv.set(keys.userByEmail("Mia@Example.com"), "someone-else");
        expect((await users.findByEmail("Mia@Example.com"))?.localId).toBe(mia.localId);
      });

      it("a corrupt record behind a valid index entry is INTERNAL, not 'absent'", async () => {
        await kv.set(keys.userByEmail("ned@example.com"), "ned");
        await kv.hset(keys.users(), "ned", "{broken");
        expect((await rejection(users.findByEmail("ned@example.com"))).code).toBe("INTERNAL");
      });
    });

    describe("findByEmail: legacy users hash", () => {
      it("finds a legacy record and copies it forward (HSETNX users_v2, SET NX index)", async () => {
        await kv.hset(
          keys.legacyUsers(),
          "Olga@Example.com",
          goLegacyUser("legacy-olga", "Olga@Example.com", { x: 1 }),
        );
        const olga = await users.findByEmail(" Olga@Example.com");
        expect(olga).toMatchObject({ localId: "legacy-olga", email: "Olga@Example.com", status: "ACTIVE" });
        const copied = await rawUser(kv, "legacy-olga");
        expect(copied).toMatchObject({
          localId: "legacy-olga",
          email: "Olga@Example.com",
          x: 1,
          tokenVersion: 0,
        });
        expect(copied).not.toHaveProperty("Id");
        expect(await kv.get(keys.userByEmail("olga@example.com"))).toBe("legacy-olga");
        // The legacy hash is not written by a lookup, and later lookups go through the index.
        expect(await kv.hget(keys.legacyUsers(), "Olga@Example.com")).not.toBeNull();
        expect((await users.findByEmail("olga@example.com"))?.localId).toBe("legacy-olga");
      });

      it("tries the normalised field before the trimmed one; empty id or password counts as absent", async () => {
        await kv.hset(keys.legacyUsers(), "pam@example.com", goLegacyUser("", "pam@example.com"));
        await kv.hset(keys.legacyUsers(), "Pam@Example.com", goLegacyUser("legacy-pam", "Pam@Example.com"));
        expect((await users.findByEmail("Pam@Example.com"))?.localId).toBe("legacy-pam");

        await kv.hset(
          keys.legacyUsers(),
          "quinn@example.com",
          goLegacyUser("legacy-quinn", "quinn@example.com", { password: "" }),
        );
        expect(await users.findByEmail("quinn@example.com")).toBeNull();
        expect(await kv.hget(keys.users(), "legacy-quinn")).toBeNull();

        // `localId` is accepted as well as `Id`.
        await kv.hset(
          keys.legacyUsers(),
          "rob@example.com",
          JSON.stringify({
            localId: "legacy-rob",
            email: "rob@example.com",
            password: HASH,
            status: "ACTIVE",
          }),
        );
        expect((await users.findByEmail("rob@example.com"))?.localId).toBe("legacy-rob");
      });

      it("copy-forward failures are logged (without the email) and ignored", async () => {
        await kv.hset(keys.legacyUsers(), "sue@example.com", goLegacyUser("legacy-sue", "sue@example.com"));
        const down = () => Promise.reject(new TiktiError("STORE_UNAVAILABLE"));
        const failingCopy = createUsersRepo(repoDeps(withOverrides(kv, { hsetnx: down }), clock, logger));
        expect((await failingCopy.findByEmail("sue@example.com"))?.localId).toBe("legacy-sue");
        expect(await kv.hget(keys.users(), "legacy-sue")).toBeNull();

        const failingClaim = createUsersRepo(repoDeps(withOverrides(kv, { set: down }), clock, logger));
        expect((await failingClaim.findByEmail("sue@example.com"))?.localId).toBe("legacy-sue");
        expect(await kv.hget(keys.users(), "legacy-sue")).not.toBeNull();
        expect(await kv.get(keys.userByEmail("sue@example.com"))).toBeNull();

        const warnings = logger.records.filter((r) => r.msg === "legacy user copy-forward failed");
        expect(warnings.map((r) => r.step)).toEqual(["users_v2", "userByEmail"]);
        expect(JSON.stringify(logger.records)).not.toContain("sue@example.com");
      });

      it("an already copied record wins over the legacy one; a moved or deleted user is not revived", async () => {
        await kv.hset(keys.legacyUsers(), "tom@example.com", goLegacyUser("legacy-tom", "tom@example.com"));
        const tom = (await users.findByEmail("tom@example.com"))!;
        await users.mutate(tom.localId, (u) => withTokenVersionBump({ ...u, password: "$argon2id$new" }));
        await kv.del(keys.userByEmail("tom@example.com")); // e.g. claim lost to a crash
        expect(await users.findByEmail("tom@example.com")).toMatchObject({
          password: "$argon2id$new",
          tokenVersion: 1,
        });

        await users.changeEmail(tom.localId, "thomas@example.com");
        expect(await users.findByEmail("tom@example.com")).toBeNull();
        expect(await kv.get(keys.userByEmail("tom@example.com"))).toBeNull();
        expect(await kv.hget(keys.legacyUsers(), "tom@example.com")).toBeNull();

        await users.delete(tom.localId);
        expect(await users.findByEmail("thomas@example.com")).toBeNull();
        expect(await users.findByEmail("tom@example.com")).toBeNull();
        expect(await kv.hget(keys.users(), tom.localId)).toBeNull();
      });

      it("a moved user's stale legacy entry is not revived by the fallback", async () => {
        // users_v2 already holds the user under a new email; the legacy entry was left behind.
        await kv.hset(keys.legacyUsers(), "uli@example.com", goLegacyUser("legacy-uli", "uli@example.com"));
        await kv.hset(
          keys.users(),
          "legacy-uli",
          JSON.stringify({
            localId: "legacy-uli",
            email: "uli.new@example.com",
            password: HASH,
            status: "ACTIVE",
          }),
        );
        expect(await users.findByEmail("uli@example.com")).toBeNull();
        expect(await kv.get(keys.userByEmail("uli@example.com"))).toBeNull();
      });

      it("a corrupt legacy record is INTERNAL", async () => {
        await kv.hset(keys.legacyUsers(), "uma@example.com", "{oops");
        const err = await rejection(users.findByEmail("uma@example.com"));
        expect(err.code).toBe("INTERNAL");
        expect((err.cause as Error).message).not.toContain("uma@");
      });
    });

    describe("mutate (CAS_HSET loop)", () => {
      it("keeps unknown fields (even __proto__) and drops a legacy Id on rewrite", async () => {
        const stored = {
          Id: "vic",
          email: "vic@example.com",
          password: HASH,
          role: "COMPANY_EMPLOYEE",
          status: "ACTIVE",
          createdAt: "2024-02-03T04:05:06Z",
          mfa: { totp: true, enrolledAt: "2024-01-01" },
          future: [1, "two"],
        };
        await kv.hset(
          keys.users(),
          "vic",
          `${JSON.stringify(stored).slice(0, -1)},"__proto__":{"polluted":true}}`,
        );
        const { before, after, changed } = await users.mutate("vic", (u) =>
          withTokenVersionBump({ ...u, status: "SUSPENDED" }),
        );
        expect(changed).toBe(true);
        expect(before.tokenVersion).toBe(0);
        expect(after).toMatchObject({ localId: "vic", status: "SUSPENDED", tokenVersion: 1 });
        const text = (await kv.hget(keys.users(), "vic"))!;
        const raw = JSON.parse(text) as Record<string, unknown>;
        expect(raw).toMatchObject({ localId: "vic", status: "SUSPENDED", tokenVersion: 1 });
        expect(raw.mfa).toEqual(stored.mfa);
        expect(raw.future).toEqual(stored.future);
        expect(text).toContain('"__proto__":{"polluted":true}');
        expect(raw).not.toHaveProperty("Id");
        expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      });

      it("clearing companyId removes it from the stored JSON", async () => {
        const u = await users.create({ email: "wes@example.com", password: HASH, companyId: "acme" });
        expect(await rawUser(kv, u.localId)).toHaveProperty("companyId", "acme");
        await users.mutate(u.localId, (x) => ({ ...x, companyId: undefined }));
        expect(await rawUser(kv, u.localId)).not.toHaveProperty("companyId");
      });

      it("null means no write; missing user is USER_NOT_FOUND; a decrease of tokenVersion is refused", async () => {
        const u = await users.create({ email: "xena@example.com", password: HASH });
        const before = await kv.hget(keys.users(), u.localId);
        expect((await users.mutate(u.localId, () => null)).changed).toBe(false);
        expect(await kv.hget(keys.users(), u.localId)).toBe(before);
        expect((await rejection(users.mutate("nobody", (x) => x))).code).toBe("USER_NOT_FOUND");
        await users.mutate(u.localId, withTokenVersionBump);
        expect((await rejection(users.mutate(u.localId, (x) => ({ ...x, tokenVersion: 0 })))).code).toBe(
          "INTERNAL",
        );
        expect((await users.getById(u.localId))?.tokenVersion).toBe(1);
      });

      it("gives up after 5 lost races with CONCURRENT_UPDATE", async () => {
        const u = await users.create({ email: "yan@example.com", password: HASH });
        let casCalls = 0;
        const losing = withOverrides(kv, {
          casHset: async () => {
            casCalls++;
            return false;
          },
        });
        let updateCalls = 0;
        const repo = createUsersRepo(repoDeps(losing));
        const err = await rejection(
          repo.mutate(u.localId, (x) => {
            updateCalls++;
            return withTokenVersionBump(x);
          }),
        );
        expect(err.code).toBe("CONCURRENT_UPDATE");
        expect(err.status).toBe(409);
        expect([casCalls, updateCalls]).toEqual([MAX_CAS_ATTEMPTS, MAX_CAS_ATTEMPTS]);
        expect(MAX_CAS_ATTEMPTS).toBe(5);
      });

      it("20 parallel bumps: the version grows by exactly the number of successes; losers tried 5 times", async () => {
        const u = await users.create({ email: "zed@example.com", password: HASH });
        const calls = new Array<number>(20).fill(0);
        const results = await Promise.allSettled(
          calls.map((_, i) =>
            users.mutate(u.localId, async (x) => {
              calls[i]!++;
              await new Promise((r) => setImmediate(r)); // let the others read in between
              return withTokenVersionBump(x);
            }),
          ),
        );
        const wins = results.filter((r) => r.status === "fulfilled").length;
        expect(wins).toBeGreaterThanOrEqual(1);
        expect((await users.getById(u.localId))?.tokenVersion).toBe(wins);
        results.forEach((r, i) => {
          if (r.status === "rejected") {
            expect((r.reason as TiktiError).code).toBe("CONCURRENT_UPDATE");
            expect(calls[i]).toBe(5);
          } else {
            expect(calls[i]).toBeLessThanOrEqual(5);
          }
        });
      });

      it("20 parallel bumps in lock-step rounds: one winner per round, 15 losers after exactly 5 tries", async () => {
        const u = await users.create({ email: "lock@example.com", password: HASH });
        const n = 20;
        const calls = new Array<number>(n).fill(0);
        // Round k opens once every caller of round k-1 has either won or come back for round k,
        // so all of a round's reads happen before any of its writes.
        const entered = new Map<number, number>();
        const won = new Map<number, number>();
        const participants = new Map<number, number>([[0, n]]);
        const gates = new Map<number, { open: () => void; opened: Promise<void> }>();
        const gate = (k: number) => {
          let g = gates.get(k);
          if (!g) {
            let open = () => {};
            const opened = new Promise<void>((r) => {
              open = r;
            });
            g = { open, opened };
            gates.set(k, g);
          }
          return g;
        };
        const maybeOpen = (k: number) => {
          const arrived = entered.get(k) ?? 0;
          if (arrived > 0 && arrived + (won.get(k - 1) ?? 0) === participants.get(k - 1)) {
            participants.set(k, arrived);
            gate(k).open();
          }
        };
        const results = await Promise.allSettled(
          calls.map(async (_, i) => {
            const change = await users.mutate(u.localId, async (x) => {
              const k = ++calls[i]!;
              entered.set(k, (entered.get(k) ?? 0) + 1);
              maybeOpen(k);
              await gate(k).opened;
              return withTokenVersionBump(x);
            });
            const k = calls[i]!;
            won.set(k, (won.get(k) ?? 0) + 1);
            maybeOpen(k + 1);
            return change;
          }),
        );
        const winners = results.flatMap((r, i) => (r.status === "fulfilled" ? [calls[i]] : []));
        expect(winners.sort()).toEqual([1, 2, 3, 4, 5]);
        const losers = results.flatMap((r, i) =>
          r.status === "rejected" ? [[r.reason as TiktiError, calls[i]]] : [],
        );
        expect(losers).toHaveLength(15);
        for (const [err, tries] of losers) {
          expect((err as TiktiError).code).toBe("CONCURRENT_UPDATE");
          expect(tries).toBe(5);
        }
        expect((await users.getById(u.localId))?.tokenVersion).toBe(5);
      });
    });

    describe("changeEmail (docs/spec/storage.md §4.3)", () => {
      it("claims the new email, bumps in the same write as the change, releases the old entries", async () => {
        // A Go-era user reachable through a mixed-case key as well.
        await kv.hset(
          keys.users(),
          "amy",
          JSON.stringify({
            localId: "amy",
            email: "Amy@Example.com",
            password: HASH,
            status: "ACTIVE",
            tokenVersion: 2,
          }),
        );
        await kv.set(keys.userByEmail("Amy@Example.com"), "amy");
        await kv.set(keys.userByEmail("amy@example.com"), "amy");
        const change = await users.changeEmail("amy", " New.Amy@Example.com ", (u) => ({
          ...u,
          password: "$argon2id$x",
        }));
        expect(change.after).toMatchObject({
          email: "new.amy@example.com",
          password: "$argon2id$x",
          tokenVersion: 3,
        });
        expect(await kv.get(keys.userByEmail("new.amy@example.com"))).toBe("amy");
        expect(await kv.get(keys.userByEmail("amy@example.com"))).toBeNull();
        expect(await kv.get(keys.userByEmail("Amy@Example.com"))).toBeNull();
        expect((await users.findByEmail("NEW.amy@example.com"))?.localId).toBe("amy");
      });

      it("a taken email is EMAIL_EXISTS and nothing changes", async () => {
        const ben = await users.create({ email: "ben@example.com", password: HASH });
        const cat = await users.create({ email: "cat@example.com", password: HASH });
        expect((await rejection(users.changeEmail(ben.localId, "CAT@example.com"))).code).toBe(
          "EMAIL_EXISTS",
        );
        expect(await kv.get(keys.userByEmail("cat@example.com"))).toBe(cat.localId);
        expect(await users.getById(ben.localId)).toMatchObject({ email: "ben@example.com", tokenVersion: 0 });
        expect((await rejection(users.changeEmail("nobody", "x@example.com"))).code).toBe("USER_NOT_FOUND");
      });

      it("same mailbox in another case: no index move, still one bumped write", async () => {
        const dan = await users.create({ email: "dan@example.com", password: HASH });
        const change = await users.changeEmail(dan.localId, "DAN@example.com");
        expect(change.after).toMatchObject({ email: "dan@example.com", tokenVersion: 1 });
        expect(await kv.get(keys.userByEmail("dan@example.com"))).toBe(dan.localId);
      });

      it("a lost CAS releases the new claim (CAS_DEL) and keeps the old email", async () => {
        const eva = await users.create({ email: "eva@example.com", password: HASH });
        const repo = createUsersRepo(repoDeps(withOverrides(kv, { casHset: async () => false })));
        expect((await rejection(repo.changeEmail(eva.localId, "eva2@example.com"))).code).toBe(
          "CONCURRENT_UPDATE",
        );
        expect(await kv.exists(keys.userByEmail("eva2@example.com"))).toBe(false);
        expect((await users.findByEmail("eva@example.com"))?.localId).toBe(eva.localId);
        expect((await users.getById(eva.localId))?.tokenVersion).toBe(0);
      });

      it("crash after step 1: readers ignore the claim; the same user's retry reuses it", async () => {
        const fay = await users.create({ email: "fay@example.com", password: HASH });
        await kv.set(keys.userByEmail("fay.new@example.com"), fay.localId, { nx: true }); // step 1 only
        expect(await users.findByEmail("fay.new@example.com")).toBeNull();
        expect((await users.findByEmail("fay@example.com"))?.localId).toBe(fay.localId);
        await users.changeEmail(fay.localId, "fay.new@example.com");
        expect((await users.findByEmail("fay.new@example.com"))?.localId).toBe(fay.localId);
        expect(await users.findByEmail("fay@example.com")).toBeNull();
      });

      it("crash after step 2: the old entry is left over and ignored", async () => {
        const gus = await users.create({ email: "gus@example.com", password: HASH });
        await kv.set(keys.userByEmail("gus.new@example.com"), gus.localId, { nx: true });
        await users.mutate(gus.localId, (u) => withTokenVersionBump({ ...u, email: "gus.new@example.com" }));
        expect(await kv.get(keys.userByEmail("gus@example.com"))).toBe(gus.localId);
        expect(await users.findByEmail("gus@example.com")).toBeNull();
        expect((await users.findByEmail("gus.new@example.com"))?.localId).toBe(gus.localId);
      });
    });

    describe("delete (docs/spec/storage.md §4.3)", () => {
      it("removes the record, its index entries, every membership and the reverse set", async () => {
        const memberships = createMembershipsRepo(repoDeps(kv, clock), users);
        const hue = await users.create({ email: "hue@example.com", password: HASH });
        await kv.set(keys.userByEmail("Hue@Example.com"), hue.localId); // pre-migration spelling
        await memberships.put("t1", hue.localId, ["a"]);
        await memberships.put("t2", hue.localId, ["b"]);
        const keep = await users.create({ email: "keep@example.com", password: HASH });
        await memberships.put("t1", keep.localId, ["a"]);

        expect((await users.delete(hue.localId))?.localId).toBe(hue.localId);
        expect(await users.getById(hue.localId)).toBeNull();
        expect(await kv.exists(keys.userByEmail("hue@example.com"))).toBe(false);
        expect(await kv.exists(keys.userByEmail("Hue@Example.com"))).toBe(true); // not normalised-equal
        expect(await kv.hget(keys.memberships("t1"), hue.localId)).toBeNull();
        expect(await kv.hget(keys.memberships("t2"), hue.localId)).toBeNull();
        expect(await kv.exists(keys.membershipsByUser(hue.localId))).toBe(false);
        expect(await kv.hget(keys.memberships("t1"), keep.localId)).not.toBeNull();
        expect(await users.delete(hue.localId)).toBeNull();
        // The email is free again.
        await users.create({ email: "hue@example.com", password: HASH });
      });

      it("CAS_DEL never removes an index entry that now belongs to someone else", async () => {
        const ida = await users.create({ email: "ida@example.com", password: HASH });
        await kv.set(keys.userByEmail("ida@example.com"), "someone-else");
        await users.delete(ida.localId);
        expect(await kv.get(keys.userByEmail("ida@example.com"))).toBe("someone-else");
      });

      it("crash after step 1: every leftover is ignored by the readers", async () => {
        const memberships = createMembershipsRepo(repoDeps(kv, clock), users);
        const jay = await users.create({ email: "jay@example.com", password: HASH });
        await memberships.put("t1", jay.localId, ["a"]);
        await kv.hdel(keys.users(), jay.localId); // step 1 only
        expect(await users.findByEmail("jay@example.com")).toBeNull();
        expect(await memberships.tenantsOfUser(jay.localId)).toEqual([]);
        expect((await memberships.listForTenant("t1")).items).toEqual([]);
      });
    });
  });
}
