/**
 * Cookies of the SAML browser flows (docs/spec/saml.md §5 step 8, §6.2, §6.5 step 6, §9.2):
 *
 * - `__Host-tikti_saml_state=<request id>` binds an outstanding AuthnRequest to the browser that
 *   started it. `SameSite=None` so that the IdP's cross-site POST to the ACS carries it; browsers
 *   that withhold it anyway get the same-site repost page (§6.2). A cookie named
 *   `tikti_saml_state` (without the prefix) is never read: only a `__Host-` cookie is guaranteed to
 *   be host-only, `Secure` and set by this host.
 * - `__Host-tikti_saml_slo=<logout request id>` does the same for SP-initiated logout (§9.4).
 * - The idToken cookie (`saml.acs.cookieName`, default `tikti_idt`) with the attributes configured
 *   under `saml.acs`.
 */
import type { Config } from "../../config/schema.ts";

export const STATE_COOKIE = "__Host-tikti_saml_state";
export const SLO_COOKIE = "__Host-tikti_saml_slo";

/** Every value of cookie `name` in a `Cookie` header, in order (duplicates kept). */
export function cookieValues(header: string | null | undefined, name: string): string[] {
  if (!header) return [];
  const out: string[] = [];
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq === -1) continue;
    if (part.slice(0, eq).trim() !== name) continue;
    let value = part.slice(eq + 1).trim();
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    out.push(value);
  }
  return out;
}

function hostCookie(name: string, value: string, maxAge: number): string {
  return `${name}=${value}; Path=/; Secure; HttpOnly; SameSite=None; Max-Age=${maxAge}`;
}

/** §5 step 8. */
export function stateCookie(requestId: string, maxAgeSeconds: number): string {
  return hostCookie(STATE_COOKIE, requestId, maxAgeSeconds);
}

/** §6.2: every ACS answer other than the repost page. */
export function expiredStateCookie(): string {
  return hostCookie(STATE_COOKIE, "", 0);
}

/** §9.2 step 6. */
export function sloCookie(requestId: string, maxAgeSeconds: number): string {
  return hostCookie(SLO_COOKIE, requestId, maxAgeSeconds);
}

/** §9.4 step 4. */
export function expiredSloCookie(): string {
  return hostCookie(SLO_COOKIE, "", 0);
}

function idTokenCookieWith(config: Config, value: string, maxAge: number): string {
  const acs = config.saml.acs;
  const parts = [`${acs.cookieName}=${value}`, "Path=/"];
  if (acs.cookieDomain !== "") parts.push(`Domain=${acs.cookieDomain}`);
  parts.push(`Max-Age=${maxAge}`);
  if (acs.cookieHTTPOnly) parts.push("HttpOnly");
  if (acs.cookieSecure) parts.push("Secure");
  parts.push(`SameSite=${acs.cookieSameSite}`);
  return parts.join("; ");
}

/** §6.5 step 6: `tikti_idt=<idToken>; Path=/; [Domain=…;] Max-Age=…; HttpOnly; Secure; SameSite=Lax`. */
export function idTokenCookie(config: Config, idToken: string, maxAgeSeconds: number): string {
  return idTokenCookieWith(config, idToken, maxAgeSeconds);
}

/** §9.2 step 4, §9.3 step 6: same `Path`/`Domain`, `Max-Age=0`. */
export function expiredIdTokenCookie(config: Config): string {
  return idTokenCookieWith(config, "", 0);
}
