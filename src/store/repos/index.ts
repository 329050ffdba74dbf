/**
 * The repositories of the core identity data (docs/spec/storage.md §2–§6), built once per process on
 * one store. Services take what they need from here; nothing above this layer builds keys.
 */
import { type ClientAssertionsRepo, createClientAssertionsRepo } from "./client-assertions.ts";
import { type ClientsRepo, createClientsRepo } from "./clients.ts";
import type { RepoDeps } from "./deps.ts";
import { createMembershipsRepo, type MembershipsRepo } from "./memberships.ts";
import { createOobRepo, type OobRepo } from "./oob.ts";
import { createRefreshTokensRepo, type RefreshTokensRepo } from "./refresh-tokens.ts";
import { createRevokedJtiRepo, type RevokedJtiRepo } from "./revoked-jti.ts";
import { createRolesRepo, type RolesRepo } from "./roles.ts";
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
}

export function createRepos(deps: RepoDeps & { oobCodeTtlSeconds: number }): Repos {
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
  };
}

export type { RepoDeps } from "./deps.ts";
