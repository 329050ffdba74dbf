// Attack responses DERIVED FROM THE LIVE OUTPUT of an independent IdP for live requests (issue 4
// "Done when"; docs/spec/saml.md §6.3, §6.7, §7, §16.4): each case starts a real login at Tikti, lets pysaml2
// answer it, then strips, alters, wraps, replays, re-targets or re-signs that genuine Response (or
// asks the IdP for a validly signed but wrong one) and posts it like a browser. Every case must get
// the reason code docs/spec/saml.md specifies (read from the audit record), the status of its bucket, the
// neutral page — and never an idToken cookie, a user or a session. Embedded store and Redis.
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, expect, it } from "vitest";
import { SignedXml } from "xml-crypto";
import { forEachEngine } from "../../support/app.ts";
import {
  assertionAudits,
  b64,
  CookieJar,
  elements,
  ID_COOKIE,
  idpSso,
  login,
  NS,
  one,
  parseAutoPostForm,
  parseSetCookies,
  parseXml,
  postForm,
  postToAcs,
  STATE_COOKIE,
  serializeXml,
  startLogin,
  tamper,
} from "./flow.ts";
import { DEFAULT_USER, type IdpKnobs } from "./pysaml-idp.ts";
import { type E2E, setupE2E, TID } from "./setup.ts";

const TIMEOUT = 30_000;
const FIXTURE_KEYS = new URL("../../fixtures/saml/keys/", import.meta.url);
const VICTIM = "ceo@acme.example";

const STATUS: Record<string, number> = {
  request_not_found: 400,
  destination_mismatch: 400,
  missing_attribute: 400,
  signature_invalid: 403,
  assertion_signature_invalid: 403,
  signature_wrapping_detected: 403,
  algorithm_disallowed: 403,
  decrypt_failed: 403,
  audience_mismatch: 403,
  issuer_mismatch: 403,
  clock_skew: 403,
  request_replay: 403,
  status_not_success: 403,
};

// ------------------------------------------------------------------------------------ DOM surgery

const responseOf = (doc: Document) => doc.documentElement!;
const assertionOf = (doc: Document) => one(doc, NS.saml, "Assertion");

function removeSignatures(doc: Document) {
  for (const sig of elements(doc, NS.ds, "Signature")) sig.parentNode!.removeChild(sig);
}

/** Sets NameID and the mail attribute value of the assertion to `email`. */
function impersonate(root: Document | Element, email: string) {
  one(root, NS.saml, "NameID").textContent = email;
  for (const attr of elements(root, NS.saml, "Attribute")) {
    if (attr.getAttribute("Name") === "urn:oid:0.9.2342.19200300.100.1.3") {
      elements(attr, NS.saml, "AttributeValue")[0]!.textContent = email;
    }
  }
}

/** An unsigned copy of the genuine assertion for `email`, with a fresh ID. */
function evilAssertion(doc: Document, email = VICTIM): Element {
  const evil = assertionOf(doc).cloneNode(true) as Element;
  for (const sig of elements(evil, NS.ds, "Signature")) sig.parentNode!.removeChild(sig);
  evil.setAttribute("ID", "_evil0000000000000000000000000000000000");
  impersonate(evil, email);
  return evil;
}

/** XML Signature Wrapping variants built from the genuine, signed Response (docs/spec/saml.md §7.3, §7.10). */
const WRAPS: Record<string, (doc: Document) => void> = {
  "evil assertion in place, signed original moved into samlp:Extensions": (doc) => {
    const original = assertionOf(doc);
    const evil = evilAssertion(doc);
    const extensions = doc.createElementNS(NS.samlp, "samlp:Extensions");
    responseOf(doc).insertBefore(evil, original);
    responseOf(doc).removeChild(original);
    extensions.appendChild(original);
    const status = one(doc, NS.samlp, "Status");
    responseOf(doc).insertBefore(extensions, status);
  },
  "signed original hidden in the evil assertion's Advice": (doc) => {
    const original = assertionOf(doc);
    const evil = evilAssertion(doc);
    const advice = doc.createElementNS(NS.saml, "saml:Advice");
    responseOf(doc).replaceChild(evil, original);
    advice.appendChild(original);
    evil.insertBefore(advice, one(evil, NS.saml, "Conditions").nextSibling);
  },
  "signed original inside the Response signature's ds:Object": (doc) => {
    const original = assertionOf(doc);
    const evil = evilAssertion(doc);
    const responseSig = elements(doc, NS.ds, "Signature").find((s) => s.parentNode === responseOf(doc))!;
    responseOf(doc).replaceChild(evil, original);
    const object = doc.createElementNS(NS.ds, "ds:Object");
    object.appendChild(original);
    responseSig.appendChild(object);
  },
  "evil assertion appended after the signed original": (doc) => {
    responseOf(doc).appendChild(evilAssertion(doc));
  },
  "whole signed Response wrapped inside an evil Response's Extensions": (doc) => {
    const original = responseOf(doc);
    const evilResponse = original.cloneNode(false) as Element;
    evilResponse.setAttribute("ID", "_evilresponse00000000000000000000000000");
    const extensions = doc.createElementNS(NS.samlp, "samlp:Extensions");
    const status = one(doc, NS.samlp, "Status").cloneNode(true);
    const issuer = elements(original, NS.saml, "Issuer")[0]!.cloneNode(true);
    const evil = evilAssertion(doc);
    doc.replaceChild(evilResponse, original);
    evilResponse.appendChild(issuer);
    evilResponse.appendChild(extensions);
    extensions.appendChild(original);
    evilResponse.appendChild(status);
    evilResponse.appendChild(evil);
  },
};

/** Strips the IdP's signatures, alters the subject and signs the Response with the attacker's key,
 * whose certificate travels in KeyInfo (certificate faking, docs/spec/saml.md §7.5). */
function resignWithAttackerKey(samlResponse: string): string {
  const doc = parseXml(b64.decode(samlResponse));
  removeSignatures(doc);
  impersonate(doc, VICTIM);
  const signer = new SignedXml({
    privateKey: readFileSync(new URL("attacker.key.pem", FIXTURE_KEYS)),
    publicCert: readFileSync(new URL("attacker.crt.pem", FIXTURE_KEYS)),
    signatureAlgorithm: "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
    canonicalizationAlgorithm: "http://www.w3.org/2001/10/xml-exc-c14n#",
  });
  for (const xpath of ["/*", "/*/*[local-name(.)='Assertion']"]) {
    signer.addReference({
      xpath,
      transforms: [
        "http://www.w3.org/2000/09/xmldsig#enveloped-signature",
        "http://www.w3.org/2001/10/xml-exc-c14n#",
      ],
      digestAlgorithm: "http://www.w3.org/2001/04/xmlenc#sha256",
    });
  }
  signer.computeSignature(serializeXml(doc), {
    location: { reference: "/*/*[local-name(.)='Issuer']", action: "after" },
  });
  return b64.encode(signer.getSignedXml());
}

// ------------------------------------------------------------------------------------ the suite

forEachEngine("attacks derived from live pysaml2 responses", (engine) => {
  let env: E2E;
  beforeAll(async () => {
    env = await setupE2E(await engine.freshStore());
    // The genuine user exists (and has a session) before any attack: attacks must add neither.
    const r = await login(env.t, env.idp, TID, { relayState: "/app" });
    expect(r.acs.status).toBe(302);
  });
  afterAll(async () => {
    await env?.close();
  });

  /** A live login request at Tikti and the IdP's genuine (not yet posted) answer to it. */
  async function live(knobs: IdpKnobs = {}) {
    const start = await startLogin(env.t, TID, { relayState: "/app" });
    const posted = await idpSso(start.location, knobs);
    return { start, posted };
  }

  /** The refusal as docs/spec/saml.md specifies it, with nothing gained by the attacker. */
  async function expectRefused(
    res: Response,
    jar: CookieJar | null,
    reason: string,
    before: { users: number; sessions: number },
  ) {
    const body = await res.text();
    expect({ status: res.status, reason: assertionAudits(env.t).at(-1)?.reason }).toEqual({
      status: STATUS[reason],
      reason,
    });
    expect(assertionAudits(env.t).at(-1)!.decision).toBe("reject");
    const set = parseSetCookies(res);
    expect(set.filter((c) => c.name === ID_COOKIE && c.value !== "")).toEqual([]);
    expect(set.find((c) => c.name === STATE_COOKIE)?.attributes["max-age"]).toBe("0");
    expect(jar?.get(ID_COOKIE)).toBeUndefined();
    expect(res.headers.get("x-tikti-error-id")).toMatch(/^[0-9a-f]{12}$/);
    expect(body).not.toContain(reason);
    expect(body).not.toContain(DEFAULT_USER.nameId);
    expect(body).not.toContain(VICTIM);
    expect(await env.counts()).toEqual(before);
    expect(await env.t.store.get(`userByEmail:${VICTIM}`)).toBeNull();
  }

  async function attack(
    reason: string,
    build: (genuine: string, ctx: Awaited<ReturnType<typeof live>>) => string | Promise<string>,
    knobs: IdpKnobs = {},
  ) {
    const before = await env.counts();
    const ctx = await live(knobs);
    const forged = await build(ctx.posted.SAMLResponse, ctx);
    const res = await postToAcs(env.t, ctx.start.jar, { ...ctx.posted, SAMLResponse: forged });
    await expectRefused(res, ctx.start.jar, reason, before);
    return ctx;
  }

  it(
    "signature stripped → algorithm_disallowed (the assertion's own signature is mandatory)",
    async () => {
      await attack("algorithm_disallowed", (g) => tamper(g, removeSignatures));
      await attack("algorithm_disallowed", (g) => tamper(g, removeSignatures), { sign: "assertion" });
    },
    TIMEOUT,
  );

  it(
    "NameID / mail altered under the signatures → signature_invalid, or assertion_signature_invalid when only the assertion is signed",
    async () => {
      await attack("signature_invalid", (g) => tamper(g, (d) => impersonate(d, VICTIM)));
      await attack("assertion_signature_invalid", (g) => tamper(g, (d) => impersonate(d, VICTIM)), {
        sign: "assertion",
      });
      // Only the Response signature stripped, assertion signature kept, subject altered.
      await attack("assertion_signature_invalid", (g) =>
        tamper(g, (d) => {
          const sig = elements(d, NS.ds, "Signature").find((s) => s.parentNode === d.documentElement)!;
          d.documentElement!.removeChild(sig);
          impersonate(d, VICTIM);
        }),
      );
    },
    TIMEOUT,
  );

  it(
    "re-signed with an attacker key whose certificate is in KeyInfo → signature_invalid",
    async () => {
      await attack("signature_invalid", (g) => resignWithAttackerKey(g));
    },
    TIMEOUT,
  );

  for (const [name, wrap] of Object.entries(WRAPS)) {
    it(
      `XSW: ${name} → signature_wrapping_detected`,
      async () => {
        await attack("signature_wrapping_detected", (g) => tamper(g, wrap));
      },
      TIMEOUT,
    );
  }

  it(
    "comment injected into a signed NameID (canonical form unchanged) → signature_wrapping_detected",
    async () => {
      const attacker = "ceo@acme.example.attacker.example";
      await attack(
        "signature_wrapping_detected",
        (g) =>
          tamper(g, (d) => {
            const nameId = one(d, NS.saml, "NameID");
            nameId.textContent = "";
            nameId.appendChild(d.createTextNode(VICTIM));
            nameId.appendChild(d.createComment(""));
            nameId.appendChild(d.createTextNode(attacker.slice(VICTIM.length)));
          }),
        { user: { nameId: attacker, mail: attacker } },
      );
    },
    TIMEOUT,
  );

  it(
    "replay: the genuine response posted twice → second request_not_found; into another login → request_not_found",
    async () => {
      const { start, posted } = await live();
      const first = await postToAcs(env.t, start.jar, posted);
      expect(first.status).toBe(302);
      expect(start.jar.get(ID_COOKIE)).toBeDefined();
      const before = await env.counts();
      // Same browser, same (already consumed) request: a bare replay keeps the old state cookie.
      const replayJar = new CookieJar();
      replayJar.cookies.set(STATE_COOKIE, start.requestId);
      await expectRefused(await postToAcs(env.t, replayJar, posted), replayJar, "request_not_found", before);
      // A new login in the attacker's browser, the captured response posted to it.
      const other = await startLogin(env.t, TID, { relayState: "/app" });
      await expectRefused(await postToAcs(env.t, other.jar, posted), other.jar, "request_not_found", before);
    },
    TIMEOUT,
  );

  it(
    "InResponseTo swapped: another browser's state cookie → request_not_found (the victim's request survives); edited InResponseTo → request_not_found / signature_invalid; validly signed for an unknown request → request_not_found",
    async () => {
      const victim = await live();
      const attacker = await startLogin(env.t, TID, { relayState: "/app" });
      const before = await env.counts();
      await expectRefused(
        await postToAcs(env.t, attacker.jar, victim.posted),
        attacker.jar,
        "request_not_found",
        before,
      );
      // The response is bound to the browser that started the request, which can still use it.
      const ok = await postToAcs(env.t, victim.start.jar, victim.posted);
      expect(ok.status).toBe(302);
      expect(victim.start.jar.get(ID_COOKIE)).toBeDefined();

      // InResponseTo edited to another browser's request, posted from the original browser: it no
      // longer names this browser's request.
      await attack("request_not_found", (g) =>
        tamper(g, (d) => {
          d.documentElement!.setAttribute("InResponseTo", attacker.requestId);
        }),
      );
      // ... and posted from the browser whose request it now names: that request is consumed, and the
      // Response signature no longer verifies.
      const before2 = await env.counts();
      const third = await live();
      const swapped = tamper(third.posted.SAMLResponse, (d) =>
        d.documentElement!.setAttribute("InResponseTo", attacker.requestId),
      );
      // (The refusal above expired the attacker's state cookie in its jar; an attacker keeps the value.)
      attacker.jar.cookies.set(STATE_COOKIE, attacker.requestId);
      await expectRefused(
        await postToAcs(env.t, attacker.jar, { ...third.posted, SAMLResponse: swapped }),
        attacker.jar,
        "signature_invalid",
        before2,
      );
      await attack("request_not_found", (g) => g, { inResponseTo: `_${"0".repeat(40)}` });
    },
    TIMEOUT,
  );

  it(
    "posted without the state cookie: repost page, then request_not_found; the request is still usable with its cookie",
    async () => {
      const before = await env.counts();
      const { start, posted } = await live();
      const bare = await postToAcs(env.t, null, posted);
      expect(bare.status).toBe(200);
      expect(parseSetCookies(bare)).toEqual([]);
      const html = await bare.text();
      expect(html).toContain('id="tikti-saml-repost"');
      expect(bare.headers.get("content-security-policy")).toMatch(/script-src 'nonce-[^']+'/);
      const repost = parseAutoPostForm(html);
      expect(repost.fields).toEqual({
        SAMLResponse: posted.SAMLResponse,
        RelayState: posted.RelayState,
        _tikti_state_retry: "1",
      });
      expect(await env.counts()).toEqual(before);
      const action = new URL(repost.action, "https://id.test.example/saml/acs").href;
      expect(action).toBe("https://id.test.example/saml/acs");
      const retried = await postForm(env.t, null, action, Object.entries(repost.fields));
      await expectRefused(retried, null, "request_not_found", before);
      const ok = await postToAcs(env.t, start.jar, posted);
      expect(ok.status).toBe(302);
      expect(start.jar.get(ID_COOKIE)).toBeDefined();
    },
    TIMEOUT,
  );

  it(
    "Destination / Audience changed: edited → destination_mismatch / signature_invalid; validly signed by the IdP → destination_mismatch / audience_mismatch",
    async () => {
      await attack("destination_mismatch", (g) =>
        tamper(g, (d) => d.documentElement!.setAttribute("Destination", "https://evil.example/acs")),
      );
      // A response the IdP issued for another SP, its Audience rewritten to Tikti's entity id.
      await attack(
        "signature_invalid",
        (g) => tamper(g, (d) => (one(d, NS.saml, "Audience").textContent = "https://id.test.example/saml")),
        { audience: "https://other-sp.example/saml" },
      );
      await attack("destination_mismatch", (g) => g, { destination: "https://other-sp.example/acs" });
      await attack("audience_mismatch", (g) => g, { audience: "https://other-sp.example/saml" });
    },
    TIMEOUT,
  );

  it(
    "validly signed but wrong: issuer, clock ±1 h, SHA-1, error status, unsigned",
    async () => {
      await attack("issuer_mismatch", (g) => g, { issuer: "https://impostor.example/idp" });
      await attack("clock_skew", (g) => g, { clockShiftSeconds: 3600 });
      await attack("clock_skew", (g) => g, { clockShiftSeconds: -3600 });
      await attack("algorithm_disallowed", (g) => g, { sigAlg: "rsa-sha1", digestAlg: "sha1" });
      await attack("status_not_success", (g) => g, { status: "error" });
      await attack("algorithm_disallowed", (g) => g, { sign: "none" });
    },
    TIMEOUT,
  );

  it(
    "encryption: Triple-DES and rsa-1_5 → algorithm_disallowed; ciphertext altered → signature_invalid (Response signed) / decrypt_failed",
    async () => {
      await attack("algorithm_disallowed", (g) => g, { encrypt: "tripledes-cbc" });
      await attack("algorithm_disallowed", (g) => g, { encrypt: "aes256-gcm", keyTransport: "rsa-1_5" });
      const flip = (g: string) =>
        tamper(g, (d) => {
          const data = one(d, NS.xenc, "EncryptedData");
          const value = elements(data, NS.xenc, "CipherValue").find(
            (v) => v.parentNode!.parentNode === data,
          )!;
          const bytes = Buffer.from((value.textContent ?? "").replace(/\s+/g, ""), "base64");
          bytes[bytes.length - 20] = bytes[bytes.length - 20]! ^ 0x01;
          value.textContent = bytes.toString("base64");
        });
      await attack("signature_invalid", flip, { encrypt: "aes256-gcm" });
      await attack("decrypt_failed", flip, { encrypt: "aes256-gcm", sign: "assertion" });
      await attack("decrypt_failed", flip, { encrypt: "aes128-cbc", sign: "assertion" });
    },
    TIMEOUT,
  );

  it(
    "a genuine login still works after every attack (control)",
    async () => {
      const r = await login(env.t, env.idp, TID, { relayState: "/app" });
      expect(r.acs.status).toBe(302);
      expect(r.idToken).toBeDefined();
      expect(assertionAudits(env.t).at(-1)).toMatchObject({
        decision: "accept",
        reason: "ok",
        jit: "existing",
      });
    },
    TIMEOUT,
  );
});
