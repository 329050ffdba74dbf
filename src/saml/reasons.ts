/**
 * The closed set of SAML reason codes and their status buckets (docs/spec/saml.md §6.7).
 *
 * Validators return one of these codes; routes map it to a bucket (HTTP status and neutral page),
 * the audit record and the `validation_failures_total{reason}` metric. Nothing else may be used as
 * a reason.
 */

export const SAML_REASONS = [
  "request_not_found",
  "destination_mismatch",
  "missing_attribute",
  "signature_invalid",
  "assertion_signature_invalid",
  "signature_wrapping_detected",
  "algorithm_disallowed",
  "decrypt_failed",
  "xxe_detected",
  "audience_mismatch",
  "issuer_mismatch",
  "subject_confirmation_mismatch",
  "request_replay",
  "clock_skew",
  "status_not_success",
  "email_conflict",
  "tid_unknown",
  "idp_metadata_stale",
  "internal_error",
] as const;

export type SamlReason = (typeof SAML_REASONS)[number];

export type SamlBucket = "bad_request" | "forbidden" | "not_configured" | "internal";

/** §6.7: every rejection maps to exactly one bucket. */
export const SAML_REASON_BUCKET: Readonly<Record<SamlReason, SamlBucket>> = {
  request_not_found: "bad_request",
  destination_mismatch: "bad_request",
  missing_attribute: "bad_request",
  signature_invalid: "forbidden",
  assertion_signature_invalid: "forbidden",
  signature_wrapping_detected: "forbidden",
  algorithm_disallowed: "forbidden",
  decrypt_failed: "forbidden",
  xxe_detected: "forbidden",
  audience_mismatch: "forbidden",
  issuer_mismatch: "forbidden",
  subject_confirmation_mismatch: "forbidden",
  request_replay: "forbidden",
  clock_skew: "forbidden",
  status_not_success: "forbidden",
  email_conflict: "forbidden",
  tid_unknown: "not_configured",
  idp_metadata_stale: "internal",
  internal_error: "internal",
};

/** A rejection: the reason code and a short machine-readable detail for the audit record and logs. */
export interface SamlRejection {
  ok: false;
  reason: SamlReason;
  /** Never contains message content (NameID, email, attribute values): safe to log and audit. */
  detail: string;
  /** For `internal_error` from an unexpected exception: the error, to log (never to show). */
  cause?: unknown;
}

export function reject(reason: SamlReason, detail: string): SamlRejection {
  return { ok: false, reason, detail };
}

/**
 * Runs a validator so that an unexpected exception (a bug, a library failure) becomes
 * `internal_error` with the error as `cause`, instead of escaping into the route.
 */
export async function failClosed<T extends { ok: boolean }>(
  run: () => Promise<T> | T,
): Promise<T | SamlRejection> {
  try {
    return await run();
  } catch (cause) {
    return { ok: false, reason: "internal_error", detail: "unexpected_exception", cause };
  }
}

export function isSamlReason(value: string): value is SamlReason {
  return (SAML_REASONS as readonly string[]).includes(value);
}
