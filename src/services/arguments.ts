/**
 * Argument checks shared by the admin services (tenancy, user admin, user references): the per-field
 * problem collector and the email argument rule. Their own module so that user-ref.ts and tenancy.ts
 * do not import each other (docs/adr/0060-one-layering.md).
 */
import { isValidEmail, normaliseEmail } from "../domain/email.ts";
import { TiktiError } from "../errors.ts";

/** Reason texts of the shared checks (tenancy.ts `reasons` includes them). */
export const argumentReasons = {
  blank: "must not be blank",
  email: "must be a valid email address",
} as const;

/** Collects per-field reasons; `throwIfAny` raises one `400 INVALID_ARGUMENT` with all of them. */
export class ArgumentProblems {
  readonly details: Record<string, string> = {};
  add(field: string, reason: string): void {
    if (!(field in this.details)) this.details[field] = reason;
  }
  throwIfAny(): void {
    if (Object.keys(this.details).length > 0) {
      throw new TiktiError("INVALID_ARGUMENT", { details: { ...this.details } });
    }
  }
}

/**
 * An email argument of an admin route (docs/spec/api.md §2.10, §2.11.1): blank or malformed after
 * normalisation → a problem on `field`. Returns the input untouched for `findByEmail`, which
 * tries the normalised and the trimmed spellings (docs/spec/storage.md §5).
 */
export function checkEmailArgument(problems: ArgumentProblems, email: string, field = "email"): string {
  const normalised = normaliseEmail(email);
  if (normalised === "") problems.add(field, argumentReasons.blank);
  else if (!isValidEmail(normalised)) problems.add(field, argumentReasons.email);
  return email;
}
