import { execFileSync, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { FIXTURES, fixtureBytes, manifest, runCase } from "./support/corpus.ts";

// xmlsec1 is an independent XML-DSig implementation (libxml2 + OpenSSL): messages it signs must
// verify here, the same bytes with one signed value changed must fail here and there, and its
// verdict with a pinned key agrees with ours. (scripts/system-deps.mjs installs it.)
const dir = mkdtempSync(join(tmpdir(), "tikti-xmlsec-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const KEY = join(FIXTURES, "keys/idp-signing.key.pem");
const CRT = join(FIXTURES, "keys/idp-signing.crt.pem");
const ID_ATTRS = [
  "--id-attr:ID",
  "urn:oasis:names:tc:SAML:2.0:protocol:Response",
  "--id-attr:ID",
  "urn:oasis:names:tc:SAML:2.0:assertion:Assertion",
];
const ASSERTION_SIG = "(//*[local-name()='Assertion']/*[local-name()='Signature'])[1]";
const ROOT_SIG = "/*/*[local-name()='Signature']";
let n = 0;

function xmlsecSign(xml: string, xpath: string): string {
  const input = join(dir, `in-${n}.xml`);
  const output = join(dir, `out-${n++}.xml`);
  writeFileSync(input, xml);
  execFileSync(
    "xmlsec1",
    [
      "--sign",
      "--privkey-pem",
      `${KEY},${CRT}`,
      ...ID_ATTRS,
      "--node-xpath",
      xpath,
      "--output",
      output,
      input,
    ],
    {
      stdio: ["ignore", "ignore", "pipe"],
    },
  );
  return readFileSync(output, "utf8");
}

/** xmlsec1 as an oracle, pinned (§16.3 pitfall 5): only the given certificate's raw key may verify. */
function xmlsecVerifies(xml: string, xpath: string): boolean {
  const file = join(dir, `v-${n++}.xml`);
  writeFileSync(file, xml);
  const r = spawnSync(
    "xmlsec1",
    [
      "--verify",
      "--pubkey-cert-pem",
      CRT,
      "--enabled-key-data",
      "raw-x509-cert",
      "--enabled-reference-uris",
      "same-doc",
      ...ID_ATTRS,
      "--node-xpath",
      xpath,
      file,
    ],
    { stdio: "ignore" },
  );
  return r.status === 0;
}

/** A signing template made from a committed fixture: signature values and certificates emptied. */
function templateFrom(file: string): string {
  return new TextDecoder()
    .decode(fixtureBytes(file))
    .replace(/<ds:DigestValue>[^<]*<\/ds:DigestValue>/g, "<ds:DigestValue></ds:DigestValue>")
    .replace(/<ds:SignatureValue>[^<]*<\/ds:SignatureValue>/g, "<ds:SignatureValue></ds:SignatureValue>")
    .replace(/<ds:X509Data>[\s\S]*?<\/ds:X509Data>/g, "<ds:X509Data/>");
}

const caseFor = (file: string) => manifest.cases.find((c) => c.file === file && c.reason === "ok")!;
const BASE = "valid/response.signed.assertion-signed.xml";
const run = (xml: string) => runCase(caseFor(BASE), new TextEncoder().encode(xml));

describe("cross-check with xmlsec1", () => {
  it("xmlsec1 is installed", () => {
    expect(spawnSync("xmlsec1", ["--version"], { encoding: "utf8" }).stdout).toMatch(/^xmlsec1 /);
  });

  it("agrees on the committed baseline and on a one-character change", async () => {
    const good = new TextDecoder().decode(fixtureBytes(BASE));
    expect(xmlsecVerifies(good, ROOT_SIG)).toBe(true);
    expect(xmlsecVerifies(good, ASSERTION_SIG)).toBe(true);
    expect((await run(good)).reason).toBe("ok");
    const changed = good.replace(">staff<", ">stafF<");
    expect(xmlsecVerifies(changed, ASSERTION_SIG)).toBe(false);
    expect(xmlsecVerifies(changed, ROOT_SIG)).toBe(false);
    expect((await run(changed)).reason).toBe("signature_invalid");
  });

  it("accepts a response freshly signed by xmlsec1 and reads the signed values", async () => {
    const value = `team-${randomBytes(6).toString("hex")}`;
    const template = templateFrom(BASE).replace(">staff<", `>${value}<`);
    const signedXml = xmlsecSign(xmlsecSign(template, ASSERTION_SIG), ROOT_SIG);
    const out = await run(signedXml);
    expect(out.reason).toBe("ok");
    expect(out.assertion?.attributes.groups).toEqual(["engineering", value]);

    // The same bytes with one attribute value changed: both signatures break.
    const tampered = signedXml.replace(`>${value}<`, ">administrators<");
    expect((await run(tampered)).reason).toBe("signature_invalid");
    expect(xmlsecVerifies(tampered, ASSERTION_SIG)).toBe(false);
    // Assertion-only signed: the assertion signature is the one that fails.
    const assertionOnly = xmlsecSign(
      templateFrom("valid/response.unsigned.assertion-signed.xml").replace(">staff<", `>${value}<`),
      ASSERTION_SIG,
    );
    const outA = await runCase(
      caseFor("valid/response.unsigned.assertion-signed.xml"),
      new TextEncoder().encode(assertionOnly),
    );
    expect(outA.assertion?.attributes.groups).toEqual(["engineering", value]);
    const tamperedA = assertionOnly.replace(`>${value}<`, ">administrators<");
    expect(
      (
        await runCase(
          caseFor("valid/response.unsigned.assertion-signed.xml"),
          new TextEncoder().encode(tamperedA),
        )
      ).reason,
    ).toBe("assertion_signature_invalid");
  });

  it("keeps attribute names like __proto__ as plain data", async () => {
    const template = templateFrom(BASE)
      .replace('Name="displayName"', 'Name="__proto__"')
      .replace('Name="groups"', 'Name="constructor"');
    const out = await run(xmlsecSign(xmlsecSign(template, ASSERTION_SIG), ROOT_SIG));
    expect(out.reason).toBe("ok");
    const attrs = out.assertion!.attributes;
    expect(Object.getPrototypeOf(attrs)).toBe(Object.prototype);
    expect(Object.hasOwn(attrs, "__proto__")).toBe(true);
    expect(Object.getOwnPropertyDescriptor(attrs, "__proto__")?.value).toEqual(["Alice Example"]);
    expect(attrs.constructor).toEqual(["engineering", "staff"]);
  });

  it("agrees that a certificate carried in KeyInfo proves nothing", async () => {
    const faked = new TextDecoder().decode(fixtureBytes("invalid/certificate-faking-attacker-keyinfo.xml"));
    expect(xmlsecVerifies(faked, ROOT_SIG)).toBe(false);
    expect((await run(faked)).reason).toBe("signature_invalid");
  });
});
