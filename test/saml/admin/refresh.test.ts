import { afterAll, beforeAll, beforeEach, expect, it } from "vitest";
import { createMetadataTransport } from "../../../src/runtime/saml-fetch.ts";
import type { MetadataTransport } from "../../../src/saml/metadata.ts";
import { isDue, refreshIdp, refreshTick } from "../../../src/services/saml/refresh.ts";
import { keys } from "../../../src/store/keys.ts";
import { forEachEngine, manualClock } from "../../support/app.ts";
import {
  buildSamlTestApp,
  createTenant,
  idpMetadata,
  makeCert,
  rsaKey,
  type SamlTestApp,
  type SpFiles,
  serve,
  spFiles,
  startTestServer,
  type TestCert,
  type TestServer,
} from "../metadata/helpers.ts";

const T0 = Date.UTC(2026, 10, 1, 12, 0, 0);
const HOUR = 3_600_000;
const ENTITY = "https://idp.example.com/metadata";

forEachEngine("IdP metadata background refresh (docs/spec/saml.md §12.4)", (engine) => {
  let files: SpFiles;
  let server: TestServer;
  let certA: TestCert;
  let certB: TestCert;
  let t: SamlTestApp;
  let clock: ReturnType<typeof manualClock>;
  /** Called by the transport in the middle of a fetch (to interleave an admin change). */
  let duringFetch: (() => Promise<void>) | null;
  const real = createMetadataTransport();
  const transport: MetadataTransport = {
    resolve: real.resolve,
    async get(url, address, signal) {
      if (duringFetch) await duringFetch();
      return real.get(url, address, signal);
    },
  };

  beforeAll(async () => {
    files = await spFiles();
    await files.install("current", await makeCert({ key: await rsaKey("sp-current"), cn: "sp" }));
    server = await startTestServer();
    certA = await makeCert({ cn: "idp-a" });
    certB = await makeCert({ key: await rsaKey("idp-b"), cn: "idp-b" });
  });
  afterAll(async () => {
    await server.close();
    await files.cleanup();
  });
  beforeEach(async () => {
    duringFetch = null;
    clock = manualClock(T0);
    serve(server, "/md.xml", idpMetadata({ entityId: ENTITY, signing: [certA] }));
    t = await buildSamlTestApp({
      store: await engine.freshStore(),
      files,
      clock,
      transport,
      replicaId: "replica-a",
    });
    await createTenant(t, "acme");
    const res = await t.call("/tenants/acme/saml/idp", {
      method: "PUT",
      json: { metadataUrl: `${server.origin}/md.xml` },
    });
    expect(res.status).toBe(200);
  });

  const record = async () => JSON.parse((await t.store.get(keys.samlIdp("acme")))!);
  const fetches = () => server.seen.filter((s) => s.url === "/md.xml").length;

  it("refreshes only records that are due, under the refresh lock, and releases it", async () => {
    const before = fetches();
    const early = await refreshTick(t.saml, () => 0);
    expect(early).toMatchObject({ checked: 1, updated: [], failed: [] });
    expect(fetches()).toBe(before);

    serve(server, "/md.xml", idpMetadata({ entityId: ENTITY, signing: [certB] }));
    clock.advance(25 * HOUR);
    const report = await refreshTick(t.saml, () => 0);
    expect(report.updated).toEqual(["acme"]);
    expect(fetches()).toBe(before + 1);
    const r = await record();
    expect(
      r.signingCerts.map((c: { sha256: string; retireAfter: string | null }) => [c.sha256, c.retireAfter]),
    ).toEqual([
      [certB.sha256, null],
      [certA.sha256, "2026-11-03T13:00:00Z"],
    ]);
    expect(r).toMatchObject({
      lastFetched: "2026-11-02T13:00:00Z",
      lastRefreshError: "",
      refreshFailures: 0,
    });
    expect(await t.store.get(keys.samlRefreshLock("acme"))).toBeNull();
    // Certificate changes are audited; the metrics count the refresh.
    expect(t.auditLines.map((l) => JSON.parse(l)).at(-1)).toMatchObject({
      event: "admin.saml.idp.refresh",
      actor: "system",
      tenantId: "acme",
    });
    const metrics = await (await t.call("/metrics")).text();
    expect(metrics).toContain('tikti_saml_metadata_refresh_total{result="success",tid="acme"} 1');
    expect(metrics).toMatch(/tikti_saml_idp_roundtrip_duration_seconds_count\{tid="acme"\} [1-9]/);
    expect(metrics).toMatch(/tikti_saml_idp_cert_expiry_seconds\{subject="CN=idp-b",tid="acme"\} \d{6,}/);
  });

  it("skips a tenant whose refresh lock another replica holds", async () => {
    clock.advance(25 * HOUR);
    await t.store.set(keys.samlRefreshLock("acme"), "replica-b", { ttlMs: 600_000 });
    const before = fetches();
    const report = await refreshTick(t.saml, () => 0);
    expect(report.skipped).toEqual(["acme"]);
    expect(fetches()).toBe(before);
    expect(await t.store.get(keys.samlRefreshLock("acme"))).toBe("replica-b");
  });

  it("keeps the last good record on failure and counts consecutive failures", async () => {
    const good = await record();
    serve(server, "/md.xml", "<broken");
    clock.advance(25 * HOUR);
    expect((await refreshTick(t.saml, () => 0)).failed).toEqual(["acme"]);
    clock.advance(25 * HOUR);
    await refreshTick(t.saml, () => 0);
    const failed = await record();
    expect(failed).toMatchObject({
      lastRefreshError: "metadata is not well-formed XML",
      refreshFailures: 2,
      signingCerts: good.signingCerts,
      ssoUrl: good.ssoUrl,
      lastFetched: good.lastFetched,
      generation: good.generation,
    });
    expect(await (await t.call("/metrics")).text()).toContain(
      'tikti_saml_metadata_refresh_total{result="failure",tid="acme"} 2',
    );
    // Failures keep the record due, so the next pass retries; a success resets the counters.
    serve(server, "/md.xml", idpMetadata({ entityId: ENTITY, signing: [certA] }));
    clock.advance(HOUR);
    expect((await refreshTick(t.saml, () => 0)).updated).toEqual(["acme"]);
    expect(await record()).toMatchObject({ lastRefreshError: "", refreshFailures: 0 });
  });

  it("lets a concurrent admin change win over a refresh (CAS)", async () => {
    clock.advance(25 * HOUR);
    serve(server, "/md.xml", idpMetadata({ entityId: ENTITY, signing: [certB] }));
    duringFetch = async () => {
      duringFetch = null;
      const res = await t.call("/tenants/acme/saml/idp", { method: "PUT", json: { allowUnsolicited: true } });
      expect(res.status).toBe(200);
    };
    const outcome = await refreshIdp(t.saml, "acme", { useLock: true });
    expect(outcome).toEqual({ kind: "skipped", reason: "concurrent_change" });
    const r = await record();
    expect(r.allowUnsolicited).toBe(true);
    expect(r.signingCerts.map((c: { sha256: string }) => c.sha256)).toEqual([certA.sha256]);

    // The admin refresh route reports the lost race instead of overwriting.
    duringFetch = async () => {
      duringFetch = null;
      await t.call("/tenants/acme/saml/idp", { method: "PUT", json: { forceAuthn: true } });
    };
    const res = await t.call("/tenants/acme/saml/idp/refresh", { method: "POST" });
    expect(res.status).toBe(409);
    expect(await res.json()).toMatchObject({ code: "CONCURRENT_UPDATE" });
    expect((await record()).forceAuthn).toBe(true);
  });

  it("without idp.backgroundRefresh only updates the expiry gauges", async () => {
    const quiet = await buildSamlTestApp({
      store: t.store,
      files,
      clock,
      transport,
      saml: { idp: { backgroundRefresh: false } },
    });
    clock.advance(25 * HOUR);
    const before = fetches();
    const report = await refreshTick(quiet.saml, () => 0);
    expect(report).toMatchObject({ checked: 1, updated: [], failed: [] });
    expect(fetches()).toBe(before);
    expect(await (await quiet.call("/metrics")).text()).toMatch(
      /tikti_saml_idp_cert_expiry_seconds\{subject="CN=idp-a",tid="acme"\} \d+/,
    );
  });

  it("isDue adds the jitter to the interval and treats a missing lastFetched as due", () => {
    const base = { metadataUrl: "https://x", lastFetched: "2026-11-01T12:00:00Z" } as Parameters<
      typeof isDue
    >[0];
    expect(isDue(base, T0 + 24 * HOUR + 1, 24, 0)).toBe(true);
    expect(isDue(base, T0 + 24 * HOUR + 1, 24, 5 * 60_000)).toBe(false);
    expect(isDue({ ...base, lastFetched: "" }, T0, 24, 0)).toBe(true);
    expect(isDue({ ...base, metadataUrl: "" }, T0 + 100 * HOUR, 24, 0)).toBe(false);
  });
});
