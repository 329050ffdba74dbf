// SP key rotation with the pysaml2 IdP (docs/spec/saml.md §13, §16.4 last row): prepare → the IdP refreshes
// Tikti's SP metadata (both certificates) → commit → refresh again (next only); plain and encrypted
// logins succeed at every step, so AuthnRequest signatures and assertion decryption follow the
// rotation state. Embedded store and Redis.
import { afterAll, beforeAll, expect, it } from "vitest";
import { forEachEngine } from "../../support/app.ts";
import { makeCert, rsaKey, type TestCert } from "../metadata/helpers.ts";
import { elements, ID_COOKIE, login, NS, parseXml } from "./flow.ts";
import { type E2E, setupE2E, TID } from "./setup.ts";

forEachEngine("SP key rotation with the pysaml2 IdP", (engine) => {
  let env: E2E;
  let next: TestCert;
  beforeAll(async () => {
    env = await setupE2E(await engine.freshStore());
    next = await makeCert({ key: await rsaKey("e2e-sp-next"), cn: "tikti-sp-next" });
  });
  afterAll(async () => {
    await env?.close();
  });

  async function loginsWork(step: string) {
    for (const knobs of [{}, { encrypt: "aes256-gcm" as const }, { encrypt: "aes128-cbc" as const }]) {
      const r = await login(env.t, env.idp, TID, { relayState: "/app", knobs });
      expect(
        r.acs.status,
        `${step} ${JSON.stringify(knobs)}: ${await r.acs.clone().text()}\n${env.idp.log()}`,
      ).toBe(302);
      expect(r.start.jar.get(ID_COOKIE)).toBeDefined();
    }
  }

  async function spMetadata(): Promise<string> {
    const res = await env.t.app.request("https://id.test.example/saml/metadata");
    expect(res.status).toBe(200);
    return res.text();
  }

  const signingCerts = (xml: string) =>
    elements(parseXml(xml), "urn:oasis:names:tc:SAML:2.0:metadata", "KeyDescriptor")
      .filter((k) => k.getAttribute("use") === "signing")
      .map((k) => elements(k, NS.ds, "X509Certificate")[0]!.textContent!.replace(/\s+/g, ""));

  const rotate = async (action: string) => {
    const res = await env.t.call("/admin/saml/sp/rotation", { json: { action, force: true } });
    expect(res.status, await res.clone().text()).toBe(200);
    return (await res.json()) as { state: string };
  };

  it("prepare → IdP refresh → commit → IdP refresh: logins succeed throughout", async () => {
    await loginsWork("before");
    await env.files.install("next", next);
    await env.t.saml.keys.reload();

    expect((await rotate("prepare")).state).toBe("prepared");
    const both = await spMetadata();
    expect(signingCerts(both)).toHaveLength(2);
    expect(signingCerts(both)[1]).toBe(next.b64);
    // Until the IdP refreshes, nothing changes for it; after the refresh it knows both keys.
    await loginsWork("prepared, IdP not refreshed");
    await env.idp.pushSpMetadata(both);
    await loginsWork("prepared, IdP refreshed");

    expect((await rotate("commit")).state).toBe("committed");
    // Tikti signs AuthnRequests with the next key now; the IdP still has both certificates.
    await loginsWork("committed, IdP has both");
    const nextOnly = await spMetadata();
    expect(signingCerts(nextOnly)).toEqual([next.b64]);
    await env.idp.pushSpMetadata(nextOnly);
    await loginsWork("committed, IdP refreshed");
  }, 60_000);
});
