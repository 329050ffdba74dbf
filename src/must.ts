import { TiktiError } from "./errors.ts";

/**
 * A value the code has already proven present — an index inside bounds checked earlier, a group the
 * regular expression always captures — but the compiler cannot see it. If it is missing anyway, the
 * caller stops with a 500 `INTERNAL` (the `cause` names `what` for the log; nothing reaches the client)
 * instead of running on with `undefined`: the replacement for a non-null assertion (ADR 0090).
 */
export function must<T>(value: T | null | undefined, what: string): T {
  if (value === undefined || value === null) {
    throw new TiktiError("INTERNAL", { cause: new Error(`invariant broken: ${what} is missing`) });
  }
  return value;
}

/**
 * The element of a one-element list; `undefined` when it has none or several. SAML's "exactly one"
 * rules (one Issuer, one Status, one SubjectConfirmationData…) read the element through this, so the
 * count check and the narrowing are one step.
 */
export function only<T>(list: readonly T[]): T | undefined {
  return list.length === 1 ? list[0] : undefined;
}
