/**
 * GET `/saml/login/:tid` — SP-initiated login (docs/spec/saml.md §5). The route applies the `samlIp`
 * rate limit (step 1) before calling `startLogin`.
 *
 *   2. `:tid` malformed, tenant absent or not ACTIVE, no IdP record → 404 not-configured page;
 *      an unreadable IdP record → 500 page. Nothing is stored.
 *   3. Return target: absent → `postLoginURL`; a safe redirect target → itself; else 400 page.
 *      `RelayState` sent to the IdP: the target (≤ 80 bytes) or `r` + 32 hex.
 *   4–5. Request id `_` + 40 hex; the AuthnRequest (ForceAuthn when `forceAuthn=true` or the record
 *      says so).
 *   7. The signed Redirect URL is built before anything is stored, so a signing failure (no SP key
 *      loaded on this replica) leaves no orphan record; too long → 500 page.
 *   6. ★ `SET saml:req:{id} NX EX requestTTLSeconds` (store unreachable → 503 page).
 *   8. 302 to the IdP with the state cookie; metric `authn_requests_total{tid}`.
 */
import { isPathTenantId } from "../../domain/grammar.ts";
import { authnRequestUrl } from "../../saml/authn-request.ts";
import { newMessageId, samlInstant } from "../../saml/ids.ts";
import { OutboundTooLong } from "../../saml/outbound.ts";
import { chooseReturnTo, relayStateFor } from "../../saml/relay-state.ts";
import type { AuthnRequestRecord } from "../../store/repos/saml-requests.ts";
import {
  type FlowDecision,
  type FlowDeps,
  type FlowRequest,
  isStoreUnavailable,
  redirectTo,
  refuse,
  setCookie,
} from "./flow.ts";

export interface LoginRequest extends FlowRequest {
  tenantId: string;
  query: URLSearchParams;
}

export async function startLogin(flow: FlowDeps, req: LoginRequest): Promise<FlowDecision> {
  const { deps, saml } = flow;
  const config = deps.config;
  const tid = req.tenantId;
  const what = (reason: string, detail?: string) => ({
    flow: "login",
    reason,
    ...(detail ? { detail } : {}),
    ...(isPathTenantId(tid) ? { tenantId: tid } : {}),
  });
  try {
    // 2. Tenant and IdP record.
    if (!isPathTenantId(tid)) return refuse("not_configured", what("tid_unknown", "tid_malformed"));
    const tenant = await flow.repos.tenants.get(tid);
    if (tenant?.status !== "ACTIVE") return refuse("not_configured", what("tid_unknown", "tenant"));
    const read = await saml.idps.read(tid);
    if (read.kind === "absent") return refuse("not_configured", what("tid_unknown", "no_idp"));
    if (read.kind === "corrupt") return refuse("internal", what("internal_error", "idp_record_corrupt"));
    const record = read.record;

    // 3. Return target.
    const targets = req.query.getAll("RelayState");
    if (targets.length > 1) return refuse("bad_request", what("bad_request", "relay_state_repeated"));
    const returnTo = chooseReturnTo(config, targets[0] ?? null, config.saml.acs.postLoginURL);
    if (returnTo === null) return refuse("bad_request", what("bad_request", "relay_state_unsafe"));
    const relayState = relayStateFor(returnTo);
    const forced = req.query.getAll("forceAuthn");
    const forceAuthn = (forced.length === 1 && forced[0] === "true") || record.forceAuthn;

    // 4, 5, 7.
    const now = deps.clock.now();
    const id = newMessageId();
    const issueInstant = samlInstant(now);
    let location: string;
    try {
      location = await authnRequestUrl(saml, {
        id,
        issueInstant,
        destination: record.ssoUrl,
        nameIdFormat: record.nameIdFormat,
        forceAuthn,
        relayState,
      });
    } catch (error) {
      const detail = error instanceof OutboundTooLong ? "redirect_too_long" : "signing_failed";
      return refuse("internal", { ...what("internal_error", detail), error });
    }

    // 6.
    const ttl = config.saml.sp.requestTTLSeconds;
    const stored: AuthnRequestRecord = {
      kind: "authn",
      id,
      tenantId: tid,
      relayState,
      returnTo,
      acsUrl: saml.urls.acsUrl,
      issueInstant,
      forceAuthn,
    };
    await flow.repos.saml.requests.put(stored, ttl);

    // 8.
    saml.metrics.authnRequests.inc({ tid });
    req.log.info("SAML login started", { tenantId: tid, samlRequestId: id, forceAuthn });
    return redirectTo(location, [setCookie("state", id, ttl)]);
  } catch (error) {
    const storeUnavailable = isStoreUnavailable(error);
    return refuse(
      "internal",
      { ...what("internal_error", storeUnavailable ? "store_unavailable" : "unexpected"), error },
      { storeUnavailable },
    );
  }
}
