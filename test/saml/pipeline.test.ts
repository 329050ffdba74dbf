import { describe, expect, it } from "vitest";
import { isSafeRedirectTarget } from "../../src/config/validate.ts";
import { bytesToBase64 } from "../../src/crypto/pem.ts";
import { SAML_REASON_BUCKET, SAML_REASONS } from "../../src/saml/reasons.ts";
import {
  parseInstant,
  prepareSamlResponse,
  replayTtlSeconds,
  type ValidatedAssertion,
  validateSamlResponse,
} from "../../src/saml/response.ts";
import {
  type Case,
  fixtureBytes,
  manifest,
  NOW,
  responseContext,
  runCase,
  settingsFor,
} from "./support/corpus.ts";

const text = (file: string) => new TextDecoder().decode(fixtureBytes(file));
const b64 = (s: string) => bytesToBase64(new TextEncoder().encode(s));
const caseOf = (file: string, reason = "ok"): Case => {
  const c = manifest.cases.find((x) => x.file === file && x.reason === reason);
  if (!c) throw new Error(`no manifest row ${file} ${reason}`);
  return c;
};
const BASE = "valid/response.signed.assertion-signed.xml";
const REQ = manifest.defaults.requestId!;

describe("reason codes (§6.7)", () => {
  it("is a closed set, each in exactly one bucket", () => {
    expect(SAML_REASONS).toHaveLength(19);
    expect(Object.keys(SAML_REASON_BUCKET).sort()).toEqual([...SAML_REASONS].sort());
    expect(SAML_REASON_BUCKET.request_not_found).toBe("bad_request");
    expect(SAML_REASON_BUCKET.xxe_detected).toBe("forbidden");
    expect(SAML_REASON_BUCKET.tid_unknown).toBe("not_configured");
    expect(SAML_REASON_BUCKET.idp_metadata_stale).toBe("internal");
    expect(SAML_REASON_BUCKET.email_conflict).toBe("forbidden");
  });
});

describe("prepareSamlResponse (P1–P4)", () => {
  it.each([
    ["not base64", "%%%", "request_not_found"],
    ["URL-safe base64", b64(text(BASE)).replace(/\+/g, "-").replace(/\//g, "_"), "request_not_found"],
    ["over 256 KiB decoded", b64(`${text(BASE)}${" ".repeat(256 * 1024)}`), "request_not_found"],
    ["a DOCTYPE", b64(`<!DOCTYPE x>${text(BASE).replace(/^<\?xml[^>]*>/, "")}`), "xxe_detected"],
  ])("%s → %s", (_label, value, reason) => {
    expect(prepareSamlResponse(value)).toMatchObject({ ok: false, reason });
  });

  it("accepts base64 with line breaks (IdPs wrap at 76 columns)", () => {
    const wrapped = b64(text(BASE)).replace(/(.{76})/g, "$1\r\n");
    expect(prepareSamlResponse(wrapped).ok).toBe(true);
  });

  const irtOf = (xml: string) => {
    const r = prepareSamlResponse(b64(xml));
    if (!r.ok) throw new Error(r.detail);
    return { inResponseTo: r.response.inResponseTo, carries: r.response.carriesInResponseTo };
  };
  const base = text(BASE);
  const noResponseIrt = base.replace(/ InResponseTo="[^"]*"(?=[^>]*>\s*<saml:Issuer)/, "");

  it("step 1: takes Response@InResponseTo first", () => {
    expect(irtOf(base)).toEqual({ inResponseTo: REQ, carries: true });
  });

  it("step 1: falls back to the bearer SubjectConfirmationData of a plaintext assertion", () => {
    expect(noResponseIrt).not.toBe(base);
    expect(irtOf(noResponseIrt)).toEqual({ inResponseTo: REQ, carries: true });
  });

  it("step 1: two different values mean none", () => {
    const sc = /<saml:SubjectConfirmation [\s\S]*?<\/saml:SubjectConfirmation>/.exec(noResponseIrt)![0];
    const two = noResponseIrt.replace(sc, `${sc}${sc.replace(REQ, "_another")}`);
    expect(irtOf(two)).toEqual({ inResponseTo: null, carries: true });
    expect(irtOf(noResponseIrt.replace(sc, `${sc}${sc}`)).inResponseTo).toBe(REQ);
  });

  it("step 1: an unsolicited response carries none", () => {
    expect(irtOf(text("valid/response.unsolicited.xml"))).toEqual({ inResponseTo: null, carries: false });
  });
});

describe("validateSamlResponse facts", () => {
  it("returns every fact from the signed assertion", async () => {
    const out = await runCase(caseOf(BASE));
    const a = out.assertion as ValidatedAssertion;
    expect(a.id).toMatch(/^_a[0-9a-f]{32}$/);
    expect(text(BASE)).toContain(`ID="${a.id}"`);
    expect(a).toMatchObject({
      issuer: manifest.defaults.idpEntityId,
      nameId: "alice@example.test",
      nameIdFormat: "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
      sessionIndex: expect.stringMatching(/^_s/),
      sessionNotOnOrAfter: NOW + 8 * 3600_000,
      notOnOrAfter: NOW + 300_000,
      authnInstant: NOW - 30_000,
      inResponseTo: REQ,
      responseSigned: true,
      assertionSigned: true,
      encrypted: false,
    });
    expect(a.attributes).toEqual({
      mail: ["alice@example.test"],
      displayName: ["Alice Example"],
      groups: ["engineering", "staff"],
    });
  });

  it("marks an encrypted assertion", async () => {
    const out = await runCase(caseOf("valid/response.encrypted.aes256-cbc.rsa-oaep-mgf1p.xml"));
    expect(out.assertion).toMatchObject({ encrypted: true, assertionSigned: true, responseSigned: true });
  });

  // Conditions NotBefore = now−60 s, IssueInstant = now−10 s, NotOnOrAfter = now+300 s; skew 120 s.
  it.each([
    [-130_000, "ok"],
    [-130_001, "clock_skew"], // IssueInstant beyond now + skew
    [419_999, "ok"],
    [420_000, "clock_skew"], // NotOnOrAfter ≤ now − skew
  ])("time window with skew: now %+d ms → %s", async (shift, reason) => {
    expect((await runCase(caseOf(BASE), undefined, NOW + shift)).reason).toBe(reason);
  });

  it("never reads the unsigned Response when only the assertion is signed", async () => {
    // The Response Issuer is outside every signature; changing it can only cause a rejection.
    const file = "valid/response.unsigned.assertion-signed.xml";
    const evil = text(file).replace(
      "<saml:Issuer>https://idp.example.test/metadata</saml:Issuer>",
      "<saml:Issuer>https://evil.example.test</saml:Issuer>",
    );
    const out = await runCase(caseOf(file), new TextEncoder().encode(evil));
    expect(out.reason).toBe("issuer_mismatch");
  });

  it("fails closed: an unexpected exception is internal_error with its cause, never a throw", async () => {
    const pre = prepareSamlResponse(b64(text(BASE)));
    if (!pre.ok) throw new Error("prepare");
    const ctx = { ...responseContext(settingsFor(caseOf(BASE))), policy: undefined as never };
    const r = await validateSamlResponse(pre.response, ctx);
    expect(r).toMatchObject({ ok: false, reason: "internal_error", detail: "unexpected_exception" });
    expect(!r.ok && r.cause).toBeInstanceOf(TypeError);
  });

  it("does not mutate or reuse state between calls (same input, same verdict)", async () => {
    const pre = prepareSamlResponse(b64(text(BASE)));
    if (!pre.ok) throw new Error("prepare");
    const ctx = responseContext(settingsFor(caseOf(BASE)));
    const a = await validateSamlResponse(pre.response, ctx);
    const b = await validateSamlResponse(pre.response, ctx);
    expect(a).toEqual(b);
  });
});

describe("caller steps around the pipeline: request consumption and replay (§6.3 steps 1, 12)", () => {
  /** The caller's state: outstanding requests (CONSUME) and the replay cache (SET NX). */
  function acs() {
    const requests = new Set([REQ]);
    const seen = new Map<string, number>();
    return async (c: Case): Promise<string> => {
      const s = settingsFor(c);
      const pre = prepareSamlResponse(bytesToBase64(fixtureBytes(c.file)));
      if (!pre.ok) return pre.reason;
      if (s.requestId !== null) {
        if (pre.response.inResponseTo !== s.requestId || !requests.delete(s.requestId))
          return "request_not_found";
      } else if (pre.response.carriesInResponseTo) {
        return "request_not_found";
      }
      const r = await validateSamlResponse(pre.response, responseContext(s));
      if (!r.ok) return r.reason;
      if (seen.has(r.assertion.id)) return "request_replay";
      seen.set(r.assertion.id, replayTtlSeconds(r.assertion, NOW, s.policy.clockSkewSeconds));
      return "ok";
    };
  }

  it("a solicited response posted twice: the request is gone the second time", async () => {
    const post = acs();
    expect(await post(caseOf(BASE))).toBe("ok");
    expect(await post(caseOf(BASE))).toBe("request_not_found");
  });

  it("an unsolicited response posted twice: the replay cache stops it", async () => {
    const post = acs();
    const c = caseOf("valid/response.unsolicited.xml");
    expect(await post(c)).toBe("ok");
    expect(await post(c)).toBe("request_replay");
  });

  it("replay TTL is max(3600, NotOnOrAfter − now + skew)", () => {
    expect(replayTtlSeconds({ notOnOrAfter: NOW + 300_000 }, NOW, 120)).toBe(3600);
    expect(replayTtlSeconds({ notOnOrAfter: NOW + 7200_000 }, NOW, 120)).toBe(7320);
    expect(replayTtlSeconds({ notOnOrAfter: NOW + 7200_500 }, NOW, 0)).toBe(7201);
  });
});

describe("SAML times", () => {
  it.each([
    ["2031-05-04T10:00:00Z", Date.UTC(2031, 4, 4, 10)],
    ["2031-05-04T10:00:00.5Z", Date.UTC(2031, 4, 4, 10, 0, 0, 500)],
    ["2031-05-04T10:00:00.123456789Z", Date.UTC(2031, 4, 4, 10, 0, 0, 123)],
    ["2031-05-04T10:00:00", null], // no zone
    ["2031-05-04T12:00:00+02:00", null], // SAML times are UTC
    ["2031-02-30T10:00:00Z", null],
    ["2031-05-04T24:00:00Z", null],
    ["2031-5-4T10:00:00Z", null],
    [" 2031-05-04T10:00:00Z", null],
  ])("%j → %s", (v, expected) => {
    expect(parseInstant(v)).toBe(expected);
  });
});

describe("RelayState is never a redirect target (§6.4)", () => {
  // The ACS redirects to the stored returnTo, checked again with the shared rule of config/validate.ts.
  const issuer = "https://id.example.com";
  const allowed = ["https://app.example.com"];
  it.each([
    ["/", true],
    ["/app", true],
    ["/app/settings?tab=profile", true],
    ["https://app.example.com/x", true],
    ["//evil.com", false],
    ["/\\evil.com", false],
    ["/@evil.com", false],
    ["evil.com", false],
    ["relative/path", false],
    ["https://evil.com/x", false],
    ["http://app.example.com/x", false],
    ["https://app.example.com.evil.com/x", false],
    ["javascript:alert(1)", false],
    ["/a b", false],
    ["/a\tb", false],
    ["/\u0000", false],
    [`/${"a".repeat(2048)}`, false],
    ["%2F%2Fevil.com", false],
  ])("%j → %s", (target, safe) => {
    expect(isSafeRedirectTarget(target, issuer, allowed)).toBe(safe);
  });
});
