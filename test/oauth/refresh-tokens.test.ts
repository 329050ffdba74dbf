/**
 * Refresh-token rules (docs/spec/oauth.md §6) on the service built by createServices, against the
 * embedded store and a real redis-server: storage by digest, rotation, exactly one winner of
 * concurrent uses, reuse → family revoked, revocation by token version, the family's absolute
 * lifetime, sign-out, the disabled switch.
 */
import { beforeEach, expect, it } from "vitest";
import type { User } from "../../src/domain/types.ts";
import { isTiktiError, type TiktiError } from "../../src/errors.ts";
import type { RefreshResult, RefreshTokenService } from "../../src/services/oauth/refresh-tokens.ts";
import { keys } from "../../src/store/keys.ts";
import type { KV } from "../../src/store/kv.ts";
import { refreshTokenDigest } from "../../src/store/repos/refresh-tokens.ts";
import { withTokenVersionBump } from "../../src/store/repos/users.ts";
import { ACCOUNT_DEFAULTS, verifiedClaims } from "../http/accounts-support.ts";
import { buildTestApp, forEachEngine, manualClock, type TestApp } from "../support/app.ts";
import { describeWithoutEngine } from "../support/engines.ts";

const TOKEN = /^rt_[A-Za-z0-9_-]{43}$/;
const ctx = { clientIp: "192.0.2.10" };
const DAY = 86_400_000;

async function refusal(p: Promise<unknown>): Promise<TiktiError> {
  try {
    await p;
  } catch (e) {
    if (isTiktiError(e)) return e;
    throw e;
  }
  throw new Error("expected a refusal");
}

async function expectRefused(p: Promise<unknown>): Promise<void> {
  const e = await refusal(p);
  expect([e.status, e.code, e.message]).toEqual([400, "INVALID_REFRESH_TOKEN", "invalid refresh token"]);
}

async function refreshKeys(kv: KV): Promise<string[]> {
  const out: string[] = [];
  for await (const batch of kv.scan("refresh:")) out.push(...batch);
  return out.sort();
}

async function storedRecord(kv: KV, token: string): Promise<Record<string, unknown> | null> {
  const text = await kv.get(keys.refreshToken(await refreshTokenDigest(token)));
  return text === null ? null : (JSON.parse(text) as Record<string, unknown>);
}

forEachEngine("refresh tokens (service)", (engine) => {
  let t: TestApp;
  let clock: ReturnType<typeof manualClock>;
  let service: RefreshTokenService;
  let alice: User;

  async function build(config: Record<string, unknown> = {}, store?: KV): Promise<TestApp> {
    return buildTestApp({
      store: store ?? (await engine.freshStore()),
      clock,
      config: { ...ACCOUNT_DEFAULTS, ...config },
    });
  }

  const refresh = (token: string): Promise<RefreshResult> =>
    service.refresh({ grantType: "refresh_token", refreshToken: token }, ctx);

  beforeEach(async () => {
    clock = manualClock(Date.now());
    t = await build();
    service = t.app.services.refreshTokens;
    await t.app.services.repos.tenants.create({ id: "acme", slug: "acme", name: "Acme" });
    alice = await t.app.services.repos.users.create({
      email: "alice@example.com",
      password: "$2b$10$abcdefghijklmnopqrstuuJ9bZqZ0kq0lZ2Yf0rN6m0Jc7iJm3y6G",
      role: "COMPANY_ADMIN",
      companyId: "acme",
    });
  });

  it("a family's token is rt_ + 43 chars, stored only under its SHA-256 with the documented record", async () => {
    const token = (await service.startFamily(alice, { amr: "pwd", tid: "acme" }))!;
    expect(token).toMatch(TOKEN);
    const digest = await refreshTokenDigest(token);
    expect(digest).toMatch(/^[0-9a-f]{64}$/);
    expect(await refreshKeys(t.store)).toEqual([`refresh:${digest}`]);
    const text = (await t.store.get(`refresh:${digest}`))!;
    expect(text).not.toContain(token.slice(3));
    const record = JSON.parse(text);
    expect(Object.keys(record).sort()).toEqual(
      ["amr", "createdAt", "familyExpiresAt", "familyId", "state", "tid", "userId", "ver"].sort(),
    );
    expect(record).toMatchObject({ userId: alice.localId, tid: "acme", amr: ["pwd"], ver: 0, state: "live" });
    expect(Date.parse(record.familyExpiresAt)).toBe(clock.now() + 90 * DAY);
    expect(Date.parse(record.createdAt)).toBe(clock.now());
    // Sliding lifetime: tokens.refresh.ttlSeconds (30 days by default).
    const pttl = await t.store.pttl(`refresh:${digest}`);
    expect(pttl).toBeGreaterThan(30 * DAY - 60_000);
    expect(pttl).toBeLessThanOrEqual(30 * DAY);
  });

  it("rotation: a new idToken with the first token's amr and tid, a successor, the old token spent", async () => {
    const first = (await service.startFamily(alice, { amr: "oob", tid: "acme" }))!;
    // The home tenant changes later; the session keeps the tid it started with.
    await t.app.services.repos.users.mutate(alice.localId, (u) => ({ ...u, companyId: "other" }));
    const out = await refresh(first);
    expect(Object.keys(out).sort()).toEqual(["expiresIn", "idToken", "localId", "refreshToken"]);
    expect(out.localId).toBe(alice.localId);
    expect(out.expiresIn).toBe(3600);
    expect(out.refreshToken).toMatch(TOKEN);
    expect(out.refreshToken).not.toBe(first);
    await verifiedClaims(out.idToken, {
      sub: alice.localId,
      email: "alice@example.com",
      role: "COMPANY_ADMIN",
      tid: "acme",
      amr: "oob",
      ver: 0,
    });
    const before = (await storedRecord(t.store, first))!;
    const after = (await storedRecord(t.store, out.refreshToken))!;
    expect(before.state).toBe("used");
    expect(after).toMatchObject({ state: "live", familyId: before.familyId, amr: ["oob"], tid: "acme" });
    expect(after.familyExpiresAt).toBe(before.familyExpiresAt);
    // The successor works in turn.
    const third = await refresh(out.refreshToken);
    expect(third.refreshToken).toMatch(TOKEN);
  });

  it("reuse of a spent token revokes the family: the successor is dead too", async () => {
    const first = (await service.startFamily(alice, { amr: "pwd" }))!;
    const { refreshToken: second } = await refresh(first);
    await expectRefused(refresh(first));
    const familyId = (await storedRecord(t.store, first))!.familyId as string;
    expect(await t.store.get(keys.refreshFamily(familyId))).toBe("revoked");
    const familyTtl = await t.store.pttl(keys.refreshFamily(familyId));
    expect(familyTtl).toBeGreaterThan(90 * DAY - 60_000);
    expect(familyTtl).toBeLessThanOrEqual(90 * DAY);
    await expectRefused(refresh(second));
    // Another family of the same user is untouched.
    const other = (await service.startFamily(alice, { amr: "pwd" }))!;
    expect((await refresh(other)).refreshToken).toMatch(TOKEN);
  });

  it("N concurrent uses of one live token: exactly one succeeds, and the race counts as reuse", async () => {
    const token = (await service.startFamily(alice, { amr: "pwd" }))!;
    const results = await Promise.allSettled(Array.from({ length: 12 }, () => refresh(token)));
    const won = results.filter((r): r is PromiseFulfilledResult<RefreshResult> => r.status === "fulfilled");
    const lost = results.filter((r) => r.status === "rejected");
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(11);
    for (const r of lost) expect((r as PromiseRejectedResult).reason.code).toBe("INVALID_REFRESH_TOKEN");
    // Two holders of one token is what theft looks like: the winner's successor is dead as well.
    await expectRefused(refresh(won[0]!.value.refreshToken));
    const count = (result: string) => t.deps.metrics.refreshTokens.get({ result });
    expect([count("success"), count("reuse"), count("refused")]).toEqual([1, 11, 1]);
    // Exactly one successor was ever written (the spent token and the winner's).
    expect(await refreshKeys(t.store)).toHaveLength(2);
  });

  it("markUsed is a compare-and-set: of callers holding the same read, exactly one wins", async () => {
    const token = (await service.startFamily(alice, { amr: "pwd" }))!;
    const repo = t.app.services.repos.refreshTokens;
    const reads = await Promise.all(Array.from({ length: 8 }, () => repo.get(token)));
    for (const r of reads) expect(r?.record.state).toBe("live");
    const wins = await Promise.all(reads.map((r) => repo.markUsed(token, r!)));
    expect(wins.filter(Boolean)).toHaveLength(1);
    const spent = (await repo.get(token))!;
    expect(spent.record.state).toBe("used");
    // The used record keeps the token's remaining lifetime: a late replay is still recognised.
    expect(spent.ttlMs).toBeGreaterThan(30 * DAY - 60_000);
  });

  it("a token version bump (revocation, password change) ends every family of the user", async () => {
    const token = (await service.startFamily(alice, { amr: "pwd" }))!;
    await t.app.services.repos.users.mutate(alice.localId, (u) => withTokenVersionBump(u));
    await expectRefused(refresh(token));
    // Refused before the commit point: the record is not spent, it is simply useless.
    expect((await storedRecord(t.store, token))!.state).toBe("live");
    // A family started after the bump carries the new version and works.
    const current = (await t.app.services.repos.users.getById(alice.localId))!;
    const fresh = (await service.startFamily(current, { amr: "pwd", tid: current.companyId }))!;
    const out = await refresh(fresh);
    expect((await verifiedClaims(out.idToken, { ...claimsOf(current), ver: 1 })).ver).toBe(1);
  });

  it("a user no longer ACTIVE, deleted, or taken over by SAML gets no new idToken", async () => {
    const suspended = (await service.startFamily(alice, { amr: "pwd" }))!;
    await t.app.services.repos.users.mutate(alice.localId, (u) => ({ ...u, status: "SUSPENDED" }));
    await expectRefused(refresh(suspended));
    await t.app.services.repos.users.mutate(alice.localId, (u) => ({ ...u, status: "ACTIVE" }));
    // Back to ACTIVE without a version bump here: the token works again (the status route bumps).
    expect((await refresh(suspended)).localId).toBe(alice.localId);

    const federated = (await service.startFamily(alice, { amr: "pwd" }))!;
    await t.app.services.repos.users.mutate(alice.localId, (u) => ({ ...u, authSource: "saml" }));
    await expectRefused(refresh(federated));
    await t.app.services.repos.users.mutate(alice.localId, (u) => ({ ...u, authSource: "password" }));

    const orphan = (await service.startFamily(alice, { amr: "pwd" }))!;
    await t.app.services.repos.users.delete(alice.localId);
    await expectRefused(refresh(orphan));
  });

  it("the family's absolute lifetime caps every successor and then ends the family", async () => {
    t = await build({ tokens: { refresh: { ttlSeconds: 3600, maxLifetimeSeconds: 7200 } } });
    service = t.app.services.refreshTokens;
    const user = await t.app.services.repos.users.create({ email: "bob@example.com", password: "x" });
    let token = (await service.startFamily(user, { amr: "pwd" }))!;
    const ttlOf = async (tok: string) => t.store.pttl(keys.refreshToken(await refreshTokenDigest(tok)));
    expect(await ttlOf(token)).toBeGreaterThan(3_500_000);

    clock.advance(3000_000);
    token = (await refresh(token)).refreshToken;
    // Sliding: a full ttlSeconds again (the family still has 4200 s).
    expect(await ttlOf(token)).toBeGreaterThan(3_500_000);

    clock.advance(3000_000);
    token = (await refresh(token)).refreshToken;
    // 1200 s of family left: the successor lives no longer than that.
    const capped = await ttlOf(token);
    expect(capped).toBeLessThanOrEqual(1_200_000);
    expect(capped).toBeGreaterThan(1_100_000);

    clock.advance(1_201_000);
    await expectRefused(refresh(token));
  });

  it("a record that is not a password or code session (e.g. amr saml) never yields an idToken", async () => {
    const token = `rt_${"S".repeat(43)}`;
    await t.app.services.repos.refreshTokens.create(
      token,
      {
        userId: alice.localId,
        familyId: "f-saml",
        amr: ["saml"],
        ver: 0,
        createdAt: new Date(clock.now()).toISOString(),
        familyExpiresAt: new Date(clock.now() + DAY).toISOString(),
        state: "live",
      },
      DAY,
    );
    await expectRefused(refresh(token));
    expect((await storedRecord(t.store, token))!.state).toBe("live");
  });

  it("malformed, unknown and foreign strings are refused and write nothing", async () => {
    for (const bad of [
      "",
      "rt_",
      "rt_short",
      `xx_${"A".repeat(43)}`,
      `rt_${"A".repeat(42)}!`,
      `rt_${"A".repeat(44)}`,
    ]) {
      await expectRefused(refresh(bad));
    }
    await expectRefused(refresh(`rt_${"A".repeat(43)}`));
    expect(await refreshKeys(t.store)).toEqual([]);
  });

  it("a grantType other than refresh_token is INVALID_ARGUMENT", async () => {
    const token = (await service.startFamily(alice, { amr: "pwd" }))!;
    const e = await refusal(service.refresh({ grantType: "password", refreshToken: token }, ctx));
    expect([e.status, e.code, e.details]).toEqual([
      400,
      "INVALID_ARGUMENT",
      { grantType: "must be refresh_token" },
    ]);
    expect((await storedRecord(t.store, token))!.state).toBe("live");
  });

  it("signOut ends the whole family; unknown and malformed tokens are no error", async () => {
    const first = (await service.startFamily(alice, { amr: "pwd" }))!;
    const { refreshToken: second } = await refresh(first);
    // Signing out with the spent token still ends the session it belonged to.
    await service.signOut(first, ctx);
    await expectRefused(refresh(second));
    await service.signOut(`rt_${"B".repeat(43)}`, ctx);
    await service.signOut("nonsense", ctx);
    const other = (await service.startFamily(alice, { amr: "pwd" }))!;
    await service.signOut(other, ctx);
    await expectRefused(refresh(other));
  });

  it("tokens.refresh.enabled false: no token at sign-in, and live tokens are refused", async () => {
    const token = (await service.startFamily(alice, { amr: "pwd" }))!;
    const off = await build({ tokens: { refresh: { enabled: false } } }, t.store);
    expect(await off.app.services.refreshTokens.startFamily(alice, { amr: "pwd" })).toBeUndefined();
    await expectRefused(
      off.app.services.refreshTokens.refresh({ grantType: "refresh_token", refreshToken: token }, ctx),
    );
    expect((await storedRecord(t.store, token))!.state).toBe("live");
  });
});

function claimsOf(user: User) {
  return { sub: user.localId, email: user.email, role: user.role, tid: user.companyId, amr: "pwd" };
}

describeWithoutEngine("refresh token format", () => {
  it("digests are SHA-256 hex of the UTF-8 token (FIPS 180-2 'abc' vector)", async () => {
    expect(await refreshTokenDigest("abc")).toBe(
      "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
    );
  });
});
