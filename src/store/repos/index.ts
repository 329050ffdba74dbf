/**
 * The repositories of the core identity data and of the SAML records (docs/spec/storage.md §2–§6),
 * built once per process on one store. Services take what they need from here; nothing above this
 * layer builds keys.
 */
import { DEFAULT_DISCOVER_DOMAIN_INDEX_KEY } from "../keys.ts";
import { type ClientAssertionsRepo, createClientAssertionsRepo } from "./client-assertions.ts";
import { type ClientsRepo, createClientsRepo } from "./clients.ts";
import type { RepoDeps } from "./deps.ts";
import { createMembershipsRepo, type MembershipsRepo } from "./memberships.ts";
import { createOobRepo, type OobRepo } from "./oob.ts";
import { createRefreshTokensRepo, type RefreshTokensRepo } from "./refresh-tokens.ts";
import { createRevokedJtiRepo, type RevokedJtiRepo } from "./revoked-jti.ts";
import { createRolesRepo, type RolesRepo } from "./roles.ts";
import { createDomainRepo, type DomainRepo } from "./saml-domains.ts";
import { createIdpRecordRepo, type IdpRecordRepo } from "./saml-idps.ts";
import { createSamlRefreshLocksRepo, type SamlRefreshLocksRepo } from "./saml-refresh-locks.ts";
import { createSamlReplayRepo, type SamlReplayRepo } from "./saml-replay.ts";
import { createSamlRequestsRepo, type SamlRequestsRepo } from "./saml-requests.ts";
import { createSamlSessionsRepo, type SamlSessionsRepo } from "./saml-sessions.ts";
import { createSpRotationStateRepo, type SpRotationStateRepo } from "./saml-sp-rotation.ts";
import { createSamlSubjectsRepo, type SamlSubjectsRepo } from "./saml-subjects.ts";
import { createTenantsRepo, type TenantsRepo } from "./tenants.ts";
import { createUsersRepo, type UsersRepo } from "./users.ts";

export interface Repos {
  users: UsersRepo;
  tenants: TenantsRepo;
  memberships: MembershipsRepo;
  roles: RolesRepo;
  clients: ClientsRepo;
  oob: OobRepo;
  refreshTokens: RefreshTokensRepo;
  revokedJti: RevokedJtiRepo;
  /** `private_key_jwt` assertion `jti`s (docs/spec/oauth.md §2). */
  clientAssertions: ClientAssertionsRepo;
  /** The SAML records (docs/spec/storage.md §3). */
  saml: SamlRepos;
}

export interface SamlRepos {
  /** `saml:idp:{tid}` and the entity-id index. */
  idps: IdpRecordRepo;
  /** The email-domain discovery index. */
  domains: DomainRepo;
  /** `saml:req:{id}`. */
  requests: SamlRequestsRepo;
  /** `saml:sid:{sid}` and `saml:idx:{nameId}`. */
  sessions: SamlSessionsRepo;
  /** `samlSubject:{tid}:{nameId}`. */
  subjects: SamlSubjectsRepo;
  /** `saml:seen:{id}`. */
  replay: SamlReplayRepo;
  /** `saml:sp:rotation`. */
  spRotation: SpRotationStateRepo;
  /** `saml:refresh:lock:{tid}`. */
  refreshLocks: SamlRefreshLocksRepo;
}

export function createRepos(
  deps: RepoDeps & {
    oobCodeTtlSeconds: number;
    /** `saml.discover.emailDomainIndexKey`; the default when absent. */
    samlDomainIndexKey?: string;
  },
): Repos {
  const users = createUsersRepo(deps);
  return {
    users,
    tenants: createTenantsRepo(deps),
    memberships: createMembershipsRepo(deps, users),
    roles: createRolesRepo(deps),
    clients: createClientsRepo(deps),
    oob: createOobRepo(deps, { ttlSeconds: deps.oobCodeTtlSeconds }),
    refreshTokens: createRefreshTokensRepo(deps),
    revokedJti: createRevokedJtiRepo(deps),
    clientAssertions: createClientAssertionsRepo(deps),
    saml: {
      idps: createIdpRecordRepo(deps),
      domains: createDomainRepo(deps, {
        emailDomainIndexKey: deps.samlDomainIndexKey ?? DEFAULT_DISCOVER_DOMAIN_INDEX_KEY,
      }),
      requests: createSamlRequestsRepo(deps),
      sessions: createSamlSessionsRepo(deps),
      subjects: createSamlSubjectsRepo(deps),
      replay: createSamlReplayRepo(deps),
      spRotation: createSpRotationStateRepo(deps),
      refreshLocks: createSamlRefreshLocksRepo(deps),
    },
  };
}

export type { RepoDeps } from "./deps.ts";
