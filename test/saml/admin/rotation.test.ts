import { writeFile } from "node:fs/promises";
import process from "node:process";
import { afterEach, beforeAll, beforeEach, expect, it } from "vitest";
import { createApp } from "../../../src/app.ts";
import { createCoreDeps } from "../../../src/bootstrap.ts";
import { createInProcessPasswordHasher } from "../../../src/crypto/password-portable.ts";
import { silentLogger } from "../../../src/logger.ts";
import { samlIo, startSamlRuntime } from "../../../src/runtime/saml-runtime.ts";
import { keys } from "../../../src/store/keys.ts";
import type { KV } from "../../../src/store/kv.ts";
import { forEachEngine, manualClock, testConfig } from "../../support/app.ts";
import {
  buildSamlTestApp,
  makeCert,
  rsaKey,
  type SamlTestApp,
  type SpFiles,
  samlConfig,
  spFiles,
  type TestCert,
} from "../metadata/helpers.ts";

const T0 = Date.UTC(2026, 10, 1, 12, 0, 0);
const HOUR = 3_600_000;

forEachEngine("SP key rotation across replicas (docs/spec/saml.md §13)", (engine) => {
  let current: TestCert;
  let next: TestCert;
  let later: TestCert;
  let store: KV;
  let clock: ReturnType<typeof manualClock>;
  let filesA: SpFiles;
  let filesB: SpFiles;
  let a: SamlTestApp;
  let b: SamlTestApp;

  beforeAll(async () => {
    current = await makeCert({ key: await rsaKey("sp-current"), cn: "sp-current" });
    next = await makeCert({ key: await rsaKey("sp-next"), cn: "sp-next" });
    later = await makeCert({ key: await rsaKey("sp-later"), cn: "sp-later" });
  });
  beforeEach(async () => {
    store = await engine.freshStore();
    clock = manualClock(T0);
    filesA = await spFiles();
    filesB = await spFiles();
    await filesA.install("current", current);
    await filesA.install("next", next);
    await filesB.install("current", current);
    a = await buildSamlTestApp({ store, files: filesA, clock, replicaId: "replica-a" });
    b = await buildSamlTestApp({ store, files: filesB, clock, replicaId: "replica-b" });
  });
  afterEach(async () => {
    await filesA.cleanup();
    await filesB.cleanup();
  });

  const rotate = (app: SamlTestApp, action: string, force?: boolean) =>
    app.call("/admin/saml/sp/rotation", { json: force === undefined ? { action } : { action, force } });
  const conflict = async (res: Response) => {
    expect(res.status).toBe(409);
    const body = await res.json();
    expect(body.code).toBe("ROTATION_STATE_CONFLICT");
    return body as { error: string; details?: Record<string, string> };
  };
  const readiness = async (app: SamlTestApp) => {
    const res = await app.call("/readyz", { key: false });
    return { status: res.status, saml: (await res.json()).checks.saml as string };
  };

  it("reports the state and the pairs loaded on each replica", async () => {
    const res = await a.call("/admin/saml/sp/rotation");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      state: "none",
      loaded: { current: current.sha256, next: next.sha256 },
    });
    expect(await (await b.call("/admin/saml/sp/rotation")).json()).toEqual({
      state: "none",
      loaded: { current: current.sha256, next: null },
    });
    expect(await readiness(a)).toEqual({ status: 200, saml: "ok" });
  });

  it("prepare → commit → promote converges on every replica without a restart", async () => {
    expect((await conflict(await rotate(b, "prepare"))).error).toBe("no next SP key pair is loaded");

    const prepared = await rotate(a, "prepare");
    expect(prepared.status).toBe(200);
    const state = {
      state: "prepared",
      currentSha256: current.sha256,
      nextSha256: next.sha256,
      preparedAt: "2026-11-01T12:00:00Z",
      commitNotBefore: "2026-11-04T12:00:00Z",
      committedAt: null,
    };
    expect(await prepared.json()).toEqual({
      ...state,
      loaded: { current: current.sha256, next: next.sha256 },
    });
    // A repeat with the same next pair is an idempotent 200.
    expect(await (await rotate(a, "prepare")).json()).toMatchObject(state);
    expect(JSON.parse((await store.get(keys.samlRotation()))!)).toEqual(state);
    expect(a.auditLines.map((l) => JSON.parse(l)).at(-1)).toMatchObject({
      event: "admin.saml.sp.rotation",
      targetId: "prepare",
      outcome: "success",
    });

    // Replica B sees the state within 10 s and is not ready without the next pair.
    expect(await (await b.call("/admin/saml/sp/rotation")).json()).toMatchObject({ state: "prepared" });
    clock.advance(10_001);
    expect(await readiness(b)).toEqual({ status: 503, saml: "next SP key pair not loaded" });
    expect((await b.call("/saml/metadata")).status).toBe(500);
    expect((await conflict(await rotate(b, "commit", true))).error).toBe(
      "next SP key pair is not loaded on this replica",
    );

    // Installing the files and reloading (timer or SIGHUP) fixes it; both replicas publish the same metadata.
    await filesB.install("next", next);
    await b.saml.keys.reload();
    expect(await readiness(b)).toEqual({ status: 200, saml: "ok" });
    const metaA = await (await a.call("/saml/metadata")).text();
    expect(await (await b.call("/saml/metadata")).text()).toBe(metaA);
    expect(metaA).toContain(next.b64);
    expect((await b.saml.rotation.signingPair()).sha256).toBe(current.sha256);
    expect((await b.saml.rotation.decryptionPairs()).map((p) => p.sha256)).toEqual([
      current.sha256,
      next.sha256,
    ]);

    const early = await conflict(await rotate(a, "commit"));
    expect(early).toEqual({
      error: "rotation grace period has not elapsed",
      code: "ROTATION_STATE_CONFLICT",
      details: { commitNotBefore: "2026-11-04T12:00:00Z" },
    });
    clock.advance(72 * HOUR);
    expect((await b.saml.rotation.view())?.state).toBe("prepared");
    const committed = await rotate(a, "commit");
    expect(committed.status).toBe(200);
    expect(await committed.json()).toMatchObject({ state: "committed", committedAt: "2026-11-04T12:00:10Z" });
    expect((await a.saml.rotation.signingPair()).sha256).toBe(next.sha256);
    // B still holds its 10-second view, then converges.
    expect((await b.saml.rotation.signingPair()).sha256).toBe(current.sha256);
    clock.advance(10_001);
    expect((await b.saml.rotation.signingPair()).sha256).toBe(next.sha256);
    expect((await b.saml.rotation.decryptionPairs()).map((p) => p.sha256)).toEqual([
      next.sha256,
      current.sha256,
    ]);
    expect(await (await b.call("/saml/metadata")).text()).not.toContain(current.b64);

    expect((await conflict(await rotate(a, "abort"))).error).toBe("committed rotations cannot be aborted");
    expect((await conflict(await rotate(a, "commit"))).error).toBe(
      "no pending rotation found — run --prepare first",
    );
    await filesA.install("next", later);
    await a.saml.keys.reload();
    expect((await conflict(await rotate(a, "prepare"))).error).toBe(
      "promote the committed key before preparing again",
    );

    // Promote: the new pair becomes the current files, the next files go away; state stays correct.
    for (const [app, files] of [
      [a, filesA],
      [b, filesB],
    ] as const) {
      await files.install("current", next);
      await files.remove("next");
      await app.saml.keys.reload();
      expect(app.saml.keys.next()).toBeNull();
      expect(await readiness(app)).toEqual({ status: 200, saml: "ok" });
      expect((await app.saml.rotation.signingPair()).sha256).toBe(next.sha256);
    }
    // The next cycle starts from the promoted key.
    await filesA.install("next", later);
    await a.saml.keys.reload();
    expect(await (await rotate(a, "prepare")).json()).toMatchObject({
      state: "prepared",
      currentSha256: next.sha256,
      nextSha256: later.sha256,
    });
    const metrics = await (await a.call("/metrics")).text();
    expect(metrics).toContain("tikti_saml_sp_rotation_state 1");
    expect(metrics).toMatch(/tikti_saml_sp_cert_expiry_seconds\{key="current"\} \d+/);
    expect(metrics).toMatch(/tikti_saml_sp_cert_expiry_seconds\{key="next"\} \d+/);
  });

  it("abort deletes a prepared state; refusals for abort/commit without one and for next = current", async () => {
    expect((await conflict(await rotate(a, "abort"))).error).toBe(
      "no pending rotation found — run --prepare first",
    );
    expect((await conflict(await rotate(a, "commit", true))).error).toBe(
      "no pending rotation found — run --prepare first",
    );
    expect((await rotate(a, "prepare")).status).toBe(200);
    const aborted = await rotate(a, "abort");
    expect(aborted.status).toBe(200);
    expect(await aborted.json()).toEqual({
      state: "none",
      loaded: { current: current.sha256, next: next.sha256 },
    });
    expect(await store.get(keys.samlRotation())).toBeNull();
    expect(a.auditLines.map((l) => JSON.parse(l)).at(-1)).toMatchObject({
      targetId: "abort",
      outcome: "success",
    });

    await filesB.install("next", current);
    await b.saml.keys.reload();
    expect((await conflict(await rotate(b, "prepare"))).error).toBe(
      "next SP key pair equals the current one",
    );
    const bad = await rotate(a, "rotate");
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ code: "INVALID_ARGUMENT" });
  });

  it("force commits before the grace period; a Go-era state value is overwritten by prepare", async () => {
    await store.set(keys.samlRotation(), "\x86\xa5state\xa8prepared");
    expect(await (await a.call("/admin/saml/sp/rotation")).json()).toMatchObject({ state: "none" });
    expect((await rotate(a, "prepare")).status).toBe(200);
    const forced = await rotate(a, "commit", true);
    expect(forced.status).toBe(200);
    expect(await forced.json()).toMatchObject({ state: "committed", committedAt: "2026-11-01T12:00:00Z" });
  });

  it("a reload that finds an invalid or missing current file keeps the pair loaded before", async () => {
    await writeFile(filesA.current.cert, "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
    const broken = await a.saml.keys.reload();
    expect(broken.errors).toEqual([expect.stringContaining("current")]);
    expect(a.saml.keys.current()?.sha256).toBe(current.sha256);
    await filesA.remove("current");
    expect((await a.saml.keys.reload()).errors).toEqual([expect.stringContaining("missing")]);
    expect(a.saml.keys.current()?.sha256).toBe(current.sha256);
    // A certificate that belongs to another key is refused too.
    await filesA.install("current", current);
    await writeFile(filesA.current.cert, later.pem);
    expect((await a.saml.keys.reload()).errors).toEqual([expect.stringContaining("does not match")]);
    expect(a.saml.keys.current()?.sha256).toBe(current.sha256);
    expect(await readiness(a)).toEqual({ status: 200, saml: "ok" });
  });

  it("reports not ready when no current pair could ever be loaded", async () => {
    const empty = await spFiles();
    try {
      const c = await buildSamlTestApp({ store, files: empty, clock });
      expect(await readiness(c)).toEqual({ status: 503, saml: "current SP key pair not loaded" });
      await expect(c.saml.rotation.signingPair()).rejects.toMatchObject({ code: "INTERNAL" });
    } finally {
      await empty.cleanup();
    }
  });

  it("the runtime loads keys at start, re-reads them on SIGHUP, and stops cleanly", async () => {
    const files = await spFiles();
    await files.install("current", current);
    const config = await testConfig({ devMode: true, saml: samlConfig(files) });
    const deps = await createCoreDeps({
      config,
      store,
      logger: silentLogger,
      passwords: createInProcessPasswordHasher(config.accounts.passwordHash),
      auditSink: () => {},
      clock,
      samlIo: samlIo(),
    });
    const before = process.listenerCount("SIGHUP");
    const app = createApp(deps);
    const runtime = await startSamlRuntime(deps, app.services.saml);
    try {
      expect(process.listenerCount("SIGHUP")).toBe(before + 1);
      expect(runtime.context.keys.current()?.sha256).toBe(current.sha256);
      expect((await app.request("/readyz")).status).toBe(200);
      await files.install("next", next);
      process.emit("SIGHUP", "SIGHUP");
      for (let i = 0; i < 50 && runtime.context.keys.next() === null; i++)
        await new Promise((r) => setTimeout(r, 20));
      expect(runtime.context.keys.next()?.sha256).toBe(next.sha256);
    } finally {
      runtime.stop();
      await files.cleanup();
    }
    expect(process.listenerCount("SIGHUP")).toBe(before);
  });
});
