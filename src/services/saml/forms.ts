/**
 * The form rules of the SAML POST endpoints, side by side: the ACS (docs/spec/saml.md §6.1) and the
 * HTTP-POST binding of `/saml/slo` (§9.3, §9.4). Both take the body as read by the route (already
 * capped at 256 KiB) and its `Content-Type`; neither touches the store.
 */
import { reject, type SamlRejection } from "../../saml/reasons.ts";
import { byteLength, RELAY_STATE_MAX_BYTES } from "../../saml/relay-state.ts";

/** §6.2: the field the repost page adds. */
export const RETRY_FIELD = "_tikti_state_retry";
const ACS_FIELDS = new Set(["SAMLResponse", "RelayState", RETRY_FIELD]);

export interface AcsForm {
  samlResponse: string;
  relayState: string | null;
  retry: boolean;
}

function isFormMediaType(value: string | null): boolean {
  return value?.split(";", 1)[0]?.trim().toLowerCase() === "application/x-www-form-urlencoded";
}

/** UTF-8 (fatal) form parameters, or null when the bytes are not UTF-8. */
function formParams(body: Uint8Array): URLSearchParams | null {
  try {
    return new URLSearchParams(new TextDecoder("utf-8", { fatal: true }).decode(body));
  } catch {
    return null;
  }
}

/**
 * §6.1: `application/x-www-form-urlencoded`, exactly one non-empty `SAMLResponse`, at most one
 * `RelayState` (≤ 80 bytes), optional `_tikti_state_retry=1`, nothing else (`request_not_found`).
 */
export function parseAcsForm(contentType: string | null, body: Uint8Array): AcsForm | SamlRejection {
  if (!isFormMediaType(contentType)) return reject("request_not_found", "form_media_type");
  const params = formParams(body);
  if (params === null) return reject("request_not_found", "form_encoding");
  for (const name of params.keys()) {
    if (!ACS_FIELDS.has(name)) return reject("request_not_found", "form_field");
  }
  const responses = params.getAll("SAMLResponse");
  const samlResponse = responses[0];
  if (responses.length !== 1 || samlResponse === undefined || samlResponse === "")
    return reject("request_not_found", "form_saml_response");
  const relay = params.getAll("RelayState");
  if (relay.length > 1 || (relay[0] !== undefined && byteLength(relay[0]) > RELAY_STATE_MAX_BYTES)) {
    return reject("request_not_found", "form_relay_state");
  }
  const retry = params.getAll(RETRY_FIELD);
  if (retry.length > 1 || (retry.length === 1 && retry[0] !== "1"))
    return reject("request_not_found", "form_retry");
  return { samlResponse, relayState: relay[0] ?? null, retry: retry.length === 1 };
}

export interface SloForm {
  samlRequest: string | null;
  samlResponse: string | null;
  relayState: string | null;
}

/**
 * `POST /saml/slo`: a form (`application/x-www-form-urlencoded`, UTF-8) with at most one each of
 * `SAMLRequest`, `SAMLResponse` and `RelayState`; other fields are ignored. Anything else is the 400
 * page (`request_not_found`, detail `form`). Which of the two messages is present is checked by the
 * logout flow for both bindings ("neither or both").
 */
export function parseSloForm(contentType: string | null, body: Uint8Array): SloForm | null {
  const params = isFormMediaType(contentType) ? formParams(body) : null;
  if (params === null) return null;
  const one = (name: string): string | null | undefined => {
    const all = params.getAll(name);
    if (all.length > 1) return undefined;
    return all[0] ?? null;
  };
  const samlRequest = one("SAMLRequest");
  const samlResponse = one("SAMLResponse");
  const relayState = one("RelayState");
  if (samlRequest === undefined || samlResponse === undefined || relayState === undefined) return null;
  return { samlRequest, samlResponse, relayState };
}
