/**
 * The IdP record model of the SAML protocol (docs/spec/saml.md §8.1, §11, §12.3): default attribute
 * names, the certificate pinning rules of a replace or refresh, the certificates a signature may be
 * verified with, and the admin projection. The record's storage (`saml:idp:{tid}`, its decoder and
 * the entity-id index) is the repository src/store/repos/saml-idps.ts.
 */
import { toBase64 as base64Of } from "../bytes.ts";
import type { Clock } from "../clock.ts";
import { parseCertificateFields } from "../crypto/x509.ts";
import type { AttributeMap, IdpEncryptionCert, IdpRecord, IdpSigningCert } from "../store/repos/saml-idps.ts";
import { isoSeconds, strictBase64 } from "./certs.ts";
import type { SamlUrls } from "./urls.ts";

export {
  type AttributeMap,
  type IdpEncryptionCert,
  type IdpRecord,
  type IdpSigningCert,
  NAMEID_EMAIL,
  type SloBinding,
} from "../store/repos/saml-idps.ts";

/** docs/spec/saml.md §8.1. */
export const DEFAULT_ATTRIBUTE_MAP: Readonly<AttributeMap> = Object.freeze({
  email: [
    "mail",
    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress",
    "urn:oid:0.9.2342.19200300.100.1.3",
  ],
  name: [
    "displayName",
    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name",
    "urn:oid:2.16.840.1.113730.3.1.241",
  ],
  roles: ["groups", "http://schemas.microsoft.com/ws/2008/06/identity/claims/groups"],
});

export function defaultAttributeMap(): AttributeMap {
  return {
    email: [...DEFAULT_ATTRIBUTE_MAP.email],
    name: [...DEFAULT_ATTRIBUTE_MAP.name],
    roles: [...DEFAULT_ATTRIBUTE_MAP.roles],
  };
}

// ------------------------------------------------------------------------------ certificate helpers

/** A certificate as parsed from metadata, before it is pinned. */
export interface FreshCert {
  der: Uint8Array;
  sha256: string;
  notAfter: number;
}

/**
 * Pinned signing certificates after a replace or refresh (docs/spec/saml.md §12.3): the new certificates
 * first, in metadata order; previously pinned ones missing from the new set stay with
 * `retireAfter` = now + overlap (an existing `retireAfter` is kept); certificates past
 * `retireAfter`, or expired, are dropped; duplicates (same SHA-256) are merged.
 * `dropPrevious` skips the overlap.
 */
export function mergeSigningCerts(
  previous: readonly IdpSigningCert[],
  fresh: readonly FreshCert[],
  options: { now: number; overlapHours: number; dropPrevious: boolean },
): IdpSigningCert[] {
  const { now } = options;
  const out: IdpSigningCert[] = [];
  const seen = new Set<string>();
  for (const c of fresh) {
    if (seen.has(c.sha256)) continue;
    seen.add(c.sha256);
    const before = previous.find((p) => p.sha256 === c.sha256);
    out.push({
      der: base64Of(c.der),
      sha256: c.sha256,
      notAfter: isoSeconds(c.notAfter),
      addedAt: before?.addedAt || isoSeconds(now),
      retireAfter: null,
    });
  }
  if (options.dropPrevious) return out;
  const retireAt = isoSeconds(now + options.overlapHours * 3_600_000);
  for (const p of previous) {
    if (seen.has(p.sha256)) continue;
    seen.add(p.sha256);
    const retireAfter = p.retireAfter ?? retireAt;
    if (Date.parse(retireAfter) <= now || Date.parse(p.notAfter) <= now) continue;
    out.push({ ...p, retireAfter });
  }
  return out;
}

/** Encryption certificates of a record, from metadata (duplicates merged). */
export function encryptionCertsOf(fresh: readonly FreshCert[]): IdpEncryptionCert[] {
  const out: IdpEncryptionCert[] = [];
  for (const c of fresh) {
    if (out.some((o) => o.sha256 === c.sha256)) continue;
    out.push({ der: base64Of(c.der), sha256: c.sha256, notAfter: isoSeconds(c.notAfter) });
  }
  return out;
}

export interface PinnedCert {
  sha256: string;
  der: Uint8Array;
  /** PEM `CERTIFICATE` block, for verifiers that take PEM (xml-crypto `publicCert`). */
  pem: string;
  notAfter: number;
}

/**
 * The signing certificates signatures may be verified with (docs/spec/saml.md §7.5): neither expired nor past
 * `retireAfter`, in record order. Empty → `idp_metadata_stale` (§6.3 step 1b).
 */
export function usableSigningCerts(record: IdpRecord, now: number): PinnedCert[] {
  const out: PinnedCert[] = [];
  for (const c of record.signingCerts) {
    if (Date.parse(c.notAfter) <= now) continue;
    if (c.retireAfter !== null && Date.parse(c.retireAfter) <= now) continue;
    const der = strictBase64(c.der);
    if (!der) continue;
    const lines = c.der.match(/.{1,64}/g) ?? [];
    out.push({
      sha256: c.sha256,
      der,
      pem: `-----BEGIN CERTIFICATE-----\n${lines.join("\n")}\n-----END CERTIFICATE-----\n`,
      notAfter: Date.parse(c.notAfter),
    });
  }
  return out;
}

/** Subject of a stored certificate for display; `""` when it does not parse. */
export function certSubject(derBase64: string): string {
  const der = strictBase64(derBase64);
  if (!der) return "";
  try {
    return parseCertificateFields(der).subject;
  } catch {
    return "";
  }
}

// ------------------------------------------------------------------------------------ projection

/** The admin view of a record (docs/spec/saml.md §11.1): never certificate bodies or XML. */
export function projectIdpRecord(record: IdpRecord, urls: SamlUrls): Record<string, unknown> {
  return {
    configured: true,
    tenantId: record.tenantId,
    entityId: record.entityId,
    ssoUrl: record.ssoUrl,
    sloUrl: record.sloUrl,
    sloBinding: record.sloBinding,
    metadataUrl: record.metadataUrl,
    nameIdFormat: record.nameIdFormat,
    attributeMap: record.attributeMap,
    roleMap: record.roleMap,
    allowUnsolicited: record.allowUnsolicited,
    forceAuthn: record.forceAuthn,
    requireEncryptedAssertion: record.requireEncryptedAssertion,
    signingCertificates: record.signingCerts.map((c) => ({
      sha256: c.sha256,
      subject: certSubject(c.der),
      notAfter: c.notAfter,
      retireAfter: c.retireAfter,
    })),
    signingCertificateCount: record.signingCerts.length,
    encryptionCertificateCount: record.encryptionCerts.length,
    lastFetched: record.lastFetched,
    lastRefreshError: record.lastRefreshError,
    generation: record.generation,
    loginUrl: urls.loginUrl(record.tenantId),
    ...(record.allowUnsolicited ? { unsolicitedAcsUrl: urls.unsolicitedAcsUrl(record.tenantId) } : {}),
  };
}

/** `{tid, subject, notAfter}` of a record's active signing certificates, for the expiry gauge. */
export function expirySources(record: IdpRecord): Array<{ subject: string; notAfter: number }> {
  return record.signingCerts
    .filter((c) => c.retireAfter === null)
    .map((c) => ({ subject: certSubject(c.der), notAfter: Date.parse(c.notAfter) }));
}

export function nowIso(clock: Clock): string {
  return isoSeconds(clock.now());
}
