/**
 * Renders the decisions of the SAML browser flows (src/services/saml/flow.ts,
 * docs/adr/0070-saml-flow-decisions.md): neutral error pages with their refusal log line, redirects
 * with the browser headers, the auto-submit and repost pages, and the `Set-Cookie` lines of the
 * cookies a decision sets or expires. The route's own refusals (rate limit, body) use `errorPage`.
 */
import type { Config } from "../../config/schema.ts";
import type { Logger } from "../../logger.ts";
import type { SamlBucket, SamlReason } from "../../saml/reasons.ts";
import type { FlowCookie, FlowDecision } from "../../services/saml/flow.ts";
import { autoSubmitForm, repostPage } from "./auto-submit.ts";
import { BROWSER_HEADERS, newErrorId, type SamlErrorPageKind, samlErrorPage } from "./pages.ts";
import { idTokenCookie, sloCookie, stateCookie } from "./state-cookie.ts";

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
  req: { log: Logger },
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

/** The `Set-Cookie` line of a decision's cookie. */
export function cookieLine(config: Config, c: FlowCookie): string {
  switch (c.cookie) {
    case "state":
      return stateCookie(c.value, c.maxAge);
    case "slo":
      return sloCookie(c.value, c.maxAge);
    case "idToken":
      return idTokenCookie(config, c.value, c.maxAge);
  }
}

/** The HTTP answer of a flow decision; a rejection is logged (with its error id) here. */
export function renderDecision(decision: FlowDecision, req: { log: Logger; config: Config }): Response {
  const cookies = decision.kind === "repost" ? [] : decision.cookies.map((c) => cookieLine(req.config, c));
  switch (decision.kind) {
    case "redirect":
      return redirect(decision.location, cookies);
    case "post":
      return withCookies(autoSubmitForm({ action: decision.action, fields: decision.fields }), cookies);
    case "repost":
      return repostPage({
        action: decision.action,
        samlResponse: decision.samlResponse,
        relayState: decision.relayState,
      });
    case "reject":
      return errorPage(req, decision.page, decision.refusal, {
        storeUnavailable: decision.storeUnavailable,
        cookies,
      });
  }
}
