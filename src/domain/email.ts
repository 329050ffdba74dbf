/**
 * Email normalisation and format (docs/spec/storage.md §5, docs/spec/api.md §2.10).
 *
 * The normalised form is the only one used in index keys (`userByEmail:{email}`), rate-limit
 * subjects and new user records. It is deliberately minimal so that Go Tikti and this
 * implementation agree byte for byte: no dot or `+tag` removal, no Unicode normalisation.
 */

/** Leading and trailing whitespace removed — the form pre-migration index keys may use (§5 step 1). */
export function trimEmail(input: string): string {
  return input.trim();
}

/**
 * Trimmed, then lower-cased with the locale-independent Unicode mapping. `toLowerCase()` never
 * depends on the host locale (unlike `toLocaleLowerCase()`, which maps `I` to `ı` under Turkish).
 */
export function normaliseEmail(input: string): string {
  return input.trim().toLowerCase();
}

const WHITESPACE = /\s/u;
/**
 * C0 controls, DEL and C1 controls (`\p{Cc}`) and Unicode format characters (`\p{Cf}`: zero-width
 * space/joiners, soft hyphen, bidi embeddings, overrides and isolates, BOM, tag characters). None
 * belongs in an address; all of them make two different strings look the same, reorder what an
 * admin sees, or drive a terminal (ANSI escapes) wherever the email is printed.
 */
const CONTROL_OR_FORMAT = /[\p{Cc}\p{Cf}]/u;

/** Length in Unicode code points (a surrogate pair counts once). */
function codePoints(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

/**
 * The email grammar of docs/spec/api.md §2.10, applied to an already normalised email: 3–254 characters,
 * no whitespace, no control or format characters, exactly one `@`, a local part of 1–64
 * characters, a domain with at least one `.` and no empty label.
 */
export function isValidEmail(normalised: string): boolean {
  const length = codePoints(normalised);
  if (length < 3 || length > 254) return false;
  if (WHITESPACE.test(normalised) || CONTROL_OR_FORMAT.test(normalised)) return false;
  const at = normalised.indexOf("@");
  if (at < 0 || normalised.indexOf("@", at + 1) >= 0) return false;
  const local = normalised.slice(0, at);
  const domain = normalised.slice(at + 1);
  const localLength = codePoints(local);
  if (localLength < 1 || localLength > 64) return false;
  if (!domain.includes(".")) return false;
  return domain.split(".").every((label) => label.length > 0);
}
