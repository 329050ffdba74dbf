/**
 * Pure domain rules: email normalisation and grammar (docs/spec/storage.md §5, docs/spec/api.md §2.10) and the JSON
 * codec of the stored entities (docs/spec/storage.md §2.1).
 */
import { describe, expect, it } from "vitest";
import { isValidEmail, normaliseEmail, trimEmail } from "../../src/domain/email.ts";
import {
  isClientId,
  isEventType,
  isGlobalRole,
  isNewTenantId,
  isPathTenantId,
  isRoleName,
  isScope,
  isSlug,
  isSubjectOverride,
  parseClientType,
  parseOobRequestType,
  parseTenantStatus,
  parseUserStatus,
} from "../../src/domain/grammar.ts";
import { decodeUser, encodeUser } from "../../src/store/repos/codec.ts";
import { decodePageToken, encodePageToken } from "../../src/store/repos/paging.ts";

describe("email", () => {
  it("normalises by trimming and locale-independent lower-casing only", () => {
    expect(normaliseEmail("  Alice.Smith+Tag@Example.COM\t\n")).toBe("alice.smith+tag@example.com");
    expect(normaliseEmail("\u00a0IVAN@EXAMPLE.COM\u2003")).toBe("ivan@example.com");
    // No Unicode normalisation: a precomposed and a decomposed é stay different.
    expect(normaliseEmail("JOS\u00c9@x.io")).toBe("jos\u00e9@x.io");
    expect(normaliseEmail("JOSE\u0301@x.io")).toBe("jose\u0301@x.io");
    // Locale-independent: I → i (never the Turkish dotless ı).
    expect(normaliseEmail("INFO@X.IO")).toBe("info@x.io");
    expect(trimEmail("  Mixed@Case.io ")).toBe("Mixed@Case.io");
  });

  it.each([
    ["a@b.c", true],
    ["user.name+tag@example.co.uk", true],
    ["ü@bücher.de", true],
    [`${"l".repeat(64)}@example.com`, true],
    [`${"l".repeat(65)}@example.com`, false],
    [`a@${"d".repeat(248)}.com`, true], // 254 chars
    [`a@${"d".repeat(249)}.com`, false], // 255 chars
    ["a@b", false],
    ["@b.c", false],
    ["a@@b.c", false],
    ["a@b@c.d", false],
    ["a b@c.d", false],
    ["a@b\u00a0.c", false],
    ["a@.b.c", false],
    ["a@b..c", false],
    ["a@b.c.", false],
    ["ab", false],
    ["", false],
    // Controls (C0, DEL, C1) and format characters (Cf) anywhere (issue 11 §6).
    ["a\u0000b@example.com", false],
    ["a\u001b[31mb@example.com", false],
    ["ab@example.com\u007f", false],
    ["a\u0085b@example.com", false],
    ["a\u009bb@example.com", false],
    ["a\u200bb@example.com", false],
    ["a\u200db@example.com", false],
    ["a\u00adb@example.com", false],
    ["admin\u202egro.elpmaxe@x.io", false],
    ["a\u2066b\u2069@example.com", false],
    ["\ufeffab@example.com", false],
    ["ab@exa\u2060mple.com", false],
    ["ab@example.com\u{e0041}", false],
    // Ordinary non-ASCII letters and combining marks are not format characters.
    ["jos\u00e9@x.io", true],
    ["jose\u0301@x.io", true],
    ["\u7528\u6237@\u4f8b\u5b50.\u516c\u53f8", true],
  ])("isValidEmail(%j) = %s", (email, ok) => {
    expect(isValidEmail(email)).toBe(ok);
  });
});

describe("identifier grammars (docs/spec/api.md §2.10)", () => {
  it("new tenant ids and slugs", () => {
    for (const ok of ["a", "acme", "acme-1", "0", "a".repeat(63), "x-y-z"]) {
      expect(isNewTenantId(ok), ok).toBe(true);
      expect(isSlug(ok), ok).toBe(true);
    }
    for (const bad of ["id", "", "-a", "a-", "Acme", "a_b", "a.b", "a".repeat(64), "ä"]) {
      expect(isNewTenantId(bad), bad).toBe(false);
      expect(isSlug(bad), bad).toBe(false);
    }
  });

  it("path tenant ids accept existing Go-era ids", () => {
    expect(["id", "Acme_Corp.1", "a".repeat(128), "tenant-1"].every(isPathTenantId)).toBe(true);
    expect(["", "a/b", "a b", "a".repeat(129), "ü"].some(isPathTenantId)).toBe(false);
  });

  it("role names, scopes and client ids", () => {
    expect(["dev", "codeq:claim", "A.B-c_d", "x".repeat(128)].every(isRoleName)).toBe(true);
    expect(["", "a/b", "a*", "a b", "x".repeat(129)].some(isRoleName)).toBe(false);
    expect(["codeq:claim", "storage:/bucket/*", "*"].every(isScope)).toBe(true);
    expect(["", "a b", "a+b", "x".repeat(129)].some(isScope)).toBe(false);
    expect(["codeq-worker", "api:v1", "tikti"].every(isClientId)).toBe(true);
    expect(["", "a/b", "a*"].some(isClientId)).toBe(false);
  });

  it("event types and subject overrides: no whitespace or control characters, length in code points", () => {
    expect(isEventType("build.done")).toBe(true);
    expect(isEventType("😀".repeat(128))).toBe(true);
    expect(isEventType("😀".repeat(129))).toBe(false);
    for (const bad of ["", "a b", "a\tb", "a\u0000b", "a\u007fb", "a\u2028b"])
      expect(isEventType(bad), bad).toBe(false);
    expect(isSubjectOverride("x".repeat(256))).toBe(true);
    expect(isSubjectOverride("x".repeat(257))).toBe(false);
    expect(isSubjectOverride("user 1")).toBe(false);
  });

  it("case-insensitive enums accept ASCII spellings only", () => {
    expect(parseUserStatus("suspended")).toBe("SUSPENDED");
    expect(parseUserStatus("Active")).toBe("ACTIVE");
    expect(parseUserStatus("act\u0131ve")).toBeNull(); // dotless ı upper-cases to I
    expect(parseUserStatus("DISABLED")).toBeNull();
    expect(parseTenantStatus("disabled")).toBe("DISABLED");
    expect(parseTenantStatus("SUSPENDED")).toBeNull();
    expect(parseClientType("confidential")).toBe("CONFIDENTIAL");
    expect(parseClientType("other")).toBeNull();
    expect(parseOobRequestType("email_signin")).toBe("EMAIL_SIGNIN");
    expect(parseOobRequestType("VERIFY_EMAIL")).toBeNull();
    expect(isGlobalRole("ADMIN")).toBe(true);
    expect(isGlobalRole("admin")).toBe(false);
  });
});

describe("user codec", () => {
  it("round-trips a record byte for byte and reads Go's omitted fields as defaults", () => {
    const text =
      '{"localId":"u1","email":"a@x.com","password":"h","role":"ADMIN","status":"ACTIVE","companyId":"t1",' +
      '"tokenVersion":3,"createdAt":"2025-01-01T10:00:00.123Z","authSource":"saml","externalSubject":"n1"}';
    expect(encodeUser(decodeUser("users_v2", "u1", text))).toBe(text);
    const go = decodeUser(
      "users_v2",
      "u2",
      '{"localId":"u2","email":"b@x.com","authSource":"","companyId":null}',
    );
    expect(go).toMatchObject({ tokenVersion: 0, authSource: "password", companyId: undefined, password: "" });
  });

  it("rejects wrong field types as corrupt", () => {
    for (const bad of [
      '{"tokenVersion":-1}',
      '{"tokenVersion":1.5}',
      '{"email":5}',
      '{"authSource":"oidc"}',
    ]) {
      expect(() => decodeUser("users_v2", "u", bad), bad).toThrow(
        expect.objectContaining({ code: "INTERNAL" }),
      );
    }
  });
});

describe("page tokens", () => {
  it("round-trip unicode keys and reject foreign kinds", () => {
    const token = encodePageToken("members", "ü/ß:🙂");
    expect(token).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodePageToken("members", token)).toBe("ü/ß:🙂");
    expect(decodePageToken("members", "")).toBeNull();
    expect(decodePageToken("members", undefined)).toBeNull();
    expect(() => decodePageToken("tenants", token)).toThrow(
      expect.objectContaining({ code: "INVALID_ARGUMENT" }),
    );
    // Invalid UTF-8 inside valid base64url.
    expect(() => decodePageToken("members", "_w")).toThrow(
      expect.objectContaining({ code: "INVALID_ARGUMENT" }),
    );
  });
});
