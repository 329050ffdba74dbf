/**
 * Identifier grammars of docs/spec/api.md §2.10, as regexes (for zod schemas) and predicates.
 *
 * Lengths are counted in Unicode code points where the rule is not an ASCII character class.
 * Case-insensitive enums (user status, tenant status, client type, OOB request type) only accept
 * ASCII letters before upper-casing, so that e.g. the dotless `ı` cannot upper-case its way into
 * `ACTIVE`.
 */
import type { ClientType, GlobalRole, OobRequestType, TenantStatus, UserStatus } from "./types.ts";

/** New tenant id (and slug): DNS-label shaped, 1–63 chars. */
export const NEW_TENANT_ID_PATTERN = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
/** A tenant id in a path may name existing (Go-era) data: 1–128 chars of `[A-Za-z0-9._-]`. */
export const PATH_TENANT_ID_PATTERN = /^[A-Za-z0-9._-]{1,128}$/;
export const ROLE_NAME_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;
/** Permissions and scopes are compared as exact strings; `*` has no wildcard meaning. */
export const SCOPE_PATTERN = /^[A-Za-z0-9._:/*-]{1,128}$/;
export const CLIENT_ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;
/** 1–128 code points, no whitespace or control characters. */
export const EVENT_TYPE_PATTERN = /^[^\s\p{Cc}]{1,128}$/u;
/** 1–256 code points, no whitespace or control characters. */
export const SUBJECT_OVERRIDE_PATTERN = /^[^\s\p{Cc}]{1,256}$/u;

/** `id` would make `/tenants/id/:id` ambiguous (docs/spec/api.md §1). */
export const RESERVED_TENANT_ID = "id";

export const GLOBAL_ROLES: readonly GlobalRole[] = ["ADMIN", "COMPANY_ADMIN", "COMPANY_EMPLOYEE"];

/**
 * Global roles that grant power across tenants (docs/spec/api.md §9.1): never a tenant role name, a
 * SAML-mapped role or a JIT role. The one list; callers decide on case folding.
 */
export const GLOBAL_ONLY_ROLE_NAMES: readonly GlobalRole[] = ["ADMIN", "COMPANY_ADMIN"];

export function isGlobalOnlyRoleName(name: string): boolean {
  return (GLOBAL_ONLY_ROLE_NAMES as readonly string[]).includes(name);
}
export const USER_STATUSES: readonly UserStatus[] = ["ACTIVE", "INACTIVE", "SUSPENDED"];
export const TENANT_STATUSES: readonly TenantStatus[] = ["ACTIVE", "DISABLED"];
export const CLIENT_TYPES: readonly ClientType[] = ["CONFIDENTIAL", "PUBLIC", "SERVICE"];
export const OOB_REQUEST_TYPES: readonly OobRequestType[] = ["PASSWORD_RESET", "EMAIL_SIGNIN"];

export function isNewTenantId(value: string): boolean {
  return NEW_TENANT_ID_PATTERN.test(value) && value !== RESERVED_TENANT_ID;
}

export function isPathTenantId(value: string): boolean {
  return PATH_TENANT_ID_PATTERN.test(value);
}

/** "Same rule as a new tenant id" (docs/spec/api.md §2.10), the reserved `id` included. */
export function isSlug(value: string): boolean {
  return isNewTenantId(value);
}

export function isRoleName(value: string): boolean {
  return ROLE_NAME_PATTERN.test(value);
}

export function isScope(value: string): boolean {
  return SCOPE_PATTERN.test(value);
}

/** Role permissions follow the scope grammar. */
export const isPermission = isScope;

export function isClientId(value: string): boolean {
  return CLIENT_ID_PATTERN.test(value);
}

export function isEventType(value: string): boolean {
  return EVENT_TYPE_PATTERN.test(value);
}

export function isSubjectOverride(value: string): boolean {
  return SUBJECT_OVERRIDE_PATTERN.test(value);
}

export function isGlobalRole(value: string): value is GlobalRole {
  return (GLOBAL_ROLES as readonly string[]).includes(value);
}

/** Upper-cases ASCII-only input and returns it when it is one of `allowed`. */
function parseCaseInsensitive<T extends string>(allowed: readonly T[], input: string): T | null {
  if (!/^[A-Za-z_]+$/.test(input)) return null;
  const upper = input.toUpperCase();
  return (allowed as readonly string[]).includes(upper) ? (upper as T) : null;
}

/** User status, input case-insensitive (`active` → `ACTIVE`); `null` when not a status. */
export function parseUserStatus(input: string): UserStatus | null {
  return parseCaseInsensitive(USER_STATUSES, input);
}

/** Tenant status, case-insensitive (docs/spec/api.md §7.4). */
export function parseTenantStatus(input: string): TenantStatus | null {
  return parseCaseInsensitive(TENANT_STATUSES, input);
}

/** Client type, case-insensitive (docs/spec/api.md §10.1). */
export function parseClientType(input: string): ClientType | null {
  return parseCaseInsensitive(CLIENT_TYPES, input);
}

/** One-time code request type, case-insensitive (docs/spec/api.md §4.6). */
export function parseOobRequestType(input: string): OobRequestType | null {
  return parseCaseInsensitive(OOB_REQUEST_TYPES, input);
}
