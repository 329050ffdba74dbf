/**
 * Rendering shared by the SAML browser flows: neutral error pages with cookies attached, redirects
 * with the browser headers, and `Set-Cookie` on a response built elsewhere.
 */

import type { SamlBucket, SamlReason } from "../../saml/reasons.ts";
import type { FlowRequest } from "../../services/saml/flow.ts";
import { BROWSER_HEADERS, newErrorId, type SamlErrorPageKind, samlErrorPage } from "./pages.ts";

/** Appends `Set-Cookie` headers to a response built elsewhere. */
export function withCookies(response: Response, cookies: readonly string[]): Response {
  for (const c of cookies) response.headers.append("Set-Cookie", c);
  return response;
}

/** `302 Location` with the browser headers of §5/§6.5 and the given cookies. */
export function redirect(location: string, cookies: readonly string[] = []): Response {
  return withCookies(
    new Response(null, { status: 302, headers: { ...BROWSER_HEADERS, Location: location } }),
    cookies,
  );
}

/**
 * A neutral error page (§6.7), logged with its error id, the reason and the detail — never the
 * message, NameID or email.
 */
export function errorPage(
  req: FlowRequest,
  kind: SamlErrorPageKind | SamlBucket,
  what: {
    flow: string;
    reason: SamlReason | string;
    detail?: string;
    tenantId?: string;
    idpEntityId?: string;
    error?: unknown;
  },
  options: { storeUnavailable?: boolean; cookies?: readonly string[]; retryAfter?: number } = {},
): Response {
  const errorId = newErrorId();
  const fields: Record<string, unknown> = { errorId, flow: what.flow, reason: what.reason };
  if (what.detail) fields.detail = what.detail;
  if (what.tenantId) fields.tenantId = what.tenantId;
  if (what.idpEntityId) fields.idpEntityId = what.idpEntityId;
  if (what.error !== undefined) fields.error = what.error;
  if (kind === "internal") req.log.error("SAML request failed", fields);
  else req.log.info("SAML request refused", fields);
  const page = samlErrorPage(kind, {
    errorId,
    ...(options.storeUnavailable ? { storeUnavailable: true } : {}),
    ...(options.retryAfter !== undefined ? { retryAfter: options.retryAfter } : {}),
  });
  return withCookies(page, options.cookies ?? []);
}
