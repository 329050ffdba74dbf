import { describe, expect, it } from "vitest";
import { SignedXml } from "xml-crypto";
import { toPem } from "../../src/crypto/pem.ts";
import {
  DIGEST_ALG_URI,
  SIG_ALG_URI,
  type SignatureAllowlist,
  sigAlgNameOf,
  signatureAllowlist,
} from "../../src/saml/algorithms.ts";
import {
  type PinnedCertificate,
  splitRedirectQuery,
  usableCertificates,
  verifyEnvelopedSignature,
  verifyRedirectSignature,
} from "../../src/saml/verify.ts";
import {
  childrenNamed,
  descendantsNamed,
  NS,
  type ParsedXml,
  parseSamlXml,
  textOf,
} from "../../src/saml/xml.ts";
import { certDer, fixtureBytes, keyFile, NOW } from "./support/corpus.ts";

const pem = (name: string) => keyFile(name, "crt");
const DEFAULT_ALLOW = signatureAllowlist();
const parse = (file: string): ParsedXml => parseSamlXml(fixtureBytes(file));
const assertionOf = (m: ParsedXml) => childrenNamed(m.root, NS.assertion, "Assertion")[0]!;

describe("algorithm allowlist (§3, §7.6)", () => {
  it("defaults to rsa-sha256 and sha256", () => {
    expect([...DEFAULT_ALLOW.signatureMethods]).toEqual([SIG_ALG_URI["rsa-sha256"]]);
    expect([...DEFAULT_ALLOW.digestMethods]).toEqual([DIGEST_ALG_URI.sha256]);
  });

  it("can be narrowed or extended to rsa-sha512/sha512 and never beyond", () => {
    const wide = signatureAllowlist(
      ["rsa-sha512", "rsa-sha256", "rsa-sha1", "hmac-sha1", "dsa-sha1"],
      ["sha512", "sha1", "md5", "sha256"],
    );
    expect([...wide.signatureMethods].sort()).toEqual(
      [SIG_ALG_URI["rsa-sha256"], SIG_ALG_URI["rsa-sha512"]].sort(),
    );
    expect([...wide.digestMethods].sort()).toEqual([DIGEST_ALG_URI.sha256, DIGEST_ALG_URI.sha512].sort());
    const none = signatureAllowlist([], []);
    expect(none.signatureMethods.size + none.digestMethods.size).toBe(0);
  });

  it("maps allowed URIs to names and refuses everything else", () => {
    expect(sigAlgNameOf(SIG_ALG_URI["rsa-sha256"], DEFAULT_ALLOW)).toBe("rsa-sha256");
    expect(sigAlgNameOf(SIG_ALG_URI["rsa-sha512"], DEFAULT_ALLOW)).toBeNull();
    for (const uri of [
      "http://www.w3.org/2000/09/xmldsig#rsa-sha1",
      "http://www.w3.org/2000/09/xmldsig#hmac-sha1",
      "http://www.w3.org/2001/04/xmldsig-more#hmac-sha256",
      "http://www.w3.org/2009/xmldsig11#dsa-sha256",
      "http://www.w3.org/2007/05/xmldsig-more#sha256-rsa-MGF1",
    ]) {
      expect(
        sigAlgNameOf(uri, signatureAllowlist(["rsa-sha256", "rsa-sha512"], ["sha256", "sha512"])),
      ).toBeNull();
    }
  });
});

describe("usableCertificates (§7.5)", () => {
  const cert = (over: Partial<PinnedCertificate> = {}): PinnedCertificate => ({
    der: certDer("idp-signing"),
    notAfter: "2126-01-01T00:00:00Z",
    retireAfter: null,
    ...over,
  });

  it("keeps order and drops expired, retired and undecodable certificates", () => {
    const list = usableCertificates(
      [
        cert({ der: certDer("idp-signing-next") }),
        cert({ notAfter: "2031-05-04T10:00:00Z" }), // expires exactly now
        cert({ retireAfter: "2031-05-04T09:59:59Z" }),
        cert({ der: "!!!" }),
        cert(),
      ],
      NOW,
    );
    expect(list).toEqual([pem("idp-signing-next"), pem("idp-signing")].map((p) => p.replace(/\r/g, "")));
  });

  it("keeps a certificate whose retireAfter is still ahead", () => {
    expect(usableCertificates([cert({ retireAfter: "2031-05-05T00:00:00Z" })], NOW)).toHaveLength(1);
  });
});

describe("verifyEnvelopedSignature", () => {
  const opts = (certs: string[], allow: SignatureAllowlist = DEFAULT_ALLOW) => ({
    certificates: certs,
    allow,
  });

  it("returns the signed bytes, parsed, rooted at the signed element", () => {
    const m = parse("valid/response.signed.assertion-signed.xml");
    const response = verifyEnvelopedSignature(m, m.root, opts([pem("idp-signing")]));
    expect(response.ok).toBe(true);
    if (!response.ok) return;
    expect(response.signed.root.localName).toBe("Response");
    expect(response.signed.root.getAttribute("ID")).toBe(m.root.getAttribute("ID"));
    // Enveloped: the Response's own signature is gone, the Assertion's (inside) is kept.
    expect(descendantsNamed(response.signed.root, NS.ds, "Signature")).toHaveLength(1);
    expect(response.signedXml.startsWith("<samlp:Response")).toBe(true);
    expect(response.signatureMethod).toBe(SIG_ALG_URI["rsa-sha256"]);

    const a = verifyEnvelopedSignature(m, assertionOf(m), opts([pem("idp-signing")]));
    expect(a.ok && a.signed.root.localName).toBe("Assertion");
    expect(a.ok && descendantsNamed(a.signed.root, NS.ds, "Signature")).toHaveLength(0);
  });

  it("reads comment-injected text whole from the signed bytes (and the shape rule refuses it anyway)", () => {
    // The IdP signed "victim@example.test.evil.test"; a comment was inserted afterwards. Comments
    // are not signed, so the signature is still valid — what matters is what we read.
    const m = parse("invalid/comment-injection-nameid.xml");
    const received = descendantsNamed(m.root, NS.assertion, "NameID")[0]!;
    expect(received.firstChild?.nodeValue).toBe("victim@example.test"); // the naive reading
    const check = verifyEnvelopedSignature(m, assertionOf(m), opts([pem("idp-signing")]));
    expect(check.ok).toBe(true);
    if (!check.ok) return;
    const signedNameId = descendantsNamed(check.signed.root, NS.assertion, "NameID")[0]!;
    expect(textOf(signedNameId)).toBe("victim@example.test.evil.test");
  });

  it("ignores KeyInfo entirely: only the pinned certificate decides", () => {
    const faked = parse("invalid/certificate-faking-attacker-keyinfo.xml");
    // Genuinely signed by the attacker, whose certificate is in KeyInfo:
    expect(verifyEnvelopedSignature(faked, faked.root, opts([pem("idp-signing")]))).toMatchObject({
      ok: false,
      failure: "crypto",
    });
    expect(verifyEnvelopedSignature(faked, faked.root, opts([pem("attacker")])).ok).toBe(true);

    // The genuine message with the attacker's certificate swapped into KeyInfo still verifies.
    const attackerB64 = certDer("attacker");
    const text = new TextDecoder()
      .decode(fixtureBytes("valid/response.signed.assertion-signed.xml"))
      .replace(
        /<ds:X509Certificate>[^<]*<\/ds:X509Certificate>/,
        `<ds:X509Certificate>${attackerB64}</ds:X509Certificate>`,
      );
    const swapped = parseSamlXml(new TextEncoder().encode(text));
    expect(verifyEnvelopedSignature(swapped, swapped.root, opts([pem("idp-signing")])).ok).toBe(true);
  });

  it("tries the pinned certificates in order", () => {
    const m = parse("valid/response.signed.assertion-signed.xml");
    const r = verifyEnvelopedSignature(
      m,
      m.root,
      opts([pem("attacker"), pem("idp-signing-next"), pem("idp-signing")]),
    );
    expect(r.ok && r.certificateIndex).toBe(2);
    expect(verifyEnvelopedSignature(m, m.root, opts([]))).toMatchObject({
      ok: false,
      detail: "no_usable_certificate",
    });
  });

  it("applies the allowlist before any cryptography", () => {
    const m = parse("valid/response.rsa-sha512.sha512.xml");
    expect(verifyEnvelopedSignature(m, m.root, opts([pem("idp-signing")]))).toMatchObject({
      ok: false,
      failure: "algorithm",
      detail: "signature_method",
    });
    const wide = signatureAllowlist(["rsa-sha512"], ["sha512"]);
    const r = verifyEnvelopedSignature(m, m.root, opts([pem("idp-signing")], wide));
    expect(r.ok && r.signatureMethod).toBe(SIG_ALG_URI["rsa-sha512"]);
    expect(r.ok && r.digestMethod).toBe(DIGEST_ALG_URI.sha512);
  });

  it("reports a missing signature as such", () => {
    const m = parse("invalid/signature-stripped.xml");
    expect(verifyEnvelopedSignature(m, m.root, opts([pem("idp-signing")]))).toMatchObject({
      ok: false,
      failure: "missing",
    });
  });

  it.each([
    ["invalid/comment-in-digest-value.xml", "signed_info_markup"],
    ["invalid/two-signed-info.xml", "several_signed_info"],
    ["invalid/two-references.xml", "several_references"],
    ["invalid/signature-object.xml", "object"],
    ["invalid/reference-empty-uri.xml", "reference_uri"],
    ["invalid/response-reference-to-assertion.xml", "reference_uri"],
    ["invalid/transform-only-exc-c14n.xml", "transform_count"],
  ])("%s fails the signature profile (%s)", (file, detail) => {
    const m = parse(file);
    expect(verifyEnvelopedSignature(m, m.root, opts([pem("idp-signing")]))).toEqual({
      ok: false,
      failure: "profile",
      detail,
    });
  });

  it("documents why the profile matters: xml-crypto alone accepts a comment inside DigestValue", () => {
    const m = parse("invalid/comment-in-digest-value.xml");
    const sx = new SignedXml({ publicCert: pem("idp-signing"), getCertFromKeyInfo: () => null });
    sx.loadSignature(childrenNamed(m.root, NS.ds, "Signature")[0] as never);
    expect(sx.checkSignature(m.text)).toBe(true);
  });

  it("refuses a duplicated signature value (copied Signature) inside the signed element", () => {
    const text = new TextDecoder().decode(fixtureBytes("valid/response.signed.assertion-signed.xml"));
    const sig = /<ds:Signature[\s\S]*?<\/ds:Signature>/.exec(text)![0];
    // Response signature copied into an Extensions element: xml-crypto cannot tell them apart.
    const m = parseSamlXml(
      new TextEncoder().encode(
        text.replace("<samlp:Status>", `<samlp:Extensions>${sig}</samlp:Extensions><samlp:Status>`),
      ),
    );
    expect(verifyEnvelopedSignature(m, m.root, opts([pem("idp-signing")]))).toMatchObject({
      ok: false,
      failure: "crypto",
    });
  });
});

describe("HTTP-Redirect binding", () => {
  const raw = () => new TextDecoder().decode(fixtureBytes("valid/logout-request.redirect.signed.txt")).trim();

  it("splits the raw query and rebuilds the signed octets in binding order", () => {
    const q = splitRedirectQuery(raw())!;
    expect(q.parameter).toBe("SAMLRequest");
    expect(q.relayState).toBe("/after logout?x=1&y=2");
    expect(q.signedOctets).toBe(raw().slice(0, raw().indexOf("&Signature=")));
    const params = raw().split("&");
    const shuffled = [params[3], params[1], params[0], params[2]].join("&");
    expect(splitRedirectQuery(shuffled)!.signedOctets).toBe(q.signedOctets);
  });

  it.each([
    ["repeated parameter", (s: string) => `${s}&SigAlg=x`],
    ["both SAMLRequest and SAMLResponse", (s: string) => `${s}&SAMLResponse=x`],
    ["malformed percent-encoding", (s: string) => `${s}&RelayState=%E0%A4%A`],
    ["no message", () => "RelayState=x"],
    ["empty message", () => "SAMLRequest=&SigAlg=x"],
  ])("refuses %s", (_label, mutate) => {
    expect(splitRedirectQuery(mutate(raw()))).toBeNull();
  });

  it("verifies over the raw octets with the pinned certificate only", async () => {
    const q = splitRedirectQuery(raw())!;
    const base = {
      signedOctets: q.signedOctets!,
      sigAlg: q.sigAlg!,
      signature: q.signature!,
      allow: DEFAULT_ALLOW,
    };
    expect(await verifyRedirectSignature({ ...base, certificates: [pem("idp-signing")] })).toEqual({
      ok: true,
      certificateIndex: 0,
    });
    expect(await verifyRedirectSignature({ ...base, certificates: [pem("attacker")] })).toMatchObject({
      ok: false,
      failure: "crypto",
    });
    // Re-encoding the octets (e.g. %20 for +) breaks the signature: never re-encode.
    const reencoded = q.signedOctets!.replace(/%2F/g, "/");
    expect(reencoded).not.toBe(q.signedOctets);
    expect(
      await verifyRedirectSignature({ ...base, signedOctets: reencoded, certificates: [pem("idp-signing")] }),
    ).toMatchObject({ ok: false });
    expect(
      await verifyRedirectSignature({
        ...base,
        signature: "not base64!",
        certificates: [pem("idp-signing")],
      }),
    ).toMatchObject({ ok: false, failure: "crypto", detail: "signature_encoding" });
    expect(
      await verifyRedirectSignature({
        ...base,
        sigAlg: "http://www.w3.org/2000/09/xmldsig#rsa-sha1",
        certificates: [pem("idp-signing")],
      }),
    ).toMatchObject({ ok: false, failure: "algorithm" });
  });

  it("accepts PEM built from the record's base64 DER", () => {
    const fromDer = toPem(
      Uint8Array.from(atob(certDer("idp-signing")), (c) => c.charCodeAt(0)),
      "CERTIFICATE",
    );
    expect(fromDer.replace(/\s+/g, "")).toBe(pem("idp-signing").replace(/\s+/g, ""));
  });
});
