/**
 * Builders for every key of the keyspace (docs/spec/storage.md §2–§3). Handlers and repositories never
 * concatenate key strings themselves: the names are shared byte for byte with Go Tikti.
 */

export const keys = {
  users: () => "users_v2",
  /** Legacy, read-only hash of Go Tikti's first releases (docs/spec/storage.md §6). */
  legacyUsers: () => "users",
  userByEmail: (normalisedEmail: string) => `userByEmail:${normalisedEmail}`,
  userByEmailPrefix: () => "userByEmail:",
  tenants: () => "tenants",
  memberships: (tenantId: string) => `memberships:${tenantId}`,
  membershipsByUser: (userId: string) => `membershipsByUser:${userId}`,
  roles: (tenantId: string) => `roles:${tenantId}`,
  clients: (tenantId: string) => `clients:${tenantId}`,
  /** `codeSha256Hex`: lowercase hex SHA-256 of the code; the code itself is never a key (§2). */
  oob: (codeSha256Hex: string) => `oob:${codeSha256Hex}`,
  samlSubject: (tenantId: string, nameId: string) => `samlSubject:${tenantId}:${nameId}`,
  /** A refresh token's record, by the SHA-256 hex of the token: the token itself is never a key. */
  refreshToken: (tokenSha256Hex: string) => `refresh:${tokenSha256Hex}`,
  /** `revoked` once a refresh-token family is ended (reuse, sign-out); TTL to the family's end. */
  refreshFamily: (familyId: string) => `refreshFamily:${familyId}`,
  /** An access token revoked through `/oauth/revoke`; TTL to the token's `exp` + skew. */
  revokedJti: (jti: string) => `revokedJti:${jti}`,

  samlIdp: (tenantId: string) => `saml:idp:${tenantId}`,
  samlIdpPrefix: () => "saml:idp:",
  /** Entity-id index of the IdP records: a set of tenant ids, by the SHA-256 hex of the `entityID`. */
  samlEntity: (entityIdSha256Hex: string) => `saml:entity:${entityIdSha256Hex}`,
  samlRequest: (id: string) => `saml:req:${id}`,
  samlSeen: (id: string) => `saml:seen:${id}`,
  samlSession: (sid: string) => `saml:sid:${sid}`,
  samlSessionIndex: (nameId: string) => `saml:idx:${nameId}`,
  samlDomain: (prefix: string, domain: string) => `${prefix}${domain}`,
  samlRotation: () => "saml:sp:rotation",
  samlRefreshLock: (tenantId: string) => `saml:refresh:lock:${tenantId}`,

  /** A `private_key_jwt` assertion's `jti`, recorded with SET NX until `exp` + skew (docs/spec/oauth.md §2). */
  clientAssertionJti: (oauthClientId: string, jti: string) => `clientAssertionJti:${oauthClientId}:${jti}`,

  /** `{subjectHash}` is the first 32 hex chars of SHA-256 of the limited subject (never raw). */
  rateLimit: (bucket: string, subjectHash: string) => `rl:${bucket}:${subjectHash}`,

  migrations: () => "tikti:migrations",
  migrationsLock: () => "tikti:migrations:lock",
} as const;

/** Default `saml.discover.emailDomainIndexKey`: the index's keys are `<indexKey>:<domain>` (docs/spec/saml.md §10). */
export const DEFAULT_DISCOVER_DOMAIN_INDEX_KEY = "saml:discover:domain";
/** Default prefix of the email-domain discovery index (docs/spec/saml.md §10, configurable). */
export const DEFAULT_DISCOVER_DOMAIN_PREFIX = `${DEFAULT_DISCOVER_DOMAIN_INDEX_KEY}:`;
