/**
 * Single logout (docs/spec/saml.md §9):
 *
 * - `spLogout` — GET `/saml/logout/:tid` (§9.2): the idToken from the cookie passes docs/spec/tokens.md §4.1
 *   V1, V2, V4, V5 with expiry ignored, carries `amr` `saml`, a `sid` and `tid` = `:tid` (else 400);
 *   the return target is checked (400); the session ends locally first (`DEL saml:sid`, `HDEL`
 *   index) and the idToken cookie is expired — so the token is dead (V10) even when the IdP has no
 *   SLO endpoint or never answers; then a signed LogoutRequest goes to the IdP's `sloUrl` with a
 *   `logout` request record and the `__Host-tikti_saml_slo` cookie.
 * - `sloEndpoint` — GET/POST `/saml/slo`: an IdP-initiated `LogoutRequest` (§9.3) or the
 *   `LogoutResponse` to one of ours (§9.4). Validation is response-logout.ts; candidate tenants,
 *   replay guard, session ends and the signed LogoutResponse are here.
 */
import { bytesToBase64 } from "../../crypto/pem.ts";
import { isPathTenantId } from "../../domain/grammar.ts";
import type { IdpRecord } from "../../saml/idp-records.ts";
import { newMessageId, SESSION_ID_PATTERN, samlInstant } from "../../saml/ids.ts";
import { buildLogoutRequest, buildLogoutResponse } from "../../saml/logout-messages.ts";
import { redirectUrl, signEnveloped } from "../../saml/outbound.ts";
import { SAML_REASON_BUCKET, type SamlBucket, type SamlRejection } from "../../saml/reasons.ts";
import { chooseReturnTo, safeReturnTo } from "../../saml/relay-state.ts";
import {
  type LogoutFacts,
  type LogoutInput,
  type PreparedLogoutMessage,
  prepareLogoutMessage,
  verifyLogoutMessage,
} from "../../saml/response-logout.ts";
import type { LogoutRequestRecord } from "../../store/repos/saml-requests.ts";
import {
  expireCookie,
  type FlowDecision,
  type FlowDeps,
  type FlowRequest,
  isStoreUnavailable,
  redirectTo,
  refuse,
  setCookie,
  withFlowCookies,
} from "./flow.ts";
import { parseSloForm } from "./forms.ts";

/** Replay window of inbound LogoutRequest IDs (§9.3 step 4). */
const LOGOUT_REPLAY_TTL_SECONDS = 3600;

// ------------------------------------------------------------------------------ SP-initiated (§9.2)

export interface SpLogoutRequest extends FlowRequest {
  tenantId: string;
  query: URLSearchParams;
}

export async function spLogout(flow: FlowDeps, req: SpLogoutRequest): Promise<FlowDecision> {
  const { deps, saml } = flow;
  const config = deps.config;
  const tid = req.tenantId;
  const bad = (detail: string) =>
    refuse("bad_request", {
      flow: "logout",
      reason: "bad_request",
      detail,
      ...(isPathTenantId(tid) ? { tenantId: tid } : {}),
    });
  try {
    // 1. The idToken cookie: V1, V2, V4, V5 (expiry ignored), amr saml, sid, tid = :tid.
    if (!isPathTenantId(tid)) return bad("tid_malformed");
    let claims: { sub: string; sid: string } | null = null;
    for (const token of req.cookies.idToken) {
      try {
        const c = await deps.idTokens.verifyIdTokenCrypto(token, deps.clock.now(), { ignoreExpiry: true });
        if (!c.amr.includes("saml") || !c.sid || !SESSION_ID_PATTERN.test(c.sid) || c.tid !== tid) continue;
        claims = { sub: c.sub, sid: c.sid };
        break;
      } catch {
        // Not a token of ours: try the next cookie of that name, if any.
      }
    }
    if (!claims) return bad("id_token");

    // 2. Return target.
    const targets = req.query.getAll("RelayState");
    if (targets.length > 1) return bad("relay_state_repeated");
    const returnTo = chooseReturnTo(config, targets[0] ?? null, config.saml.acs.postLogoutURL);
    if (returnTo === null) return bad("relay_state_unsafe");
    const expireIdToken = expireCookie("idToken");

    // 3. Already ended.
    const session = await flow.repos.saml.sessions.get(claims.sid);
    if (!session) return redirectTo(returnTo, [expireIdToken]);
    if (session.userId !== claims.sub || session.tenantId !== tid) return bad("session_mismatch");

    // 4. End the session locally, whatever the IdP does next.
    await flow.repos.saml.sessions.end(session);
    saml.metrics.logoutRequests.inc({ tid, direction: "sp" });
    req.log.info("SAML session ended (SP-initiated logout)", { tenantId: tid, userId: session.userId });

    // 5. No IdP SLO endpoint: local logout only.
    const read = await saml.idps.read(tid);
    if (read.kind !== "ok" || read.record.sloUrl === "" || read.record.sloBinding === "") {
      return redirectTo(returnTo, [expireIdToken]);
    }
    const record = read.record;

    // 6. LogoutRequest and its record.
    const now = deps.clock.now();
    const id = newMessageId();
    const issueInstant = samlInstant(now);
    const xml = buildLogoutRequest({
      id,
      issueInstant,
      destination: record.sloUrl,
      spEntityId: saml.urls.entityId,
      nameId: session.nameId,
      nameIdFormat: session.nameIdFormat || null,
      sessionIndex: session.sessionIndex || null,
    });
    const ttl = config.saml.sp.requestTTLSeconds;
    let outbound: FlowDecision;
    try {
      outbound = await deliver(flow, record.sloBinding, record.sloUrl, "SAMLRequest", xml, null);
    } catch (error) {
      return refuse(
        "internal",
        { flow: "logout", reason: "internal_error", detail: "signing_failed", tenantId: tid, error },
        { cookies: [expireIdToken] },
      );
    }
    const stored: LogoutRequestRecord = {
      kind: "logout",
      id,
      tenantId: tid,
      sid: session.sid,
      nameId: session.nameId,
      sessionIndex: session.sessionIndex || null,
      returnTo,
      issueInstant,
    };
    await flow.repos.saml.requests.put(stored, ttl);
    // 7, 8.
    return withFlowCookies(outbound, [expireIdToken, setCookie("slo", id, ttl)]);
  } catch (error) {
    const storeUnavailable = isStoreUnavailable(error);
    return refuse(
      "internal",
      {
        flow: "logout",
        reason: "internal_error",
        detail: storeUnavailable ? "store_unavailable" : "unexpected",
        tenantId: tid,
        error,
      },
      { storeUnavailable, cookies: [expireCookie("idToken")] },
    );
  }
}

/** Sends `xml` with the IdP's binding: Redirect → signed query; POST → enveloped signature + form. */
async function deliver(
  flow: FlowDeps,
  binding: IdpRecord["sloBinding"],
  destination: string,
  parameter: "SAMLRequest" | "SAMLResponse",
  xml: string,
  relayState: string | null,
): Promise<FlowDecision> {
  const pair = await flow.saml.rotation.signingPair();
  if (binding === "HTTP-POST") {
    const signed = signEnveloped(xml, pair);
    const fields: Record<string, string> = { [parameter]: bytesToBase64(new TextEncoder().encode(signed)) };
    if (relayState) fields.RelayState = relayState;
    return { kind: "post", action: destination, fields, cookies: [] };
  }
  return redirectTo(await redirectUrl({ destination, parameter, xml, relayState, pair }));
}

// ------------------------------------------------------------------------------ /saml/slo (§9.3, §9.4)

export type SloInput =
  | { binding: "redirect"; rawQuery: string }
  | { binding: "post"; contentType: string | null; body: Uint8Array };

export type SloRequest = FlowRequest & { input: SloInput };

/** Bucket of a logout-message rejection: shape and destination 400, internal 500, else 403. */
function sloBucket(rejection: SamlRejection): SamlBucket {
  switch (rejection.reason) {
    case "request_not_found":
    case "xxe_detected":
    case "destination_mismatch":
      return "bad_request";
    default:
      return SAML_REASON_BUCKET[rejection.reason] === "internal" ? "internal" : "forbidden";
  }
}

export async function sloEndpoint(flow: FlowDeps, req: SloRequest): Promise<FlowDecision> {
  const bad = (detail: string) => refuse("bad_request", { flow: "slo", reason: "request_not_found", detail });
  try {
    const input = req.input;
    let logoutInput: LogoutInput;
    let kind: "logout-request" | "logout-response";
    let postRelayState: string | null = null;
    if (input.binding === "redirect") {
      const names = redirectParameterNames(input.rawQuery);
      if (names === null) return bad("query");
      const hasRequest = names.includes("SAMLRequest");
      const hasResponse = names.includes("SAMLResponse");
      if (hasRequest === hasResponse) return bad("parameters");
      kind = hasRequest ? "logout-request" : "logout-response";
      logoutInput = { binding: "redirect", rawQuery: input.rawQuery };
    } else {
      const form = parseSloForm(input.contentType, input.body);
      if (form === null) return bad("form");
      const value = form.samlRequest ?? form.samlResponse;
      if (value === null || (form.samlRequest !== null && form.samlResponse !== null))
        return bad("parameters");
      kind = form.samlRequest !== null ? "logout-request" : "logout-response";
      logoutInput = { binding: "post", value };
      postRelayState = form.relayState;
    }
    const prepared = await prepareLogoutMessage(logoutInput, kind);
    if (!prepared.ok) {
      return refuse(sloBucket(prepared), {
        flow: "slo",
        reason: prepared.reason,
        detail: prepared.detail,
        ...(prepared.cause !== undefined ? { error: prepared.cause } : {}),
      });
    }
    return kind === "logout-request"
      ? await idpLogoutRequest(flow, req, prepared.message, postRelayState)
      : await logoutResponse(flow, req, prepared.message);
  } catch (error) {
    const storeUnavailable = isStoreUnavailable(error);
    return refuse(
      "internal",
      {
        flow: "slo",
        reason: "internal_error",
        detail: storeUnavailable ? "store_unavailable" : "unexpected",
        error,
      },
      { storeUnavailable },
    );
  }
}

/** Parameter names of a raw query (for "neither or both"); `null` when a name is not decodable. */
function redirectParameterNames(rawQuery: string): string[] | null {
  const out: string[] = [];
  for (const part of rawQuery.split("&")) {
    if (part === "") continue;
    const eq = part.indexOf("=");
    try {
      out.push(decodeURIComponent((eq === -1 ? part : part.slice(0, eq)).replace(/\+/g, " ")));
    } catch {
      return null;
    }
  }
  return out;
}

/** §9.3: an IdP-initiated LogoutRequest. */
async function idpLogoutRequest(
  flow: FlowDeps,
  req: SloRequest,
  prepared: PreparedLogoutMessage,
  postRelayState: string | null,
): Promise<FlowDecision> {
  const { deps, saml } = flow;
  const config = deps.config;
  const now = deps.clock.now();
  // The shape check admits a LogoutRequest only with one NameID.
  const nameId = prepared.nameId;
  if (nameId === null)
    return refuse("bad_request", { flow: "slo", reason: "request_not_found", detail: "name_id" });

  // 2. Candidate tenants: live sessions of the NameID whose IdP is the Issuer, else every tenant
  //    whose IdP record has that entityID. The unverified Issuer only selects; it decides nothing.
  const records = new Map<string, IdpRecord>();
  const recordOf = async (tid: string): Promise<IdpRecord | null> => {
    const known = records.get(tid);
    if (known !== undefined) return known;
    if (!isPathTenantId(tid)) return null;
    const read = await saml.idps.read(tid);
    if (read.kind !== "ok") return null;
    records.set(tid, read.record);
    return read.record;
  };
  const entries = await flow.repos.saml.sessions.indexEntries(nameId);
  let candidates: string[] = [];
  for (const e of entries) {
    if (!(e.expiresAt > now) || candidates.includes(e.tenantId)) continue;
    if ((await recordOf(e.tenantId))?.entityId === prepared.issuer) candidates.push(e.tenantId);
  }
  if (candidates.length === 0) candidates = await saml.idps.tenantsForEntityId(prepared.issuer);
  if (candidates.length === 0) {
    return refuse("forbidden", {
      flow: "slo",
      reason: "issuer_mismatch",
      detail: "no_candidate_tenant",
    });
  }

  // 3–4. Signature, Issuer, Destination, time — per candidate, with its own pinned certificates.
  const verified: Array<{ tid: string; record: IdpRecord; facts: LogoutFacts }> = [];
  let firstFailure: SamlRejection | null = null;
  for (const tid of candidates) {
    const record = await recordOf(tid);
    if (!record) continue;
    const result = await verifyLogoutMessage(prepared, {
      now,
      sloUrl: saml.urls.sloUrl,
      idp: { entityId: record.entityId, signingCerts: record.signingCerts },
      policy: config.saml.sp,
    });
    if (result.ok) verified.push({ tid, record, facts: result.facts });
    else firstFailure ??= result;
  }
  const [first] = verified;
  if (first === undefined) {
    const failure = firstFailure ?? {
      ok: false as const,
      reason: "signature_invalid" as const,
      detail: "no_record",
    };
    return refuse(sloBucket(failure), {
      flow: "slo",
      reason: failure.reason,
      detail: failure.detail,
    });
  }
  const facts = first.facts;

  // 4. Replay guard on the LogoutRequest ID.
  const fresh = await flow.repos.saml.replay.firstSight(facts.id, LOGOUT_REPLAY_TTL_SECONDS * 1000);
  if (!fresh)
    return refuse("forbidden", {
      flow: "slo",
      reason: "request_replay",
      detail: "logout_request_seen",
    });

  // 5. End the matching sessions of each verified tenant.
  const verifiedNameId = facts.nameId ?? nameId;
  const all =
    verifiedNameId === nameId ? entries : await flow.repos.saml.sessions.indexEntries(verifiedNameId);
  let ended = 0;
  for (const v of verified) {
    const wanted = v.facts.sessionIndexes;
    for (const e of all) {
      if (e.tenantId !== v.tid) continue;
      if (wanted.length > 0 && !wanted.includes(e.sessionIndex)) continue;
      await flow.repos.saml.sessions.end({
        sid: e.sid,
        tenantId: e.tenantId,
        nameId: verifiedNameId,
      });
      ended++;
    }
    saml.metrics.logoutRequests.inc({ tid: v.tid, direction: "idp" });
  }
  req.log.info("SAML sessions ended (IdP-initiated logout)", {
    tenantIds: verified.map((v) => v.tid),
    ended,
  });

  // 6. Signed LogoutResponse (Success, also when nothing matched), with the idToken cookie expired.
  const { record } = first;
  const expireIdToken = expireCookie("idToken");
  const destination = record.sloResponseUrl || record.sloUrl;
  if (destination === "" || record.sloBinding === "") {
    return redirectTo(config.saml.acs.postLogoutURL, [expireIdToken]);
  }
  const xml = buildLogoutResponse({
    id: newMessageId(),
    issueInstant: samlInstant(now),
    destination,
    inResponseTo: facts.id,
    spEntityId: saml.urls.entityId,
  });
  const relayState = prepared.binding === "redirect" ? facts.relayState : postRelayState;
  const outbound = await deliver(flow, record.sloBinding, destination, "SAMLResponse", xml, relayState);
  return withFlowCookies(outbound, [expireIdToken]);
}

/** §9.4: the IdP's answer to one of our LogoutRequests. */
async function logoutResponse(
  flow: FlowDeps,
  req: SloRequest,
  prepared: PreparedLogoutMessage,
): Promise<FlowDecision> {
  const { deps, saml } = flow;
  const config = deps.config;
  const cookies = [expireCookie("slo")];
  const refuseSlo = (bucket: SamlBucket, reason: string, detail: string, tenantId?: string) =>
    refuse(bucket, { flow: "slo", reason, detail, ...(tenantId ? { tenantId } : {}) }, { cookies });

  // 2. Bound to this browser's logout request, consumed once.
  const irt = prepared.inResponseTo;
  const bound = req.cookies.slo;
  if (bound.length === 0) return refuseSlo("bad_request", "request_not_found", "slo_cookie_missing");
  if (irt === null || !bound.includes(irt))
    return refuseSlo("bad_request", "request_not_found", "in_response_to_not_bound");
  const record = await flow.repos.saml.requests.consume(irt, "logout");
  if (!record) return refuseSlo("bad_request", "request_not_found", "request_record");
  const tid = record.tenantId;

  // 3. Signature, Issuer, Destination with the record tenant's pinned certificates.
  const read = await saml.idps.read(tid);
  if (read.kind !== "ok") {
    saml.metrics.logoutResponses.inc({ tid, result: "failure" });
    return refuseSlo("forbidden", "tid_unknown", "no_idp", tid);
  }
  const result = await verifyLogoutMessage(prepared, {
    now: deps.clock.now(),
    sloUrl: saml.urls.sloUrl,
    idp: { entityId: read.record.entityId, signingCerts: read.record.signingCerts },
    policy: config.saml.sp,
    requestId: irt,
  });
  if (!result.ok) {
    saml.metrics.logoutResponses.inc({ tid, result: "failure" });
    return refuseSlo(sloBucket(result), result.reason, result.detail, tid);
  }
  // 4. Success → the stored return target (checked again).
  saml.metrics.logoutResponses.inc({ tid, result: "success" });
  return redirectTo(safeReturnTo(config, record.returnTo, config.saml.acs.postLogoutURL), cookies);
}
