// The `saml` group of tikti-cli (docs/spec/cli.md §5.6) run in-process against the real app with SAML enabled
// (SP key files in a temp dir, embedded store): arguments, requests sent, output in both modes, exit
// codes, and what changes on the server.
import { X509Certificate } from "node:crypto";
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AnyCommand } from "../../cli/command.ts";
import { root } from "../../cli/tree.ts";
import {
  buildSamlTestApp,
  createTenant,
  idpMetadata,
  makeCert,
  REDIRECT,
  rsaKey,
  type SamlTestApp,
  SP_ACS_URL,
  SP_ENTITY_ID,
  SP_SLO_URL,
  type SpFiles,
  serve,
  spFiles,
  startTestServer,
  type TestCert,
  type TestServer,
} from "../saml/metadata/helpers.ts";
import { openTempEmbedded } from "../support/stores.ts";
import { cliHarness, type Harness, initProfile } from "./harness.ts";

const REQUEST_ID = /\(request [0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\)$/;

let files: SpFiles;
let spCert: TestCert;
let t: SamlTestApp;
let h: Harness;
let server: TestServer;
let idpCert: TestCert;
let idpCert2: TestCert;
let metadataFile: string;

const appFetch = async (request: Request) => t.app.fetch(request, { remoteAddr: "192.0.2.10" });

beforeAll(async () => {
  files = await spFiles();
  spCert = await makeCert({ key: await rsaKey("cli-sp"), cn: "tikti-sp" });
  await files.install("current", spCert);
  t = await buildSamlTestApp({ store: await openTempEmbedded(), files });
  await createTenant(t, "acme");
  await createTenant(t, "globex");
  h = await cliHarness(appFetch);
  await initProfile(h);
  idpCert = await makeCert({ key: await rsaKey("cli-idp"), cn: "idp.acme.example" });
  idpCert2 = await makeCert({ key: await rsaKey("cli-idp-2"), cn: "idp2.acme.example" });
  metadataFile = join(h.dir, "idp.xml");
  writeFileSync(
    metadataFile,
    idpMetadata({
      entityId: "https://idp.acme.example/metadata",
      ssoUrl: "https://idp.acme.example/sso",
      slo: [[REDIRECT, "https://idp.acme.example/slo"]],
      signing: [idpCert],
    }),
  );
  server = await startTestServer();
  serve(
    server,
    "/globex.xml",
    idpMetadata({
      entityId: "https://idp.globex.example/metadata",
      ssoUrl: "https://idp.globex.example/sso",
      signing: [idpCert2],
    }),
  );
});
afterAll(async () => {
  await h?.close();
  await server?.close();
  await t?.store.close();
  await files?.cleanup();
});

const resolve = async <T>(v: T | Promise<T> | (() => T | Promise<T>)): Promise<T> =>
  typeof v === "function" ? (v as () => T | Promise<T>)() : v;

async function leaves(cmd: AnyCommand, prefix: string[] = []): Promise<string[]> {
  const subs = await resolve(cmd.subCommands);
  if (!subs) return [prefix.join(" ")];
  const out: string[] = [];
  for (const [name, sub] of Object.entries(subs))
    out.push(...(await leaves(await resolve(sub), [...prefix, name])));
  return out;
}

const lastRequest = () => h.requests.at(-1)!;
const lastPath = () => `${lastRequest().method} ${new URL(lastRequest().url).pathname}`;

describe("saml command tree", () => {
  it("has every saml command of docs/spec/cli.md §5.6, each with --help", async () => {
    const saml = (await leaves(root)).filter((p) => p.startsWith("saml ")).sort();
    expect(saml).toEqual(
      [
        "saml metadata",
        "saml idp register",
        "saml idp show",
        "saml idp update",
        "saml idp remove",
        "saml idp list",
        "saml idp fetch",
        "saml domain add",
        "saml domain remove",
        "saml domain list",
        "saml keys generate",
        "saml keys rotate",
        "saml test",
      ].sort(),
    );
    const help = await h.run(["saml", "idp", "register", "--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/tikti-cli saml idp register/);
    expect(help.stdout).toMatch(/--tid, --tenant=<id>/);
    expect(help.stdout).toMatch(/--metadata-url=<url>/);
    const group = await h.run(["saml"]);
    expect(group.code).toBe(1);
    expect(group.stderr).toMatch(/missing command: "tikti-cli saml <command>"/);
  });
});

describe("saml metadata", () => {
  it("prints the SP metadata XML, or its summary in json; --out writes the file", async () => {
    const served = await (await t.app.request("https://id.test.example/saml/metadata")).text();
    const pretty = await h.run(["saml", "metadata"]);
    expect(pretty.code, pretty.stderr).toBe(0);
    expect(pretty.stdout).toBe(served.endsWith("\n") ? served : `${served}\n`);
    expect(lastPath()).toBe("GET /saml/metadata");
    expect(lastRequest().headers.get("x-api-key")).toBeNull();

    const json = await h.run(["saml", "metadata", "--json"]);
    expect(json.json()).toEqual({
      entityID: SP_ENTITY_ID,
      acsURL: SP_ACS_URL,
      sloURL: SP_SLO_URL,
      validUntil: new Date(spCert.notAfter).toISOString().replace(/\.\d{3}Z$/, "Z"),
      signingCertificates: [spCert.sha256],
    });

    const out = join(h.dir, "sp.xml");
    const file = await h.run(["saml", "metadata", "--out", out]);
    expect(file.code, file.stderr).toBe(0);
    expect(readFileSync(out, "utf8")).toBe(served);
    expect(file.stdout).toMatch(new RegExp(`^entityID\\s+${SP_ENTITY_ID}$`, "m"));
    expect(file.stdout).toMatch(new RegExp(`^signing certs\\s+${spCert.sha256}$`, "m"));
    expect(file.stderr).toBe(`wrote the SP metadata to ${out}\n`);
  });

  it("--tid asks for the tenant's document; a 404 from a server without SAML is exit 1", async () => {
    const r = await h.run(["saml", "metadata", "--tid", "acme", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    expect(lastPath()).toBe("GET /saml/metadata/acme");
    const disabled = await h.run(["saml", "metadata"], {
      fetch: async () =>
        new Response(JSON.stringify({ error: "not found", code: "NOT_FOUND" }), {
          status: 404,
          headers: { "content-type": "application/json" },
        }),
    });
    expect(disabled.code).toBe(1);
    expect(disabled.stderr.trim()).toMatch(/^error \(404\): not found \[NOT_FOUND\] /);
    expect(disabled.stderr.trim()).toMatch(REQUEST_ID);
  });
});

describe("saml idp", () => {
  it("register --metadata-file sends metadataXml, maps and flags; pretty shows fingerprints, never certificates", async () => {
    const attrMap = join(h.dir, "attr.json");
    const roleMap = join(h.dir, "roles.json");
    writeFileSync(attrMap, JSON.stringify({ email: ["mail"], name: ["displayName"], roles: ["groups"] }));
    writeFileSync(roleMap, JSON.stringify({ eng: ["COMPANY_EMPLOYEE", "builder"] }));
    const r = await h.run([
      "saml",
      "idp",
      "register",
      "--tid",
      "acme",
      "--metadata-file",
      metadataFile,
      "--attr-map",
      attrMap,
      "--role-map",
      roleMap,
      "--force-authn",
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(lastPath()).toBe("POST /tenants/acme/saml/idp");
    const sent = (await lastRequest().json()) as Record<string, unknown>;
    expect(sent).toEqual({
      metadataXml: readFileSync(metadataFile, "utf8"),
      attributeMap: { email: ["mail"], name: ["displayName"], roles: ["groups"] },
      roleMap: { eng: ["COMPANY_EMPLOYEE", "builder"] },
      forceAuthn: true,
    });
    expect(r.stdout).toMatch(/^entity id\s+https:\/\/idp\.acme\.example\/metadata$/m);
    expect(r.stdout).toMatch(/^sso url\s+https:\/\/idp\.acme\.example\/sso$/m);
    expect(r.stdout).toMatch(/^slo url\s+https:\/\/idp\.acme\.example\/slo$/m);
    expect(r.stdout).toMatch(/^role map\s+eng=COMPANY_EMPLOYEE,builder$/m);
    expect(r.stdout).toMatch(/^force authn\s+true$/m);
    expect(r.stdout).toMatch(/^SIGNING CERT SHA-256\s+SUBJECT\s+NOT AFTER\s+RETIRE AFTER$/m);
    expect(r.stdout).toContain(idpCert.sha256);
    expect(r.stdout).not.toContain(idpCert.b64.slice(0, 40));
    expect(r.stdout).not.toMatch(/BEGIN CERTIFICATE|MII/);
  });

  it("register on a tenant that has an IdP is exit 1 with the CLI's message; bad input fails before sending", async () => {
    const again = await h.run(["saml", "idp", "register", "--tid", "acme", "--metadata-file", metadataFile]);
    expect(again.code).toBe(1);
    expect(again.stderr.trim()).toMatch(
      /^error \(409\): IdP already registered for tenant "acme" \(use "saml idp update"\) \[IDP_EXISTS\] /,
    );
    const json = await h.run([
      "saml",
      "idp",
      "register",
      "--tid",
      "acme",
      "--metadata-file",
      metadataFile,
      "--json",
    ]);
    expect(json.errorJson()).toMatchObject({
      status: 409,
      code: "IDP_EXISTS",
      error: 'IdP already registered for tenant "acme" (use "saml idp update")',
    });
    const before = h.requests.length;
    const both = await h.run([
      "saml",
      "idp",
      "register",
      "--tid",
      "globex",
      "--metadata-file",
      metadataFile,
      "--metadata-url",
      "https://x.example/md",
    ]);
    expect(both.code).toBe(1);
    expect(both.stderr).toBe("error: use either --metadata-url or --metadata-file, not both\n");
    const none = await h.run(["saml", "idp", "register", "--tid", "globex"]);
    expect(none.stderr).toBe("error: one of --metadata-url or --metadata-file is required\n");
    const badMap = join(h.dir, "bad.json");
    writeFileSync(badMap, "[1, 2]");
    const map = await h.run([
      "saml",
      "idp",
      "register",
      "--tid",
      "globex",
      "--metadata-file",
      metadataFile,
      "--attr-map",
      badMap,
    ]);
    expect(map.code).toBe(1);
    expect(map.stderr).toBe(`error: --attr-map: ${badMap} must hold a JSON object\n`);
    const noTenant = await h.run(["saml", "idp", "register", "--metadata-file", metadataFile]);
    expect(noTenant.code).toBe(1);
    expect(noTenant.stderr).toMatch(/^error: --tid is required/);
    expect(h.requests.length).toBe(before);
    const garbage = join(h.dir, "garbage.xml");
    writeFileSync(garbage, "<md:EntityDescriptor");
    const invalid = await h.run(["saml", "idp", "register", "--tid", "globex", "--metadata-file", garbage]);
    expect(invalid.code).toBe(1);
    expect(invalid.stderr).toMatch(
      /^error \(400\): metadata is not well-formed XML \[INVALID_SAML_METADATA\]/,
    );
  });

  it("register --metadata-url (loopback in dev mode), show, list, fetch", async () => {
    const url = `${server.origin}/globex.xml`;
    const reg = await h.run([
      "saml",
      "idp",
      "register",
      "--tenant",
      "globex",
      "--metadata-url",
      url,
      "--json",
    ]);
    expect(reg.code, reg.stderr).toBe(0);
    expect(reg.json()).toMatchObject({ configured: true, tenantId: "globex", metadataUrl: url });

    const show = await h.run(["saml", "idp", "show", "--tid", "globex", "--json"]);
    const server200 = await (await t.call("/tenants/globex/saml/idp")).json();
    expect(show.json()).toEqual(server200);
    const pretty = await h.run(["saml", "idp", "show", "--tid", "globex"]);
    expect(pretty.stdout).toMatch(new RegExp(`^metadata url\\s+${url.replace(/[.]/g, "\\.")}$`, "m"));
    expect(pretty.stdout).toMatch(/^slo url\s+\(none: local logout only\)$/m);

    const list = await h.run(["saml", "idp", "list"]);
    const lines = list.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^TENANT ID\s+ENTITY ID\s+LAST FETCHED\s+LAST ERROR$/);
    expect(lines[1]).toMatch(/^acme\s+https:\/\/idp\.acme\.example\/metadata\s+\d{4}-\S+\s+-$/);
    expect(lines[2]).toMatch(/^globex\s+https:\/\/idp\.globex\.example\/metadata\s+\d{4}-/);
    expect((await h.run(["saml", "idp", "list", "--json"])).json()).toEqual(
      await (await t.call("/admin/saml/idps")).json(),
    );

    const fetched = await h.run(["saml", "idp", "fetch", "--tid", "globex", "--json"]);
    expect(fetched.code, fetched.stderr).toBe(0);
    expect(lastPath()).toBe("POST /tenants/globex/saml/idp/refresh");
    const inline = await h.run(["saml", "idp", "fetch", "--tid", "acme"]);
    expect(inline.code).toBe(1);
    expect(inline.stderr).toMatch(/^error \(400\): IdP record has no metadata URL \[INVALID_SAML_METADATA\]/);

    const nothing = await h.run(["saml", "idp", "show", "--tid", "nope-tenant"]);
    expect(nothing.code).toBe(1);
    expect(nothing.stderr).toMatch(/\[TENANT_NOT_FOUND\]/);
  });

  it("update merges flags into a full PUT; without metadata flags it is settings-only; bad metadata changes nothing", async () => {
    const before = (await (await t.call("/tenants/acme/saml/idp")).json()) as Record<string, unknown>;
    const r = await h.run([
      "saml",
      "idp",
      "update",
      "--tid",
      "acme",
      "--allow-unsolicited",
      "--require-encrypted=true",
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(h.requests.slice(-2).map((q) => `${q.method} ${new URL(q.url).pathname}`)).toEqual([
      "GET /tenants/acme/saml/idp",
      "PUT /tenants/acme/saml/idp",
    ]);
    expect(await lastRequest().json()).toEqual({
      attributeMap: before.attributeMap,
      roleMap: { eng: ["COMPANY_EMPLOYEE", "builder"] },
      allowUnsolicited: true,
      forceAuthn: true,
      requireEncryptedAssertion: true,
    });
    expect(r.stdout).toMatch(/^unsolicited acs url\s+https:\/\/id\.test\.example\/saml\/acs\/acme$/m);
    const after = (await (await t.call("/tenants/acme/saml/idp")).json()) as Record<string, unknown>;
    expect(after).toMatchObject({
      entityId: before.entityId,
      signingCertificates: before.signingCertificates,
      allowUnsolicited: true,
      forceAuthn: true,
      requireEncryptedAssertion: true,
    });
    expect(after.generation).not.toBe(before.generation);

    const off = await h.run(["saml", "idp", "update", "--tid", "acme", "--force-authn=false", "--json"]);
    expect(off.json()).toMatchObject({ forceAuthn: false, allowUnsolicited: true });

    const garbage = join(h.dir, "garbage2.xml");
    writeFileSync(garbage, "<?xml version='1.0'?><!DOCTYPE x><x/>");
    const bad = await h.run(["saml", "idp", "update", "--tid", "acme", "--metadata-file", garbage]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/\[INVALID_SAML_METADATA\]/);
    const unchanged = (await (await t.call("/tenants/acme/saml/idp")).json()) as Record<string, unknown>;
    expect(unchanged.generation).toBe((off.json() as Record<string, unknown>).generation);

    const replaced = await h.run([
      "saml",
      "idp",
      "update",
      "--tid",
      "acme",
      "--metadata-url",
      `${server.origin}/globex.xml`,
      "--drop-previous-certs",
      "--json",
    ]);
    expect(replaced.code, replaced.stderr).toBe(0);
    const sent = (await lastRequest().json()) as Record<string, unknown>;
    expect(sent).toMatchObject({
      metadataUrl: `${server.origin}/globex.xml`,
      dropPreviousCertificates: true,
    });
    expect(replaced.json()).toMatchObject({
      entityId: "https://idp.globex.example/metadata",
      signingCertificates: [expect.objectContaining({ sha256: idpCert2.sha256 })],
    });
    const missing = await h.run(["saml", "idp", "update", "--tid", "nope", "--force-authn"]);
    expect(missing.code).toBe(1);
  });

  it("remove: --yes or a confirmation on a terminal; refuses without either", async () => {
    const before = h.requests.length;
    const refused = await h.run(["saml", "idp", "remove", "--tid", "globex"]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe('error: refusing to remove the IdP of tenant "globex" without --yes\n');
    const no = await h.run(["saml", "idp", "remove", "--tid", "globex"], {
      stdinIsTTY: true,
      answers: ["n"],
    });
    expect(no.code).toBe(1);
    expect(no.prompts).toEqual([
      { question: 'Remove the IdP of tenant "globex"? SAML logins there stop. [y/N] ', hidden: false },
    ]);
    expect(no.stderr).toBe("error: cancelled: nothing was removed\n");
    expect(h.requests.length).toBe(before);
    const yes = await h.run(["saml", "idp", "remove", "--tid", "globex"], {
      stdinIsTTY: true,
      answers: ["y"],
    });
    expect(yes.code, yes.stderr).toBe(0);
    expect(lastPath()).toBe("DELETE /tenants/globex/saml/idp");
    expect(yes.stdout).toMatch(/^status\s+IdP removed$/m);
    expect((await (await t.call("/tenants/globex/saml/idp")).json()).configured).toBe(false);
    const gone = await h.run(["saml", "idp", "remove", "--tid", "globex", "--yes", "--json"]);
    expect(gone.code).toBe(1);
    expect(gone.errorJson()).toMatchObject({ status: 404, code: "IDP_NOT_FOUND" });
    const show = await h.run(["saml", "idp", "show", "--tid", "globex"]);
    expect(show.code).toBe(0);
    expect(show.stdout).toBe('no IdP registered for tenant "globex"\n');
  });

  it("admin routes without a valid API key are exit 2", async () => {
    const raw = h.config();
    const key = raw.profiles.default!.apiKey!;
    raw.profiles.default!.apiKey = "wrong-key-wrong-key-wrong-key-wrong";
    writeFileSync(h.configFile, JSON.stringify(raw), { mode: 0o600 });
    try {
      const r = await h.run(["saml", "idp", "list"]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/^error \(401\): /);
    } finally {
      raw.profiles.default!.apiKey = key;
      writeFileSync(h.configFile, JSON.stringify(raw), { mode: 0o600 });
    }
  });
});

describe("saml domain", () => {
  it("add lower-cases and is idempotent; another tenant's domain is exit 1; list; remove", async () => {
    const add = await h.run(["saml", "domain", "add", "--tid", "acme", "--domain", "Acme.Example", "--json"]);
    expect(add.code, add.stderr).toBe(0);
    expect(lastPath()).toBe("PUT /tenants/acme/saml/domains/acme.example");
    expect(add.json()).toEqual({ domain: "acme.example", tenantId: "acme" });
    const again = await h.run(["saml", "domain", "add", "--tid", "acme", "--domain", "acme.example"]);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/^domain\s+acme\.example\ntenantId\s+acme\n$/);
    const other = await h.run(["saml", "domain", "add", "--tid", "globex", "--domain", "acme.example"]);
    expect(other.code).toBe(1);
    expect(other.stderr).toMatch(
      /^error \(409\): domain "acme\.example" is already mapped to tenant "acme" \[DOMAIN_CONFLICT\]/,
    );
    await h.run(["saml", "domain", "add", "--tid", "acme", "--domain", "acme.test"]);
    const list = await h.run(["saml", "domain", "list", "--tid", "acme"]);
    expect(list.stdout).toBe("DOMAIN\nacme.example\nacme.test\n");
    expect((await h.run(["saml", "domain", "list", "--tid", "acme", "--json"])).json()).toEqual({
      domains: ["acme.example", "acme.test"],
    });
    const rm = await h.run(["saml", "domain", "remove", "--tid", "acme", "--domain", "ACME.test", "--json"]);
    expect(rm.code, rm.stderr).toBe(0);
    expect(lastPath()).toBe("DELETE /tenants/acme/saml/domains/acme.test");
    expect(rm.json()).toEqual({ domain: "acme.test", tenantId: "acme", removed: true });
    const rmAgain = await h.run(["saml", "domain", "remove", "--tid", "acme", "--domain", "acme.test"]);
    expect(rmAgain.code).toBe(1);
    expect(rmAgain.stderr).toMatch(/\[DOMAIN_NOT_FOUND\]/);
    expect((await h.run(["saml", "domain", "list", "--tid", "globex"])).stdout).toBe("(no domains)\n");
    const bad = await h.run(["saml", "domain", "add", "--tid", "acme", "--domain", "not a domain"]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/\[INVALID_ARGUMENT\]/);
  });
});

describe("saml keys", () => {
  it("generate writes sp-next.key (0600, PKCS#8) and a self-signed SHA-256 sp-next.crt; never overwrites without --force", async () => {
    const dir = files.dir;
    const r = await h.run([
      "saml",
      "keys",
      "generate",
      "--out-dir",
      dir,
      "--cn",
      "tikti-sp-2026",
      "--days",
      "30",
      "--json",
    ]);
    expect(r.code, r.stderr).toBe(0);
    const doc = r.json<{
      keyFile: string;
      certFile: string;
      sha256: string;
      subject: string;
      bits: number;
      notAfter: string;
    }>();
    expect(doc).toMatchObject({
      keyFile: files.next.key,
      certFile: files.next.cert,
      subject: "CN=tikti-sp-2026",
      bits: 2048,
    });
    if (process.platform !== "win32") expect(statSync(files.next.key).mode & 0o777).toBe(0o600);
    expect(readFileSync(files.next.key, "utf8")).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    const x509 = new X509Certificate(readFileSync(files.next.cert));
    expect(x509.subject).toBe("CN=tikti-sp-2026");
    expect(x509.issuer).toBe("CN=tikti-sp-2026");
    expect(x509.fingerprint256.replace(/:/g, "").toLowerCase()).toBe(doc.sha256);
    expect(x509.verify(x509.publicKey)).toBe(true);
    expect(
      x509.checkPrivateKey((await import("node:crypto")).createPrivateKey(readFileSync(files.next.key))),
    ).toBe(true);
    const days = (Date.parse(x509.validTo) - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(29.9);
    expect(days).toBeLessThan(30.1);
    expect(new Date(x509.validTo).toISOString().replace(/\.\d{3}Z$/, "Z")).toBe(doc.notAfter);

    const cert = readFileSync(files.next.cert, "utf8");
    const again = await h.run(["saml", "keys", "generate", "--out-dir", dir]);
    expect(again.code).toBe(1);
    expect(again.stderr).toBe(
      `error: refusing to overwrite ${files.next.key}: pass --force or choose another --out-dir\n`,
    );
    expect(readFileSync(files.next.cert, "utf8")).toBe(cert);
    const bits = await h.run(["saml", "keys", "generate", "--out-dir", dir, "--key-bits", "1024"]);
    expect(bits.code).toBe(1);
    const forced = await h.run(["saml", "keys", "generate", "--out-dir", dir, "--force"]);
    expect(forced.code, forced.stderr).toBe(0);
    expect(forced.stdout).toMatch(/^sha256\s+[0-9a-f]{64}$/m);
    expect(readFileSync(files.next.cert, "utf8")).not.toBe(cert);
    expect(statSync(files.next.key).mode & 0o777).toBe(0o600);
  });

  it("rotate --status|--prepare|--commit [--force]|--abort; refusals print the server message, exit 1", async () => {
    // The pair from "generate" is the next pair of this replica once the key files are re-read.
    await t.saml.keys.reload();
    const status = await h.run(["saml", "keys", "rotate", "--status", "--json"]);
    expect(status.code, status.stderr).toBe(0);
    expect(lastPath()).toBe("GET /admin/saml/sp/rotation");
    expect(status.json()).toMatchObject({
      state: "none",
      loaded: { current: spCert.sha256, next: expect.any(String) },
    });

    const prepare = await h.run(["saml", "keys", "rotate", "--prepare"]);
    expect(prepare.code, prepare.stderr).toBe(0);
    expect(lastPath()).toBe("POST /admin/saml/sp/rotation");
    expect(await lastRequest().json()).toEqual({ action: "prepare", force: false });
    expect(prepare.stdout).toMatch(/^state\s+prepared$/m);
    expect(prepare.stdout).toMatch(/^commit not before\s+\d{4}-/m);

    const early = await h.run(["saml", "keys", "rotate", "--commit"]);
    expect(early.code).toBe(1);
    expect(early.stderr).toMatch(
      /^error \(409\): rotation grace period has not elapsed \[ROTATION_STATE_CONFLICT\]/,
    );
    const forced = await h.run(["saml", "keys", "rotate", "--commit", "--force", "--json"]);
    expect(forced.code, forced.stderr).toBe(0);
    expect(await lastRequest().json()).toEqual({ action: "commit", force: true });
    expect(forced.json()).toMatchObject({ state: "committed" });
    const abort = await h.run(["saml", "keys", "rotate", "--abort"]);
    expect(abort.code).toBe(1);
    expect(abort.stderr).toMatch(
      /^error \(409\): committed rotations cannot be aborted \[ROTATION_STATE_CONFLICT\]/,
    );

    const before = h.requests.length;
    const two = await h.run(["saml", "keys", "rotate", "--prepare", "--commit"]);
    expect(two.code).toBe(1);
    expect(two.stderr).toBe("error: pass exactly one of --prepare, --commit, --abort, --status\n");
    const none = await h.run(["saml", "keys", "rotate"]);
    expect(none.code).toBe(1);
    const force = await h.run(["saml", "keys", "rotate", "--prepare", "--force"]);
    expect(force.stderr).toBe("error: --force only applies to --commit\n");
    expect(h.requests.length).toBe(before);
  });
});

describe("saml test", () => {
  it("reports the checks of a real login redirect; a failed check is exit 1 with the report still printed", async () => {
    // A stand-in server: the record is real, the login answer is a redirect without the state cookie.
    const sso = "https://idp.acme.example/sso";
    const fake = async (request: Request) => {
      const path = new URL(request.url).pathname;
      if (path === "/saml/login/acme") {
        return new Response(null, {
          status: 302,
          headers: { location: `${sso}?SAMLRequest=abc&SigAlg=x&Signature=y` },
        });
      }
      return appFetch(request);
    };
    await h.run(["saml", "idp", "update", "--tid", "acme", "--metadata-file", metadataFile]);
    const r = await h.run(["saml", "test", "--tid", "acme", "--json"], { fetch: fake });
    expect(r.code).toBe(1);
    expect(r.json()).toEqual({
      tid: "acme",
      requestId: "",
      redirectUrl: `${sso}?SAMLRequest=abc&SigAlg=x&Signature=y`,
      checks: {
        status302: true,
        locationIsSsoUrl: true,
        samlRequest: true,
        sigAlg: true,
        signature: true,
        stateCookie: false,
      },
    });
    expect(r.errorJson()).toMatchObject({ status: null, error: "saml test failed: stateCookie (HTTP 302)" });
    const login = h.requests.at(-1)!;
    expect(`${login.method} ${new URL(login.url).pathname}`).toBe("GET /saml/login/acme");
    expect(new URL(login.url).searchParams.get("RelayState")).toBe("/");
    expect(login.redirect).toBe("manual");

    // A non-redirect answer (here the not-configured page) is reported, not an HTTP error.
    const page = await h.run(["saml", "test", "--tid", "acme"], {
      fetch: async (request) =>
        new URL(request.url).pathname === "/saml/login/acme"
          ? new Response("<h1>Not Found</h1>", { status: 404, headers: { "content-type": "text/html" } })
          : appFetch(request),
    });
    expect(page.code).toBe(1);
    expect(page.stdout).toMatch(/^status\s+404$/m);
    expect(page.stdout).toMatch(/^check status302\s+FAILED$/m);
    expect(page.stdout).toMatch(/^check stateCookie\s+FAILED$/m);
    expect(page.stderr).toBe(
      "error: saml test failed: status302, locationIsSsoUrl, samlRequest, sigAlg, signature, stateCookie (HTTP 404)\n",
    );

    const unconfigured = await h.run(["saml", "test", "--tid", "globex"]);
    expect(unconfigured.code).toBe(1);
    expect(unconfigured.stderr).toBe(
      'error: no IdP registered for tenant "globex" (use "saml idp register")\n',
    );
  });

  it("passes against Tikti's own login route: 302 to the IdP with a signed AuthnRequest and the state cookie", async () => {
    const r = await h.run(["saml", "test", "--tid", "acme", "--relay-state", "/app", "--json"]);
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    const report = r.json<{
      tid: string;
      requestId: string;
      redirectUrl: string;
      checks: Record<string, boolean>;
    }>();
    expect(report.checks).toEqual({
      status302: true,
      locationIsSsoUrl: true,
      samlRequest: true,
      sigAlg: true,
      signature: true,
      stateCookie: true,
    });
    expect(report.requestId).toMatch(/^_[0-9a-f]{40}$/);
    expect(report.redirectUrl.startsWith("https://idp.acme.example/sso?SAMLRequest=")).toBe(true);
    // The outstanding request really exists (it expires after requestTTLSeconds).
    expect(await t.store.get(`saml:req:${report.requestId}`)).not.toBeNull();
    const pretty = await h.run(["saml", "test", "--tid", "acme"]);
    expect(pretty.code).toBe(0);
    expect(pretty.stdout).toMatch(/^check stateCookie\s+ok$/m);
  });
});
