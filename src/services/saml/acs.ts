/**
 * The assertion consumer — POST `/saml/acs` (solicited) and POST `/saml/acs/:tid` (unsolicited,
 * opt-in) — docs/spec/saml.md §6. The route has already applied the `samlIp` rate limit and read the
 * body under the 256 KiB cap (`429`/`413` pages, no audit record). From there on every answer except
 * the repost page is a *decision* with exactly one audit record (§15), metrics (§14) and, on
 * rejection, the neutral page of the reason's bucket (§6.7).
 *
 * Order (the first failure ends processing):
 *
 *   §6.1   form: `application/x-www-form-urlencoded`, exactly one non-empty `SAMLResponse`, at most
 *          one `RelayState` (≤ 80 bytes), optional `_tikti_state_retry=1`, nothing else
 *          (`request_not_found`).
 *   §6.2   (solicited) state-cookie candidates; none and no retry flag → the repost page (nothing
 *          parsed, consumed or audited); none with the flag → `request_not_found`.
 *   P1–P4  `prepareSamlResponse` (response.ts).
 *   1      solicited: InResponseTo ∈ cookie candidates, ★ `CONSUME saml:req:{id}` (kind `authn`),
 *          posted RelayState = the record's — the record is gone whatever happens next.
 *          Unsolicited: tenant from the URL, the record must allow it (`unsolicited_not_allowed`),
 *          nothing may carry InResponseTo.
 *   1a/1b  tenant ACTIVE and IdP record present (`tid_unknown`); record readable (`internal_error`);
 *          a usable pinned certificate (`idp_metadata_stale`).
 *   2–11   `validateSamlResponse` (response.ts).
 *   11     tenant attributes stripped (§8.2), attribute mapping (§8.1) → `missing_attribute`.
 *   12     ★ `SET saml:seen:{Assertion ID} 1 NX EX replayTtlSeconds` → `request_replay`.
 *   13     user (§8.3; email held by a non-member → `email_conflict`; not ACTIVE →
 *          `subject_confirmation_mismatch`/`user_inactive`), membership
 *          and roles (§8.4), session (`saml:sid`, `IDX_ADD`), idToken (`amr ["saml"]`, `sid`,
 *          `tid`, `exp` = session expiry), audit record — fail closed: a failed audit write ends the
 *          session again and answers the 500 page without the idToken cookie — then 302 to the
 *          stored `returnTo` (re-checked) with the idToken cookie and the expired state cookie.
 */

import { isPathTenantId } from "../../domain/grammar.ts";
import type { User } from "../../domain/types.ts";
import type { IdpRecord } from "../../saml/idp-records.ts";
import { MESSAGE_ID_PATTERN, newSessionId, sha256Tagged } from "../../saml/ids.ts";
import { reject, SAML_REASON_BUCKET, type SamlReason, type SamlRejection } from "../../saml/reasons.ts";
import { safeReturnTo } from "../../saml/relay-state.ts";
import {
  prepareSamlResponse,
  replayTtlSeconds,
  type ValidatedAssertion,
  validateSamlResponse,
} from "../../saml/response.ts";
import { newSession } from "../../saml/sessions.ts";
import { usableCertificates } from "../../saml/verify.ts";
import { VERSION } from "../../version.ts";
import {
  expireCookie,
  type FlowDecision,
  type FlowDeps,
  type FlowRequest,
  isStoreUnavailable,
  redirectTo,
  refuse,
  setCookie,
} from "./flow.ts";
import { type AcsForm, parseAcsForm } from "./forms.ts";
import {
  attributeHash,
  ensureMembership,
  type JitDeps,
  type JitKind,
  mapAttributes,
  resolveSamlUser,
  stripTenantAttributes,
} from "./jit.ts";

const AUDIT_DETAIL = /^[a-z0-9_:.-]{1,64}$/;
const BUILD_SHA = /^[0-9a-f]{7,40}$/;

export interface AcsRequest extends FlowRequest {
  contentType: string | null;
  body: Uint8Array;
  /** `null` on `/saml/acs`; the URL tenant on `/saml/acs/:tid` (§6.6). */
  unsolicitedTenantId: string | null;
}

/** What the audit record (§15) and the metrics learn as the pipeline advances. */
interface Facts {
  /** The tenant once known (`unknown` in labels and audit before that). */
  tid: string | null;
  requestID?: string;
  assertionID?: string;
  subjectHash?: string;
  nameIDFormat?: string;
  issuer?: string;
  audience?: string;
  attrHash?: string;
  userId?: string;
  jit?: JitKind;
  idpEntityId?: string;
  /** §6.2: the browser came back through the repost page. */
  retried: boolean;
}

interface Accepted {
  ok: true;
  location: string;
  idToken: string;
  maxAge: number;
  session: { sid: string; tenantId: string; nameId: string };
}

function auditDetail(detail: string | undefined): string | undefined {
  if (!detail) return undefined;
  const clean = detail
    .toLowerCase()
    .replace(/[^a-z0-9_:.-]/g, "_")
    .slice(0, 64);
  return AUDIT_DETAIL.test(clean) ? clean : undefined;
}

export async function handleAcs(flow: FlowDeps, req: AcsRequest): Promise<FlowDecision> {
  const started = performance.now();
  const { saml } = flow;
  const solicited = req.unsolicitedTenantId === null;
  const facts: Facts = { tid: null, retried: false };

  const form = parseAcsForm(req.contentType, req.body);
  if ("ok" in form) return decide(flow, req, facts, form, started);

  let candidates: string[] = [];
  if (solicited) {
    candidates = req.cookies.state.filter((v) => MESSAGE_ID_PATTERN.test(v));
    if (candidates.length === 0) {
      if (!form.retry) {
        saml.metrics.stateRepost.inc({ result: "offered" });
        return {
          kind: "repost",
          action: new URL(saml.urls.acsUrl).pathname,
          samlResponse: form.samlResponse,
          relayState: form.relayState,
        };
      }
      saml.metrics.stateRepost.inc({ result: "failed" });
      return decide(flow, req, facts, reject("request_not_found", "state_cookie_missing"), started);
    }
    facts.retried = form.retry;
  }

  let outcome: Accepted | SamlRejection;
  try {
    outcome = await pipeline(flow, req, form, candidates, facts);
  } catch (error) {
    outcome = {
      ok: false,
      reason: "internal_error",
      detail: isStoreUnavailable(error) ? "store_unavailable" : "unexpected_exception",
      cause: error,
    };
  }
  if (facts.retried) saml.metrics.stateRepost.inc({ result: outcome.ok ? "recovered" : "failed" });
  return decide(flow, req, facts, outcome, started);
}

async function pipeline(
  flow: FlowDeps,
  req: AcsRequest,
  form: AcsForm,
  candidates: string[],
  facts: Facts,
): Promise<Accepted | SamlRejection> {
  const { deps, saml } = flow;
  const config = deps.config;
  const sp = config.saml.sp;

  // P1–P4.
  const prepared = prepareSamlResponse(form.samlResponse);
  if (!prepared.ok) return prepared;

  // Step 1.
  let tid: string;
  let requestId: string | null = null;
  let returnTo = config.saml.acs.postLoginURL;
  let acsUrl = saml.urls.acsUrl;
  if (req.unsolicitedTenantId === null) {
    const irt = prepared.response.inResponseTo;
    if (irt === null || !candidates.includes(irt))
      return reject("request_not_found", "in_response_to_not_bound");
    facts.requestID = irt;
    const record = await flow.repos.saml.requests.consume(irt, "authn");
    if (!record) return reject("request_not_found", "request_record");
    tid = record.tenantId;
    facts.tid = tid;
    if ((form.relayState ?? "") !== record.relayState) return reject("request_not_found", "relay_state");
    requestId = irt;
    returnTo = safeReturnTo(config, record.returnTo, config.saml.acs.postLoginURL);
  } else {
    tid = req.unsolicitedTenantId;
    acsUrl = saml.urls.unsolicitedAcsUrl(tid);
  }

  // Step 1a.
  if (!isPathTenantId(tid)) return reject("tid_unknown", "tid_malformed");
  const tenant = await flow.repos.tenants.get(tid);
  if (tenant?.status !== "ACTIVE") return reject("tid_unknown", "tenant");
  facts.tid = tid;
  const read = await saml.idps.read(tid);
  if (read.kind === "absent") return reject("tid_unknown", "no_idp");
  // Step 1b.
  if (read.kind === "corrupt") return reject("internal_error", "idp_record_corrupt");
  const record = read.record;
  facts.idpEntityId = record.entityId;
  if (req.unsolicitedTenantId !== null) {
    if (!record.allowUnsolicited) return reject("request_not_found", "unsolicited_not_allowed");
    if (prepared.response.carriesInResponseTo)
      return reject("request_not_found", "unsolicited_in_response_to");
  }
  const now = deps.clock.now();
  if (usableCertificates(record.signingCerts, now).length === 0) {
    return reject("idp_metadata_stale", "no_usable_signing_certificate");
  }

  // Steps 2–11.
  const validation = await validateSamlResponse(prepared.response, {
    now,
    spEntityId: saml.urls.entityId,
    acsUrl,
    requestId,
    idp: {
      entityId: record.entityId,
      signingCerts: record.signingCerts,
      requireEncryptedAssertion: record.requireEncryptedAssertion,
    },
    policy: sp,
    decryptionKeys: await saml.rotation.decryptionPairs(),
  });
  if (!validation.ok) return validation;
  const assertion = validation.assertion;
  facts.assertionID = assertion.id.slice(0, 256);
  facts.subjectHash = await sha256Tagged(`${tid}\u0000${assertion.nameId}`);
  if (assertion.nameIdFormat) facts.nameIDFormat = assertion.nameIdFormat;
  facts.issuer = assertion.issuer;
  facts.audience = saml.urls.entityId;

  // Step 11 (email): §8.2 then §8.1.
  const stripped = stripTenantAttributes(assertion.attributes);
  if (stripped.removed > 0) {
    saml.metrics.tidOverrideIgnored.inc({ tid }, stripped.removed);
    req.log.info("SAML tenant attributes ignored", { tenantId: tid, count: stripped.removed });
  }
  const mapping = mapAttributes(
    stripped.attributes,
    record.attributeMap,
    assertion.nameId,
    assertion.nameIdFormat,
  );
  if (!mapping.ok) return reject("missing_attribute", mapping.detail);
  const mapped = mapping.mapped;
  facts.attrHash = await attributeHash(mapped);

  // Step 12: replay guard, shared by every replica.
  const fresh = await flow.repos.saml.replay.firstSight(
    assertion.id,
    replayTtlSeconds(assertion, now, sp.clockSkewSeconds) * 1000,
  );
  if (!fresh) return reject("request_replay", "assertion_seen");

  // Step 13: acceptance effects.
  return accept(
    flow,
    req,
    { tid, record, assertion, email: mapped.email, roles: mapped.roles, returnTo, now },
    facts,
  );
}

async function accept(
  flow: FlowDeps,
  req: AcsRequest,
  input: {
    tid: string;
    record: IdpRecord;
    assertion: ValidatedAssertion;
    email: string;
    roles: string[];
    returnTo: string;
    now: number;
  },
  facts: Facts,
): Promise<Accepted | SamlRejection> {
  const { deps, saml } = flow;
  const { tid, assertion } = input;
  const jitDeps: JitDeps = {
    repos: flow.repos,
    metrics: deps.metrics,
    logger: req.log,
    onProvisioned: () => saml.metrics.jitProvisions.inc({ tid }),
  };
  const resolved = await resolveSamlUser(jitDeps, {
    tenantId: tid,
    nameId: assertion.nameId,
    email: input.email,
  });
  // §8.3 step 3: the email is another user's; the assertion is spent (step 12), nothing else written.
  if ("conflict" in resolved) return reject("email_conflict", resolved.conflict);
  if (resolved.user.status !== "ACTIVE") {
    facts.userId = resolved.user.localId;
    return reject("subject_confirmation_mismatch", "user_inactive");
  }
  const bumped = await ensureMembership(jitDeps, {
    tenantId: tid,
    userId: resolved.user.localId,
    roleMap: input.record.roleMap,
    asserted: input.roles,
    known: resolved.membership,
  });
  // Re-read only when the role sync bumped `tokenVersion`, which the idToken must carry; otherwise the
  // user read by the JIT step of this same login is current enough (a later status change bumps the
  // version too, so V8 refuses a token minted from a stale read).
  const user: User | null = bumped ? await flow.repos.users.getById(resolved.user.localId) : resolved.user;
  if (!user) return reject("internal_error", "user_vanished");
  if (user.status !== "ACTIVE") return reject("subject_confirmation_mismatch", "user_inactive");
  facts.userId = user.localId;
  facts.jit = resolved.jit;

  // Session: expiresAt = min(now + sessionTTL, SessionNotOnOrAfter), in whole seconds.
  const now = input.now;
  const nowSeconds = Math.floor(now / 1000);
  const limit = now + deps.config.saml.acs.sessionTTL * 1000;
  const until =
    assertion.sessionNotOnOrAfter === null ? limit : Math.min(limit, assertion.sessionNotOnOrAfter);
  const exp = Math.max(Math.floor(until / 1000), nowSeconds + 1);
  const sid = newSessionId();
  const session = newSession({
    sid,
    tenantId: tid,
    userId: user.localId,
    nameId: assertion.nameId,
    nameIdFormat: assertion.nameIdFormat,
    sessionIndex: assertion.sessionIndex,
    now,
    expiresAt: exp * 1000,
  });
  await flow.repos.saml.sessions.start(session, now);
  try {
    const signed = await deps.idTokens.sign({
      sub: user.localId,
      email: user.email,
      role: user.role,
      tid,
      amr: "saml",
      ver: user.tokenVersion,
      sid,
      exp,
    });
    saml.metrics.observedClockSkew.set((assertion.issueInstant - now) / 1000, { tid });
    return {
      ok: true,
      location: input.returnTo,
      idToken: signed.token,
      maxAge: exp - nowSeconds,
      session: { sid, tenantId: tid, nameId: assertion.nameId },
    };
  } catch (error) {
    await flow.repos.saml.sessions.end(session).catch(() => {});
    throw error;
  }
}

/** Records the decision (audit, metrics, log) and returns it. */
async function decide(
  flow: FlowDeps,
  req: AcsRequest,
  facts: Facts,
  outcome: Accepted | SamlRejection,
  started: number,
): Promise<FlowDecision> {
  const { deps, saml } = flow;
  const tidLabel = facts.tid ?? "unknown";
  const durationMs = Math.max(0, Math.round(performance.now() - started));
  const decision = outcome.ok ? "accept" : "reject";
  const reason: SamlReason | "ok" = outcome.ok ? "ok" : outcome.reason;
  const detail = outcome.ok ? undefined : auditDetail(outcome.detail);

  // The envelope (log, event, schemaVersion, ts, replicaID) is the audit writer's.
  const record: Record<string, unknown> = {
    tid: tidLabel,
    decision,
    reason,
  };
  if (detail) record.detail = detail;
  if (facts.requestID && MESSAGE_ID_PATTERN.test(facts.requestID)) record.requestID = facts.requestID;
  if (facts.assertionID) record.assertionID = facts.assertionID;
  if (facts.subjectHash) record.subjectHash = facts.subjectHash;
  if (facts.nameIDFormat) record.nameIDFormat = facts.nameIDFormat;
  if (facts.issuer) record.issuer = facts.issuer;
  if (facts.audience) record.audience = facts.audience;
  if (facts.attrHash) record.attrHash = facts.attrHash;
  if (outcome.ok) {
    if (facts.userId) record.userId = facts.userId;
    if (facts.jit) record.jit = facts.jit;
  }
  record.durationMs = durationMs;
  record.httpRequestId = req.httpRequestId;
  if (BUILD_SHA.test(VERSION.commit)) record.buildSHA = VERSION.commit;

  const cookies = req.unsolicitedTenantId === null ? [expireCookie("state")] : [];
  saml.metrics.responseValidationDuration.observe(durationMs / 1000, { tid: tidLabel });
  deps.metrics.signIn.inc({ method: "saml", result: outcome.ok ? "success" : "failure" });

  // §15: written before the answer is sent, through the one audit writer; a failed write (counted
  // and logged there) fails closed.
  const audited = await flow.audit.recordOrFail("saml.assertion", record);
  if (!audited) {
    saml.metrics.auditFailures.inc({ decision });
    req.log.error("SAML audit write failed", { decision, tenantId: tidLabel });
  }

  if (outcome.ok) {
    if (!audited) {
      await flow.repos.saml.sessions.end(outcome.session).catch(() => {});
      saml.metrics.responses.inc({ tid: tidLabel, result: "reject" });
      saml.metrics.validationFailures.inc({ tid: tidLabel, reason: "internal_error" });
      return refuse(
        "internal",
        { flow: "acs", reason: "internal_error", detail: "audit_write_failed", tenantId: tidLabel },
        { cookies },
      );
    }
    saml.metrics.responses.inc({ tid: tidLabel, result: "accept" });
    req.log.info("SAML login accepted", {
      tenantId: tidLabel,
      userId: facts.userId,
      jit: facts.jit,
      idpEntityId: facts.idpEntityId,
      durationMs,
    });
    return redirectTo(outcome.location, [setCookie("idToken", outcome.idToken, outcome.maxAge), ...cookies]);
  }

  saml.metrics.responses.inc({ tid: tidLabel, result: "reject" });
  saml.metrics.validationFailures.inc({ tid: tidLabel, reason: outcome.reason });
  if (outcome.reason === "request_replay") saml.metrics.replayBlocked.inc({ tid: tidLabel });
  const storeUnavailable = outcome.detail === "store_unavailable";
  const bucket = audited ? SAML_REASON_BUCKET[outcome.reason] : "internal";
  return refuse(
    bucket,
    {
      flow: "acs",
      reason: outcome.reason,
      ...(detail ? { detail } : {}),
      tenantId: tidLabel,
      ...(facts.idpEntityId ? { idpEntityId: facts.idpEntityId } : {}),
      ...(outcome.cause !== undefined ? { error: outcome.cause } : {}),
      ...(audited ? {} : { error: "audit write failed" }),
    },
    { storeUnavailable, cookies },
  );
}
