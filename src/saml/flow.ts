/**
 * What the SAML browser flows (login.ts, acs.ts, logout.ts) share: their dependencies, the
 * per-request inputs, and the rendering of neutral error pages with cookies attached.
 */
import type { AppDeps } from "../deps.ts";
import { isTiktiError } from "../errors.ts";
import type { Logger } from "../logger.ts";
import type { Services } from "../services/index.ts";
import type { SamlContext } from "./context.ts";
import { BROWSER_HEADERS, newErrorId, type SamlErrorPageKind, samlErrorPage } from "./pages.ts";
import type { SamlBucket, SamlReason } from "./reasons.ts";

export interface FlowDeps {
  deps: AppDeps;
  saml: SamlContext;
  services: Services;
}

/** The parts of one HTTP request a flow may use. */
export interface FlowRequest {
  /** Per-request logger (carries the request id). */
  log: Logger;
  /** `X-Request-ID` of the request. */
  httpRequestId: string;
  /** The raw `Cookie` header. */
  cookieHeader: string | null;
}

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

export function isStoreUnavailable(error: unknown): boolean {
  return isTiktiError(error) && error.code === "STORE_UNAVAILABLE";
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
