/**
 * The core entities as stored in the keyspace (docs/spec/storage.md §2.1). Field names are the JSON
 * field names shared with Go Tikti, byte for byte.
 *
 * Every entity read from the store carries `raw`, the parsed stored JSON object. Writers merge it
 * back (known fields first, then every field this version does not know), so a read-modify-write
 * never drops data written by another release (docs/spec/storage.md §2.1, last paragraph). Code that builds
 * a changed entity with a spread (`{ ...user, status: "SUSPENDED" }`) keeps `raw` automatically;
 * the known fields always win over their stale copies in `raw`.
 */

export type GlobalRole = "ADMIN" | "COMPANY_ADMIN" | "COMPANY_EMPLOYEE";
export type UserStatus = "ACTIVE" | "INACTIVE" | "SUSPENDED";
export type AuthSource = "password" | "saml";
export type TenantStatus = "ACTIVE" | "DISABLED";
export type ClientType = "CONFIDENTIAL" | "PUBLIC" | "SERVICE";
export type OobRequestType = "PASSWORD_RESET" | "EMAIL_SIGNIN";

/** The parsed stored JSON object, unknown fields included. */
export type RawRecord = Readonly<Record<string, unknown>>;

/** `users_v2` field value. */
export interface User {
  /** UUID v4 for new users; read from a legacy `Id` when `localId` is absent. */
  localId: string;
  /** Normalised for records written by Tikti; legacy records may hold other case. */
  email: string;
  /** bcrypt or PHC string; `""` for SAML-only users. */
  password: string;
  /** A `GlobalRole` for records written by Tikti; legacy data is passed through unchanged. */
  role: string;
  /** A `UserStatus` for records written by Tikti; anything else is treated as not active. */
  status: string;
  /** Home tenant; `undefined` when empty (the field is then omitted from the JSON). */
  companyId?: string | undefined;
  /** Integer ≥ 0 (absent in storage = 0). Tokens carry it as `ver` (docs/spec/tokens.md §5). */
  tokenVersion: number;
  /** RFC 3339 UTC. */
  createdAt: string;
  /** Absent or `""` in storage reads as `password`. */
  authSource: AuthSource;
  /** NameID of the creating tenant's IdP for SAML-created users, else `""`. */
  externalSubject: string;
  raw?: RawRecord | undefined;
}

/** `tenants` field value. */
export interface Tenant {
  id: string;
  slug: string;
  name: string;
  /** A `TenantStatus` for records written by Tikti. */
  status: string;
  createdAt: string;
  raw?: RawRecord | undefined;
}

/** `memberships:{tenantId}` field value. */
export interface Membership {
  /** UUID, kept when the membership is replaced. */
  id: string;
  tenantId: string;
  userId: string;
  /** Always an array (a stored `null` reads as `[]`). */
  roles: string[];
  createdAt: string;
  raw?: RawRecord | undefined;
}

/** `roles:{tenantId}` field value. */
export interface Role {
  name: string;
  /** Always `TENANT`; legacy values without it read as `TENANT`. */
  scope: string;
  /** Legacy values without it read as the tenant of the hash. */
  tenantId: string;
  /** De-duplicated on read and write, first occurrence kept (docs/spec/api.md §2.11.8). */
  permissions: string[];
  raw?: RawRecord | undefined;
}

/** `clients:{tenantId}` field value. */
export interface Client {
  clientId: string;
  tenantId: string;
  /**
   * `sha256:<64 lowercase hex>` (this release, docs/spec/oauth.md §2), or bcrypt (cost 10) as Go Tikti wrote
   * it (upgraded to `sha256:` on the first successful authentication); `""` when there is none.
   */
  secretHash: string;
  /** Upper-cased on read (docs/spec/api.md §2.11.8). */
  type: string;
  /** `[]` when absent in storage. */
  allowedGrantTypes: string[];
  /** `[]` when absent in storage; also the scope ceiling (docs/spec/tokens.md §7). */
  defaultScopes: string[];
  status: string;
  /** Ceiling for `eventTypes` when set; Go-era clients lack it. */
  allowedEventTypes?: string[] | undefined;
  /** Per-client cap on access-token lifetime (60–86 400). */
  maxTtlSeconds?: number | undefined;
  /** Tenant role names whose permissions form the client's own set P_c (docs/spec/oauth.md §3). */
  roles?: string[] | undefined;
  /** Public keys for `private_key_jwt` (docs/spec/oauth.md §2): `{"keys": [JWK, ...]}`. */
  jwks?: ClientJwks | undefined;
  /** The secret replaced by the last rotation, valid until `previousSecretExpiresAt` (docs/spec/oauth.md §2). */
  previousSecretHash?: string | undefined;
  /** RFC 3339 UTC. */
  previousSecretExpiresAt?: string | undefined;
  createdAt?: string | undefined;
  raw?: RawRecord | undefined;
}

/** A client's registered public key set (JWK members as stored). */
export interface ClientJwks {
  keys: Array<Record<string, unknown>>;
}
