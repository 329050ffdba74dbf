/**
 * Test support for SAML metadata, IdP records and SP keys: RSA keys and self-signed X.509
 * certificates built by src/crypto/keygen.ts and src/crypto/x509.ts (any validity window, key size or
 * subject), IdP metadata documents, a loopback HTTP server, and an app with SAML enabled whose SP
 * key files live in a temp dir.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Clock } from "../../../src/clock.ts";
import { tlv } from "../../../src/crypto/der.ts";
import { generateRsaKeyPair } from "../../../src/crypto/keygen.ts";
import { toPem } from "../../../src/crypto/pem.ts";
import { buildSelfSignedCertificate, OID } from "../../../src/crypto/x509.ts";
import type { AppDeps } from "../../../src/deps.ts";
import { createMetadataTransport } from "../../../src/runtime/saml-fetch.ts";
import { readSamlKeyFile } from "../../../src/runtime/saml-keys.ts";
import type { MetadataTransport } from "../../../src/saml/metadata.ts";
import type { SamlContext } from "../../../src/services/saml/context.ts";
import type { KV } from "../../../src/store/kv.ts";
import { buildTestApp, TEST_ISSUER, type TestApp } from "../../support/app.ts";

export { tlv };

// ------------------------------------------------------------------------------------ keys, certs

export interface TestKey {
  privateKey: CryptoKey;
  spki: Uint8Array;
  /** PKCS#8 PEM. */
  pem: string;
  bits: number;
}

const keyCache = new Map<string, Promise<TestKey>>();

/** An RSA key, cached by `label` so tests of one process share generation cost. */
export function rsaKey(label = "default", bits = 2048): Promise<TestKey> {
  const cacheKey = `${label}:${bits}`;
  let key = keyCache.get(cacheKey);
  if (!key) {
    key = generateRsaKeyPair(bits).then((pair) => ({
      privateKey: pair.privateKey,
      spki: pair.spki,
      pem: pair.pkcs8Pem,
      bits,
    }));
    keyCache.set(cacheKey, key);
  }
  return key;
}

export interface TestCert {
  der: Uint8Array;
  pem: string;
  /** Base64 DER (as in `ds:X509Certificate`). */
  b64: string;
  sha256: string;
  notAfter: number;
  key: TestKey;
  subject: string;
}

const DAY = 86_400_000;
let serial = 1;

/** A self-signed RSA certificate (sha256WithRSAEncryption). */
export async function makeCert(
  options: {
    key?: TestKey;
    cn?: string;
    org?: string;
    notBefore?: number;
    notAfter?: number;
    spki?: Uint8Array;
  } = {},
): Promise<TestCert> {
  const key = options.key ?? (await rsaKey());
  const cn = options.cn ?? "idp.test";
  const rdns: Array<[string, string]> = options.org
    ? [
        [OID.organizationName, options.org],
        [OID.commonName, cn],
      ]
    : [[OID.commonName, cn]];
  const notBefore = options.notBefore ?? Date.now() - 30 * DAY;
  const notAfter = options.notAfter ?? Date.now() + 3650 * DAY;
  const der = await buildSelfSignedCertificate({
    privateKey: key.privateKey,
    spki: options.spki ?? key.spki,
    name: rdns,
    notBefore,
    notAfter,
    serial: serial++ & 0x7f || 1,
  });
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", der as BufferSource));
  return {
    der,
    pem: toPem(der, "CERTIFICATE"),
    b64: Buffer.from(der).toString("base64"),
    sha256: Buffer.from(digest).toString("hex"),
    notAfter: Math.floor(notAfter / 1000) * 1000,
    key,
    subject: options.org ? `CN=${cn},O=${options.org}` : `CN=${cn}`,
  };
}

// ------------------------------------------------------------------------------------ metadata

export interface IdpMetadataOptions {
  entityId?: string;
  ssoUrl?: string;
  ssoBinding?: string;
  /** `[binding, location, responseLocation?]` */
  slo?: Array<[string, string, string?]>;
  signing?: TestCert[];
  /** Certificates in a KeyDescriptor without `use`. */
  both?: TestCert[];
  encryption?: TestCert[];
  nameIdFormats?: string[];
  /** Wrap in an EntitiesDescriptor with these extra (non-IdP) entity ids. */
  wrapWithSp?: string[];
  prefix?: string;
}

export const REDIRECT = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect";
export const POST = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST";

export function idpMetadata(o: IdpMetadataOptions): string {
  const md = o.prefix ?? "md";
  const kd = (use: string | null, c: TestCert) =>
    `<${md}:KeyDescriptor${use ? ` use="${use}"` : ""}><ds:KeyInfo><ds:X509Data><ds:X509Certificate>\n${c.b64
      .match(/.{1,64}/g)!
      .join("\n")}\n</ds:X509Certificate></ds:X509Data></ds:KeyInfo></${md}:KeyDescriptor>`;
  const entity = `<${md}:EntityDescriptor xmlns:${md}="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="${
    o.entityId ?? "https://idp.example.com/metadata"
  }"><${md}:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">${[
    ...(o.signing ?? []).map((c) => kd("signing", c)),
    ...(o.both ?? []).map((c) => kd(null, c)),
    ...(o.encryption ?? []).map((c) => kd("encryption", c)),
  ].join("")}${(o.slo ?? [])
    .map(
      ([b, l, r]) =>
        `<${md}:SingleLogoutService Binding="${b}" Location="${l}"${r ? ` ResponseLocation="${r}"` : ""}/>`,
    )
    .join(
      "",
    )}${(o.nameIdFormats ?? []).map((f) => `<${md}:NameIDFormat>${f}</${md}:NameIDFormat>`).join("")}<${md}:SingleSignOnService Binding="${
    o.ssoBinding ?? REDIRECT
  }" Location="${o.ssoUrl ?? "https://idp.example.com/sso"}"/></${md}:IDPSSODescriptor></${md}:EntityDescriptor>`;
  if (!o.wrapWithSp) return `<?xml version="1.0" encoding="UTF-8"?>\n${entity}`;
  const sps = o.wrapWithSp
    .map(
      (id) =>
        `<${md}:EntityDescriptor entityID="${id}"><${md}:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"/></${md}:EntityDescriptor>`,
    )
    .join("");
  return `<${md}:EntitiesDescriptor xmlns:${md}="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#">${sps}${entity.replace(
    ` xmlns:${md}="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#"`,
    "",
  )}</${md}:EntitiesDescriptor>`;
}

// ------------------------------------------------------------------------------------ HTTP server

export interface TestServer {
  origin: string;
  port: number;
  /** Requests seen (method, url, host header). */
  seen: Array<{ url: string; host: string | undefined }>;
  handle(path: string, handler: (req: IncomingMessage, res: ServerResponse) => void): void;
  close(): Promise<void>;
}

/** A loopback HTTP server whose routes tests set per path; unknown paths answer 404. */
export async function startTestServer(): Promise<TestServer> {
  const routes = new Map<string, (req: IncomingMessage, res: ServerResponse) => void>();
  const seen: TestServer["seen"] = [];
  const server = createServer((req, res) => {
    seen.push({ url: req.url ?? "", host: req.headers.host });
    const route = routes.get((req.url ?? "").split("?")[0]!);
    if (route) route(req, res);
    else {
      res.statusCode = 404;
      res.end("not found");
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  return {
    origin: `http://127.0.0.1:${port}`,
    port,
    seen,
    handle: (path, handler) => routes.set(path, handler),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Serves a fixed body at `path`. */
export function serve(
  server: TestServer,
  path: string,
  body: string,
  contentType = "application/samlmetadata+xml",
) {
  server.handle(path, (_req, res) => {
    res.setHeader("content-type", contentType);
    res.end(body);
  });
}

// ------------------------------------------------------------------------------------ SAML app

export interface SpFiles {
  dir: string;
  current: { key: string; cert: string };
  next: { key: string; cert: string };
  encryption: { key: string; cert: string };
  /** Writes a pair's files (cert PEM and key PEM). */
  install(slot: "current" | "next" | "encryption", cert: TestCert): Promise<void>;
  remove(slot: "current" | "next" | "encryption"): Promise<void>;
  cleanup(): Promise<void>;
}

export async function spFiles(dir?: string): Promise<SpFiles> {
  const d = dir ?? (await mkdtemp(join(tmpdir(), "tikti-sp-keys-")));
  const paths = (base: string) => ({ key: join(d, `${base}.key`), cert: join(d, `${base}.crt`) });
  const all = { current: paths("sp"), next: paths("sp-next"), encryption: paths("enc") };
  return {
    dir: d,
    ...all,
    async install(slot, cert) {
      await writeFile(all[slot].key, cert.key.pem, { mode: 0o600 });
      await writeFile(all[slot].cert, cert.pem);
    },
    async remove(slot) {
      await rm(all[slot].key, { force: true });
      await rm(all[slot].cert, { force: true });
    },
    cleanup: () => rm(d, { recursive: true, force: true }),
  };
}

export const SP_ENTITY_ID = `${TEST_ISSUER}/saml`;
export const SP_ACS_URL = `${TEST_ISSUER}/saml/acs`;
export const SP_SLO_URL = `${TEST_ISSUER}/saml/slo`;

/** The `saml` config block of a test app (explicit SP URLs: the test config skips `${issuerBaseUrl}`). */
export function samlConfig(files: SpFiles, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const sp = (extra.sp ?? {}) as Record<string, unknown>;
  return {
    enabled: true,
    ...extra,
    sp: {
      entityID: SP_ENTITY_ID,
      acsURL: SP_ACS_URL,
      sloURL: SP_SLO_URL,
      signingKeyPath: files.current.key,
      signingCertPath: files.current.cert,
      nextSigningKeyPath: files.next.key,
      nextSigningCertPath: files.next.cert,
      ...sp,
    },
  };
}

export interface SamlTestApp extends TestApp {
  saml: SamlContext;
}

/**
 * The real app with SAML enabled (unless `config.saml.enabled` says otherwise), dev mode on (loopback
 * metadata URLs), the real key-file reader and metadata transport; SP keys loaded before returning.
 */
export async function buildSamlTestApp(options: {
  store: KV;
  files: SpFiles;
  config?: Record<string, unknown>;
  saml?: Record<string, unknown>;
  clock?: Clock;
  transport?: MetadataTransport;
  replicaId?: string;
  /** Replaces the collecting audit sink (e.g. one that fails); `auditLines` then stays empty. */
  auditSink?: AppDeps["auditSink"];
}): Promise<SamlTestApp> {
  const t = await buildTestApp({
    store: options.store,
    config: {
      devMode: true,
      rateLimits: { enabled: false },
      ...options.config,
      saml: samlConfig(options.files, options.saml),
    },
    ...(options.clock ? { clock: options.clock } : {}),
    extend: (deps) => ({
      ...deps,
      ...(options.replicaId ? { replicaId: options.replicaId } : {}),
      ...(options.auditSink ? { auditSink: options.auditSink } : {}),
      samlIo: {
        readKeyFile: readSamlKeyFile,
        transport: options.transport ?? createMetadataTransport(),
      },
    }),
  });
  const ctx = t.app.services.saml;
  await ctx.keys.reload();
  return Object.assign(t, { saml: ctx });
}

/** A tenant through the admin API. */
export async function createTenant(t: TestApp, id: string): Promise<void> {
  const res = await t.call("/tenants", { json: { id, name: `Tenant ${id}`, slug: id } });
  if (res.status !== 200) throw new Error(`tenant ${id}: ${res.status} ${await res.text()}`);
}
