/**
 * The benchmark's IdP (test/bench/saml.ts) writes Responses directly in exclusive-c14n form and
 * signs them without a canonicaliser. These checks keep the ACS benchmark honest: xmlsec1 (an
 * independent XML-DSig implementation, pinned to the IdP certificate) verifies both signatures,
 * the server's own pipeline accepts the Response for the unsolicited ACS of the bench tenant, and
 * one changed signed value makes it fail — so the point measures accepted logins, not rejections.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { configObjectSchema } from "../../src/config/schema.ts";
import { prepareSamlResponse, type ResponseContext, validateSamlResponse } from "../../src/saml/response.ts";
import {
  BENCH_IDP_CERT_FILE,
  BENCH_IDP_ENTITY,
  BenchIdp,
  benchAcsTarget,
  benchIdpMetadataXml,
  certBase64,
} from "../bench/saml.ts";

const dir = mkdtempSync(join(tmpdir(), "tikti-bench-idp-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

function xmlsecVerifies(xml: string, xpath: string): boolean {
  const file = join(dir, `v-${n++}.xml`);
  writeFileSync(file, xml);
  const r = spawnSync(
    "xmlsec1",
    [
      "--verify",
      "--pubkey-cert-pem",
      BENCH_IDP_CERT_FILE,
      "--enabled-reference-uris",
      "same-doc",
      "--id-attr:ID",
      "urn:oasis:names:tc:SAML:2.0:protocol:Response",
      "--id-attr:ID",
      "urn:oasis:names:tc:SAML:2.0:assertion:Assertion",
      "--node-xpath",
      xpath,
      file,
    ],
    { stdio: "ignore" },
  );
  return r.status === 0;
}

const ROOT_SIG = "/*/*[local-name()='Signature']";
const ASSERTION_SIG = "(//*[local-name()='Assertion']/*[local-name()='Signature'])[1]";
const target = benchAcsTarget("bench-0");

function context(now: number): ResponseContext {
  return {
    now,
    spEntityId: target.audience,
    acsUrl: target.acsUrl,
    requestId: null,
    idp: {
      entityId: BENCH_IDP_ENTITY,
      signingCerts: [
        { der: certBase64(readFileSync(BENCH_IDP_CERT_FILE, "utf8")), notAfter: "2100-01-01T00:00:00Z" },
      ],
    },
    policy: configObjectSchema.shape.saml.parse({}).sp,
    decryptionKeys: [],
  };
}

async function validate(xml: string, now: number) {
  const prepared = prepareSamlResponse(Buffer.from(xml).toString("base64"));
  if (!prepared.ok) return prepared;
  return validateSamlResponse(prepared.response, context(now));
}

describe("bench IdP (test/bench/saml.ts)", () => {
  const idp = new BenchIdp();
  const now = Date.now();
  const { xml, assertionId } = idp.response({ ...target, email: "user0@bench.example", now });

  it("signs both signatures the way xmlsec1 verifies them", () => {
    expect(xmlsecVerifies(xml, ROOT_SIG)).toBe(true);
    expect(xmlsecVerifies(xml, ASSERTION_SIG)).toBe(true);
  });

  it("is accepted by the server's pipeline for the unsolicited ACS, both signatures checked", async () => {
    const v = await validate(xml, now);
    expect(v.ok, JSON.stringify(v)).toBe(true);
    if (!v.ok) return;
    expect(v.assertion).toMatchObject({
      id: assertionId,
      issuer: BENCH_IDP_ENTITY,
      nameId: "user0@bench.example",
      inResponseTo: null,
      responseSigned: true,
      assertionSigned: true,
      encrypted: false,
    });
    expect(v.assertion.attributes.mail).toEqual(["user0@bench.example"]);
  });

  it("fails once a signed value changes", async () => {
    const changed = xml.replace(">user0@bench.example</saml:NameID>", ">user1@bench.example</saml:NameID>");
    expect(changed).not.toBe(xml);
    expect(xmlsecVerifies(changed, ASSERTION_SIG)).toBe(false);
    const v = await validate(changed, now);
    expect(v.ok).toBe(false);
  });

  it("gives every Response its own Assertion ID (the replay guard's key)", () => {
    const ids = new Set(
      Array.from(
        { length: 20 },
        () => idp.response({ ...target, email: "user0@bench.example", now }).assertionId,
      ),
    );
    expect(ids.size).toBe(20);
    expect(ids.has(assertionId)).toBe(false);
  });

  it("publishes metadata with the pinned signing certificate", () => {
    const cert = certBase64(readFileSync(BENCH_IDP_CERT_FILE, "utf8"));
    expect(benchIdpMetadataXml()).toContain(`<ds:X509Certificate>${cert}</ds:X509Certificate>`);
    expect(benchIdpMetadataXml()).toContain(`entityID="${BENCH_IDP_ENTITY}"`);
  });
});
