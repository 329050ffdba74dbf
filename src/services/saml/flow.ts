/**
 * What the SAML browser flows (login.ts, acs.ts, logout.ts) share: their dependencies, the
 * per-request inputs, and the decision each returns (docs/adr/0070-saml-flow-decisions.md). A flow
 * never builds a `Response`: src/http/saml/render.ts turns its decision into pages, cookies and
 * redirects, and logs the refusal line of a rejection.
 */
import type { AppDeps } from "../../deps.ts";
import { isTiktiError } from "../../errors.ts";
import type { Logger } from "../../logger.ts";
import type { SamlBucket, SamlReason } from "../../saml/reasons.ts";
import type { Repos } from "../../store/repos/index.ts";
import type { Audit } from "../audit.ts";
import type { SamlContext } from "./context.ts";

/** What the flows are built with, once, by `createServices` (src/services/saml/index.ts). */
export interface FlowDeps {
  readonly deps: AppDeps;
  readonly saml: SamlContext;
  readonly repos: Repos;
  /** The app's one audit writer. */
  readonly audit: Audit;
}

/** The parts of one HTTP request a flow may use. */
export interface FlowRequest {
  /** Per-request logger (carries the request id). */
  log: Logger;
  /** `X-Request-ID` of the request. */
  httpRequestId: string;
  /**
   * Values of the flow cookies the browser sent, in order, duplicates kept (the route reads them
   * with the names of src/http/saml/state-cookie.ts; a cookie without the `__Host-` prefix is never
   * read).
   */
  cookies: { state: string[]; slo: string[]; idToken: string[] };
}

/**
 * A cookie a decision sets — or expires, with `value` "" and `maxAge` 0. Which cookie, not its
 * header text: names and attributes are the HTTP side's (src/http/saml/state-cookie.ts).
 *   - `state`: `__Host-tikti_saml_state`, binds an AuthnRequest to the browser (docs/spec/saml.md §5, §6.2)
 *   - `slo`: `__Host-tikti_saml_slo`, binds an SP-initiated LogoutRequest (§9.2, §9.4)
 *   - `idToken`: the idToken cookie configured under `saml.acs` (§6.5 step 6)
 */
export interface FlowCookie {
  cookie: "state" | "slo" | "idToken";
  value: string;
  maxAge: number;
}

export const setCookie = (cookie: FlowCookie["cookie"], value: string, maxAge: number): FlowCookie => ({
  cookie,
  value,
  maxAge,
});
export const expireCookie = (cookie: FlowCookie["cookie"]): FlowCookie => ({ cookie, value: "", maxAge: 0 });

/** Why a request was refused: logged with the page's error id, never shown, never the message. */
export interface Refusal {
  flow: string;
  reason: SamlReason | string;
  detail?: string;
  tenantId?: string;
  idpEntityId?: string;
  error?: unknown;
}

/** The answer of a SAML browser flow, with the cookies to apply. */
export type FlowDecision =
  /** `302 Location` (§5 step 8, §6.5, §9.2, §9.4). */
  | { kind: "redirect"; location: string; cookies: FlowCookie[] }
  /** The HTTP-POST binding: an auto-submit form posting `fields` to `action` (§9.2 step 7, §9.3 step 6). */
  | { kind: "post"; action: string; fields: Record<string, string>; cookies: FlowCookie[] }
  /** §6.2: the same-site repost page; nothing parsed, consumed or audited, no cookie touched. */
  | { kind: "repost"; action: string; samlResponse: string; relayState: string | null }
  /**
   * The neutral error page of `page` (§6.7). `storeUnavailable` (only with `internal`) asks for the
   * 503 answer with its retry hint instead of 500.
   */
  | { kind: "reject"; page: SamlBucket; refusal: Refusal; cookies: FlowCookie[]; storeUnavailable: boolean };

export function refuse(
  page: SamlBucket,
  refusal: Refusal,
  options: { cookies?: FlowCookie[]; storeUnavailable?: boolean } = {},
): FlowDecision {
  return {
    kind: "reject",
    page,
    refusal,
    cookies: options.cookies ?? [],
    storeUnavailable: options.storeUnavailable ?? false,
  };
}

export function redirectTo(location: string, cookies: FlowCookie[] = []): FlowDecision {
  return { kind: "redirect", location, cookies };
}

/** `decision` with `cookies` applied after its own. */
export function withFlowCookies(decision: FlowDecision, cookies: FlowCookie[]): FlowDecision {
  return decision.kind === "repost" ? decision : { ...decision, cookies: [...decision.cookies, ...cookies] };
}

export function isStoreUnavailable(error: unknown): boolean {
  return isTiktiError(error) && error.code === "STORE_UNAVAILABLE";
}
