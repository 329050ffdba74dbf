/**
 * Zod building blocks shared by the route groups (docs/spec/api.md §2.4, §2.10). Wrong JSON types fail
 * as `INVALID_REQUEST`; grammar and range failures as `INVALID_ARGUMENT` (see ./validate.ts), so a
 * grammar check is a `refine`/`regex` on a correctly typed value.
 */
import { z } from "zod";

/** docs/spec/api.md §2.4: `null` for an optional field is treated as absent. */
export function optional<S extends z.ZodType>(schema: S) {
  return z.preprocess((v) => (v === null ? undefined : v), schema.optional());
}

/** Any string (not trimmed: docs/spec/api.md §2.4 "fields are not trimmed unless the route says so"). */
export const str = z.string();

/** `returnSecureToken`: optional, boolean when present, no effect (docs/spec/api.md §4). */
export const returnSecureToken = optional(z.boolean());

/** A string array; each entry a string. */
export const stringArray = z.array(z.string());
