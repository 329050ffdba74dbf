/**
 * The SP's own URLs (docs/spec/saml.md §2, §4, §6.6, §11.1), derived from the validated configuration in
 * one place so that metadata, login, ACS and the admin projection agree byte for byte.
 */
import type { Config } from "../config/schema.ts";

export interface SamlUrls {
  /** `saml.sp.entityID`. */
  entityId: string;
  /** `saml.sp.acsURL`: compared byte for byte with `Destination`/`Recipient` of solicited responses. */
  acsUrl: string;
  /** `saml.sp.sloURL`. */
  sloUrl: string;
  /** `{acsURL}/{tid}`: ACS of unsolicited responses for a tenant that opted in (§6.6). */
  unsolicitedAcsUrl(tenantId: string): string;
  /** `<issuerBaseUrl>/saml/login/<tid>` (§11.1). */
  loginUrl(tenantId: string): string;
  /** Path of the login route, for local redirects (discovery, §10). */
  loginPath(tenantId: string): string;
}

export function samlUrls(config: Config): SamlUrls {
  const sp = config.saml.sp;
  const loginPath = (tid: string) => `/saml/login/${encodeURIComponent(tid)}`;
  return {
    entityId: sp.entityID,
    acsUrl: sp.acsURL,
    sloUrl: sp.sloURL,
    unsolicitedAcsUrl: (tid) => `${sp.acsURL}/${encodeURIComponent(tid)}`,
    loginUrl: (tid) => `${config.issuerBaseUrl}${loginPath(tid)}`,
    loginPath,
  };
}
