/**
 * Common and breached passwords (docs/spec/api.md §2.10, NIST SP 800-63B §5.1.1.2): the 49,233 ranked
 * passwords of `@zxcvbn-ts/language-common` (MIT, maintained with the zxcvbn-ts estimator; built
 * from breach corpora). 17,950 of them are 8 code points or longer, i.e. reachable with the default
 * `accounts.passwordMinLength`.
 *
 * The package's raw JSON is imported with an import attribute: Bun, Deno and Node ≥ 22 read it
 * natively and `bun build --compile` embeds it (its dist module would add a decompressor for the
 * same list). The Set is built on first use, so processes that never set a password (CLI, migrate)
 * pay nothing beyond parsing the module.
 */
import ranked from "@zxcvbn-ts/language-common/src/passwords.json" with { type: "json" };

let common: Set<string> | undefined;

/** The list's size: tests and docs assert it stays above the 10,000 docs/spec/api.md §2.10 requires. */
export function commonPasswordCount(): number {
  return commonPasswords().size;
}

function commonPasswords(): Set<string> {
  // Entries are lower-case; a password differing only in case is just as guessable ("Password1").
  common ??= new Set((ranked as readonly string[]).map((p) => p.toLowerCase()));
  return common;
}

/** True when the password, compared case-insensitively, is on the list. */
export function isCommonPassword(password: string): boolean {
  return commonPasswords().has(password.toLowerCase());
}
