/**
 * The common-password list (docs/spec/api.md §2.10: at least 10,000 from a maintained package) and the
 * password policy built on it, without HTTP.
 */
import { describe, expect, it } from "vitest";
import { commonPasswordCount, isCommonPassword } from "../../src/domain/common-passwords.ts";
import { passwordPolicyProblem } from "../../src/services/accounts.ts";

const policy = { minLength: 8, scheme: "argon2id" };

describe("common passwords (@zxcvbn-ts/language-common)", () => {
  it("holds the package's 49,233 ranked passwords (at least 10,000)", () => {
    expect(commonPasswordCount()).toBe(49_233);
  });

  it("knows well-known entries in any case and lets uncommon passphrases through", () => {
    for (const p of ["password", "12345678", "qwertyuiop", "iloveyou1", "Password123", "TRUSTNO1"]) {
      expect(isCommonPassword(p), p).toBe(true);
    }
    for (const p of ["correct horse battery staple", "tikti-Ωmega-4417", "password123 "]) {
      expect(isCommonPassword(p), p).toBe(false);
    }
  });
});

describe("passwordPolicyProblem", () => {
  it("refuses the email and its local part case-insensitively, and common passwords", () => {
    expect(passwordPolicyProblem("Jo.Doe@Example.COM", "jo.doe@example.com", policy)).toBe(
      "must not equal the email",
    );
    expect(passwordPolicyProblem("MARGARET.H", "margaret.h@example.com", policy)).toBe(
      "must not equal the email's local part",
    );
    // The domain alone or a part of the local part is not the rule.
    expect(passwordPolicyProblem("example.com", "margaret.h@example.com", policy)).toBeNull();
    expect(passwordPolicyProblem("football1", "x@example.com", policy)).toBe("too common");
    // Without an email (the first, email-free pass of a reset) the list still applies.
    expect(passwordPolicyProblem("football1", null, policy)).toBe("too common");
    expect(passwordPolicyProblem("correct horse battery staple", "x@example.com", policy)).toBeNull();
  });

  it("reports length before commonness (a 7-character common password says 'at least 8')", () => {
    expect(passwordPolicyProblem("abc1234", null, policy)).toBe("must be at least 8 characters");
  });
});
