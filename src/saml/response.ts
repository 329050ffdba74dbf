/**
 * The SAML Response validation pipeline of docs/spec/saml.md §6.3 (and §6.6 for unsolicited responses):
 * pure functions that take the message, `now`, the expected values and the IdP record's
 * certificates and settings, and return facts or a closed reason code (§6.7). No store, cookie,
 * HTTP or logging here.
 *
 * Who does what, in order (the ACS route/service is "caller"):
 *
 *   caller  §6.1/§6.2  transport, form fields, state cookie (repost page), rate limit.
 *   here    P1–P4      `prepareSamlResponse(form.SAMLResponse)`: strict base64 + size
 *                      (`request_not_found`), encoding and markup pre-scan (`xxe_detected`), the
 *                      single strict parse (`request_not_found`), shape rules §7.3
 *                      (`signature_wrapping_detected`; `status_not_success` for an error answer
 *                      without assertion). Returns the unverified `inResponseTo` of step 1.
 *   caller  1          `prepared.inResponseTo` must be one of the state cookie values; CONSUME
 *                      `saml:req:{id}` (kind `authn`); posted RelayState equals the record's
 *                      (`request_not_found`). Unsolicited (§6.6): `prepared.carriesInResponseTo`
 *                      → `request_not_found`, no record is consumed.
 *   caller  1a, 1b     tenant ACTIVE and IdP record present (`tid_unknown`); record parses
 *                      (`internal_error`); `usableCertificates(record.signingCerts, now)` non-empty
 *                      (`idp_metadata_stale`, also re-checked here).
 *   here    2–11       `validateSamlResponse(prepared, context)`: destination, status, Response
 *                      signature, decryption, assertion signature, issuer, audience, time,
 *                      subject confirmation, NameID and AuthnStatement. Every value in the result
 *                      is read from signed bytes (§7.7).
 *   caller  11 (email) attribute mapping §8.1 on `assertion.attributes` / `nameIdFormat`
 *                      (`missing_attribute` when no valid email), after stripping tid attributes §8.2.
 *   caller  12         `SET saml:seen:{assertion.id} 1 NX EX replayTtlSeconds(assertion, now, skew)`
 *                      → `request_replay` when not OK.
 *   caller  13         acceptance effects §6.5 (`internal_error` on store/signing failures).
 *
 * Steps 2 and 3 run on the not-yet-verified Response and may only reject; they are repeated on the
 * signed bytes when the Response is signed.
 */
import type { Element } from "@xmldom/xmldom";
import type { SamlConfig } from "../config/schema.ts";
import { only } from "../must.ts";
import { signatureAllowlist } from "./algorithms.ts";
import { type DecryptionKey, decryptEncryptedAssertion } from "./decrypt.ts";
import { failClosed, reject, type SamlReason, type SamlRejection } from "./reasons.ts";
import {
  type PinnedCertificate,
  type SignatureCheck,
  signatureChildren,
  usableCertificates,
  type VerifyOptions,
  verifyEnvelopedSignature,
} from "./verify.ts";
import {
  attrOf,
  childrenNamed,
  decodeBase64Strict,
  descendants,
  elementChildren,
  inScopeNamespaces,
  isNamed,
  isTextOnly,
  NS,
  type ParsedXml,
  parseSamlXml,
  SamlInputError,
  textOf,
} from "./xml.ts";

export const STATUS_SUCCESS = "urn:oasis:names:tc:SAML:2.0:status:Success";
export const CM_BEARER = "urn:oasis:names:tc:SAML:2.0:cm:bearer";
export const NAMEID_ENTITY = "urn:oasis:names:tc:SAML:2.0:nameid-format:entity";
const NAME_ID_MAX_CHARS = 256;

// ---------------------------------------------------------------------------------------------
// Steps P1–P4

/** A Response that passed P1–P4. Opaque to callers except for the step-1 facts. */
export interface PreparedResponse {
  readonly kind: "prepared-response";
  /** The parsed, not yet verified message. */
  readonly message: ParsedXml;
  /**
   * Step 1: `Response@InResponseTo`; when absent, the `InResponseTo` of the bearer
   * `SubjectConfirmationData` of a plaintext assertion when all of them agree; otherwise `null`.
   * Unverified: used only to find the request record; bound again in step 10.
   */
  readonly inResponseTo: string | null;
  /** §6.6: an `InResponseTo` appears on the Response or any visible `SubjectConfirmationData`. */
  readonly carriesInResponseTo: boolean;
}

export type PrepareResult = { ok: true; response: PreparedResponse } | SamlRejection;

/** §6.3 P1–P4 on the posted `SAMLResponse` form value. */
export function prepareSamlResponse(samlResponse: string): PrepareResult {
  try {
    return prepareSteps(samlResponse);
  } catch (cause) {
    return { ok: false, reason: "internal_error", detail: "unexpected_exception", cause };
  }
}

function prepareSteps(samlResponse: string): PrepareResult {
  let bytes: Uint8Array;
  try {
    bytes = decodeBase64Strict(samlResponse);
  } catch (e) {
    return inputRejection(e);
  }
  let message: ParsedXml;
  try {
    message = parseSamlXml(bytes);
  } catch (e) {
    return inputRejection(e);
  }
  const shape = checkResponseShape(message.root);
  if (shape !== null) return shape;
  const { inResponseTo, carries } = stepOneInResponseTo(message.root);
  return {
    ok: true,
    response: { kind: "prepared-response", message, inResponseTo, carriesInResponseTo: carries },
  };
}

/** Maps an xml.ts input error to its reason (§6.3 P1–P3, §7.2). */
export function inputRejection(e: unknown): SamlRejection {
  if (e instanceof SamlInputError) {
    switch (e.kind) {
      case "encoding":
      case "markup":
        return reject("xxe_detected", e.kind);
      default:
        return reject("request_not_found", e.kind);
    }
  }
  return reject("internal_error", "unexpected_input_error");
}

function stepOneInResponseTo(root: Element): { inResponseTo: string | null; carries: boolean } {
  const own = attrOf(root, "InResponseTo");
  const assertion = elementChildren(root).find((e) => isNamed(e, NS.assertion, "Assertion"));
  const scds = assertion ? subjectConfirmationData(assertion) : [];
  const carries = own !== null || scds.some(({ data }) => data.hasAttributeNS(null, "InResponseTo"));
  if (own !== null) return { inResponseTo: own === "" ? null : own, carries };
  const values = new Set<string>();
  for (const { method, data } of scds) {
    if (method !== CM_BEARER) continue;
    const v = attrOf(data, "InResponseTo");
    if (v !== null && v !== "") values.add(v);
  }
  return { inResponseTo: only([...values]) ?? null, carries };
}

function subjectConfirmationData(assertion: Element): Array<{ method: string | null; data: Element }> {
  const out: Array<{ method: string | null; data: Element }> = [];
  for (const subject of childrenNamed(assertion, NS.assertion, "Subject")) {
    for (const sc of childrenNamed(subject, NS.assertion, "SubjectConfirmation")) {
      for (const data of childrenNamed(sc, NS.assertion, "SubjectConfirmationData")) {
        out.push({ method: attrOf(sc, "Method"), data });
      }
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Shape rules (§7.3)

const ID_ATTRIBUTES = new Set(["ID", "Id", "id"]);
const TEXT_ELEMENTS = new Set(["Issuer", "NameID", "Audience"]);

/** §7.3 for a Response root; `null` when every rule holds. */
export function checkResponseShape(root: Element): SamlRejection | null {
  const wrap = (detail: string) => reject("signature_wrapping_detected", detail);
  if (!isNamed(root, NS.protocol, "Response")) return wrap("root");
  const all = descendants(root);
  const assertions = all.filter(
    (e) =>
      e.namespaceURI === NS.assertion &&
      (e.localName === "Assertion" || e.localName === "EncryptedAssertion"),
  );
  if (assertions.length > 1) return wrap("several_assertions");
  const assertion = assertions[0];
  if (assertion && assertion.parentNode !== root) return wrap("assertion_position");
  const plain = assertion && assertion.localName === "Assertion" ? assertion : null;

  const common = commonShape(root, all, plain ? [root, plain] : [root]);
  if (common) return wrap(common);
  if (childrenNamed(root, NS.assertion, "Issuer").length > 1) return wrap("several_issuers");
  if (plain) {
    const inner = assertionInternals(plain);
    if (inner) return wrap(inner);
  }
  if (!assertion) {
    // §7.3 rule 2 exception: an IdP's error answer is reported as what it is.
    return topLevelStatus(root) === STATUS_SUCCESS
      ? wrap("no_assertion")
      : reject("status_not_success", "no_assertion");
  }
  return null;
}

/** §7.3 adapted to a standalone Assertion root (decrypted plaintext). */
export function checkAssertionShape(assertion: Element): SamlRejection | null {
  const wrap = (detail: string) => reject("signature_wrapping_detected", detail);
  if (!isNamed(assertion, NS.assertion, "Assertion")) return wrap("plaintext_root");
  const all = descendants(assertion);
  if (
    all.some(
      (e) =>
        e.namespaceURI === NS.assertion &&
        (e.localName === "Assertion" || e.localName === "EncryptedAssertion"),
    )
  ) {
    return wrap("nested_assertion");
  }
  const common = commonShape(assertion, all, [assertion]);
  if (common) return wrap(common);
  const inner = assertionInternals(assertion);
  return inner ? wrap(inner) : null;
}

/** Rules 3, 4 and 6, shared by both roots; `signatureParents` are the elements allowed to carry one. */
function commonShape(root: Element, all: Element[], signatureParents: Element[]): string | null {
  const ids = new Set<string>();
  for (const el of [root, ...all]) {
    for (const a of Array.from(el.attributes)) {
      if (a.namespaceURI === NS.xmlns || !ID_ATTRIBUTES.has(a.localName ?? "")) continue;
      if (ids.has(a.value)) return "duplicate_id";
      ids.add(a.value);
    }
  }
  for (const el of all) {
    if (isNamed(el, NS.ds, "Signature")) {
      const parent = el.parentNode as Element | null;
      if (!parent || !signatureParents.includes(parent)) return "signature_position";
    }
    if (el.namespaceURI === NS.assertion && TEXT_ELEMENTS.has(el.localName ?? "") && !isTextOnly(el)) {
      return `${el.localName}_not_text`;
    }
    if (isNamed(el, NS.assertion, "AttributeValue") && !attributeValueClean(el))
      return "attribute_value_markup";
  }
  for (const p of signatureParents) if (signatureChildren(p).length > 1) return "several_signatures";
  return null;
}

/** Rule 5 and the Assertion's own ID (rule 3). */
function assertionInternals(assertion: Element): string | null {
  const id = attrOf(assertion, "ID");
  if (id === null || id === "") return "assertion_id";
  const subjects = childrenNamed(assertion, NS.assertion, "Subject");
  if (subjects.length > 1) return "several_subjects";
  const subject = subjects[0];
  if (subject) {
    const ids = elementChildren(subject).filter(
      (e) =>
        e.namespaceURI === NS.assertion &&
        (e.localName === "NameID" || e.localName === "EncryptedID" || e.localName === "BaseID"),
    );
    if (ids.length > 1) return "several_name_ids";
  }
  if (childrenNamed(assertion, NS.assertion, "Conditions").length > 1) return "several_conditions";
  if (childrenNamed(assertion, NS.assertion, "Issuer").length > 1) return "several_issuers";
  return null;
}

/** An AttributeValue may hold elements (complex values are then not extracted) but never comments or PIs. */
function attributeValueClean(el: Element): boolean {
  const stack = Array.from(el.childNodes);
  for (let n = stack.pop(); n !== undefined; n = stack.pop()) {
    if (n.nodeType === 8 || n.nodeType === 7) return false;
    if (n.nodeType === 1) stack.push(...Array.from(n.childNodes));
  }
  return true;
}

function topLevelStatus(root: Element): string | null {
  const status = only(childrenNamed(root, NS.protocol, "Status"));
  if (status === undefined) return null;
  const code = only(childrenNamed(status, NS.protocol, "StatusCode"));
  if (code === undefined) return null;
  return attrOf(code, "Value");
}

// ---------------------------------------------------------------------------------------------
// Steps 2–11

/** The settings of docs/spec/saml.md §2 the pipeline uses (a subset of `SamlConfig["sp"]`). */
export type ResponsePolicy = Pick<
  SamlConfig["sp"],
  | "allowedSigAlgs"
  | "allowedDigestAlgs"
  | "clockSkewSeconds"
  | "requestTTLSeconds"
  | "requireAssertionSigned"
  | "requireEncryptedAssertion"
>;

export interface ResponseContext {
  /** Milliseconds since the epoch (`deps.clock.now()`). */
  now: number;
  /** `sp.entityID`. */
  spEntityId: string;
  /** The expected `Destination` and `Recipient`: `sp.acsURL`, or `{acsURL}/{tid}` when unsolicited. */
  acsUrl: string;
  /** The id of the request record consumed in step 1; `null` for an unsolicited response (§6.6). */
  requestId: string | null;
  idp: {
    /** The IdP record's `entityId`. */
    entityId: string;
    signingCerts: readonly PinnedCertificate[];
    requireEncryptedAssertion?: boolean;
  };
  policy: ResponsePolicy;
  /** The SP's published encryption key pairs, in the order to try (§13). */
  decryptionKeys: readonly DecryptionKey[];
}

/** What an accepted Response asserts; every value was read from signed bytes (§7.7). */
export interface ValidatedAssertion {
  /** `Assertion@ID`: the replay-cache key (step 12). */
  id: string;
  issuer: string;
  /** The subject, verbatim (§8.1). */
  nameId: string;
  nameIdFormat: string | null;
  /** `SessionIndex` of the first `AuthnStatement`, when present. */
  sessionIndex: string | null;
  /** Earliest `AuthnStatement@SessionNotOnOrAfter` (ms), when present. */
  sessionNotOnOrAfter: number | null;
  /** `NotOnOrAfter` (ms) of the accepted bearer `SubjectConfirmationData`. */
  notOnOrAfter: number;
  /** `Attribute@Name` → text values in document order (values with element content are left out). */
  attributes: Record<string, string[]>;
  /** `InResponseTo` of the accepted `SubjectConfirmationData` (the request id, or null when unsolicited). */
  inResponseTo: string | null;
  /** `AuthnInstant` (ms) of the first `AuthnStatement`. */
  authnInstant: number | null;
  /** `Assertion@IssueInstant` (ms), checked in step 9 (metric `observed_clock_skew_seconds`). */
  issueInstant: number;
  responseSigned: boolean;
  assertionSigned: boolean;
  encrypted: boolean;
}

export type ResponseValidation = { ok: true; assertion: ValidatedAssertion } | SamlRejection;

/** §6.3 steps 2–11 (see the file header for the caller's steps in between). */
export function validateSamlResponse(
  prepared: PreparedResponse,
  ctx: ResponseContext,
): Promise<ResponseValidation> {
  return failClosed(() => validateSteps(prepared, ctx));
}

async function validateSteps(prepared: PreparedResponse, ctx: ResponseContext): Promise<ResponseValidation> {
  const message = prepared.message;
  const root = message.root;
  const skewMs = ctx.policy.clockSkewSeconds * 1000;

  // §6.6 / step 1 binding: an unsolicited response carries no InResponseTo; a solicited one that
  // names a request names the consumed one.
  const ownIrt = attrOf(root, "InResponseTo");
  if (ctx.requestId === null && prepared.carriesInResponseTo)
    return reject("request_not_found", "unsolicited_in_response_to");
  if (ctx.requestId !== null && ownIrt !== null && ownIrt !== ctx.requestId) {
    return reject("request_not_found", "in_response_to");
  }

  // Step 1b, defensively: only pinned certificates that are still usable.
  const certificates = usableCertificates(ctx.idp.signingCerts, ctx.now);
  if (certificates.length === 0) return reject("idp_metadata_stale", "no_usable_signing_certificate");
  const verify: VerifyOptions = {
    certificates,
    allow: signatureAllowlist(ctx.policy.allowedSigAlgs, ctx.policy.allowedDigestAlgs),
  };

  // Steps 2–3 on the unverified Response: reject only.
  const early = destinationAndStatus(root, ctx.acsUrl);
  if (early) return early;

  // Step 4: Response signature.
  let response = root;
  const responseSigned = signatureChildren(root).length > 0;
  if (responseSigned) {
    const check = verifyEnvelopedSignature(message, root, verify);
    if (!check.ok) return signatureRejection(check, "signature_invalid", "response");
    response = check.signed.root;
    const shape = checkResponseShape(response);
    if (shape) return reject("signature_wrapping_detected", `signed_response_${shape.detail}`);
    const again = destinationAndStatus(response, ctx.acsUrl);
    if (again) return again;
    const signedIrt = attrOf(response, "InResponseTo");
    if (ctx.requestId !== null && signedIrt !== null && signedIrt !== ctx.requestId) {
      return reject("request_not_found", "in_response_to");
    }
  }

  // Step 5: decryption. The ciphertext and the namespace context come from the received document.
  const received = elementChildren(root).find(
    (e) => isNamed(e, NS.assertion, "Assertion") || isNamed(e, NS.assertion, "EncryptedAssertion"),
  );
  if (!received) return reject("signature_wrapping_detected", "no_assertion");
  const encrypted = received.localName === "EncryptedAssertion";
  let assertionSource: ParsedXml = message;
  let assertionElement: Element = received;
  if (encrypted) {
    const result = await decryptEncryptedAssertion(received, ctx.decryptionKeys);
    if (!result.ok) return reject(result.reason, result.detail);
    try {
      assertionSource = parseSamlXml(result.plaintext, { wrapperNamespaces: inScopeNamespaces(received) });
    } catch {
      // §7.9 step 4: a plaintext that fails hygiene or parsing is the same decrypt_failed.
      return reject("decrypt_failed", "plaintext");
    }
    assertionElement = assertionSource.root;
    const shape = checkAssertionShape(assertionElement);
    if (shape) return reject("signature_wrapping_detected", `plaintext_${shape.detail}`);
  } else if (ctx.policy.requireEncryptedAssertion || ctx.idp.requireEncryptedAssertion === true) {
    return reject("decrypt_failed", "plaintext_assertion_refused");
  }

  // Step 6: assertion signature.
  const assertionHasSignature = signatureChildren(assertionElement).length > 0;
  const assertionSignatureRequired = ctx.policy.requireAssertionSigned || !responseSigned || encrypted;
  let claims: Element;
  if (assertionHasSignature) {
    const check = verifyEnvelopedSignature(assertionSource, assertionElement, verify);
    if (!check.ok) return signatureRejection(check, "assertion_signature_invalid", "assertion");
    claims = check.signed.root;
    const shape = checkAssertionShape(claims);
    if (shape) return reject("signature_wrapping_detected", `signed_assertion_${shape.detail}`);
  } else if (assertionSignatureRequired) {
    return reject("algorithm_disallowed", "assertion_signature_missing");
  } else {
    // Read from the signed Response bytes (only reachable when the Response was signed).
    const inSigned = only(elementChildren(response).filter((e) => isNamed(e, NS.assertion, "Assertion")));
    if (inSigned === undefined) return reject("signature_wrapping_detected", "signed_response_assertion");
    claims = inSigned;
  }
  const assertionId = attrOf(claims, "ID");
  if (assertionId === null || assertionId === "" || (!encrypted && assertionId !== attrOf(received, "ID"))) {
    return reject("signature_wrapping_detected", "assertion_id");
  }
  if (responseSigned && !encrypted) {
    // Both signatures must be about the same assertion: the one inside the signed Response bytes.
    const inSigned = elementChildren(response).find((e) => isNamed(e, NS.assertion, "Assertion"));
    if (!inSigned || attrOf(inSigned, "ID") !== assertionId) {
      return reject("signature_wrapping_detected", "signed_response_assertion_id");
    }
  }

  // Step 7: issuer.
  const issuer = issuerCheck(claims, response, ctx.idp.entityId);
  if (typeof issuer !== "string") return issuer;

  // Step 8: audience.
  const conditions = childrenNamed(claims, NS.assertion, "Conditions")[0];
  const audience = audienceCheck(conditions, ctx.spEntityId);
  if (audience) return audience;

  // Step 9: time.
  const time = timeCheck(claims, response, conditions, ctx, skewMs);
  if ("ok" in time) return time;

  // Step 10: subject confirmation.
  const subject = childrenNamed(claims, NS.assertion, "Subject")[0];
  const confirmation = subjectConfirmationCheck(subject, ctx, skewMs);
  if ("ok" in confirmation) return confirmation;

  // Step 11: identity (NameID and AuthnStatement; the email is the caller's attribute mapping).
  const nameIdEl = subject
    ? elementChildren(subject).find(
        (e) => e.namespaceURI === NS.assertion && (e.localName === "NameID" || e.localName === "EncryptedID"),
      )
    : undefined;
  if (!nameIdEl) return reject("missing_attribute", "name_id_missing");
  if (nameIdEl.localName === "EncryptedID") return reject("missing_attribute", "encrypted_id");
  const nameId = textOf(nameIdEl);
  const nameIdChars = [...nameId].length;
  if (nameIdChars < 1 || nameIdChars > NAME_ID_MAX_CHARS)
    return reject("missing_attribute", "name_id_length");
  const [authn] = childrenNamed(claims, NS.assertion, "AuthnStatement");
  if (authn === undefined) return reject("missing_attribute", "authn_statement_missing");

  return {
    ok: true,
    assertion: {
      id: assertionId,
      issuer,
      nameId,
      nameIdFormat: attrOf(nameIdEl, "Format"),
      sessionIndex: attrOf(authn, "SessionIndex"),
      sessionNotOnOrAfter: time.sessionNotOnOrAfter,
      notOnOrAfter: confirmation.notOnOrAfter,
      attributes: extractAttributes(claims),
      inResponseTo: confirmation.inResponseTo,
      authnInstant: parseInstant(attrOf(authn, "AuthnInstant")),
      issueInstant: parseInstant(attrOf(claims, "IssueInstant")) ?? ctx.now,
      responseSigned,
      assertionSigned: assertionHasSignature,
      encrypted,
    },
  };
}

/**
 * Step 12 TTL for `SET saml:seen:{id} 1 NX EX <ttl>`: max(3600, SCD NotOnOrAfter − now + skew),
 * in whole seconds (§6.3, §7.8).
 */
export function replayTtlSeconds(
  assertion: Pick<ValidatedAssertion, "notOnOrAfter">,
  now: number,
  skewSeconds: number,
): number {
  return Math.max(3600, Math.ceil((assertion.notOnOrAfter - now) / 1000) + skewSeconds);
}

function signatureRejection(
  check: Extract<SignatureCheck, { ok: false }>,
  invalid: "signature_invalid" | "assertion_signature_invalid",
  what: string,
): SamlRejection {
  const reason: SamlReason = check.failure === "algorithm" ? "algorithm_disallowed" : invalid;
  return reject(reason, `${what}_${check.failure}_${check.detail}`);
}

function destinationAndStatus(response: Element, acsUrl: string): SamlRejection | null {
  const destination = attrOf(response, "Destination");
  if (destination === null) return reject("destination_mismatch", "destination_missing");
  if (destination !== acsUrl) return reject("destination_mismatch", "destination");
  if (topLevelStatus(response) !== STATUS_SUCCESS) return reject("status_not_success", "status");
  return null;
}

function issuerCheck(assertion: Element, response: Element, entityId: string): string | SamlRejection {
  const mismatch = (detail: string) => reject("issuer_mismatch", detail);
  const aIssuer = only(childrenNamed(assertion, NS.assertion, "Issuer"));
  if (aIssuer === undefined) return mismatch("assertion_issuer_missing");
  if (!isTextOnly(aIssuer) || textOf(aIssuer) !== entityId) return mismatch("assertion_issuer");
  const aFormat = attrOf(aIssuer, "Format");
  if (aFormat !== null && aFormat !== NAMEID_ENTITY) return mismatch("assertion_issuer_format");
  const r = childrenNamed(response, NS.assertion, "Issuer");
  if (r.length > 1) return mismatch("response_issuers");
  const [rIssuer] = r;
  if (rIssuer !== undefined) {
    if (!isTextOnly(rIssuer) || textOf(rIssuer) !== entityId) return mismatch("response_issuer");
    const rFormat = attrOf(rIssuer, "Format");
    if (rFormat !== null && rFormat !== NAMEID_ENTITY) return mismatch("response_issuer_format");
  }
  return textOf(aIssuer);
}

function audienceCheck(conditions: Element | undefined, spEntityId: string): SamlRejection | null {
  if (!conditions) return reject("audience_mismatch", "conditions_missing");
  const restrictions = childrenNamed(conditions, NS.assertion, "AudienceRestriction");
  if (restrictions.length === 0) return reject("audience_mismatch", "audience_restriction_missing");
  for (const r of restrictions) {
    const ok = childrenNamed(r, NS.assertion, "Audience").some(
      (a) => isTextOnly(a) && textOf(a) === spEntityId,
    );
    if (!ok) return reject("audience_mismatch", "audience");
  }
  return null;
}

function timeCheck(
  assertion: Element,
  response: Element,
  conditions: Element | undefined,
  ctx: ResponseContext,
  skewMs: number,
): { sessionNotOnOrAfter: number | null } | SamlRejection {
  const skew = (detail: string) => reject("clock_skew", detail);
  const now = ctx.now;
  const bad = Symbol("bad");
  /** Optional attribute: null when absent, `bad` when present but not a UTC xs:dateTime. */
  const optional = (el: Element, name: string): number | null | typeof bad => {
    const v = attrOf(el, name);
    if (v === null) return null;
    return parseInstant(v) ?? bad;
  };
  if (conditions) {
    const nb = optional(conditions, "NotBefore");
    if (nb === bad) return skew("not_before_format");
    if (nb !== null && nb > now + skewMs) return skew("not_yet_valid");
    const noa = optional(conditions, "NotOnOrAfter");
    if (noa === bad) return skew("not_on_or_after_format");
    if (noa !== null && !(noa > now - skewMs)) return skew("expired");
  }
  const issued = parseInstant(attrOf(assertion, "IssueInstant"));
  if (issued === null) return skew("issue_instant_format");
  if (issued > now + skewMs) return skew("issued_in_future");
  if (ctx.requestId === null) {
    // §6.6: without a request record, only fresh messages are accepted.
    const oldest = now - ctx.policy.requestTTLSeconds * 1000 - skewMs;
    const rIssued = parseInstant(attrOf(response, "IssueInstant"));
    if (rIssued === null || rIssued < oldest || issued < oldest) return skew("unsolicited_too_old");
  }
  let sessionNotOnOrAfter: number | null = null;
  for (const st of childrenNamed(assertion, NS.assertion, "AuthnStatement")) {
    const snoa = optional(st, "SessionNotOnOrAfter");
    if (snoa === bad) return skew("session_not_on_or_after_format");
    if (snoa === null) continue;
    if (!(snoa > now - skewMs)) return skew("session_expired");
    sessionNotOnOrAfter = sessionNotOnOrAfter === null ? snoa : Math.min(sessionNotOnOrAfter, snoa);
  }
  return { sessionNotOnOrAfter };
}

function subjectConfirmationCheck(
  subject: Element | undefined,
  ctx: ResponseContext,
  skewMs: number,
): { notOnOrAfter: number; inResponseTo: string | null } | SamlRejection {
  const mismatch = (detail: string) => reject("subject_confirmation_mismatch", detail);
  if (!subject) return mismatch("subject_missing");
  const confirmations = childrenNamed(subject, NS.assertion, "SubjectConfirmation");
  if (ctx.requestId === null) {
    for (const sc of confirmations) {
      for (const d of childrenNamed(sc, NS.assertion, "SubjectConfirmationData")) {
        if (d.hasAttributeNS(null, "InResponseTo"))
          return reject("request_not_found", "unsolicited_in_response_to");
      }
    }
  }
  let firstProblem = "no_bearer_confirmation";
  for (const sc of confirmations) {
    if (attrOf(sc, "Method") !== CM_BEARER) continue;
    const problem = (detail: string) => {
      if (firstProblem === "no_bearer_confirmation") firstProblem = detail;
    };
    const d = only(childrenNamed(sc, NS.assertion, "SubjectConfirmationData"));
    if (d === undefined) {
      problem("confirmation_data_count");
      continue;
    }
    if (attrOf(d, "Recipient") !== ctx.acsUrl) {
      problem("recipient");
      continue;
    }
    const noa = parseInstant(attrOf(d, "NotOnOrAfter"));
    if (noa === null) {
      problem("not_on_or_after_missing");
      continue;
    }
    if (!(noa > ctx.now - skewMs)) {
      problem("expired");
      continue;
    }
    if (d.hasAttributeNS(null, "NotBefore")) {
      problem("not_before_present");
      continue;
    }
    const irt = attrOf(d, "InResponseTo");
    if (ctx.requestId !== null && irt !== ctx.requestId) {
      problem("in_response_to");
      continue;
    }
    return { notOnOrAfter: noa, inResponseTo: irt };
  }
  return mismatch(firstProblem);
}

function extractAttributes(assertion: Element): Record<string, string[]> {
  const out = new Map<string, string[]>();
  for (const statement of childrenNamed(assertion, NS.assertion, "AttributeStatement")) {
    for (const attribute of childrenNamed(statement, NS.assertion, "Attribute")) {
      const name = attrOf(attribute, "Name");
      if (name === null || name === "") continue;
      const values = out.get(name) ?? [];
      for (const v of childrenNamed(attribute, NS.assertion, "AttributeValue")) {
        if (isTextOnly(v)) values.push(textOf(v));
      }
      out.set(name, values);
    }
  }
  // fromEntries defines own properties, so a name like "__proto__" cannot touch the prototype.
  return Object.fromEntries(out);
}

const INSTANT = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?Z$/;

/**
 * A SAML time (SAML core §1.3.3: xs:dateTime in UTC, `Z`) in milliseconds; `null` when absent or
 * malformed. Fractions beyond milliseconds are truncated.
 */
export function parseInstant(value: string | null): number | null {
  if (value === null) return null;
  const m = INSTANT.exec(value);
  if (!m) return null;
  const [y, mo, d, h, mi, s] = [m[1], m[2], m[3], m[4], m[5], m[6]].map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const ms = m[7] ? Number(m[7].slice(0, 3).padEnd(3, "0")) : 0;
  const t = Date.UTC(y, mo - 1, d, h, mi, s, ms);
  const back = new Date(t);
  if (
    back.getUTCFullYear() !== y ||
    back.getUTCMonth() !== mo - 1 ||
    back.getUTCDate() !== d ||
    back.getUTCHours() !== h ||
    back.getUTCMinutes() !== mi ||
    back.getUTCSeconds() !== s
  ) {
    return null;
  }
  return t;
}
