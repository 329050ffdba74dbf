import { beforeAll, describe, expect, it } from "vitest";
import { type IdpRecord, mergeSigningCerts, usableSigningCerts } from "../../../src/saml/idp-records.ts";
import {
  isAcceptableEndpoint,
  isPublicAddress,
  METADATA_MESSAGES as M,
  MetadataError,
  parseIdpMetadata,
} from "../../../src/saml/metadata.ts";
import { idpMetadata, makeCert, POST, REDIRECT, rsaKey, type TestCert } from "./helpers.ts";

const EMAIL = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress";
const PERSISTENT = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent";
const rules = { devMode: false, maxBytes: 1_048_576, now: Date.now() };
const bytes = (s: string) => new TextEncoder().encode(s);

async function refusal(xml: string, r = rules): Promise<string> {
  try {
    await parseIdpMetadata(bytes(xml), r);
  } catch (e) {
    if (e instanceof MetadataError) return e.message;
    throw e;
  }
  throw new Error("metadata was accepted");
}

describe("IdP metadata parsing and validation (docs/spec/saml.md §12.2)", () => {
  let cert: TestCert;
  let cert2: TestCert;
  let expired: TestCert;
  let weak: TestCert;
  beforeAll(async () => {
    cert = await makeCert({ cn: "idp-signing" });
    cert2 = await makeCert({ key: await rsaKey("second"), cn: "idp-encryption" });
    expired = await makeCert({
      cn: "old",
      notBefore: Date.now() - 800 * 86_400_000,
      notAfter: Date.now() - 86_400_000,
    });
    weak = await makeCert({ key: await rsaKey("small", 1024), cn: "weak" });
  });

  it("extracts entity, endpoints, certificates and name id format from valid metadata", async () => {
    const xml = idpMetadata({
      entityId: "https://idp.example.com/e?x=1&amp;y=2",
      ssoUrl: "https://idp.example.com/sso?app=1&amp;b=2",
      slo: [
        [POST, "https://idp.example.com/slo-post"],
        [REDIRECT, "http://idp.example.com/slo-insecure"],
        [REDIRECT, "https://idp.example.com/slo", "https://idp.example.com/slo-response"],
      ],
      signing: [cert, cert],
      encryption: [cert2],
      nameIdFormats: [PERSISTENT, EMAIL],
    });
    const m = await parseIdpMetadata(bytes(xml), rules);
    expect(m).toMatchObject({
      entityId: "https://idp.example.com/e?x=1&y=2",
      ssoUrl: "https://idp.example.com/sso?app=1&b=2",
      sloUrl: "https://idp.example.com/slo",
      sloBinding: "HTTP-Redirect",
      sloResponseUrl: "https://idp.example.com/slo-response",
      nameIdFormat: EMAIL,
    });
    expect(m.signingCerts.map((c) => c.sha256)).toEqual([cert.sha256]);
    expect(m.encryptionCerts.map((c) => c.sha256)).toEqual([cert2.sha256]);
    expect(m.metadataSha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it("falls back to an HTTP-POST SLO endpoint, then to none; first listed name id format otherwise", async () => {
    const post = await parseIdpMetadata(
      bytes(
        idpMetadata({
          signing: [cert],
          slo: [[POST, "https://idp.example.com/slo"]],
          nameIdFormats: [PERSISTENT],
        }),
      ),
      rules,
    );
    expect(post).toMatchObject({
      sloBinding: "HTTP-POST",
      sloUrl: "https://idp.example.com/slo",
      nameIdFormat: PERSISTENT,
    });
    const none = await parseIdpMetadata(
      bytes(idpMetadata({ both: [cert], slo: [[REDIRECT, "http://idp.example.com/slo"]] })),
      rules,
    );
    expect(none).toMatchObject({ sloBinding: "", sloUrl: "", nameIdFormat: EMAIL });
    // A KeyDescriptor without `use` serves signing and encryption.
    expect(none.encryptionCerts.map((c) => c.sha256)).toEqual([cert.sha256]);
  });

  it("matches elements by namespace URI, not prefix", async () => {
    const m = await parseIdpMetadata(bytes(idpMetadata({ signing: [cert], prefix: "x" })), rules);
    expect(m.entityId).toBe("https://idp.example.com/metadata");
    const wrongNs = idpMetadata({ signing: [cert] }).replace(
      "urn:oasis:names:tc:SAML:2.0:metadata",
      "urn:example:other",
    );
    expect(await refusal(wrongNs)).toBe(M.notOneIdp);
  });

  it("accepts an EntitiesDescriptor with exactly one IdP entity", async () => {
    const m = await parseIdpMetadata(
      bytes(idpMetadata({ signing: [cert], wrapWithSp: ["https://sp1.example", "https://sp2.example"] })),
      rules,
    );
    expect(m.entityId).toBe("https://idp.example.com/metadata");
  });

  it("refuses with the exact message of each rule", async () => {
    const valid = idpMetadata({ signing: [cert] });
    const twoIdps = `<md:EntitiesDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata">${[1, 2]
      .map(
        (i) =>
          `<md:EntityDescriptor entityID="https://idp${i}.example"><md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"/></md:EntityDescriptor>`,
      )
      .join("")}</md:EntitiesDescriptor>`;
    const cases: Array<[string, string]> = [
      ["<md:EntityDescriptor", M.notWellFormed],
      [`${valid}<extra/>`, M.notWellFormed],
      [valid.replace("https://idp.example.com/sso", "https://idp.example.com/sso?a=1&b"), M.notWellFormed],
      [valid.replace("https://idp.example.com/sso", "&bogus;"), M.notWellFormed],
      [`<!DOCTYPE x [<!ENTITY e "boom">]>${valid.replace(/^<\?xml[^>]*>\n/, "")}`, M.doctype],
      [
        valid.replace("<md:IDPSSODescriptor", '<!ENTITY x SYSTEM "file:///etc/passwd"><md:IDPSSODescriptor'),
        M.doctype,
      ],
      [twoIdps, M.notOneIdp],
      ["<html><body>Sign in</body></html>", M.notOneIdp],
      [
        valid.replace("urn:oasis:names:tc:SAML:2.0:protocol", "urn:oasis:names:tc:SAML:1.1:protocol"),
        M.notOneIdp,
      ],
      [valid.replace('entityID="https://idp.example.com/metadata"', 'entityID=" "'), M.entityIdEmpty],
      [
        valid.replace(
          'entityID="https://idp.example.com/metadata"',
          `entityID="https://x/${"a".repeat(1100)}"`,
        ),
        M.entityIdEmpty,
      ],
      [idpMetadata({ signing: [cert], ssoBinding: POST }), M.ssoBinding],
      [idpMetadata({ signing: [cert], ssoUrl: "http://idp.example.com/sso" }), M.ssoHttps],
      [idpMetadata({ signing: [cert], ssoUrl: "https://u:p@idp.example.com/sso" }), M.ssoHttps],
      [idpMetadata({ signing: [cert], ssoUrl: "https://idp.example.com/sso#f" }), M.ssoHttps],
      [idpMetadata({ encryption: [cert] }), M.noSigningCert],
      [valid.replace(/<ds:X509Certificate>[^<]*</, "<ds:X509Certificate>bm90IGEgY2VydA==<"), M.noSigningCert],
      [idpMetadata({ signing: [expired] }), M.expiredSigningCert],
      [idpMetadata({ signing: [weak] }), M.weakKey],
    ];
    for (const [xml, message] of cases) expect(await refusal(xml), xml.slice(0, 120)).toBe(message);
  });

  // Metadata goes through the parser of the SAML messages (src/saml/xml.ts): what the hand-built
  // DOM over fast-xml-parser accepted, or refused with another message, and that parser refuses.
  it("refuses what the shared hardened parser refuses (§7.2 pre-scan, well-formedness, depth)", async () => {
    const valid = idpMetadata({ signing: [cert] });
    const inFront = (markup: string) =>
      valid.replace("<md:IDPSSODescriptor", `${markup}<md:IDPSSODescriptor`);
    const nested = (depth: number) =>
      valid.replace(
        "<md:SingleSignOnService",
        `${"<md:Extensions>".repeat(depth)}${"</md:Extensions>".repeat(depth)}<md:SingleSignOnService`,
      );
    const cases: Array<[string, string, string]> = [
      ["processing instruction", inFront("<?foo bar?>"), M.notWellFormed],
      [
        "stylesheet PI after the declaration",
        valid.replace("\n", '\n<?xml-stylesheet href="x"?>\n'),
        M.notWellFormed,
      ],
      ["ATTLIST declaration inside", inFront('<!ATTLIST a b CDATA "c">'), M.doctype],
      [
        "ELEMENT declaration before the root",
        `<!ELEMENT a ANY>${valid.replace(/^<\?xml[^>]*>\n/, "")}`,
        M.doctype,
      ],
      [
        "'<' in an attribute value",
        valid.replace(
          'entityID="https://idp.example.com/metadata"',
          'entityID="https://idp.example.com/a<b"',
        ),
        M.notWellFormed,
      ],
      ["'--' inside a comment", inFront("<!-- a -- b -->"), M.notWellFormed],
      ["element name starting with a digit", inFront("<md:1bad/>"), M.notWellFormed],
      ["']]>' in text", inFront("x ]]> y"), M.notWellFormed],
      ["bare '&' in text", inFront("x & y"), M.notWellFormed],
      ["elements nested 70 deep", nested(70), M.notWellFormed],
    ];
    for (const [label, xml, message] of cases) expect(await refusal(xml), label).toBe(message);
    // What genuine metadata carries still passes: comments, CDATA, nesting, a UTF-8 BOM.
    for (const xml of [
      nested(40),
      valid.replace("<ds:X509Certificate>\n", "<ds:X509Certificate>\n<!-- rotated 2026 -->"),
      valid.replace(/<ds:X509Certificate>([^<]*)</, "<ds:X509Certificate><![CDATA[$1]]><"),
      `\ufeff${valid}`,
    ]) {
      expect((await parseIdpMetadata(bytes(xml), rules)).signingCerts.map((c) => c.sha256)).toEqual([
        cert.sha256,
      ]);
    }
  });

  it("refuses metadata over the size limit and non-UTF-8 encodings", async () => {
    const valid = idpMetadata({ signing: [cert] });
    expect(await refusal(valid, { ...rules, maxBytes: 100 })).toBe(M.tooLarge);
    expect(await refusal(valid.replace('encoding="UTF-8"', 'encoding="ISO-8859-1"'))).toBe(M.notWellFormed);
    await expect(parseIdpMetadata(new Uint8Array([0x3c, 0xff, 0xfe]), rules)).rejects.toThrow(
      M.notWellFormed,
    );
  });

  it("drops expired signing certificates when a valid one remains", async () => {
    const m = await parseIdpMetadata(bytes(idpMetadata({ signing: [expired, cert] })), rules);
    expect(m.signingCerts.map((c) => c.sha256)).toEqual([cert.sha256]);
  });

  it("accepts loopback http endpoints only in dev mode", async () => {
    const xml = idpMetadata({
      signing: [cert],
      ssoUrl: "http://127.0.0.1:9000/sso",
      slo: [[REDIRECT, "http://127.0.0.1:9000/slo"]],
    });
    expect(await refusal(xml)).toBe(M.ssoHttps);
    const dev = await parseIdpMetadata(bytes(xml), { ...rules, devMode: true });
    expect(dev).toMatchObject({ ssoUrl: "http://127.0.0.1:9000/sso", sloUrl: "http://127.0.0.1:9000/slo" });
    expect(isAcceptableEndpoint("http://idp.example.com/sso", true)).toBe(false);
  });
});

describe("certificate overlap (docs/spec/saml.md §12.3)", () => {
  const now = Date.UTC(2026, 5, 1);
  const h = 3_600_000;
  const pinned = (sha: string, extra: Partial<IdpRecord["signingCerts"][number]> = {}) => ({
    der: "AA==",
    sha256: sha,
    notAfter: "2030-01-01T00:00:00Z",
    addedAt: "2026-01-01T00:00:00Z",
    retireAfter: null,
    ...extra,
  });
  const fresh = (sha: string) => ({ der: new Uint8Array([1]), sha256: sha, notAfter: Date.UTC(2031, 0, 1) });

  it("puts new certificates first and keeps missing ones until retireAfter", () => {
    const out = mergeSigningCerts([pinned("a"), pinned("b")], [fresh("c"), fresh("b"), fresh("c")], {
      now,
      overlapHours: 24,
      dropPrevious: false,
    });
    expect(out.map((c) => [c.sha256, c.retireAfter])).toEqual([
      ["c", null],
      ["b", null],
      ["a", "2026-06-02T00:00:00Z"],
    ]);
    expect(out[1]!.addedAt).toBe("2026-01-01T00:00:00Z");
    expect(out[0]!.addedAt).toBe("2026-06-01T00:00:00Z");
  });

  it("keeps an existing retireAfter, drops certificates past it, and skips the overlap on request", () => {
    const previous = [
      pinned("a", { retireAfter: "2026-06-01T12:00:00Z" }),
      pinned("old", { retireAfter: "2026-05-31T00:00:00Z" }),
    ];
    const out = mergeSigningCerts(previous, [fresh("c")], { now, overlapHours: 24, dropPrevious: false });
    expect(out.map((c) => [c.sha256, c.retireAfter])).toEqual([
      ["c", null],
      ["a", "2026-06-01T12:00:00Z"],
    ]);
    expect(
      mergeSigningCerts(previous, [fresh("c")], { now, overlapHours: 24, dropPrevious: true }).map(
        (c) => c.sha256,
      ),
    ).toEqual(["c"]);
  });

  it("usable signing certificates exclude expired and retired ones", () => {
    const record = {
      signingCerts: [
        pinned("ok"),
        pinned("retired", { retireAfter: new Date(now - h).toISOString() }),
        pinned("expired", { notAfter: "2020-01-01T00:00:00Z" }),
        pinned("overlap", { retireAfter: new Date(now + h).toISOString() }),
      ],
    } as unknown as IdpRecord;
    const usable = usableSigningCerts(record, now);
    expect(usable.map((c) => c.sha256)).toEqual(["ok", "overlap"]);
    expect(usable[0]!.pem).toMatch(/^-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n$/);
  });
});

describe("public addresses (docs/spec/saml.md §12.1)", () => {
  it.each([
    ["93.184.216.34", true],
    ["8.8.8.8", true],
    ["2606:4700::1111", true],
    ["10.1.2.3", false],
    ["127.0.0.1", false],
    ["169.254.169.254", false],
    ["100.64.0.1", false],
    ["172.31.255.255", false],
    ["192.168.1.1", false],
    ["198.18.0.1", false],
    ["224.0.0.1", false],
    ["255.255.255.255", false],
    ["0.0.0.0", false],
    ["::1", false],
    ["::", false],
    ["::ffff:10.0.0.1", false],
    ["::ffff:93.184.216.34", true],
    ["64:ff9b::a00:1", false],
    ["2001:db8::1", false],
    ["2002::1", false],
    ["fd00::1", false],
    ["fe80::1", false],
    ["ff02::1", false],
    ["not-an-ip", false],
  ])("%s → %s", (address, expected) => {
    expect(isPublicAddress(address)).toBe(expected);
  });
});
