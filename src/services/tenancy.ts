/**
 * Tenancy administration (docs/spec/api.md §7–§10): tenants, memberships, tenant roles and clients.
 * Every business rule of those routes lives here — argument rules (§2.10, §2.11.1), existence
 * checks, defaults, the client secret and the token-version bumps of membership changes
 * (docs/spec/tokens.md §5) — so the HTTP routes, the CLI-facing admin routes and migrations share one
 * implementation. No HTTP here: failures are `TiktiError`s, the caller shapes the reply. Every change
 * takes the `AdminCaller` and writes its admin audit record (docs/spec/operations.md §7) here, after
 * the write succeeded: the service is the one auditor whoever calls it.
 *
 * Order of checks in every operation: the tenant id of the path (`400 INVALID_TENANT`), then the
 * arguments (`400 INVALID_ARGUMENT`, every offending field in `details`), then existence (`404`),
 * then the write.
 */

import type { Clock } from "../clock.ts";
import { type ClientSecrets, portableClientSecrets } from "../crypto/client-secret.ts";
import {
  CLIENT_ID_PATTERN,
  EVENT_TYPE_PATTERN,
  isClientId,
  isEventType,
  isGlobalOnlyRoleName,
  isNewTenantId,
  isPathTenantId,
  isPermission,
  isRoleName,
  isScope,
  isSlug,
  NEW_TENANT_ID_PATTERN,
  parseClientType,
  parseTenantStatus,
  RESERVED_TENANT_ID,
  ROLE_NAME_PATTERN,
  SCOPE_PATTERN,
} from "../domain/grammar.ts";
import type { Client, ClientJwks, Membership, Role, Tenant, User } from "../domain/types.ts";
import { TiktiError } from "../errors.ts";
import type { Metrics } from "../metrics.ts";
import type { Repos } from "../store/repos/index.ts";
import type { MemberEntry } from "../store/repos/memberships.ts";
import type { Page, PageRequest } from "../store/repos/paging.ts";
import type { TenantChange } from "../store/repos/tenants.ts";
import { ArgumentProblems, argumentReasons } from "./arguments.ts";
import type { AdminCaller, Audit } from "./audit.ts";
import { jwksProblems, toClientJwks } from "./oauth/client-jwks.ts";
import { checkUserRef, findUserByRef, type UserRefInput } from "./user-ref.ts";

/** docs/spec/api.md §7.1: `name` is trimmed, then 1–200 characters (Unicode code points). */
export const TENANT_NAME_MAX = 200;
/** docs/spec/api.md §8.1: 0–50 role names per membership. */
export const MEMBERSHIP_ROLES_MAX = 50;
/** docs/spec/api.md §9.1: 0–500 unique permissions per role. */
export const ROLE_PERMISSIONS_MAX = 500;
/** docs/spec/api.md §10.1: at most 500 default scopes and 500 allowed event types per client. */
export const CLIENT_LIST_MAX = 500;
export const CLIENT_TTL_MIN_SECONDS = 60;
export const CLIENT_TTL_MAX_SECONDS = 86_400;
/** docs/spec/api.md §10.1, docs/spec/oauth.md §3: the grant types a client may allow (default `["token_exchange"]`). */
export const CLIENT_GRANT_TYPES = ["token_exchange", "client_credentials"] as const;
/** docs/spec/oauth.md §3: 0–50 role names of the tenant's registry. */
export const CLIENT_ROLES_MAX = 50;
/** docs/spec/oauth.md §2: rotation grace period of the previous secret. */
export const PREVIOUS_SECRET_TTL_DEFAULT_SECONDS = 86_400;
export const PREVIOUS_SECRET_TTL_MAX_SECONDS = 604_800;

/** The reason texts used in `details`, shared with the route documentation. */
export const reasons = {
  mustMatch: (re: RegExp) => `must match ${re.source}`,
  ...argumentReasons,
  reservedTenantId: `"${RESERVED_TENANT_ID}" is reserved`,
  tenantName: `must be 1-${TENANT_NAME_MAX} characters after trimming`,
  tenantStatus: "must be ACTIVE or DISABLED",
  clientType: "must be CONFIDENTIAL, PUBLIC or SERVICE",
  grantType: `must be one of ${CLIENT_GRANT_TYPES.join(", ")}`,
  globalRole: "is a global role and cannot be a tenant role",
  tooMany: (max: number) => `must have at most ${max} unique entries`,
  ttl: `must be an integer from ${CLIENT_TTL_MIN_SECONDS} to ${CLIENT_TTL_MAX_SECONDS}`,
  previousSecretTtl: `must be an integer from 0 to ${PREVIOUS_SECRET_TTL_MAX_SECONDS}`,
} as const;

/** A tenant id taken from a path (docs/spec/api.md §2.10 "existing data"): malformed → `400 INVALID_TENANT`. */
export function checkPathTenantId(tenantId: string): void {
  if (!isPathTenantId(tenantId)) throw new TiktiError("INVALID_TENANT");
}

function codePoints(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

/**
 * A list of identifiers: each entry must pass `valid` (problem on `field.<index>`), then the list
 * is de-duplicated keeping first occurrences and must hold at most `max` entries.
 */
function checkList(
  problems: ArgumentProblems,
  field: string,
  values: readonly string[],
  valid: (v: string) => boolean,
  reason: string,
  max: number,
): string[] {
  values.forEach((v, i) => {
    if (!valid(v)) problems.add(`${field}.${i}`, reason);
  });
  const unique = [...new Set(values)];
  if (unique.length > max) problems.add(field, reasons.tooMany(max));
  return unique;
}

export interface NewTenantInput {
  name: string;
  slug: string;
  /** Default a UUID v4. */
  id?: string | undefined;
}

/** The user by `email` or `localId`, exactly one (src/services/user-ref.ts). */
export interface MembershipInput extends UserRefInput {
  /** Default `[]`. */
  roles?: readonly string[] | undefined;
}

export interface MembershipResult {
  membership: Membership;
  user: User;
  created: boolean;
  tokenVersionBumped: boolean;
}

export interface MembershipRemovalResult {
  tenantId: string;
  user: User;
  removedAt: string;
  tokenVersionBumped: boolean;
}

export interface RoleInput {
  name: string;
  permissions: readonly string[];
}

/** The fields `POST` and `PUT` of a client share (docs/spec/api.md §10.1, docs/spec/oauth.md §3). */
export interface ClientFieldsInput {
  type?: string | undefined;
  allowedGrantTypes?: readonly string[] | undefined;
  defaultScopes?: readonly string[] | undefined;
  allowedEventTypes?: readonly string[] | undefined;
  maxTtlSeconds?: number | undefined;
  roles?: readonly string[] | undefined;
}

export interface NewClientInput extends ClientFieldsInput {
  clientId: string;
  /** A public JWK set (docs/spec/oauth.md §2), checked here. */
  jwks?: unknown;
}

/** `PUT /tenants/:t/clients/:c` (docs/spec/oauth.md §3): the create body without `clientId` and `jwks`, plus `status`. */
export interface ClientUpdateInput extends ClientFieldsInput {
  status?: string | undefined;
}

export interface CreatedClient {
  client: Client;
  /** The plain secret: returned to the caller once, never stored. */
  secret: string;
}

export interface TenancyService {
  /** docs/spec/api.md §7.1. Id taken → `409 TENANT_EXISTS`. */
  createTenant(caller: AdminCaller, input: NewTenantInput): Promise<Tenant>;
  /** docs/spec/api.md §7.2: ordered by id; bad `pageSize`/`pageToken` → `400 INVALID_ARGUMENT`. */
  listTenants(page?: PageRequest): Promise<Page<Tenant>>;
  /** docs/spec/api.md §7.3. */
  getTenant(tenantId: string): Promise<Tenant>;
  /** docs/spec/api.md §7.4: case-insensitive `ACTIVE` | `DISABLED`; the same status writes nothing. */
  setTenantStatus(caller: AdminCaller, tenantId: string, status: string): Promise<TenantChange>;
  /** docs/spec/api.md §8.1: create or replace; a removed role bumps the user's `tokenVersion`. */
  putMembership(caller: AdminCaller, tenantId: string, input: MembershipInput): Promise<MembershipResult>;
  /** docs/spec/api.md §8.2: the user is kept, its `tokenVersion` bumped. */
  removeMembership(
    caller: AdminCaller,
    tenantId: string,
    user: UserRefInput,
  ): Promise<MembershipRemovalResult>;
  /** docs/spec/api.md §8.3: ordered by user id, members whose user is gone skipped. */
  listMembers(tenantId: string, page?: PageRequest): Promise<Page<MemberEntry>>;
  /** docs/spec/api.md §9.1: create or replace. */
  putRole(caller: AdminCaller, tenantId: string, input: RoleInput): Promise<Role>;
  /** docs/spec/api.md §9.2: sorted by name. */
  listRoles(tenantId: string): Promise<Role[]>;
  /** docs/spec/api.md §9.3. */
  getRole(tenantId: string, name: string): Promise<Role>;
  /** docs/spec/api.md §10.1: generates the secret and stores only its bcrypt hash. */
  createClient(caller: AdminCaller, tenantId: string, input: NewClientInput): Promise<CreatedClient>;
  /** docs/spec/api.md §10.2: sorted by client id. */
  listClients(tenantId: string): Promise<Client[]>;
  /** docs/spec/api.md §10.3. */
  getClient(tenantId: string, clientId: string): Promise<Client>;
  /** docs/spec/oauth.md §3: replaces the settable fields; keeps the secret, `jwks` and `createdAt`. */
  updateClient(
    caller: AdminCaller,
    tenantId: string,
    clientId: string,
    input: ClientUpdateInput,
  ): Promise<Client>;
  /**
   * docs/spec/oauth.md §2: a new secret, returned once; the old one keeps working for
   * `previousSecretTtlSeconds` (default 86 400; 0 = not at all), replacing any older previous one.
   */
  rotateClientSecret(
    caller: AdminCaller,
    tenantId: string,
    clientId: string,
    previousSecretTtlSeconds?: number,
  ): Promise<CreatedClient>;
  /** docs/spec/oauth.md §2: replaces the client's public key set. */
  setClientJwks(caller: AdminCaller, tenantId: string, clientId: string, jwks: unknown): Promise<Client>;
}

export interface TenancyDeps {
  repos: Repos;
  metrics: Metrics;
  clock: Clock;
  audit: Audit;
  /** Default: `sha256:` hashes (src/crypto/client-secret.ts). */
  clientSecrets?: ClientSecrets;
}

export function createTenancyService(deps: TenancyDeps): TenancyService {
  const { repos, metrics, clock, audit } = deps;
  const secrets = deps.clientSecrets ?? portableClientSecrets;

  const countBump = (bumped: boolean) => {
    if (bumped) metrics.tokenVersionBumps.inc({ cause: "membership" });
  };

  async function existingTenant(tenantId: string): Promise<Tenant> {
    const tenant = await repos.tenants.get(tenantId);
    if (!tenant) throw new TiktiError("TENANT_NOT_FOUND");
    return tenant;
  }

  async function createTenant(caller: AdminCaller, input: NewTenantInput): Promise<Tenant> {
    const problems = new ArgumentProblems();
    const name = input.name.trim();
    const nameLength = codePoints(name);
    if (nameLength < 1 || nameLength > TENANT_NAME_MAX) problems.add("name", reasons.tenantName);
    if (!isSlug(input.slug)) {
      // "id" matches the pattern: a message quoting only the pattern would not say what is wrong.
      problems.add(
        "slug",
        input.slug === RESERVED_TENANT_ID
          ? reasons.reservedTenantId
          : reasons.mustMatch(NEW_TENANT_ID_PATTERN),
      );
    }
    if (input.id !== undefined && !isNewTenantId(input.id)) {
      problems.add(
        "id",
        input.id === RESERVED_TENANT_ID ? reasons.reservedTenantId : reasons.mustMatch(NEW_TENANT_ID_PATTERN),
      );
    }
    problems.throwIfAny();
    const tenant = await repos.tenants.create({
      name,
      slug: input.slug,
      ...(input.id !== undefined ? { id: input.id } : {}),
    });
    await audit.adminChange(caller, "tenant.create", { tenantId: tenant.id, targetId: tenant.id });
    return tenant;
  }

  async function getTenant(tenantId: string): Promise<Tenant> {
    checkPathTenantId(tenantId);
    return existingTenant(tenantId);
  }

  async function setTenantStatus(
    caller: AdminCaller,
    tenantId: string,
    status: string,
  ): Promise<TenantChange> {
    checkPathTenantId(tenantId);
    const parsed = parseTenantStatus(status);
    if (!parsed) throw new TiktiError("INVALID_ARGUMENT", { details: { status: reasons.tenantStatus } });
    const change = await repos.tenants.setStatus(tenantId, parsed);
    await audit.adminChange(caller, "tenant.status", { tenantId, targetId: tenantId });
    return change;
  }

  async function putMembership(
    caller: AdminCaller,
    tenantId: string,
    input: MembershipInput,
  ): Promise<MembershipResult> {
    checkPathTenantId(tenantId);
    const problems = new ArgumentProblems();
    const ref = checkUserRef(problems, input);
    const roles = checkList(
      problems,
      "roles",
      input.roles ?? [],
      isRoleName,
      reasons.mustMatch(ROLE_NAME_PATTERN),
      MEMBERSHIP_ROLES_MAX,
    );
    problems.throwIfAny();
    await existingTenant(tenantId);
    const user = await findUserByRef(repos, ref);
    const put = await repos.memberships.put(tenantId, user.localId, roles);
    countBump(put.tokenVersionBumped);
    await audit.adminChange(caller, "membership.put", { tenantId, targetId: user.localId });
    return {
      membership: put.membership,
      user,
      created: put.created,
      tokenVersionBumped: put.tokenVersionBumped,
    };
  }

  async function removeMembership(
    caller: AdminCaller,
    tenantId: string,
    input: UserRefInput,
  ): Promise<MembershipRemovalResult> {
    checkPathTenantId(tenantId);
    const problems = new ArgumentProblems();
    const ref = checkUserRef(problems, input);
    problems.throwIfAny();
    await existingTenant(tenantId);
    const user = await findUserByRef(repos, ref);
    const removal = await repos.memberships.remove(tenantId, user.localId);
    if (!removal.removed) throw new TiktiError("MEMBERSHIP_NOT_FOUND");
    countBump(removal.tokenVersionBumped);
    await audit.adminChange(caller, "membership.remove", { tenantId, targetId: user.localId });
    return {
      tenantId,
      user,
      removedAt: new Date(clock.now()).toISOString(),
      tokenVersionBumped: removal.tokenVersionBumped,
    };
  }

  async function listMembers(tenantId: string, page: PageRequest = {}): Promise<Page<MemberEntry>> {
    checkPathTenantId(tenantId);
    await existingTenant(tenantId);
    return repos.memberships.listForTenant(tenantId, page);
  }

  async function putRole(caller: AdminCaller, tenantId: string, input: RoleInput): Promise<Role> {
    checkPathTenantId(tenantId);
    const problems = new ArgumentProblems();
    if (!isRoleName(input.name)) problems.add("name", reasons.mustMatch(ROLE_NAME_PATTERN));
    // Refused case-insensitively as tenant role names: `admin` would read as the global role.
    else if (isGlobalOnlyRoleName(input.name.toUpperCase())) {
      problems.add("name", reasons.globalRole);
    }
    const permissions = checkList(
      problems,
      "permissions",
      input.permissions,
      isPermission,
      reasons.mustMatch(SCOPE_PATTERN),
      ROLE_PERMISSIONS_MAX,
    );
    problems.throwIfAny();
    await existingTenant(tenantId);
    const role = await repos.roles.put(tenantId, { name: input.name, permissions });
    await audit.adminChange(caller, "role.put", { tenantId, targetId: role.name });
    return role;
  }

  async function listRoles(tenantId: string): Promise<Role[]> {
    checkPathTenantId(tenantId);
    await existingTenant(tenantId);
    return repos.roles.list(tenantId);
  }

  async function getRole(tenantId: string, name: string): Promise<Role> {
    checkPathTenantId(tenantId);
    await existingTenant(tenantId);
    // A name outside the grammar cannot have been created here; legacy data may still hold one.
    const role = await repos.roles.get(tenantId, name);
    if (!role) throw new TiktiError("ROLE_NOT_FOUND");
    return role;
  }

  /** Argument rules shared by create and PUT (docs/spec/api.md §10.1, docs/spec/oauth.md §3); problems collected. */
  function checkClientFields(problems: ArgumentProblems, input: ClientFieldsInput) {
    const type = input.type === undefined ? "SERVICE" : parseClientType(input.type);
    if (type === null) problems.add("type", reasons.clientType);
    const allowedGrantTypes =
      input.allowedGrantTypes === undefined
        ? ["token_exchange"]
        : checkList(
            problems,
            "allowedGrantTypes",
            input.allowedGrantTypes,
            (v) => (CLIENT_GRANT_TYPES as readonly string[]).includes(v),
            reasons.grantType,
            CLIENT_LIST_MAX,
          );
    const defaultScopes = checkList(
      problems,
      "defaultScopes",
      input.defaultScopes ?? [],
      isScope,
      reasons.mustMatch(SCOPE_PATTERN),
      CLIENT_LIST_MAX,
    );
    const allowedEventTypes =
      input.allowedEventTypes === undefined
        ? undefined
        : checkList(
            problems,
            "allowedEventTypes",
            input.allowedEventTypes,
            isEventType,
            reasons.mustMatch(EVENT_TYPE_PATTERN),
            CLIENT_LIST_MAX,
          );
    const ttl = input.maxTtlSeconds;
    if (
      ttl !== undefined &&
      (!Number.isInteger(ttl) || ttl < CLIENT_TTL_MIN_SECONDS || ttl > CLIENT_TTL_MAX_SECONDS)
    ) {
      problems.add("maxTtlSeconds", reasons.ttl);
    }
    const roles =
      input.roles === undefined
        ? undefined
        : checkList(
            problems,
            "roles",
            input.roles,
            isRoleName,
            reasons.mustMatch(ROLE_NAME_PATTERN),
            CLIENT_ROLES_MAX,
          );
    return {
      type: type as string,
      allowedGrantTypes,
      defaultScopes,
      allowedEventTypes,
      maxTtlSeconds: ttl,
      roles: roles && roles.length > 0 ? roles : undefined,
    };
  }

  async function checkJwks(problems: ArgumentProblems, jwks: unknown): Promise<ClientJwks> {
    for (const [field, reason] of Object.entries(await jwksProblems(jwks))) problems.add(field, reason);
    return toClientJwks(jwks);
  }

  async function createClient(
    caller: AdminCaller,
    tenantId: string,
    input: NewClientInput,
  ): Promise<CreatedClient> {
    checkPathTenantId(tenantId);
    const problems = new ArgumentProblems();
    if (!isClientId(input.clientId)) problems.add("clientId", reasons.mustMatch(CLIENT_ID_PATTERN));
    const fields = checkClientFields(problems, input);
    const jwks = input.jwks === undefined ? undefined : await checkJwks(problems, input.jwks);
    problems.throwIfAny();
    await existingTenant(tenantId);
    // Cheap early answer; HSETNX below stays the authority on races.
    if (await repos.clients.get(tenantId, input.clientId)) throw new TiktiError("CLIENT_EXISTS");
    const secret = secrets.generate();
    const client = await repos.clients.create(tenantId, {
      clientId: input.clientId,
      secretHash: await secrets.hash(secret),
      type: fields.type,
      allowedGrantTypes: fields.allowedGrantTypes,
      defaultScopes: fields.defaultScopes,
      ...(fields.allowedEventTypes !== undefined ? { allowedEventTypes: fields.allowedEventTypes } : {}),
      ...(fields.maxTtlSeconds !== undefined ? { maxTtlSeconds: fields.maxTtlSeconds } : {}),
      ...(fields.roles !== undefined ? { roles: fields.roles } : {}),
      ...(jwks !== undefined ? { jwks } : {}),
    });
    await audit.adminChange(caller, "client.create", { tenantId, targetId: client.clientId });
    return { client, secret };
  }

  /** The client of an admin route: tenant id grammar, tenant and client exist. */
  async function existingClient(tenantId: string, clientId: string): Promise<Client> {
    await existingTenant(tenantId);
    const client = await repos.clients.get(tenantId, clientId);
    if (!client) throw new TiktiError("CLIENT_NOT_FOUND");
    return client;
  }

  /** A read-modify-write of an existing client; vanished meanwhile → `404 CLIENT_NOT_FOUND`. */
  async function modifyClient(
    tenantId: string,
    clientId: string,
    change: (c: Client) => Client,
  ): Promise<Client> {
    await existingClient(tenantId, clientId);
    const written = await repos.clients.modify(tenantId, clientId, change);
    if (!written) throw new TiktiError("CLIENT_NOT_FOUND");
    return written;
  }

  async function updateClient(
    caller: AdminCaller,
    tenantId: string,
    clientId: string,
    input: ClientUpdateInput,
  ): Promise<Client> {
    checkPathTenantId(tenantId);
    const problems = new ArgumentProblems();
    const fields = checkClientFields(problems, input);
    const status = input.status === undefined ? "ACTIVE" : parseTenantStatus(input.status);
    if (status === null) problems.add("status", reasons.tenantStatus);
    problems.throwIfAny();
    const client = await modifyClient(tenantId, clientId, (current) => ({
      ...current,
      ...fields,
      status: status as string,
    }));
    await audit.adminChange(caller, "client.update", { tenantId, targetId: client.clientId });
    return client;
  }

  async function rotateClientSecret(
    caller: AdminCaller,
    tenantId: string,
    clientId: string,
    previousSecretTtlSeconds = PREVIOUS_SECRET_TTL_DEFAULT_SECONDS,
  ): Promise<CreatedClient> {
    checkPathTenantId(tenantId);
    const ttl = previousSecretTtlSeconds;
    if (!Number.isInteger(ttl) || ttl < 0 || ttl > PREVIOUS_SECRET_TTL_MAX_SECONDS) {
      throw new TiktiError("INVALID_ARGUMENT", {
        details: { previousSecretTtlSeconds: reasons.previousSecretTtl },
      });
    }
    const secret = secrets.generate();
    const secretHash = await secrets.hash(secret);
    const expiresAt = new Date(clock.now() + ttl * 1000).toISOString();
    const client = await modifyClient(tenantId, clientId, (current) => ({
      ...current,
      secretHash,
      // The replaced secret (whatever its scheme) is the only previous one; an older one is dropped.
      previousSecretHash: ttl > 0 && current.secretHash !== "" ? current.secretHash : undefined,
      previousSecretExpiresAt: ttl > 0 && current.secretHash !== "" ? expiresAt : undefined,
    }));
    await audit.adminChange(caller, "client.secret.rotate", { tenantId, targetId: client.clientId });
    return { client, secret };
  }

  async function setClientJwks(
    caller: AdminCaller,
    tenantId: string,
    clientId: string,
    jwks: unknown,
  ): Promise<Client> {
    checkPathTenantId(tenantId);
    const problems = new ArgumentProblems();
    const checked = await checkJwks(problems, jwks);
    problems.throwIfAny();
    const client = await modifyClient(tenantId, clientId, (current) => ({ ...current, jwks: checked }));
    await audit.adminChange(caller, "client.jwks.put", { tenantId, targetId: client.clientId });
    return client;
  }

  async function listClients(tenantId: string): Promise<Client[]> {
    checkPathTenantId(tenantId);
    await existingTenant(tenantId);
    return repos.clients.list(tenantId);
  }

  async function getClient(tenantId: string, clientId: string): Promise<Client> {
    checkPathTenantId(tenantId);
    await existingTenant(tenantId);
    const client = await repos.clients.get(tenantId, clientId);
    if (!client) throw new TiktiError("CLIENT_NOT_FOUND");
    return client;
  }

  return {
    createTenant,
    listTenants: (page = {}) => repos.tenants.list(page),
    getTenant,
    setTenantStatus,
    putMembership,
    removeMembership,
    listMembers,
    putRole,
    listRoles,
    getRole,
    createClient,
    listClients,
    getClient,
    updateClient,
    rotateClientSecret,
    setClientJwks,
  };
}
