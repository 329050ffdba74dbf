/**
 * The shared validation of inbound single-logout messages (docs/spec/saml.md §9.3, §9.4): decoding,
 * hygiene and the single parse, shape, signature (HTTP-Redirect query signature or enveloped XML
 * signature on POST) with the same verifier and allowlist as the ACS, destination and time checks.
 * Pure: the SLO route/service does the lookups, store writes and replies.
 *
 * Order for an IdP-initiated `LogoutRequest` (§9.3):
 *   here    1  `prepareLogoutMessage(input, "logout-request")` — decode (Redirect: raw inflate
 *              capped at 256 KiB), §7.2, single parse, root `LogoutRequest`, one text-only NameID,
 *              text-only SessionIndex values, a non-empty Issuer (`request_not_found` → 400;
 *              `xxe_detected` → 400 on SLO).
 *   caller  2  candidate tenants from `saml:idx:{prepared.nameId}` / the entityId index using the
 *              unverified `prepared.issuer` (lookup only).
 *   here    3–4 `verifyLogoutMessage(prepared, ctx)` per candidate tenant — signature with that
 *              tenant's pinned certificates (`signature_invalid`/`algorithm_disallowed` → 403),
 *              Issuer (`issuer_mismatch`), Destination = `sp.sloURL` (`destination_mismatch` → 400),
 *              IssueInstant within requestTTL + skew and NotOnOrAfter (`clock_skew`). The facts
 *              returned are read from the signed message.
 *   caller  4–7 `SET saml:seen:{facts.id} 1 NX EX 3600` (`request_replay` → 403), end sessions,
 *              signed LogoutResponse, metrics.
 *
 * For a `LogoutResponse` (§9.4): `prepareLogoutMessage(input, "logout-response")`; the caller
 * compares `prepared.inResponseTo` with the `__Host-tikti_saml_slo` cookie and consumes
 * `saml:req:{id}` (kind `logout`); then `verifyLogoutMessage(prepared, {requestId, ...})`
 * re-binds InResponseTo, verifies the signature, Issuer, Destination (when present) and returns
 * `status_not_success` for any status other than Success.
 */
import type { Element } from "@xmldom/xmldom";
import { must, only } from "../must.ts";
import { signatureAllowlist } from "./algorithms.ts";
import { failClosed, reject, type SamlRejection } from "./reasons.ts";
import { inputRejection, parseInstant, type ResponsePolicy, STATUS_SUCCESS } from "./response.ts";
import {
  type PinnedCertificate,
  type RedirectQuery,
  signatureChildren,
  splitRedirectQuery,
  usableCertificates,
  verifyEnvelopedSignature,
  verifyRedirectSignature,
} from "./verify.ts";
import {
  attrOf,
  childrenNamed,
  decodeBase64Strict,
  descendants,
  elementChildren,
  inflateRawLimited,
  isNamed,
  isTextOnly,
  NS,
  type ParsedXml,
  parseSamlXml,
  textOf,
} from "./xml.ts";

export type LogoutKind = "logout-request" | "logout-response";

export type LogoutInput =
  /** HTTP-POST: the `SAMLRequest`/`SAMLResponse` form value. */
  | { binding: "post"; value: string }
  /** HTTP-Redirect: the raw query string as received, without `?`, never re-encoded. */
  | { binding: "redirect"; rawQuery: string };

export interface PreparedLogoutMessage {
  readonly kind: LogoutKind;
  readonly binding: "post" | "redirect";
  readonly message: ParsedXml;
  readonly redirect: RedirectQuery | null;
  /** Unverified, for the candidate lookup of §9.3 step 2 only. */
  readonly issuer: string;
  /** Unverified NameID of a LogoutRequest (`null` for a LogoutResponse). */
  readonly nameId: string | null;
  /** Unverified InResponseTo of a LogoutResponse (`null` for a LogoutRequest or when absent). */
  readonly inResponseTo: string | null;
  /** `RelayState` as received (POST: the caller's form field; Redirect: the decoded query value). */
  readonly relayState: string | null;
}

export type PrepareLogoutResult = { ok: true; message: PreparedLogoutMessage } | SamlRejection;

const ROOT_NAME: Record<LogoutKind, string> = {
  "logout-request": "LogoutRequest",
  "logout-response": "LogoutResponse",
};

/** §9.3 step 1 / §9.4 step 1. */
export function prepareLogoutMessage(input: LogoutInput, expected: LogoutKind): Promise<PrepareLogoutResult> {
  return failClosed(() => prepareLogoutSteps(input, expected));
}

async function prepareLogoutSteps(input: LogoutInput, expected: LogoutKind): Promise<PrepareLogoutResult> {
  let bytes: Uint8Array;
  let redirect: RedirectQuery | null = null;
  try {
    if (input.binding === "redirect") {
      redirect = splitRedirectQuery(input.rawQuery);
      if (redirect === null) return reject("request_not_found", "redirect_query");
      const wanted = expected === "logout-request" ? "SAMLRequest" : "SAMLResponse";
      if (redirect.parameter !== wanted) return reject("request_not_found", "redirect_parameter");
      bytes = await inflateRawLimited(decodeBase64Strict(redirect.message));
    } else {
      bytes = decodeBase64Strict(input.value);
    }
  } catch (e) {
    return inputRejection(e);
  }
  let message: ParsedXml;
  try {
    message = parseSamlXml(bytes);
  } catch (e) {
    return inputRejection(e);
  }
  const shape = checkLogoutShape(message.root, expected);
  if (shape) return shape;
  const root = message.root;
  // checkLogoutShape admitted exactly one Issuer; read it without assuming so.
  const issuerEl = only(childrenNamed(root, NS.assertion, "Issuer"));
  if (issuerEl === undefined) return reject("request_not_found", "issuer");
  const issuer = textOf(issuerEl);
  const nameIdEl = childrenNamed(root, NS.assertion, "NameID")[0];
  return {
    ok: true,
    message: {
      kind: expected,
      binding: input.binding,
      message,
      redirect,
      issuer,
      nameId: nameIdEl ? textOf(nameIdEl) : null,
      inResponseTo: expected === "logout-response" ? attrOf(root, "InResponseTo") : null,
      relayState: redirect?.relayState ?? null,
    },
  };
}

/** Shape of a logout message; `null` when acceptable. Every failure is a 400 (`request_not_found`). */
export function checkLogoutShape(root: Element, expected: LogoutKind): SamlRejection | null {
  const bad = (detail: string) => reject("request_not_found", detail);
  if (!isNamed(root, NS.protocol, ROOT_NAME[expected])) return bad("root");
  const id = attrOf(root, "ID");
  if (id === null || id === "") return bad("id");
  const all = descendants(root);
  const ids = new Set<string>();
  for (const el of [root, ...all]) {
    for (const a of Array.from(el.attributes)) {
      if (a.namespaceURI === NS.xmlns || !["ID", "Id", "id"].includes(a.localName ?? "")) continue;
      if (ids.has(a.value)) return bad("duplicate_id");
      ids.add(a.value);
    }
  }
  for (const el of all) {
    if (isNamed(el, NS.ds, "Signature") && el.parentNode !== root) return bad("signature_position");
    if (
      el.namespaceURI === NS.assertion &&
      (el.localName === "Assertion" || el.localName === "EncryptedAssertion")
    ) {
      return bad("assertion");
    }
  }
  if (signatureChildren(root).length > 1) return bad("several_signatures");
  const issuer = only(childrenNamed(root, NS.assertion, "Issuer"));
  if (issuer === undefined || !isTextOnly(issuer) || textOf(issuer) === "") return bad("issuer");
  if (expected === "logout-request") {
    const id = only(
      elementChildren(root).filter(
        (e) =>
          e.namespaceURI === NS.assertion &&
          (e.localName === "NameID" || e.localName === "EncryptedID" || e.localName === "BaseID"),
      ),
    );
    if (id === undefined || !isNamed(id, NS.assertion, "NameID")) return bad("name_id");
    if (!isTextOnly(id) || textOf(id) === "") return bad("name_id_text");
    if (!childrenNamed(root, NS.protocol, "SessionIndex").every(isTextOnly)) return bad("session_index_text");
  } else {
    const status = only(childrenNamed(root, NS.protocol, "Status"));
    if (status === undefined || childrenNamed(status, NS.protocol, "StatusCode").length !== 1)
      return bad("status");
  }
  return null;
}

export interface LogoutContext {
  /** Milliseconds since the epoch. */
  now: number;
  /** `sp.sloURL`. */
  sloUrl: string;
  idp: { entityId: string; signingCerts: readonly PinnedCertificate[] };
  policy: Pick<
    ResponsePolicy,
    "allowedSigAlgs" | "allowedDigestAlgs" | "clockSkewSeconds" | "requestTTLSeconds"
  >;
  /** LogoutResponse only: the id of the consumed `logout` request record (§9.4 step 2). */
  requestId?: string;
}

/** What a verified logout message says; read from the signed message. */
export interface LogoutFacts {
  kind: LogoutKind;
  /** Message `ID`: the replay-cache key for a LogoutRequest (`saml:seen:{id}`, §9.3 step 4). */
  id: string;
  issuer: string;
  /** LogoutRequest: the NameID whose sessions end, verbatim, and its Format. */
  nameId: string | null;
  nameIdFormat: string | null;
  /** LogoutRequest: the listed SessionIndex values (empty = all sessions of the NameID). */
  sessionIndexes: string[];
  /** LogoutResponse: InResponseTo. */
  inResponseTo: string | null;
  /** Redirect binding: the RelayState to echo in the reply. */
  relayState: string | null;
}

export type LogoutVerification = { ok: true; facts: LogoutFacts } | SamlRejection;

/** §9.3 steps 3–4 / §9.4 steps 2–4 for one candidate tenant. */
export function verifyLogoutMessage(
  prepared: PreparedLogoutMessage,
  ctx: LogoutContext,
): Promise<LogoutVerification> {
  return failClosed(() => verifyLogoutSteps(prepared, ctx));
}

async function verifyLogoutSteps(
  prepared: PreparedLogoutMessage,
  ctx: LogoutContext,
): Promise<LogoutVerification> {
  const unverifiedRoot = prepared.message.root;
  if (
    prepared.kind === "logout-response" &&
    attrOf(unverifiedRoot, "InResponseTo") !== (ctx.requestId ?? null)
  ) {
    return reject("request_not_found", "in_response_to");
  }
  const certificates = usableCertificates(ctx.idp.signingCerts, ctx.now);
  if (certificates.length === 0) return reject("idp_metadata_stale", "no_usable_signing_certificate");
  const allow = signatureAllowlist(ctx.policy.allowedSigAlgs, ctx.policy.allowedDigestAlgs);

  let root: Element;
  if (prepared.binding === "redirect") {
    const q = prepared.redirect;
    if (q === null || q.sigAlg === null || q.signature === null || q.signedOctets === null) {
      return reject("signature_invalid", "redirect_unsigned");
    }
    const check = await verifyRedirectSignature({
      signedOctets: q.signedOctets,
      sigAlg: q.sigAlg,
      signature: q.signature,
      certificates,
      allow,
    });
    if (!check.ok) {
      return reject(
        check.failure === "algorithm" ? "algorithm_disallowed" : "signature_invalid",
        `redirect_${check.detail}`,
      );
    }
    // The query signature covers the deflated message: the whole parsed message is signed content.
    root = unverifiedRoot;
  } else {
    const check = verifyEnvelopedSignature(prepared.message, unverifiedRoot, { certificates, allow });
    if (!check.ok) {
      return reject(
        check.failure === "algorithm" ? "algorithm_disallowed" : "signature_invalid",
        `post_${check.failure}_${check.detail}`,
      );
    }
    root = check.signed.root;
    const shape = checkLogoutShape(root, prepared.kind);
    if (shape) return shape;
  }

  // The shape check admitted one Issuer, one NameID (request) and one Status (response).
  const issuerEl = only(childrenNamed(root, NS.assertion, "Issuer"));
  if (issuerEl === undefined || textOf(issuerEl) !== ctx.idp.entityId)
    return reject("issuer_mismatch", "issuer");
  const issuer = textOf(issuerEl);
  const destination = attrOf(root, "Destination");
  const skewMs = ctx.policy.clockSkewSeconds * 1000;
  const id = must(attrOf(root, "ID"), "the ID of a shape-checked logout message");

  if (prepared.kind === "logout-request") {
    if (destination !== ctx.sloUrl)
      return reject("destination_mismatch", destination === null ? "destination_missing" : "destination");
    const issued = parseInstant(attrOf(root, "IssueInstant"));
    const window = ctx.policy.requestTTLSeconds * 1000 + skewMs;
    if (issued === null || Math.abs(ctx.now - issued) > window) return reject("clock_skew", "issue_instant");
    const noaRaw = attrOf(root, "NotOnOrAfter");
    if (noaRaw !== null) {
      const noa = parseInstant(noaRaw);
      if (noa === null || !(noa > ctx.now - skewMs)) return reject("clock_skew", "not_on_or_after");
    }
    const nameIdEl = only(childrenNamed(root, NS.assertion, "NameID"));
    if (nameIdEl === undefined) return reject("request_not_found", "name_id");
    return {
      ok: true,
      facts: {
        kind: prepared.kind,
        id,
        issuer,
        nameId: textOf(nameIdEl),
        nameIdFormat: attrOf(nameIdEl, "Format"),
        sessionIndexes: childrenNamed(root, NS.protocol, "SessionIndex").map(textOf),
        inResponseTo: null,
        relayState: prepared.relayState,
      },
    };
  }

  if (destination !== null && destination !== ctx.sloUrl)
    return reject("destination_mismatch", "destination");
  const irt = attrOf(root, "InResponseTo");
  if (irt !== (ctx.requestId ?? null)) return reject("request_not_found", "in_response_to");
  const status = only(childrenNamed(root, NS.protocol, "Status"));
  const code = status && only(childrenNamed(status, NS.protocol, "StatusCode"));
  if (code === undefined || attrOf(code, "Value") !== STATUS_SUCCESS)
    return reject("status_not_success", "status");
  return {
    ok: true,
    facts: {
      kind: prepared.kind,
      id,
      issuer,
      nameId: null,
      nameIdFormat: null,
      sessionIndexes: [],
      inResponseTo: irt,
      relayState: prepared.relayState,
    },
  };
}
