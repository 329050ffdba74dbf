/**
 * The SAML repositories against both engines (docs/spec/storage.md §3, §4.3): key names byte for byte,
 * the atomic writes (one winner under concurrency) and the decoders.
 */
import { beforeEach, describe, expect, it } from "vitest";
import { sha256Hex } from "../../src/bytes.ts";
import { keys } from "../../src/store/keys.ts";
import type { KV } from "../../src/store/kv.ts";
import { createRepos, type SamlRepos } from "../../src/store/repos/index.ts";
import { createDomainRepo } from "../../src/store/repos/saml-domains.ts";
import type { IdpRecord } from "../../src/store/repos/saml-idps.ts";
import { REFRESH_LOCK_TTL_MS } from "../../src/store/repos/saml-refresh-locks.ts";
import type { AuthnRequestRecord, LogoutRequestRecord } from "../../src/store/repos/saml-requests.ts";
import { decodeSamlSession, type SamlSession } from "../../src/store/repos/saml-sessions.ts";
import type { RotationRecord } from "../../src/store/repos/saml-sp-rotation.ts";
import { manualClock, rejection, repoDeps, storeEngines, withOverrides } from "./support.ts";

const engines = storeEngines();

const REQ_ID = `_${"a".repeat(40)}`;
const SID = "0123456789abcdef0123456789abcdef";
const NOW = Date.parse("2025-01-01T10:00:00Z");

function authn(id = REQ_ID): AuthnRequestRecord {
  return {
    kind: "authn",
    id,
    tenantId: "acme",
    relayState: "rs",
    returnTo: "/app",
    acsUrl: "https://sp.example/saml/acs/acme",
    issueInstant: "2025-01-01T10:00:00Z",
    forceAuthn: false,
  };
}

function session(over: Partial<SamlSession> = {}): SamlSession {
  return {
    sid: SID,
    tenantId: "acme",
    userId: "u1",
    nameId: "alice@idp",
    nameIdFormat: "",
    sessionIndex: "s1",
    createdAt: "2025-01-01T10:00:00Z",
    expiresAt: "2025-01-01T18:00:00Z",
    ...over,
  };
}

function idpRecord(tenantId: string, entityId = "https://idp.example/metadata"): IdpRecord {
  return {
    schemaVersion: 1,
    tenantId,
    entityId,
    ssoUrl: "https://idp.example/sso",
    sloUrl: "",
    sloBinding: "",
    sloResponseUrl: "",
    signingCerts: [],
    encryptionCerts: [],
    nameIdFormat: "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
    attributeMap: { email: ["mail"], name: [], roles: [] },
    roleMap: {},
    allowUnsolicited: false,
    forceAuthn: false,
    requireEncryptedAssertion: false,
    metadataUrl: "",
    metadataSha256: "",
    lastFetched: "",
    lastRefreshError: "",
    refreshFailures: 0,
    generation: "g1",
    createdAt: "",
    updatedAt: "",
  };
}

for (const engine of engines) {
  describe(`SAML repositories [${engine.name}]`, () => {
    let kv: KV;
    let saml: SamlRepos;

    beforeEach(async () => {
      await engine.wipe();
      kv = engine.kv;
      saml = createRepos({ ...repoDeps(kv, manualClock(NOW)), oobCodeTtlSeconds: 900 }).saml;
    });

    describe("requests (saml:req:{id})", () => {
      it("put: SET NX with the TTL; consumed exactly once, as the kind stored", async () => {
        await saml.requests.put(authn(), 300);
        expect(JSON.parse((await kv.get(`saml:req:${REQ_ID}`)) as string)).toEqual(authn());
        const pttl = await kv.pttl(keys.samlRequest(REQ_ID));
        expect(pttl).toBeGreaterThan(290_000);
        expect(pttl).toBeLessThanOrEqual(300_000);
        expect(await saml.requests.consume(REQ_ID, "authn")).toEqual(authn());
        expect(await saml.requests.consume(REQ_ID, "authn")).toBeNull();
      });

      it("an id collision is INTERNAL and keeps the first record", async () => {
        await saml.requests.put(authn(), 300);
        const e = await rejection(saml.requests.put({ ...authn(), tenantId: "other" }, 300));
        expect(e.code).toBe("INTERNAL");
        expect(JSON.parse((await kv.get(keys.samlRequest(REQ_ID))) as string).tenantId).toBe("acme");
      });

      it("another kind, an unreadable value or a record of another id → null, and the record is gone", async () => {
        const logout: LogoutRequestRecord = {
          kind: "logout",
          id: REQ_ID,
          tenantId: "acme",
          sid: SID,
          nameId: "n",
          sessionIndex: null,
          returnTo: "/",
          issueInstant: "2025-01-01T10:00:00Z",
        };
        await saml.requests.put(logout, 300);
        expect(await saml.requests.consume(REQ_ID, "authn")).toBeNull();
        expect(await kv.get(keys.samlRequest(REQ_ID))).toBeNull();
        for (const raw of ["not json", "null", JSON.stringify({ ...authn(), id: `_${"b".repeat(40)}` })]) {
          await kv.set(keys.samlRequest(REQ_ID), raw);
          expect(await saml.requests.consume(REQ_ID, "authn")).toBeNull();
          expect(await kv.get(keys.samlRequest(REQ_ID))).toBeNull();
        }
      });

      it("a malformed id is never looked up", async () => {
        const calls: string[] = [];
        const counted = withOverrides(kv, {
          consume: async (key: string) => {
            calls.push(key);
            return kv.consume(key);
          },
        });
        const repo = createRepos({ ...repoDeps(counted), oobCodeTtlSeconds: 900 }).saml.requests;
        for (const id of ["", "_ABC", `${REQ_ID}x`, `_${"a".repeat(39)}`, "*"]) {
          expect(await repo.consume(id, "authn")).toBeNull();
        }
        expect(calls).toEqual([]);
        await repo.put(authn(), 300);
        expect(await repo.consume(REQ_ID, "authn")).toEqual(authn());
        expect(calls).toEqual([keys.samlRequest(REQ_ID)]);
      });

      it("concurrent consumers: exactly one gets the record", async () => {
        await saml.requests.put(authn(), 300);
        const got = await Promise.all(
          Array.from({ length: 8 }, () => saml.requests.consume(REQ_ID, "authn")),
        );
        expect(got.filter((r) => r !== null)).toHaveLength(1);
      });
    });

    describe("sessions (saml:sid:{sid}, saml:idx:{nameId})", () => {
      it("start: the record with a TTL to its end, and the index field {tid}:{sid}", async () => {
        await saml.sessions.start(session(), NOW);
        expect(JSON.parse((await kv.get(`saml:sid:${SID}`)) as string)).toEqual(session());
        const pttl = await kv.pttl(keys.samlSession(SID));
        expect(pttl).toBeGreaterThan(8 * 3_600_000 - 10_000);
        expect(pttl).toBeLessThanOrEqual(8 * 3_600_000);
        const idx = await kv.hgetall("saml:idx:alice@idp");
        expect([...idx.keys()]).toEqual([`acme:${SID}`]);
        expect(JSON.parse(idx.get(`acme:${SID}`) as string)).toEqual({
          userId: "u1",
          sessionIndex: "s1",
          expiresAt: "2025-01-01T18:00:00Z",
        });
        expect(await kv.pttl(keys.samlSessionIndex("alice@idp"))).toBeGreaterThan(8 * 3_600_000 - 10_000);
      });

      it("a session already past its end still lives 1 s (the index is never written without a TTL)", async () => {
        await saml.sessions.start(session({ expiresAt: "2025-01-01T09:00:00Z" }), NOW);
        const pttl = await kv.pttl(keys.samlSession(SID));
        expect(pttl).toBeGreaterThan(0);
        expect(pttl).toBeLessThanOrEqual(1000);
      });

      it("get: the one decoder; end: both keys, true only when the session existed", async () => {
        await saml.sessions.start(session(), NOW);
        expect(await saml.sessions.get(SID)).toEqual(session());
        expect(await saml.sessions.end(session())).toBe(true);
        expect(await saml.sessions.get(SID)).toBeNull();
        expect(await kv.exists(keys.samlSessionIndex("alice@idp"))).toBe(false);
        expect(await saml.sessions.end(session())).toBe(false);
      });

      it("indexEntries: every readable field; foreign sids and unreadable values are skipped", async () => {
        const other = "fedcba9876543210fedcba9876543210";
        await saml.sessions.start(session(), NOW);
        await saml.sessions.start(session({ sid: other, tenantId: "globex", sessionIndex: "" }), NOW);
        const key = keys.samlSessionIndex("alice@idp");
        await kv.hset(key, "acme:not-a-sid", JSON.stringify({ userId: "x" }));
        await kv.hset(key, "nocolon", "{}");
        await kv.hset(key, `acme:${"c".repeat(32)}`, "not json");
        await kv.hset(key, `acme:${"d".repeat(32)}`, "{}");
        const entries = await saml.sessions.indexEntries("alice@idp");
        expect(entries.sort((a, b) => a.sid.localeCompare(b.sid))).toEqual([
          {
            tenantId: "acme",
            sid: SID,
            userId: "u1",
            sessionIndex: "s1",
            expiresAt: Date.parse("2025-01-01T18:00:00Z"),
          },
          { tenantId: "acme", sid: "d".repeat(32), userId: "", sessionIndex: "", expiresAt: Number.NaN },
          {
            tenantId: "globex",
            sid: other,
            userId: "u1",
            sessionIndex: "",
            expiresAt: Date.parse("2025-01-01T18:00:00Z"),
          },
        ]);
      });
    });

    describe("IdP records (saml:idp:{tid}, saml:entity:{sha256})", () => {
      it("create is SET NX (IDP_EXISTS, even over a corrupt value) and indexes the entity id", async () => {
        await saml.idps.create(idpRecord("acme"));
        expect(JSON.parse((await kv.get("saml:idp:acme")) as string)).toEqual(idpRecord("acme"));
        const indexKey = `saml:entity:${await sha256Hex("https://idp.example/metadata")}`;
        expect(await kv.smembers(indexKey)).toEqual(["acme"]);
        expect((await rejection(saml.idps.create(idpRecord("acme")))).code).toBe("IDP_EXISTS");
        await kv.set(keys.samlIdp("beta"), "\x82\xa3msgpack");
        expect((await rejection(saml.idps.create(idpRecord("beta")))).code).toBe("IDP_EXISTS");
      });

      it("read tells absent, corrupt and ok apart; get answers INTERNAL on a corrupt value", async () => {
        expect(await saml.idps.read("acme")).toEqual({ kind: "absent" });
        await kv.set(keys.samlIdp("acme"), "\x82\xa3msgpack");
        expect(await saml.idps.read("acme")).toEqual({ kind: "corrupt", raw: "\x82\xa3msgpack" });
        expect((await rejection(saml.idps.get("acme"))).code).toBe("INTERNAL");
        // Unknown fields survive a read-modify-write (docs/spec/storage.md §2.1).
        await kv.set(keys.samlIdp("acme"), JSON.stringify({ ...idpRecord("acme"), futureField: 1 }));
        const r = await saml.idps.read("acme");
        expect(r.kind).toBe("ok");
        expect(r.kind === "ok" && (r.record as unknown as Record<string, unknown>).futureField).toBe(1);
      });

      it("compareAndReplace loses to a write made after the read", async () => {
        await saml.idps.create(idpRecord("acme"));
        const r = await saml.idps.read("acme");
        if (r.kind !== "ok") throw new Error("expected a record");
        await saml.idps.replace({ ...idpRecord("acme"), generation: "admin" }, r.record);
        expect(await saml.idps.compareAndReplace({ ...r.record, generation: "refresh" }, r.raw)).toBe(false);
        expect((await saml.idps.get("acme"))?.generation).toBe("admin");
        const again = await saml.idps.read("acme");
        if (again.kind !== "ok") throw new Error("expected a record");
        expect(await saml.idps.compareAndReplace({ ...again.record, generation: "refresh" }, again.raw)).toBe(
          true,
        );
        expect((await saml.idps.get("acme"))?.generation).toBe("refresh");
      });

      it("replace moves the entity index; delete removes both; absent → IDP_NOT_FOUND", async () => {
        await saml.idps.create(idpRecord("acme"));
        await saml.idps.replace(idpRecord("acme", "https://new.example"), idpRecord("acme"));
        expect(await saml.idps.tenantsForEntityId("https://idp.example/metadata")).toEqual([]);
        expect(await saml.idps.tenantsForEntityId("https://new.example")).toEqual(["acme"]);
        expect((await saml.idps.delete("acme"))?.entityId).toBe("https://new.example");
        expect(await kv.exists(keys.samlIdp("acme"))).toBe(false);
        expect(await kv.smembers(keys.samlEntity(await sha256Hex("https://new.example")))).toEqual([]);
        expect((await rejection(saml.idps.delete("acme"))).code).toBe("IDP_NOT_FOUND");
      });

      it("tenantsForEntityId re-checks each candidate against its record (stale index entries)", async () => {
        await saml.idps.create(idpRecord("acme"));
        await saml.idps.create(idpRecord("beta"));
        await kv.sadd(keys.samlEntity(await sha256Hex("https://idp.example/metadata")), "ghost");
        await kv.set(keys.samlIdp("beta"), JSON.stringify(idpRecord("beta", "https://other.example")));
        expect(await saml.idps.tenantsForEntityId("https://idp.example/metadata")).toEqual(["acme"]);
      });

      it("list: every record by tenant id, corrupt ones as null", async () => {
        await saml.idps.create(idpRecord("zeta"));
        await saml.idps.create(idpRecord("acme"));
        await kv.set(keys.samlIdp("mid"), "garbage");
        const all = await saml.idps.list();
        expect(all.map((e) => [e.tenantId, e.record?.tenantId ?? null])).toEqual([
          ["acme", "acme"],
          ["mid", null],
          ["zeta", "zeta"],
        ]);
      });
    });

    describe("domains (<emailDomainIndexKey>:<domain>)", () => {
      it("put is SET NX: idempotent for the owner, DOMAIN_CONFLICT for another tenant", async () => {
        await saml.domains.put("acme", "acme.example");
        expect(await kv.get("saml:discover:domain:acme.example")).toBe("acme");
        await saml.domains.put("acme", "acme.example");
        const e = await rejection(saml.domains.put("globex", "acme.example"));
        expect(e.code).toBe("DOMAIN_CONFLICT");
        expect(await saml.domains.lookup("acme.example")).toBe("acme");
      });

      it("delete is CAS_DEL on the tenant id: another tenant's mapping is DOMAIN_NOT_FOUND and stays", async () => {
        await saml.domains.put("acme", "acme.example");
        expect((await rejection(saml.domains.delete("globex", "acme.example"))).code).toBe(
          "DOMAIN_NOT_FOUND",
        );
        expect(await saml.domains.lookup("acme.example")).toBe("acme");
        await saml.domains.delete("acme", "acme.example");
        expect(await saml.domains.lookup("acme.example")).toBeNull();
      });

      it("list scans the prefix and keeps the tenant's own, sorted; the prefix is configurable", async () => {
        await saml.domains.put("acme", "b.example");
        await saml.domains.put("acme", "a.example");
        await saml.domains.put("globex", "c.example");
        expect(await saml.domains.list("acme")).toEqual(["a.example", "b.example"]);
        const custom = createDomainRepo({ kv }, { emailDomainIndexKey: "tenants:byDomain" });
        await custom.put("acme", "d.example");
        expect(await kv.get("tenants:byDomain:d.example")).toBe("acme");
        expect(await custom.list("acme")).toEqual(["d.example"]);
        expect(await saml.domains.list("acme")).toEqual(["a.example", "b.example"]);
      });

      it("concurrent puts of one domain by two tenants: exactly one owns it", async () => {
        const results = await Promise.allSettled(
          ["acme", "globex", "acme", "globex"].map((t) => saml.domains.put(t, "x.example")),
        );
        const owner = await saml.domains.lookup("x.example");
        expect(owner === "acme" || owner === "globex").toBe(true);
        for (const [i, r] of results.entries()) {
          const tenant = i % 2 === 0 ? "acme" : "globex";
          expect(r.status).toBe(tenant === owner ? "fulfilled" : "rejected");
        }
      });
    });

    describe("subjects (samlSubject:{tid}:{nameId})", () => {
      it("claim is SET NX: one winner among concurrent claims; replace is CAS_SET on the value read", async () => {
        const won = await Promise.all(["u1", "u2", "u3"].map((u) => saml.subjects.claim("acme", "n@idp", u)));
        expect(won.filter(Boolean)).toHaveLength(1);
        const holder = await saml.subjects.read("acme", "n@idp");
        expect(holder).toBe(["u1", "u2", "u3"][won.indexOf(true)]);
        expect(await kv.get("samlSubject:acme:n@idp")).toBe(holder);
        expect(await saml.subjects.replace("acme", "n@idp", "someone-else", "u9")).toBe(false);
        expect(await saml.subjects.replace("acme", "n@idp", holder as string, "u9")).toBe(true);
        expect(await saml.subjects.read("acme", "n@idp")).toBe("u9");
        expect(await saml.subjects.read("globex", "n@idp")).toBeNull();
      });
    });

    describe("replay guard (saml:seen:{id})", () => {
      it("first sight only, with the TTL; concurrent sightings: one is first", async () => {
        const firsts = await Promise.all(
          Array.from({ length: 6 }, () => saml.replay.firstSight("_a1", 3_600_000)),
        );
        expect(firsts.filter(Boolean)).toHaveLength(1);
        expect(await kv.get("saml:seen:_a1")).toBe("1");
        const pttl = await kv.pttl(keys.samlSeen("_a1"));
        expect(pttl).toBeGreaterThan(3_590_000);
        expect(pttl).toBeLessThanOrEqual(3_600_000);
        expect(await saml.replay.firstSight("_a1", 3_600_000)).toBe(false);
        expect(await saml.replay.firstSight("_a2", 3_600_000)).toBe(true);
      });
    });

    describe("SP rotation state (saml:sp:rotation)", () => {
      const prepared: RotationRecord = {
        state: "prepared",
        currentSha256: "c".repeat(64),
        nextSha256: "n".repeat(64),
        preparedAt: "2025-01-01T10:00:00Z",
        commitNotBefore: "2025-01-02T10:00:00Z",
        committedAt: null,
      };

      it("read: absent, unreadable (raw kept for the CAS) and a record (committedAt absent → null)", async () => {
        expect(await saml.spRotation.read()).toEqual({ raw: null, record: null });
        await kv.set("saml:sp:rotation", "\x86\xa5state\xa8prepared");
        expect(await saml.spRotation.read()).toEqual({ raw: "\x86\xa5state\xa8prepared", record: null });
        const { committedAt: _, ...old } = prepared;
        await kv.set(keys.samlRotation(), JSON.stringify(old));
        expect((await saml.spRotation.read()).record).toEqual(prepared);
      });

      it("write is CAS_SET / CAS_DEL against the value read", async () => {
        expect(await saml.spRotation.write(null, prepared)).toBe(true);
        expect(await saml.spRotation.write(null, prepared)).toBe(false);
        const { raw } = await saml.spRotation.read();
        const committed = { ...prepared, state: "committed" as const, committedAt: "2025-01-02T11:00:00Z" };
        expect(await saml.spRotation.write("stale", committed)).toBe(false);
        expect(await saml.spRotation.write(raw, committed)).toBe(true);
        expect(JSON.parse((await kv.get(keys.samlRotation())) as string)).toEqual(committed);
        expect(await saml.spRotation.write(raw, null)).toBe(false);
        expect(await kv.exists(keys.samlRotation())).toBe(true);
        expect(await saml.spRotation.write(JSON.stringify(committed), null)).toBe(true);
        expect(await kv.exists(keys.samlRotation())).toBe(false);
        expect(await saml.spRotation.write(null, null)).toBe(true);
      });
    });

    describe("metadata-refresh locks (saml:refresh:lock:{tid})", () => {
      it("one holder at a time, for 600 s; only the holder releases", async () => {
        const got = await Promise.all(["r1", "r2", "r3"].map((r) => saml.refreshLocks.acquire("acme", r)));
        expect(got.filter(Boolean)).toHaveLength(1);
        const holder = ["r1", "r2", "r3"][got.indexOf(true)] as string;
        expect(await kv.get("saml:refresh:lock:acme")).toBe(holder);
        const pttl = await kv.pttl(keys.samlRefreshLock("acme"));
        expect(pttl).toBeGreaterThan(REFRESH_LOCK_TTL_MS - 10_000);
        expect(REFRESH_LOCK_TTL_MS).toBe(600_000);
        expect(await saml.refreshLocks.acquire("globex", "r2")).toBe(true);
        expect(await saml.refreshLocks.release("acme", "not-the-holder")).toBe(false);
        expect(await kv.get(keys.samlRefreshLock("acme"))).toBe(holder);
        expect(await saml.refreshLocks.release("acme", holder)).toBe(true);
        expect(await saml.refreshLocks.acquire("acme", "r9")).toBe(true);
      });
    });
  });
}

describe("decodeSamlSession (the one decoder of saml:sid:{sid})", () => {
  it("needs tenantId, userId and nameId as strings; optional fields read as empty", () => {
    expect(decodeSamlSession(JSON.stringify({ tenantId: "t", userId: "u", nameId: "n" }), SID)).toEqual({
      sid: SID,
      tenantId: "t",
      userId: "u",
      nameId: "n",
      nameIdFormat: "",
      sessionIndex: "",
      createdAt: "",
      expiresAt: "",
    });
    // The sid is the key's, never the value's.
    expect(decodeSamlSession(JSON.stringify({ ...session(), sid: "other" }), SID)?.sid).toBe(SID);
    for (const raw of [
      JSON.stringify({ tenantId: "t", userId: "u" }),
      JSON.stringify({ tenantId: "t", nameId: "n" }),
      JSON.stringify({ userId: "u", nameId: "n" }),
      JSON.stringify({ tenantId: 1, userId: "u", nameId: "n" }),
      "null",
      "[]",
      "not json",
      "\x82\xa3msgpack",
    ]) {
      expect(decodeSamlSession(raw, SID), raw).toBeNull();
    }
  });
});
